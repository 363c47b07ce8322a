"""Kibana 9: the saved objects analysts open (``dashboards/earshot.ndjson``: a data view on the
Earshot index, a saved search per queue, Lens visualisations and a dashboard), posted to the
saved-objects import API with ``overwrite=true``, so importing again updates them in place."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from core.errors import SearchError

IMPORT_PATH = "/api/saved_objects/_import"


def import_url(kibana_url: str, space: str | None = None) -> str:
    base = kibana_url.rstrip("/")
    prefix = f"/s/{space}" if space and space != "default" else ""
    return f"{base}{prefix}{IMPORT_PATH}?overwrite=true"


def import_saved_objects(
    kibana_url: str,
    ndjson: Path,
    *,
    space: str | None = None,
    api_key: str | None = None,
    username: str | None = None,
    password: str | None = None,
    ca_certs: str | None = None,
    verify_certs: bool = True,
    timeout: float = 30.0,
) -> tuple[list[str], bool]:
    """Import ``ndjson``; returns one line per object (created, overwritten, or the error) and
    whether every object was imported. Raises :class:`SearchError` when Kibana cannot be
    reached or refuses the request as a whole."""
    import requests

    headers = {"kbn-xsrf": "true"}
    auth: Any = None
    if api_key:
        headers["Authorization"] = f"ApiKey {api_key}"
    elif username:
        auth = (username, password or "")
    url = import_url(kibana_url, space)
    try:
        with ndjson.open("rb") as handle:
            response = requests.post(
                url,
                headers=headers,
                auth=auth,
                files={"file": (ndjson.name, handle, "application/ndjson")},
                timeout=timeout,
                verify=ca_certs or verify_certs,
            )
    except (OSError, requests.RequestException) as e:
        raise SearchError(f"Kibana: cannot import {ndjson} to {url}: {e}") from e
    if response.status_code != 200:
        raise SearchError(
            f"Kibana refused the import to {url} (HTTP {response.status_code}):"
            f" {response.text[:300]}"
        )
    body = response.json()
    lines = [
        f"{item['type']} {item['id']}: {'overwritten' if item.get('overwrite') else 'created'}"
        for item in body.get("successResults", [])
    ]
    lines += [
        f"{item.get('type')} {item.get('id')}: ERROR {item.get('error', {}).get('type', '?')}"
        f" {item.get('error', {}).get('message', '')}".rstrip()
        for item in body.get("errors", [])
    ]
    return lines, bool(body.get("success")) and not body.get("errors")

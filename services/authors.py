"""One customer across networks: linking handles into a profile, by hand or from the CRM's
CSV export, and everything Earshot knows of a customer on every linked network."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from core.care import OPEN_STATUSES, Case, Profile, handle_key
from core.config import Config
from core.errors import InputError, InvalidValueError, NotFoundError
from core.models import MAX_HANDLE, SOURCES, Post
from routing import DEFAULT_TIER
from services.runtime import open_store, router

CSV_COLUMNS = ("network", "handle", "crm_id", "tier", "name")
"""The CRM import's columns: ``network`` (x or reddit), ``handle``, ``crm_id`` (required),
``tier`` and ``name`` (optional). Rows with the same ``crm_id`` are one customer."""
MAX_CRM_ID = 64


def parse_handle(text: str) -> tuple[str, str]:
    """``x:dani_reyes``, ``x:@dani_reyes``, ``reddit:u/burnt_toast_99`` -> (network, handle)."""
    network, sep, handle = text.partition(":")
    network = network.strip().lower()
    handle = handle.strip().lstrip("@")
    if handle.lower().startswith("u/"):
        handle = handle[2:]
    if not sep or network not in SOURCES or not handle:
        raise InvalidValueError(
            f"{text!r} is no handle: write network:handle, e.g. x:dani_reyes or"
            f" reddit:burnt_toast_99 (networks: {', '.join(SOURCES)})"
        )
    _check_handle(handle, text)
    return network, handle


def _check_handle(handle: str, where: str) -> None:
    if len(handle) > MAX_HANDLE or any(c.isspace() or not c.isprintable() for c in handle):
        raise InvalidValueError(f"{where}: a handle has no spaces and at most {MAX_HANDLE} chars")


def _tiers(config: Config) -> list[str]:
    return [t.name for t in router(config).config.tiers] + [DEFAULT_TIER]


def link(
    config: Config,
    handles: Sequence[str],
    *,
    crm_id: str | None = None,
    tier: str | None = None,
    name: str | None = None,
) -> Profile:
    """Link handles (``network:handle``) into one profile, with a CRM id and tier if given."""
    pairs = [parse_handle(h) for h in handles]
    if not pairs:
        raise InvalidValueError("name at least one handle to link")
    if tier is not None and tier not in _tiers(config):
        raise InvalidValueError(f"unknown tier {tier!r}; expected one of {_tiers(config)}")
    if crm_id is not None and not 0 < len(crm_id.strip()) <= MAX_CRM_ID:
        raise InvalidValueError(f"a CRM id has 1 to {MAX_CRM_ID} characters: {crm_id!r}")
    return open_store(config).profiles.link(
        pairs, crm_id=crm_id.strip() if crm_id else None, tier=tier, display_name=name
    )


@dataclass(frozen=True)
class ImportResult:
    profiles: int
    handles: int
    rejected: list[str]
    """One line per rejected row: ``file:line: why``."""


def import_csv(config: Config, path: str | Path) -> ImportResult:
    """Import the CRM's mapping of handles to customers. Every row is checked first; bad rows
    are rejected (named by file and line) and the good ones imported. Idempotent."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"{path}: cannot read the CRM file ({e})") from None
    reader = csv.DictReader(text.splitlines())
    header = [h.strip() for h in reader.fieldnames or []]
    missing = [c for c in ("network", "handle", "crm_id") if c not in header]
    if missing:
        raise InputError(f"{path}:1: missing columns {missing}; expected {', '.join(CSV_COLUMNS)}")
    tiers = _tiers(config)
    customers: dict[str, dict[str, object]] = {}
    owner: dict[str, tuple[str, int]] = {}
    rejected: list[str] = []
    for row in reader:
        line = reader.line_num
        values = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
        if None in row:
            rejected.append(f"{path}:{line}: more fields than columns")
            continue
        try:
            network, handle = parse_handle(f"{values['network']}:{values['handle']}")
        except InvalidValueError as e:
            rejected.append(f"{path}:{line}: {e}")
            continue
        crm = values["crm_id"]
        if not 0 < len(crm) <= MAX_CRM_ID:
            rejected.append(f"{path}:{line}: crm_id must have 1 to {MAX_CRM_ID} characters")
            continue
        tier = values.get("tier") or None
        if tier is not None and tier not in tiers:
            rejected.append(f"{path}:{line}: unknown tier {tier!r}; expected one of {tiers}")
            continue
        key = handle_key(network, handle)
        if key in owner and owner[key][0] != crm:
            rejected.append(
                f"{path}:{line}: {key} is already customer {owner[key][0]} (line"
                f" {owner[key][1]}); one handle belongs to one customer"
            )
            continue
        customer = customers.setdefault(crm, {"handles": [], "tier": None, "name": None})
        if tier and customer["tier"] and customer["tier"] != tier:
            rejected.append(
                f"{path}:{line}: customer {crm} has tier {customer['tier']} on an earlier line"
            )
            continue
        owner[key] = (crm, line)
        handles = customer["handles"]
        assert isinstance(handles, list)
        if (network, handle) not in handles:
            handles.append((network, handle))
        customer["tier"] = customer["tier"] or tier
        customer["name"] = customer["name"] or values.get("name") or None
    store = open_store(config)
    linked = 0
    with store.transaction() as tx:
        for crm, customer in customers.items():
            pairs = customer["handles"]
            assert isinstance(pairs, list)
            tier = customer["tier"]
            name = customer["name"]
            tx.profiles.link(
                pairs,
                crm_id=crm,
                tier=str(tier) if tier else None,
                display_name=str(name) if name else None,
            )
            linked += len(pairs)
    return ImportResult(len(customers), linked, rejected)


@dataclass(frozen=True)
class AuthorView:
    profile: Profile | None
    handles: list[tuple[str, str]]
    posts: list[Post]
    open_cases: list[Case]
    cases: list[Case]


def show(config: Config, who: str, *, limit: int = 20) -> AuthorView:
    """A customer by ``network:handle``, profile id or CRM id (``crm:C-1001``): the linked
    handles, their posts on every network (newest first) and their cases."""
    store = open_store(config)
    profile = store.profiles.get(who)
    if profile is None and who.startswith("crm:"):
        profile = store.profiles.by_crm(who.removeprefix("crm:"))
    if profile is None:
        network, handle = parse_handle(who)
        profile = store.profiles.of_handles([handle_key(network, handle)]).get(
            handle_key(network, handle)
        )
        handles = list(profile.handles) if profile else [(network, handle)]
    else:
        handles = list(profile.handles)
    posts = store.posts.by_handles(handles, limit=limit)
    keys = [handle_key(n, h) for n, h in handles]
    cases = store.cases.list(handle_keys=keys, limit=limit)
    if profile is None and not posts and not cases:
        raise NotFoundError(f"nothing known of {who} (no linked profile, no stored post)")
    return AuthorView(
        profile, handles, posts, [c for c in cases if c.status in OPEN_STATUSES], cases
    )

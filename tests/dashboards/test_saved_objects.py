"""The Kibana saved objects: the NDJSON is what ``dashboards/generate.py`` writes, and it is
sound: every line parses, ids are unique, every reference resolves to an object in the file,
every field a search or a visualisation uses exists in the Elasticsearch mapping; and
``earshot kibana import`` posts it as Kibana's import API expects."""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path
from typing import Any

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from cli import main
from search.elastic import mappings
from tests.conftest import ROOT

NDJSON = ROOT / "dashboards" / "earshot.ndjson"
TYPES = {"index-pattern", "search", "lens", "dashboard"}


def objects() -> list[dict[str, Any]]:
    return [json.loads(line) for line in NDJSON.read_text(encoding="utf-8").splitlines()]


def index_fields(properties: dict[str, Any] | None = None, prefix: str = "") -> set[str]:
    """Every field of the mapping, sub-fields and object properties by their dotted names."""
    fields: set[str] = set()
    for name, spec in (mappings()["properties"] if properties is None else properties).items():
        if spec.get("type") != "object":
            fields.add(prefix + name)
        fields |= {f"{prefix}{name}.{sub}" for sub in spec.get("fields", {})}
        fields |= (
            index_fields(spec.get("properties", {}), f"{prefix}{name}.")
            if "properties" in spec
            else set()
        )
    return fields


def kql_fields(query: str) -> set[str]:
    return set(re.findall(r"([A-Za-z_][\w.]*)\s*(?::|<=?|>=?)", query))


def used_fields(obj: dict[str, Any]) -> set[str]:
    attributes = obj["attributes"]
    used: set[str] = set()
    if obj["type"] == "index-pattern":
        used.add(attributes["timeFieldName"])
    if obj["type"] == "search":
        used |= set(attributes["columns"]) | {field for field, _ in attributes["sort"]}
        source = json.loads(attributes["kibanaSavedObjectMeta"]["searchSourceJSON"])
        used |= kql_fields(source["query"]["query"])
    if obj["type"] == "lens":
        state = attributes["state"]
        for layer in state["datasourceStates"]["formBased"]["layers"].values():
            for column in layer["columns"].values():
                if column.get("sourceField") not in (None, "___records___"):
                    used.add(column["sourceField"])
        used |= kql_fields(state["query"]["query"])
    return used


def test_saved_objects_file_is_what_the_generator_writes() -> None:
    generator = runpy.run_path(str(ROOT / "dashboards" / "generate.py"))
    assert NDJSON.read_text(encoding="utf-8") == generator["render"](), (
        "dashboards/earshot.ndjson is stale: run python dashboards/generate.py"
    )


def test_saved_objects_lint() -> None:
    found = objects()
    ids = [(o["type"], o["id"]) for o in found]
    assert len(ids) == len(set(ids)), "duplicate saved-object ids"
    assert {o["type"] for o in found} == TYPES
    for obj in found:
        for ref in obj["references"]:
            assert (ref["type"], ref["id"]) in ids, f"{obj['id']}: dangling reference {ref}"
        missing = used_fields(obj) - index_fields()
        assert not missing, f"{obj['id']} uses fields the index does not have: {missing}"


def test_saved_objects_dashboard_panels_resolve() -> None:
    (board,) = [o for o in objects() if o["type"] == "dashboard"]
    names = {r["name"] for r in board["references"]}
    panels = json.loads(board["attributes"]["panelsJSON"])
    assert len(panels) >= 6 and {p["panelRefName"] for p in panels} == names
    searches = {o["id"] for o in objects() if o["type"] == "search"}
    assert {f"earshot-queue-{q}" for q in ("billing", "care", "logistics", "unmatched")} <= searches


def test_saved_objects_lint_catches_a_field_the_index_lacks() -> None:
    search = next(o for o in objects() if o["type"] == "search")
    broken = json.loads(json.dumps(search))
    broken["attributes"]["columns"].append("followers")
    assert used_fields(broken) - index_fields() == {"followers"}


def test_kibana_import_posts_ndjson_with_xsrf_and_reports_each_object(
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config_path: Path,
) -> None:
    seen: dict[str, Any] = {}

    def answer(request: Request) -> Response:
        seen["xsrf"] = request.headers.get("kbn-xsrf")
        seen["auth"] = request.headers.get("Authorization")
        seen["lines"] = request.files["file"].read().decode().splitlines()
        results = [
            {"type": o["type"], "id": o["id"], "overwrite": i % 2 == 0}
            for i, o in enumerate(map(json.loads, seen["lines"]))
        ]
        body = {"success": True, "successCount": len(results), "successResults": results}
        return Response(json.dumps(body), content_type="application/json")

    httpserver.expect_request(
        "/s/analysts/api/saved_objects/_import",
        method="POST",
        query_string="overwrite=true",
    ).respond_with_handler(answer)
    monkeypatch.setenv("EARSHOT_KIBANA_URL", httpserver.url_for("/"))
    monkeypatch.setenv("EARSHOT_KIBANA_API_KEY", "a2V5")
    code = main(["--config", str(config_path), "kibana", "import", "--space", "analysts"])
    out = capsys.readouterr().out
    assert code == 0
    assert seen["xsrf"] == "true" and seen["auth"] == "ApiKey a2V5"
    assert seen["lines"] == NDJSON.read_text(encoding="utf-8").splitlines()
    assert "dashboard earshot-overview:" in out and out.count("\n") == len(objects())


def test_kibana_import_reports_object_errors(
    httpserver: HTTPServer,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    config_path: Path,
) -> None:
    body = {
        "success": False,
        "successCount": 0,
        "errors": [
            {"type": "lens", "id": "earshot-top-authors", "error": {"type": "missing_references"}}
        ],
    }
    httpserver.expect_request("/api/saved_objects/_import", method="POST").respond_with_json(body)
    monkeypatch.setenv("EARSHOT_KIBANA_URL", httpserver.url_for("/"))
    code = main(["--config", str(config_path), "kibana", "import"])
    assert code == 1
    assert "lens earshot-top-authors: ERROR missing_references" in capsys.readouterr().out

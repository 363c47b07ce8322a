"""The JSON API run from its own OpenAPI document (schemathesis): every operation, called by
each role with generated valid and invalid input, never answers with a server error, and
every answer matches the documented statuses, content types and schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from core.config import Config, load_config
from services import access, pipeline
from tests.conftest import write_config
from web.app import create_app

ROLES = {
    "agent": ("zz-agent", ("care", "billing")),
    "lead": ("zz-lead", ("*",)),
    "marketing": ("zz-marketing", ()),
    "analyst": ("zz-analyst", ()),
    "admin": ("zz-admin", ()),
}


@pytest.fixture(scope="module")
def api_world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Config, dict[str, str]]]:
    """A store filled by one listening cycle over the bundled samples, and an API token per
    role."""
    root: Path = tmp_path_factory.mktemp("openapi")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("EARSHOT_HOME", str(root / "home"))
        mp.delenv("EARSHOT_DATABASE_URL", raising=False)
        mp.delenv("EARSHOT_ES_URL", raising=False)
        config = load_config(write_config(root))
        pipeline.run_once(config)
        tokens = {}
        for role, (name, teams) in ROLES.items():
            access.add_user(config, name, role=role, teams=teams)
            tokens[role] = access.create_token(config, name)[1]
        yield config, tokens


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES = 25
"""Generated calls per operation and role (each role x operation runs its own Hypothesis
search; positive and negative data)."""


def _fuzz(config: Config, token: str | None) -> list[str]:
    """Call every operation with generated input as one caller; returns the operations run.
    A failing check raises with the case to reproduce it."""
    api = schemathesis.openapi.from_asgi("/api/v1/openapi.json", create_app(config))
    headers = {"authorization": f"Bearer {token}"} if token else None
    ran = []
    for result in api.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case: schemathesis.Case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        call()
        ran.append(operation.label)
    return ran


@pytest.mark.parametrize("role", [*ROLES, None])
def test_api_never_fails_with_a_server_error(
    api_world: tuple[Config, dict[str, str]], role: str | None
) -> None:
    config, tokens = api_world
    ran = _fuzz(config, tokens[role] if role else None)
    assert "POST /api/v1/cases/{case_id}/actions" in ran and len(ran) >= 14


def test_api_openapi_document_lists_every_action(api_world: tuple[Config, dict[str, str]]) -> None:
    from fastapi.testclient import TestClient

    document = TestClient(create_app(api_world[0])).get("/api/v1/openapi.json").json()
    paths = set(document["paths"])
    assert {
        "/api/v1/queues/{queue}/cases",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/actions",
        "/api/v1/posts/{post_id}/labels",
        "/api/v1/advocates",
        "/api/v1/advocates.csv",
        "/api/v1/search",
        "/api/v1/overview",
        "/api/v1/users",
        "/api/v1/audit",
    } <= paths
    actions = document["components"]["schemas"]["ActionBody"]["properties"]["action"]["enum"]
    assert actions == [
        "claim",
        "release",
        "respond",
        "resolve",
        "move_private",
        "no_action",
        "reroute",
    ]
    # nothing a page needs is in the API document, and the pages are not in it
    assert not any(p.startswith(("/login", "/queues", "/cases")) for p in paths)

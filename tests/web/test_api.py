"""The JSON API: every route for every role (allowed and forbidden), every case action,
CSRF on cookie sessions, tokens, clear 4xx answers, concurrent claims, and the audit log."""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from core.config import Config
from services import access, console
from services.runtime import open_store
from tests.web.conftest import BASE_URL, BY_ROLE, csrf_token

ROLES = ("agent", "agent2", "lead", "marketing", "analyst", "admin")


def token_client(app: FastAPI, config: Config, name: str) -> TestClient:
    _, secret = access.create_token(config, name, label="tests")
    return TestClient(app, base_url=BASE_URL, headers={"authorization": f"Bearer {secret}"})


@pytest.fixture
def as_role(app: FastAPI, console_config: Config) -> Callable[[str], TestClient]:
    return lambda role: token_client(app, console_config, BY_ROLE[role])


def reads(seeded: dict[str, Any]) -> dict[str, tuple[str, set[str]]]:
    """Every GET route, with the roles allowed to read it."""
    return {
        "me": ("/api/v1/me", set(ROLES)),
        "queues": ("/api/v1/queues", {"agent", "agent2", "lead"}),
        "care counts": ("/api/v1/queues/care", {"agent", "lead"}),
        "care queue": ("/api/v1/queues/care/cases", {"agent", "lead"}),
        "billing queue": ("/api/v1/queues/billing/cases", {"agent2", "lead"}),
        "care case": (f"/api/v1/cases/{seeded['care_case']}", {"agent", "lead"}),
        "billing case": (f"/api/v1/cases/{seeded['other_case']}", {"agent2", "lead"}),
        "advocates": ("/api/v1/advocates", {"marketing"}),
        "advocates csv": ("/api/v1/advocates.csv?kind=superuser", {"marketing"}),
        "search": ("/api/v1/search?q=order", {"analyst"}),
        "overview": ("/api/v1/overview", {"lead", "marketing", "analyst", "admin"}),
        "users": ("/api/v1/users", {"admin"}),
        "audit": ("/api/v1/audit", {"admin"}),
    }


@pytest.mark.parametrize("role", ROLES)
def test_api_every_read_route_is_allowed_or_forbidden_by_role(
    as_role: Callable[[str], TestClient], seeded: dict[str, Any], role: str
) -> None:
    client = as_role(role)
    for name, (url, allowed) in reads(seeded).items():
        response = client.get(url)
        expected = 200 if role in allowed else 403
        assert response.status_code == expected, f"{role} GET {name}: {response.text[:200]}"
        if expected == 403:
            assert (
                "may not" in response.json()["detail"] or "not one of" in response.json()["detail"]
            )


@pytest.mark.parametrize("role", ROLES)
def test_api_every_change_route_is_allowed_or_forbidden_by_role(
    as_role: Callable[[str], TestClient],
    seeded: dict[str, Any],
    console_config: Config,
    role: str,
) -> None:
    client = as_role(role)
    case_id = seeded["care_cases"][1]
    claim = client.post(f"/api/v1/cases/{case_id}/actions", json={"action": "claim"})
    assert claim.status_code == (200 if role in ("agent", "lead") else 403), claim.text
    label = client.post(
        f"/api/v1/posts/{seeded['care_post']}/labels",
        json={"task": "sentiment", "label": "positive"},
    )
    assert label.status_code == (200 if role in ("agent", "lead") else 403), label.text
    user = client.post("/api/v1/users", json={"name": f"new-{role}", "role": "analyst"})
    assert user.status_code == (200 if role == "admin" else 403), user.text
    token = client.post("/api/v1/users/ana/tokens", json={"label": "x"})
    assert token.status_code == (200 if role == "admin" else 403), token.text
    off = client.post("/api/v1/users/ana/deactivate")
    assert off.status_code == (200 if role == "admin" else 403), off.text
    store = open_store(console_config)
    stored = store.cases.get(case_id)
    assert stored is not None
    assert stored.status == ("claimed" if role in ("agent", "lead") else "new")
    feedback = store.feedback.list("sentiment")
    assert bool(feedback) == (role in ("agent", "lead"))
    assert (store.users.get(f"new-{role}") is not None) == (role == "admin")


def test_api_every_case_action_moves_the_case_and_is_audited(
    as_role: Callable[[str], TestClient], seeded: dict[str, Any], console_config: Config
) -> None:
    sam = as_role("agent")
    a, b, c, d = seeded["care_cases"][1:5]

    def act(case_id: str, action: str, **extra: Any) -> dict[str, Any]:
        response = sam.post(f"/api/v1/cases/{case_id}/actions", json={"action": action, **extra})
        assert response.status_code == 200, f"{action}: {response.text}"
        return response.json()

    assert act(a, "claim")["status"] == "claimed"
    assert act(a, "release")["assignee"] is None
    assert act(a, "claim")["assignee"] == "sam"
    assert act(a, "respond", note="replied with the refund steps")["status"] == "responded"
    assert act(a, "resolve")["status"] == "resolved"
    assert act(b, "move_private")["status"] == "moved_private"
    assert act(c, "no_action")["status"] == "no_action"
    moved = act(d, "reroute", queue="billing")
    assert (moved["queue"], moved["status"], moved["assignee"]) == ("billing", "new", None)
    # sam no longer sees a case rerouted out of the care team
    assert sam.get(f"/api/v1/cases/{d}").status_code == 403

    detail = as_role("lead").get(f"/api/v1/cases/{a}").json()
    assert [e["action"] for e in detail["events"] if e["actor"] == "sam"] == [
        "claim",
        "release",
        "claim",
        "respond",
        "resolve",
    ]
    audit = access.audit_log(console_config, actor="sam")
    assert [(e.action, e.target, e.outcome) for e in reversed(audit)] == [
        ("cases.claim", a, "ok"),
        ("cases.release", a, "ok"),
        ("cases.claim", a, "ok"),
        ("cases.respond", a, "ok"),
        ("cases.resolve", a, "ok"),
        ("cases.move_private", b, "ok"),
        ("cases.no_action", c, "ok"),
        ("cases.reroute", d, "ok"),
    ]
    assert audit[0].detail == {"action": "reroute", "queue": "billing"}
    assert audit[0].address == "testclient"


def test_api_refused_actions_are_clear_4xx_and_audited(
    as_role: Callable[[str], TestClient], seeded: dict[str, Any], console_config: Config
) -> None:
    sam, bea = as_role("agent"), as_role("agent2")
    case_id = seeded["care_case"]
    resolve = sam.post(f"/api/v1/cases/{case_id}/actions", json={"action": "resolve"})
    assert resolve.status_code == 409
    assert "cannot be resolved" in resolve.json()["detail"]
    other = bea.post(f"/api/v1/cases/{case_id}/actions", json={"action": "claim"})
    assert other.status_code == 403 and "not one of bea's teams" in other.json()["detail"]
    unknown = sam.post("/api/v1/cases/case:x:nope/actions", json={"action": "claim"})
    assert unknown.status_code == 404 and "no case" in unknown.json()["detail"]
    bad = sam.post(f"/api/v1/cases/{case_id}/actions", json={"action": "delete"})
    assert bad.status_code == 422
    extra = sam.post(f"/api/v1/cases/{case_id}/actions", json={"action": "claim", "x": 1})
    assert extra.status_code == 422
    nowhere = sam.post(
        f"/api/v1/cases/{case_id}/actions", json={"action": "reroute", "queue": "nowhere"}
    )
    assert nowhere.status_code == 422 and "unknown queue" in nowhere.json()["detail"]
    label = sam.post(
        f"/api/v1/posts/{seeded['care_post']}/labels", json={"task": "intent", "label": "grumpy"}
    )
    assert label.status_code == 422 and "not a intent label" in label.json()["detail"]
    outcomes = [(e.actor, e.action, e.outcome) for e in access.audit_log(console_config)]
    assert ("sam", "cases.resolve", "failed") in outcomes
    assert ("bea", "cases.claim", "denied") in outcomes
    assert ("sam", "labels.correct", "failed") in outcomes
    stored = open_store(console_config).cases.get(case_id)
    assert stored is not None and (stored.status, stored.assignee) == ("new", None)


def test_api_holder_only_actions_refuse_another_agent(
    as_role: Callable[[str], TestClient], seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_case"]
    lead = as_role("lead").post(f"/api/v1/cases/{case_id}/actions", json={"action": "claim"})
    assert lead.status_code == 200
    taken = as_role("agent").post(f"/api/v1/cases/{case_id}/actions", json={"action": "resolve"})
    assert taken.status_code == 409 and "held by lee" in taken.json()["detail"]
    detail = as_role("agent").get(f"/api/v1/cases/{case_id}").json()
    assert detail["assignee"] == "lee" and detail["actions"] == []


def test_api_concurrent_claims_one_wins_the_other_gets_409(
    app: FastAPI, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_cases"][2]
    clients = {name: token_client(app, console_config, name) for name in ("sam", "lee")}
    start = threading.Barrier(2)
    results: dict[str, int] = {}

    def claim(name: str) -> None:
        start.wait()
        results[name] = (
            clients[name]
            .post(f"/api/v1/cases/{case_id}/actions", json={"action": "claim"})
            .status_code
        )

    threads = [threading.Thread(target=claim, args=(n,)) for n in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results.values()) == [200, 409]
    winner = next(n for n, code in results.items() if code == 200)
    stored = open_store(console_config).cases.get(case_id)
    assert stored is not None and stored.assignee == winner
    claims = [
        e for e in access.audit_log(console_config, action="cases.claim") if e.target == case_id
    ]
    assert sorted(e.outcome for e in claims) == ["failed", "ok"]


def test_api_cookie_session_needs_the_csrf_header_for_changes(
    login: Callable[[str], TestClient], seeded: dict[str, Any], console_config: Config
) -> None:
    sam = login("sam")
    url = f"/api/v1/cases/{seeded['care_case']}/actions"
    assert sam.get("/api/v1/me").json()["name"] == "sam"  # reads need no token
    missing = sam.post(url, json={"action": "claim"})
    assert missing.status_code == 403 and "CSRF" in missing.json()["detail"]
    wrong = sam.post(url, json={"action": "claim"}, headers={"x-csrf-token": "guess"})
    assert wrong.status_code == 403
    stored = open_store(console_config).cases.get(seeded["care_case"])
    assert stored is not None and stored.status == "new"
    done = sam.post(url, json={"action": "claim"}, headers={"x-csrf-token": csrf_token(sam)})
    assert done.status_code == 200 and done.json()["assignee"] == "sam"


def test_api_without_credentials_or_with_a_revoked_token_is_401(
    app: FastAPI, console_config: Config, anonymous: TestClient
) -> None:
    assert anonymous.get("/api/v1/queues").status_code == 401
    assert anonymous.post("/api/v1/users", json={"name": "x", "role": "admin"}).status_code == 401
    token, secret = access.create_token(console_config, "sam")
    client = TestClient(app, base_url=BASE_URL, headers={"authorization": f"Bearer {secret}"})
    assert client.get("/api/v1/me").status_code == 200
    access.revoke_token(console_config, token.id)
    assert client.get("/api/v1/me").status_code == 401
    basic = TestClient(app, base_url=BASE_URL, headers={"authorization": "Basic c2FtOng="})
    assert basic.get("/api/v1/me").status_code == 401


def test_api_queue_lists_the_teams_cases_most_urgent_first(
    as_role: Callable[[str], TestClient], console_config: Config
) -> None:
    cases = as_role("agent").get("/api/v1/queues/care/cases?limit=200").json()
    assert cases and {c["queue"] for c in cases} == {"care"}
    keys = [(-c["priority"], c["sla_due"] or "") for c in cases]
    assert keys == sorted(keys)
    first = cases[0]
    assert first["post"]["text"] and first["post"]["labels"]["sentiment"]["label"]
    queues = as_role("agent").get("/api/v1/queues").json()
    assert [q["name"] for q in queues] == ["care"]
    from core.care import OPEN_STATUSES
    from core.timeutil import now

    open_cases = open_store(console_config).cases.list(
        queue="care", statuses=OPEN_STATUSES, limit=None
    )
    late = [
        c
        for c in open_cases
        if c.first_response_at is None and c.sla_due is not None and c.sla_due < now()
    ]
    assert queues[0]["open"] == len(open_cases) > 0
    assert queues[0]["overdue"] == len(late) > 0  # the samples are weeks old: all late


def test_api_case_detail_has_conversation_author_and_trail(
    as_role: Callable[[str], TestClient], seeded: dict[str, Any]
) -> None:
    detail = as_role("agent").get(f"/api/v1/cases/{seeded['care_case']}").json()
    assert detail["id"] == seeded["care_case"] and detail["queue"] == "care"
    assert detail["conversation"][0]["id"] == seeded["care_post"]
    assert detail["conversation"][0]["role"] == "customer"
    assert detail["author"]["handle"] and detail["author"]["tier"]
    assert detail["events"][0]["action"] == "open"
    # an unclaimed new case: any agent of the queue may take it or close it
    assert detail["actions"] == ["claim", "respond", "move_private", "no_action", "reroute"]


def test_api_advocates_csv_is_spreadsheet_safe(
    as_role: Callable[[str], TestClient], console_config: Config
) -> None:
    response = as_role("marketing").get("/api/v1/advocates.csv?kind=advocate")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert 'filename="advocates.csv"' in response.headers["content-disposition"]
    lines = response.text.splitlines()
    assert lines[0] == "kind,key,handles,score,tier,components,evidence"
    rows = as_role("marketing").get("/api/v1/advocates?kind=advocate").json()
    assert len(lines) == len(rows) + 1
    assert access.audit_log(console_config, action="advocates.export")[0].actor == "maya"
    assert console._cell("=HYPERLINK(1)") == "'=HYPERLINK(1)"


def test_api_admin_manages_users_and_sees_the_audit_log(
    as_role: Callable[[str], TestClient], console_config: Config
) -> None:
    admin = as_role("admin")
    made = admin.post(
        "/api/v1/users",
        json={"name": "kim", "role": "agent", "teams": ["care"], "password": "a long password"},
    )
    assert made.status_code == 200 and made.json()["teams"] == ["care"]
    assert access.login(console_config, "kim", "a long password").user.role == "agent"
    no_team = admin.post("/api/v1/users", json={"name": "kim2", "role": "agent"})
    assert no_team.status_code == 422 and "needs at least one team" in no_team.json()["detail"]
    token = admin.post("/api/v1/users/kim/tokens", json={"label": "helpdesk"}).json()
    assert token["token"].startswith("es_") and token["user"] == "kim"
    assert admin.post("/api/v1/users/kim/deactivate").json()["active"] is False
    assert admin.post("/api/v1/users/nobody/deactivate").status_code == 404
    log = admin.get("/api/v1/audit?actor=ada").json()
    assert [(e["action"], e["target"]) for e in log] == [
        ("users.deactivate", "kim"),
        ("tokens.create", f"kim/{token['id']}"),
        ("users.add", "kim"),
    ]
    assert all(e["address"] == "testclient" for e in log)


def test_api_docs_page_lists_every_operation_and_loads_nothing_from_elsewhere(
    anonymous: TestClient,
) -> None:
    document = anonymous.get("/api/v1/openapi.json").json()
    page = anonymous.get("/api/docs")
    assert page.status_code == 200
    for path, methods in document["paths"].items():
        for method in methods:
            assert f"<code>{method.upper()} {path}</code>" in page.text
    assert "cdn" not in page.text.lower()
    assert re.findall(r'<script src="([^"]+)"', page.text) == ["/static/console.js"]

"""The console's HTML pages: who may see each page, the forms that change cases, labels and
users (CSRF, audit, conflicts, bad input), and that hostile post content stays text."""

from __future__ import annotations

import csv
import io
import itertools
import json
import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from html import unescape
from typing import Any

import pytest
from fastapi.testclient import TestClient
from markupsafe import escape

from core.access import User
from core.config import Config
from core.models import Author, Label, Post, PrivateDecision
from services import access, console, feedback
from services.console import Caller
from tests.conftest import make_enrichment
from tests.web.conftest import BY_ROLE, PASSWORD, USERS, csrf_token, route_posts

Login = Callable[[str], TestClient]
ROLES = tuple(BY_ROLE)


def as_user(config: Config, name: str) -> Caller:
    return Caller(access.get_user(config, name))


def detail(config: Config, case_id: str) -> dict[str, Any]:
    return console.case_detail(config, Caller(User("x-lead", "lead", teams=("*",))), case_id)


def audit(config: Config, action: str, **filters: Any) -> list[Any]:
    return access.audit_log(config, action=action, **filters)


def inline_scripts(html: str) -> list[str]:
    """Script elements that would run inline code (no src, not a JSON data block)."""
    return [
        tag
        for tag in re.findall(r"<script\b[^>]*>", html, flags=re.I)
        if "src=" not in tag and 'type="application/json"' not in tag
    ]


def error_message(html: str) -> str:
    found = re.search(r'<p class="error" role="alert">(.*?)</p>', html, flags=re.S)
    return unescape(re.sub(r"<[^>]+>", "", found.group(1))) if found else ""


def act(client: TestClient, case_id: str, action: str, **fields: str) -> Any:
    data = {"csrf_token": csrf_token(client), "action": action, **fields}
    return client.post(f"/cases/{case_id}/act", data=data, follow_redirects=False)


# -- who sees what ------------------------------------------------------------------------------


def _check_queues(html: str, role: str, ids: dict[str, Any]) -> None:
    expected = {"agent": ["care"], "agent2": ["billing"], "lead": ["care", "billing", "sales"]}
    for queue in expected[role]:
        assert f'href="/queues/{queue}"' in html
    if role == "agent":
        assert 'href="/queues/billing"' not in html


def _check_queue(html: str, role: str, ids: dict[str, Any]) -> None:
    assert len(re.findall(r"<tr data-case-id=", html)) >= 5
    assert f'data-case-id="{ids["care_case"]}"' in html
    assert 'class="sla' in html and 'data-seconds-left="' in html


def _check_other_queue(html: str, role: str, ids: dict[str, Any]) -> None:
    assert f'data-case-id="{ids["other_case"]}"' in html


def _check_case(html: str, role: str, ids: dict[str, Any]) -> None:
    assert ids["care_case"] in html
    assert "Conversation" in html and "Audit trail" in html and "Priority" in html
    assert 'name="action" value="claim"' in html


def _check_other_case(html: str, role: str, ids: dict[str, Any]) -> None:
    assert ids["other_case"] in html and 'value="claim"' in html


def _check_advocates(html: str, role: str, ids: dict[str, Any]) -> None:
    assert '<table class="grid advocates">' in html
    assert re.search(r'<bdi class="handle">@[^<]+</bdi>', html)
    assert 'href="/advocates.csv?kind=advocate"' in html


def _check_csv(body: str, role: str, ids: dict[str, Any]) -> None:
    rows = list(csv.reader(io.StringIO(body)))
    assert rows[0][:4] == ["kind", "key", "handles", "score"]
    assert len(rows) > 1 and all(r[0] == "advocate" for r in rows[1:])


def _check_search_form(html: str, role: str, ids: dict[str, Any]) -> None:
    assert 'role="search"' in html and 'name="intent"' in html and 'name="from"' in html


def _check_search(html: str, role: str, ids: dict[str, Any]) -> None:
    assert len(re.findall(r'<li class="result">', html)) >= 1
    assert "refund" in html.lower()


def _check_overview(html: str, role: str, ids: dict[str, Any]) -> None:
    data = re.search(
        r'<script type="application/json" id="overview-data">(.*?)</script>', html, re.S
    )
    assert data, "no chart data block"
    parsed = json.loads(data.group(1))
    assert {"volumes", "backlog", "queues", "buckets"} <= set(parsed)
    assert '<script src="/static/vendor/chart.umd.min.js"></script>' in html
    assert 'id="chart-intent"' in html and 'id="chart-sla"' in html


def _check_users(html: str, role: str, ids: dict[str, Any]) -> None:
    for name in USERS:
        assert f"<bdi>{name}</bdi>" in html
    assert 'action="/admin/users"' in html


def _check_audit(html: str, role: str, ids: dict[str, Any]) -> None:
    assert "<td>login</td>" in html and "users.add" in html


def _check_configuration(html: str, role: str, ids: dict[str, Any]) -> None:
    assert "<code>billing-private</code>" in html
    assert re.search(r'<th scope="row">billing</th><td class="num">60</td><td>vip 20</td>', html)


PAGES: list[tuple[str, frozenset[str], Callable[[str, str, dict[str, Any]], None]]] = [
    ("/queues", frozenset({"agent", "agent2", "lead"}), _check_queues),
    ("/queues/care", frozenset({"agent", "lead"}), _check_queue),
    ("/queues/billing", frozenset({"agent2", "lead"}), _check_other_queue),
    ("/cases/{care_case}", frozenset({"agent", "lead"}), _check_case),
    ("/cases/{other_case}", frozenset({"agent2", "lead"}), _check_other_case),
    ("/advocates", frozenset({"marketing"}), _check_advocates),
    ("/advocates.csv", frozenset({"marketing"}), _check_csv),
    ("/search", frozenset({"analyst"}), _check_search_form),
    ("/search?q=refund", frozenset({"analyst"}), _check_search),
    ("/overview?days=365", frozenset({"lead", "marketing", "analyst", "admin"}), _check_overview),
    ("/admin/users", frozenset({"admin"}), _check_users),
    ("/admin/audit", frozenset({"admin"}), _check_audit),
    ("/admin/configuration", frozenset({"admin"}), _check_configuration),
]


@pytest.mark.parametrize(("path", "allowed", "check"), PAGES, ids=[p[0] for p in PAGES])
def test_pages_each_role_gets_the_page_or_a_403_page(
    login: Login,
    seeded: dict[str, Any],
    path: str,
    allowed: frozenset[str],
    check: Callable[[str, str, dict[str, Any]], None],
) -> None:
    url = path.format(**seeded)
    for role in ROLES:
        client = login(BY_ROLE[role])
        answer = client.get(url, follow_redirects=False)
        if role in allowed:
            assert answer.status_code == 200, (role, answer.status_code, answer.text[:300])
            check(answer.text, role, seeded)
            if answer.headers["content-type"].startswith("text/html"):
                assert inline_scripts(answer.text) == []
        else:
            assert answer.status_code == 403, (role, answer.status_code)
            assert "403" in answer.text and error_message(answer.text), role
            assert answer.headers["content-type"].startswith("text/html")


@pytest.mark.parametrize(
    "path",
    [
        "/queues",
        "/queues/care",
        "/cases/{care_case}",
        "/advocates",
        "/advocates.csv",
        "/search",
        "/overview",
        "/admin/users",
        "/admin/audit",
        "/admin/configuration",
    ],
)
def test_pages_unauthenticated_redirect_to_login(
    anonymous: TestClient, seeded: dict[str, Any], path: str
) -> None:
    url = path.format(**seeded)
    answer = anonymous.get(url, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/login?next={url.split('?')[0]}"


@pytest.mark.parametrize(
    ("role", "start"),
    [
        ("agent", "/queues"),
        ("lead", "/queues"),
        ("marketing", "/advocates"),
        ("analyst", "/search"),
        ("admin", "/admin/users"),
    ],
)
def test_start_redirects_to_the_roles_first_page(login: Login, role: str, start: str) -> None:
    answer = login(BY_ROLE[role]).get("/", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == start


def test_start_anonymous_redirects_to_login(anonymous: TestClient) -> None:
    answer = anonymous.get("/", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")


def test_nav_shows_only_the_roles_pages(login: Login) -> None:
    html = login("maya").get("/advocates").text
    nav = re.search(r"<nav aria-label=\"Console\">(.*?)</nav>", html, re.S)
    assert nav
    links = re.findall(r'href="([^"]+)"', nav.group(1))
    assert links == ["/advocates", "/overview"]


# -- the queue page -------------------------------------------------------------------------------


def test_queue_page_lists_open_cases_most_urgent_first(
    login: Login, console_config: Config
) -> None:
    html = login("sam").get("/queues/care").text
    shown = re.findall(r'<tr data-case-id="([^"]+)"', html)
    expected = console.queue_cases(console_config, as_user(console_config, "sam"), "care")
    assert shown == [c["id"] for c in expected]
    priorities = [c["priority"] for c in expected]
    assert priorities == sorted(priorities, reverse=True)
    first = expected[0]
    row = html[html.index(f'data-case-id="{first["id"]}"') :].split("</tr>")[0]
    assert f'<td class="num prio" data-col="priority">{first["priority"]}</td>' in row
    shown_left = re.search(r'data-seconds-left="(-?\d+)"', row)
    if first["sla_seconds_left"] is None:
        assert shown_left is None
    else:  # the page and the list above were computed a moment apart
        assert shown_left and abs(int(shown_left.group(1)) - first["sla_seconds_left"]) <= 5
    assert f"@{first['author_handle']}" in row
    assert first["post"]["labels"]["sentiment"]["label"] in row
    assert first["rule"] in row
    # the script polls the same list from the API
    assert 'data-queue="care"' in html and 'data-limit="50"' in html
    assert 'id="shortcuts"' in html and "<kbd>j</kbd>" in html


def test_queue_page_filters_by_status_and_mine(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    sam = login("sam")
    assert act(sam, seeded["care_case"], "claim").status_code == 303
    claimed = sam.get("/queues/care?status=claimed").text
    assert re.findall(r'<tr data-case-id="([^"]+)"', claimed) == [seeded["care_case"]]
    mine = sam.get("/queues/care?mine=1").text
    assert re.findall(r'<tr data-case-id="([^"]+)"', mine) == [seeded["care_case"]]
    resolved = sam.get("/queues/care?status=resolved").text
    assert "No cases here with status resolved" in resolved


def test_queue_page_unknown_status_is_422_and_unknown_queue_404(login: Login) -> None:
    sam = login("sam")
    assert sam.get("/queues/care?status=bogus").status_code == 422
    lee = login("lee")
    answer = lee.get("/queues/nowhere")
    assert answer.status_code == 404 and "no queue" in error_message(answer.text)


def test_queues_page_shows_open_and_overdue_counts(login: Login, console_config: Config) -> None:
    html = login("sam").get("/queues").text
    (care,) = console.queues(console_config, as_user(console_config, "sam"))
    row = html[html.index('href="/queues/care"') :].split("</tr>")[0]
    cells = re.findall(r'<td class="num[^"]*">(\d+)</td>', row)
    assert cells == [
        str(care["open"]),
        str(care["by_status"]["new"]),
        str(care["by_status"]["claimed"]),
        str(care["by_status"]["responded"]),
        str(care["overdue"]),
    ]


# -- acting on cases through the page forms ---------------------------------------------------------


def test_case_act_claim_then_resolve_changes_the_case_and_audits(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_cases"][1]
    sam = login("sam")
    answer = act(sam, case_id, "claim")
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/cases/{case_id}?done=claim"
    page = sam.get(answer.headers["location"]).text
    assert "You claimed the case." in page
    after = detail(console_config, case_id)
    assert (after["status"], after["assignee"]) == ("claimed", "sam")
    buttons = re.findall(r'name="action" value="([a-z_]+)"', page)
    assert sorted(buttons) == sorted(after_actions(console_config, case_id))
    assert "release" in buttons and "resolve" in buttons and "claim" not in buttons

    answer = act(sam, case_id, "resolve", note="refund issued by phone")
    assert answer.status_code == 303
    after = detail(console_config, case_id)
    assert after["status"] == "resolved"
    trail = [(e["action"], e["actor"]) for e in after["events"]]
    assert ("claim", "sam") in trail and ("resolve", "sam") in trail
    resolved = next(e for e in after["events"] if e["action"] == "resolve")
    assert "refund issued by phone" in json.dumps(resolved["detail"])
    for action in ("cases.claim", "cases.resolve"):
        (entry,) = audit(console_config, action, target=case_id)
        assert (entry.actor, entry.outcome, entry.address) == ("sam", "ok", "testclient")


def after_actions(config: Config, case_id: str) -> list[str]:
    """What sam may do on the case now (what the page's buttons must be)."""
    return console.case_detail(config, as_user(config, "sam"), case_id)["actions"]


def test_case_page_shows_buttons_for_exactly_the_allowed_actions(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_case"]
    page = login("sam").get(f"/cases/{case_id}").text
    buttons = re.findall(r'name="action" value="([a-z_]+)"', page)
    assert sorted(buttons) == sorted(after_actions(console_config, case_id))
    assert 'data-key="c"' in page and 'data-key="r"' not in page  # resolve needs a claim
    assert 'name="csrf_token"' in page
    # lee claims it: sam sees no buttons but who holds it
    lee = login("lee")
    act(lee, case_id, "claim")
    page = login("sam").get(f"/cases/{case_id}").text
    assert re.findall(r'name="action" value="([a-z_]+)"', page) == []
    assert "<bdi>lee</bdi> holds it" in page


def test_case_act_conflict_shows_a_clear_409(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_cases"][2]
    sam, lee = login("sam"), login("lee")
    token = csrf_token(sam)  # sam has the page open with its claim button
    assert act(lee, case_id, "claim").status_code == 303
    answer = sam.post(
        f"/cases/{case_id}/act",
        data={"csrf_token": token, "action": "claim"},
        follow_redirects=False,
    )
    assert answer.status_code == 409
    assert "Another agent changed this case first" in error_message(answer.text)
    assert detail(console_config, case_id)["assignee"] == "lee"
    (failed,) = audit(console_config, "cases.claim", actor="sam", target=case_id)
    assert failed.outcome == "failed"


def test_case_act_other_teams_case_is_403_and_unchanged(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["other_case"]
    sam = login("sam")
    answer = act(sam, case_id, "claim")
    assert answer.status_code == 403
    assert "not one of sam's teams" in error_message(answer.text)
    assert detail(console_config, case_id)["status"] == "new"
    (denied,) = audit(console_config, "cases.claim", actor="sam", target=case_id)
    assert denied.outcome == "denied"


def test_case_act_marketing_may_not_act(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    maya = login("maya")
    answer = act(maya, seeded["care_case"], "claim")
    assert answer.status_code == 403
    assert detail(console_config, seeded["care_case"])["status"] == "new"


def test_case_act_reroute_to_a_queue_the_agent_does_not_work_returns_to_the_queue(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    case_id = seeded["care_cases"][3]
    sam = login("sam")
    data = {"csrf_token": csrf_token(sam), "action": "reroute", "queue": "billing"}
    answer = sam.post(f"/cases/{case_id}/act?from=care", data=data, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/queues/care?done=reroute"
    assert detail(console_config, case_id)["queue"] == "billing"


@pytest.mark.parametrize(
    ("fields", "status", "message"),
    [
        ({"action": "explode"}, 422, "unknown action"),
        ({"action": "reroute"}, 422, "reroute needs"),
        ({"action": "reroute", "queue": "nowhere"}, 422, "unknown queue"),
        ({"action": "resolve"}, 409, "Another agent changed this case first"),
        ({"action": "claim", "note": "x" * 2001}, 422, "note"),
    ],
    ids=[
        "unknown-action",
        "reroute-without-queue",
        "reroute-unknown-queue",
        "resolve-new",
        "long-note",
    ],
)
def test_case_act_bad_input_is_4xx_and_changes_nothing(
    login: Login,
    console_config: Config,
    seeded: dict[str, Any],
    fields: dict[str, str],
    status: int,
    message: str,
) -> None:
    case_id = seeded["care_case"]
    before = detail(console_config, case_id)
    sam = login("sam")
    answer = sam.post(
        f"/cases/{case_id}/act",
        data={"csrf_token": csrf_token(sam), **fields},
        follow_redirects=False,
    )
    assert answer.status_code == status
    assert message in answer.text, error_message(answer.text)
    after = detail(console_config, case_id)
    assert (after["status"], after["queue"], after["assignee"]) == (
        before["status"],
        before["queue"],
        before["assignee"],
    )


def test_case_unknown_id_is_a_404_page(login: Login) -> None:
    sam = login("sam")
    answer = sam.get("/cases/case:x:nope")
    assert answer.status_code == 404
    assert "404" in answer.text and "no case 'case:x:nope'" in error_message(answer.text)
    assert act(sam, "case:x:nope", "claim").status_code == 404


def test_case_act_get_redirects_to_the_case(login: Login, seeded: dict[str, Any]) -> None:
    answer = login("sam").get(f"/cases/{seeded['care_case']}/act", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        f"/cases/{seeded['care_case']}",
    )


def test_case_page_shows_reasons_breakdown_author_and_trail(
    login: Login, console_config: Config
) -> None:
    lee = as_user(console_config, "lee")
    private = next(
        c
        for c in console.queue_cases(console_config, lee, "billing", limit=200)
        if c["action"] == "move_private" and c["action_detail"].get("private_reasons")
    )
    full = console.case_detail(console_config, lee, private["id"])
    html = login("lee").get(f"/cases/{private['id']}").text
    for reason in full["action_detail"]["private_reasons"]:
        assert f'<li dir="auto">{reason}</li>'.replace("'", "&#39;") in html
    for part, points in full["priority_reasons"].items():
        assert f'<th scope="row">{part.replace("_", " ")}</th>' in html
        assert f"{points:.1f}" in html
    assert f"<strong>{full['author']['followers']:,}</strong> followers" in html
    for event in full["events"]:
        assert f"<td>{event['action'].replace('_', ' ')}</td>" in html
    post = full["conversation"][0]
    assert f'<a class="ext" href="{post["url"]}" rel="noopener noreferrer" target="_blank">' in html
    sentiment = post["labels"]["sentiment"]
    assert f"{sentiment['label']} <small>{sentiment['score']:.2f}</small>" in html


# -- label corrections ------------------------------------------------------------------------------


def test_labels_correct_through_the_form_stores_feedback_and_audits(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    post_id = seeded["care_post"]
    sam = login("sam")
    page = sam.get(f"/cases/{seeded['care_case']}").text
    assert f'action="/posts/{post_id.replace(":", "%3A")}/labels"' in page
    answer = sam.post(
        f"/posts/{post_id}/labels",
        data={"csrf_token": csrf_token(sam), "task": "sentiment", "label": "neutral"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/cases/{seeded['care_case']}?done=label"
    assert "training feedback" in sam.get(answer.headers["location"]).text
    (entry,) = audit(console_config, "labels.correct", target=post_id)
    assert (entry.actor, entry.detail) == ("sam", {"task": "sentiment", "label": "neutral"})
    assert any(label == "neutral" for _, label in feedback.corrections(console_config)["sentiment"])


@pytest.mark.parametrize(
    ("task", "label"),
    [("sentiment", "furious"), ("spam", "spam"), ("intent", "")],
)
def test_labels_correct_bad_input_is_422(
    login: Login, console_config: Config, seeded: dict[str, Any], task: str, label: str
) -> None:
    sam = login("sam")
    answer = sam.post(
        f"/posts/{seeded['care_post']}/labels",
        data={"csrf_token": csrf_token(sam), "task": task, "label": label},
    )
    assert answer.status_code == 422
    assert [e.outcome for e in audit(console_config, "labels.correct")] == ["failed"]
    assert feedback.corrections(console_config)["sentiment"] == []


def test_labels_correct_other_teams_post_is_403(
    login: Login, console_config: Config, seeded: dict[str, Any]
) -> None:
    other_post = detail(console_config, seeded["other_case"])["opened_post_id"]
    sam = login("sam")
    answer = sam.post(
        f"/posts/{other_post}/labels",
        data={"csrf_token": csrf_token(sam), "task": "sentiment", "label": "neutral"},
    )
    assert answer.status_code == 403
    assert feedback.corrections(console_config)["sentiment"] == []


# -- CSRF on every form ------------------------------------------------------------------------------


def _form_cases(seeded: dict[str, Any]) -> list[tuple[str, str, dict[str, str]]]:
    return [
        ("sam", f"/cases/{seeded['care_case']}/act", {"action": "claim"}),
        ("sam", f"/posts/{seeded['care_post']}/labels", {"task": "sentiment", "label": "neutral"}),
        (
            "ada",
            "/admin/users",
            {"name": "newbie", "role": "analyst", "password": "long enough password"},
        ),
        ("ada", "/admin/users/ana/deactivate", {}),
        ("sam", "/logout", {}),
    ]


def _nothing_changed(config: Config, seeded: dict[str, Any], client: TestClient) -> None:
    assert detail(config, seeded["care_case"])["status"] == "new"
    assert feedback.corrections(config)["sentiment"] == []
    names = {u.name: u for u in access.users(config)}
    assert "newbie" not in names and names["ana"].active
    for action in ("cases.claim", "labels.correct", "users.deactivate", "logout"):
        assert audit(config, action) == [], action
    assert [e for e in audit(config, "users.add") if e.actor != "cli"] == []
    assert client.get("/", follow_redirects=False).headers["location"] != "/login"


@pytest.mark.parametrize("token", ["", "wrong-token"], ids=["missing", "wrong"])
@pytest.mark.parametrize(
    "form", range(5), ids=["act", "labels", "add-user", "deactivate", "logout"]
)
def test_forms_without_the_right_csrf_token_are_403_and_change_nothing(
    login: Login, console_config: Config, seeded: dict[str, Any], form: int, token: str
) -> None:
    name, path, fields = _form_cases(seeded)[form]
    client = login(name)
    data = dict(fields)
    if token:
        data["csrf_token"] = token
    answer = client.post(path, data=data, follow_redirects=False)
    assert answer.status_code == 403
    assert "CSRF" in error_message(answer.text)
    _nothing_changed(console_config, seeded, client)


def test_forms_unauthenticated_post_redirects_to_login_and_changes_nothing(
    anonymous: TestClient, console_config: Config, seeded: dict[str, Any]
) -> None:
    answer = anonymous.post(
        f"/cases/{seeded['care_case']}/act",
        data={"action": "claim", "csrf_token": "x"},
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith("/login")
    assert detail(console_config, seeded["care_case"])["status"] == "new"


def test_logout_with_token_ends_the_session(login: Login) -> None:
    sam = login("sam")
    answer = sam.post("/logout", data={"csrf_token": csrf_token(sam)}, follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/login")
    assert sam.get("/queues", follow_redirects=False).headers["location"].startswith("/login")


# -- advocates, search, overview ----------------------------------------------------------------------


def test_advocates_tabs_filters_and_evidence_links(login: Login, console_config: Config) -> None:
    maya = login("maya")
    for kind in ("advocate", "superuser", "detractor"):
        html = maya.get(f"/advocates?kind={kind}").text
        assert re.search(rf'href="/advocates\?kind={kind}" aria-current="page"', html)
        rows = console.advocates(console_config, as_user(console_config, "maya"), kind=kind)
        assert len(re.findall(r"<td class=\"num strong\">", html)) == len(rows)
        for row in rows:
            for evidence in row["evidence"]:
                if evidence["url"]:
                    href = escape(evidence["url"])
                    assert f'<a href="{href}" rel="noopener noreferrer" target="_blank">' in html
    reddit = maya.get("/advocates?kind=superuser&network=reddit&days=365").text
    assert 'href="/advocates.csv?kind=superuser&amp;network=reddit&amp;days=365"' in reddit
    assert '<option value="reddit" selected>' in reddit


def test_advocates_csv_is_an_attachment_and_audited(login: Login, console_config: Config) -> None:
    answer = login("maya").get("/advocates.csv?kind=detractor")
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "text/csv; charset=utf-8"
    assert answer.headers["content-disposition"] == 'attachment; filename="detractors.csv"'
    rows = list(csv.reader(io.StringIO(answer.text)))
    assert rows[0][0] == "kind" and all(r[0] == "detractor" for r in rows[1:])
    (entry,) = audit(console_config, "advocates.export")
    assert (entry.actor, entry.target, entry.address) == ("maya", "detractor", "testclient")


@pytest.mark.parametrize(
    "query", ["kind=fans", "network=myspace", "days=abc", "days=0"], ids=lambda q: q
)
def test_advocates_bad_filters_are_422(login: Login, query: str) -> None:
    maya = login("maya")
    assert maya.get(f"/advocates?{query}").status_code == 422
    assert maya.get(f"/advocates.csv?{query}").status_code == 422


def test_search_filters_narrow_the_results(login: Login, console_config: Config) -> None:
    ana = login("ana")
    html = ana.get("/search?q=refund&intent=billing&source=x").text
    found = console.search(
        console_config,
        as_user(console_config, "ana"),
        "refund",
        filters={"intent": "billing", "source": "x"},
        limit=50,
    )
    assert found
    assert len(re.findall(r'<li class="result">', html)) == len(found)
    assert '<option value="billing" selected>' in html
    assert all(r["post"]["source"] == "x" for r in found)
    nothing = ana.get("/search?q=refund&from=2020-01-01&to=2020-01-31").text
    assert "Nothing matches." in nothing and "0 results" in nothing


@pytest.mark.parametrize(
    "query",
    ["from=yesterday", "from=2026-11-05&to=2026-11-01", "q=" + "a" * 501],
    ids=["bad-date", "reversed-range", "long-text"],
)
def test_search_bad_input_is_422(login: Login, query: str) -> None:
    assert login("ana").get(f"/search?{query}").status_code == 422


def test_overview_data_block_matches_the_service(login: Login, console_config: Config) -> None:
    html = login("lee").get("/overview?days=365").text
    block = re.search(
        r'<script type="application/json" id="overview-data">(.*?)</script>', html, re.S
    )
    assert block
    data = json.loads(block.group(1))
    expected = console.overview(console_config, as_user(console_config, "lee"), days=365)
    assert data["volumes"] == expected["volumes"]
    assert data["backlog"] == expected["backlog"]
    assert data["buckets"] == ["<1h", "1-4h", "4-24h", "1-3d", ">3d"]
    assert data["queues"] == expected["queues"]
    for alert in expected["alerts"]:
        assert f'<strong dir="auto">{alert["key"]}</strong>' in html
    assert "moved private" in html and "Per responder" in html
    assert login("lee").get("/overview?days=0").status_code == 422


# -- administration -----------------------------------------------------------------------------------


def test_admin_users_add_update_and_deactivate(login: Login, console_config: Config) -> None:
    ada = login("ada")
    answer = ada.post(
        "/admin/users",
        data={
            "csrf_token": csrf_token(ada),
            "name": "tove",
            "role": "agent",
            "display_name": "Tove L",
            "teams": "care, billing",
            "password": "a long enough password",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 303 and answer.headers["location"].startswith(
        "/admin/users?done=user"
    )
    tove = access.get_user(console_config, "tove")
    assert (tove.role, tove.teams, tove.display_name) == ("agent", ("care", "billing"), "Tove L")
    (added,) = audit(console_config, "users.add", target="tove")
    assert (added.actor, added.address) == ("ada", "testclient")
    assert "<bdi>tove</bdi>" in ada.get("/admin/users").text

    ada.post(
        "/admin/users",
        data={"csrf_token": csrf_token(ada), "name": "tove", "role": "lead", "teams": "*"},
    )
    assert access.get_user(console_config, "tove").role == "lead"

    answer = ada.post(
        "/admin/users/tove/deactivate", data={"csrf_token": csrf_token(ada)}, follow_redirects=False
    )
    assert answer.status_code == 303
    assert not access.get_user(console_config, "tove").active
    (gone,) = audit(console_config, "users.deactivate", target="tove")
    assert gone.actor == "ada"


@pytest.mark.parametrize(
    "fields",
    [
        {"name": "x y", "role": "analyst", "password": "long enough password"},
        {"name": "shorty", "role": "analyst", "password": "short"},
        {"name": "nobody", "role": "emperor", "password": "long enough password"},
        {"name": "teamless", "role": "agent", "password": "long enough password"},
        {
            "name": "painter",
            "role": "marketing",
            "teams": "care",
            "password": "long enough password",
        },
    ],
    ids=[
        "space-in-name",
        "short-password",
        "unknown-role",
        "agent-without-team",
        "marketing-with-team",
    ],
)
def test_admin_users_bad_input_is_422(
    login: Login, console_config: Config, fields: dict[str, str]
) -> None:
    ada = login("ada")
    before = {u.name for u in access.users(console_config)}
    answer = ada.post("/admin/users", data={"csrf_token": csrf_token(ada), **fields})
    assert answer.status_code == 422
    assert {u.name for u in access.users(console_config)} == before


def test_admin_users_deactivate_unknown_is_404_and_self_is_refused(login: Login) -> None:
    ada = login("ada")
    token = csrf_token(ada)
    assert ada.post("/admin/users/ghost/deactivate", data={"csrf_token": token}).status_code == 404
    assert ada.post("/admin/users/ada/deactivate", data={"csrf_token": token}).status_code == 422


def test_admin_users_forms_are_for_admins_only(login: Login, console_config: Config) -> None:
    lee = login("lee")
    token = csrf_token(lee)
    answer = lee.post(
        "/admin/users",
        data={
            "csrf_token": token,
            "name": "lee2",
            "role": "admin",
            "password": "long enough password",
        },
    )
    assert answer.status_code == 403
    assert lee.post("/admin/users/sam/deactivate", data={"csrf_token": token}).status_code == 403
    assert access.get_user(console_config, "sam").active
    assert "lee2" not in {u.name for u in access.users(console_config)}


def test_admin_audit_filters_and_pages(login: Login, console_config: Config) -> None:
    for _ in range(3):
        login("sam")
    ada = login("ada")
    html = ada.get("/admin/audit?actor=sam&action=login").text
    rows = re.findall(r'<tr class="outcome-ok">\s*<td class="num muted">(\d+)</td>', html)
    assert len(rows) == 3
    assert all(int(a) > int(b) for a, b in itertools.pairwise(rows))  # newest first
    older = ada.get(f"/admin/audit?actor=sam&action=login&before_id={rows[0]}").text
    assert re.findall(r'<td class="num muted">(\d+)</td>', older) == rows[1:]
    assert ada.get("/admin/audit?before_id=abc").status_code == 422


def test_admin_audit_offers_older_entries_when_the_page_is_full(
    login: Login, console_config: Config
) -> None:
    for i in range(105):
        access.audit(console_config, actor="bot", action="test.tick", detail={"i": i})
    html = login("ada").get("/admin/audit?actor=bot").text
    ids = re.findall(r'<td class="num muted">(\d+)</td>', html)
    assert len(ids) == 100
    link = re.search(r'<a href="/admin/audit\?([^"]+)" rel="next">', html)
    assert link and unescape(link.group(1)) == f"actor=bot&before_id={ids[-1]}"


def test_admin_configuration_lists_queues_tiers_and_rules(
    login: Login, console_config: Config
) -> None:
    from services.console_config import configuration

    conf = configuration(console_config, as_user(console_config, "ada"))
    html = login("ada").get("/admin/configuration").text
    for queue in conf["queues"]:
        assert f'<th scope="row">{queue["name"]}</th>' in html
    for rule in conf["rules"]:
        assert f"<code>{rule['name']}</code>" in html
    assert "uk_office" in html and "Europe/London" in html
    with pytest.raises(Exception, match="may not see the configuration"):
        configuration(console_config, as_user(console_config, "lee"))


# -- hostile content ----------------------------------------------------------------------------------

HOSTILE_TEXT = (
    "This is fraud <script>alert(1)</script> <img src=x onerror=alert(1)> "
    "&lt;b&gt;not bold&lt;/b&gt; \u202edesrever\u202c end"
)


def _hostile_case(config: Config) -> str:
    """A post full of markup, a javascript: URL and a bidi override, routed into care."""
    post = Post(
        id="x:666",
        source="x",
        url="javascript:alert(1)",
        author=Author(
            id="x:id-mallory",
            handle="mallory\u202e",
            display_name='<script>alert("name")</script>\u202eMallory',
            followers=12,
        ),
        text=HOSTILE_TEXT,
        created_at=datetime.now(UTC),
    )
    labels = make_enrichment(post.id, intent="complaint", sentiment="negative")
    labels = replace(
        labels,
        results={
            **labels.results,
            "intent": Label("complaint", 0.9, "intent.test"),
            "private": PrivateDecision(
                True, 0.9, ("<b>order</b> <script>alert('reason')</script>",), "private.test"
            ),
        },
    )
    route_posts(config, [post], [labels])
    case = detail(config, "case:x:666")
    assert case["queue"] == "care", case["queue"]
    return "case:x:666"


def _assert_inert(html: str) -> None:
    lowered = html.lower()
    assert "<script>alert" not in lowered
    assert "<img src=x" not in lowered
    assert 'href="javascript:' not in lowered and "href='javascript:" not in lowered
    assert "javascript:" not in lowered
    assert "<b>order</b>" not in html and "<b>not bold" not in html
    assert inline_scripts(html) == []


def test_hostile_post_is_inert_on_the_case_page(login: Login, console_config: Config) -> None:
    case_id = _hostile_case(console_config)
    sam = login("sam")
    act(sam, case_id, "claim", note="<script>alert('note')</script>\u202e")
    html = sam.get(f"/cases/{case_id}").text
    _assert_inert(html)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;img src=x onerror=alert(1)&gt;" in html
    assert "&amp;lt;b&amp;gt;not bold&amp;lt;/b&amp;gt;" in html  # entities double-escaped
    # the post text, the names, reasons and the note each sit in an isolating element
    assert re.search(r'<p class="post-text" dir="auto">This is fraud [^<]*\u202edesrever', html)
    assert '<bdi class="handle">@mallory\u202e</bdi>' in html
    assert (
        '<bdi class="name">&lt;script&gt;alert(&#34;name&#34;)&lt;/script&gt;\u202eMallory</bdi>'
        in html
    )
    assert re.search(r'<li dir="auto">&lt;b&gt;order&lt;/b&gt; &lt;script&gt;', html)
    assert re.search(r'<span dir="auto" class="detail">[^<]*&lt;script&gt;alert\(&#39;note', html)
    assert "open original" not in html.split('id="conv-title"')[1].split("</section>")[0]


def test_hostile_post_is_inert_on_the_queue_page(login: Login, console_config: Config) -> None:
    case_id = _hostile_case(console_config)
    console.act(console_config, as_user(console_config, "sam"), case_id, "claim")
    html = login("sam").get("/queues/care?mine=1").text
    assert f'data-case-id="{case_id}"' in html
    _assert_inert(html)
    assert re.search(
        r'<span class="post-text clamp" dir="auto">This is fraud &lt;script&gt;alert\(1\)&lt;/script&gt;',
        html,
    )
    assert "&amp;lt;b&amp;gt;" in html
    assert '<bdi class="handle">@mallory\u202e</bdi>' in html


def test_login_page_still_logs_in_and_rejects_a_wrong_password(anonymous: TestClient) -> None:
    form = anonymous.get("/login")
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', form.text)
    assert nonce
    wrong = anonymous.post(
        "/login",
        data={"name": "sam", "password": "wrong password!", "login_nonce": nonce.group(1)},
    )
    assert wrong.status_code == 401 and "wrong name or password" in wrong.text
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', wrong.text)
    assert nonce
    right = anonymous.post(
        "/login",
        data={
            "name": "sam",
            "password": PASSWORD,
            "login_nonce": nonce.group(1),
            "next": "/queues/care",
        },
        follow_redirects=False,
    )
    assert (right.status_code, right.headers["location"]) == (303, "/queues/care")


def _login_form(client: TestClient, name: str, password: str) -> Any:
    nonce = re.search(r'name="login_nonce" value="([^"]+)"', client.get("/login").text)
    assert nonce
    return client.post(
        "/login",
        data={"name": name, "password": password, "login_nonce": nonce.group(1), "next": "/"},
        follow_redirects=False,
    )


def test_login_wrong_password_then_throttled_with_a_clear_message(
    anonymous: TestClient, console_config: Config
) -> None:
    from tests.web.conftest import PASSWORD

    for _ in range(access.MAX_FAILURES_PER_NAME):
        wrong = _login_form(anonymous, "sam", "not the password")
        assert wrong.status_code == 401 and "wrong name or password" in wrong.text
        assert "earshot_session" not in wrong.headers.get("set-cookie", "")
    throttled = _login_form(anonymous, "sam", PASSWORD)
    assert throttled.status_code == 429 and "too many failed logins" in throttled.text
    assert "earshot_session" not in throttled.headers.get("set-cookie", "")
    outcomes = [e.outcome for e in access.audit_log(console_config, actor="sam", action="login")]
    assert outcomes == ["throttled"] + ["denied"] * access.MAX_FAILURES_PER_NAME
    assert _login_form(anonymous, "bea", PASSWORD).status_code == 303  # other names unaffected


def test_login_without_the_forms_nonce_is_refused(anonymous: TestClient) -> None:
    from tests.web.conftest import PASSWORD

    forged = anonymous.post(
        "/login",
        data={"name": "sam", "password": PASSWORD, "login_nonce": "forged", "next": "/"},
        follow_redirects=False,
    )
    assert forged.status_code == 403 and "login form expired" in forged.text

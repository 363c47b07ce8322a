"""SLA breaches: flagged once, logged, counted, sent to the queue's webhook (retried when it
fails); due times follow the customer's tier and the queue's business hours."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml
from pytest_httpserver import HTTPServer

from core.config import Config, load_config
from services import authors, cases
from services.runtime import open_store
from tests.conftest import ROOT, write_config
from tests.services.test_cases import T0, counted, feed, feed_labelled, only_case, post


def config_with_webhook(tmp_path: Path, url: str) -> Config:
    data = yaml.safe_load((ROOT / "config" / "routing.yaml").read_text(encoding="utf-8"))
    data["queues"]["billing"]["webhook"] = url
    data["help_articles"] = str(ROOT / "config" / "help_articles.yaml")
    routing = tmp_path / "routing.yaml"
    routing.write_text(yaml.safe_dump(data), encoding="utf-8")
    return load_config(write_config(tmp_path, routing=routing))


def test_sla_breach_is_flagged_once_logged_and_sent(
    database: str, tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_oneshot_request("/hook", method="POST").respond_with_data("ok")
    config = config_with_webhook(tmp_path, httpserver.url_for("/hook"))
    feed(config, [post("100")])  # billing: due 11:00
    assert cases.check_sla(config, at=T0 + timedelta(minutes=59))["breached"] == 0
    with caplog.at_level(logging.WARNING):
        done = cases.check_sla(config, at=T0 + timedelta(minutes=75))
    assert (done["breached"], done["notified"]) == (1, 1)
    assert "SLA breached: case case:x:100 in billing" in caplog.text
    assert "15 min ago" in caplog.text
    ((request, _response),) = httpserver.log
    body = request.get_json()
    assert body["earshot"]["case_id"] == "case:x:100"
    assert body["text"].startswith(":rotating_light: SLA breached in *billing*: case case:x:100")
    case = only_case(open_store(config))
    assert case.breached_at == T0 + timedelta(minutes=75)
    assert case.breach_notified_at == T0 + timedelta(minutes=75)
    assert [e.action for e in open_store(config).cases.events(case.id)][-1] == "breach"
    again = cases.check_sla(config, at=T0 + timedelta(minutes=90))
    assert (again["breached"], again["notified"]) == (0, 0)  # once per case
    assert len(httpserver.log) == 1


def test_sla_failed_webhook_is_retried_on_the_next_check(
    database: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_oneshot_request("/hook").respond_with_data("down", status=503)
    config = config_with_webhook(tmp_path, httpserver.url_for("/hook"))
    feed(config, [post("100")])
    first = cases.check_sla(config, at=T0 + timedelta(hours=2))
    assert (first["breached"], first["notified"], first["webhook_failures"]) == (1, 0, 1)
    httpserver.expect_oneshot_request("/hook").respond_with_data("ok")
    second = cases.check_sla(config, at=T0 + timedelta(hours=2, minutes=5))
    assert (second["breached"], second["notified"], second["webhook_failures"]) == (0, 1, 0)


def test_sla_webhook_that_keeps_failing_is_left_until_the_next_check(
    database: str, tmp_path: Path, httpserver: HTTPServer, caplog: pytest.LogCaptureFixture
) -> None:
    httpserver.expect_request("/hook").respond_with_data("down", status=503)
    config = config_with_webhook(tmp_path, httpserver.url_for("/hook"))
    feed(config, [post(str(100 + i), handle=f"u{i}") for i in range(8)])
    with caplog.at_level(logging.WARNING):
        first = cases.check_sla(config, at=T0 + timedelta(hours=2))
    assert (first["breached"], first["notified"], first["webhook_failures"]) == (8, 0, 8)
    assert len(httpserver.log) == cases.WEBHOOK_GIVE_UP  # not 8 calls to a dead endpoint
    assert "failed 3 times in a row" in caplog.text
    httpserver.clear()
    httpserver.expect_request("/hook").respond_with_data("ok")
    second = cases.check_sla(config, at=T0 + timedelta(hours=2, minutes=5))
    assert (second["breached"], second["notified"], second["webhook_failures"]) == (0, 8, 0)


def test_sla_answered_or_closed_cases_are_never_breached(database: str, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    cases.add_agent(config, "ana", queues=["billing"])
    feed(config, [post("100"), post("200", at=T0 + timedelta(minutes=1))])
    cases.act(config, "case:x:100", "respond", agent="ana", at=T0 + timedelta(minutes=30))
    cases.act(config, "case:x:200", "no_action", agent="ana", at=T0 + timedelta(minutes=30))
    assert cases.check_sla(config, at=T0 + timedelta(days=1))["breached"] == 0


def test_sla_waiting_raises_priority(database: str, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    feed(config, [post("100")])
    before = only_case(open_store(config))
    assert before.priority_reasons.get("waiting", 0) == 0
    cases.check_sla(config, at=T0 + timedelta(minutes=30))  # half the SLA used: 7.5 points
    after = only_case(open_store(config))
    assert after.priority_reasons["waiting"] == 7.5
    assert after.priority == round(sum(after.priority_reasons.values()))
    assert after.priority > before.priority


def test_sla_vip_from_the_crm_gets_the_shorter_target(database: str, tmp_path: Path) -> None:
    config = load_config(write_config(tmp_path))
    authors.link(config, ["x:mo_khan_uk"], crm_id="C-2002", tier="vip")
    feed(config, [post("100", handle="mo_khan_uk"), post("200", handle="someone_else")])
    store = open_store(config)
    vip, standard = store.cases.get("case:x:100"), store.cases.get("case:x:200")
    assert vip is not None and standard is not None
    assert (vip.tier, vip.sla_due) == ("vip", T0 + timedelta(minutes=20))  # billing vip: 20
    assert (standard.tier, standard.sla_due) == ("standard", T0 + timedelta(minutes=60))
    assert vip.priority_reasons["tier"] == 15  # vip's priority_bonus


def test_sla_clock_starts_at_the_post_and_skips_closed_hours(database: str, tmp_path: Path) -> None:
    """A billing post on Saturday 16:30 London (open 09:00-17:00 on Saturdays, closed on
    Sundays): 30 minutes on Saturday, the other 30 from Monday 08:00."""
    config = load_config(write_config(tmp_path))
    saturday = datetime(2026, 11, 7, 16, 30, tzinfo=UTC)  # GMT in November
    feed(config, [post("100", at=saturday)])
    case = only_case(open_store(config))
    assert case.opened_at == saturday
    assert case.sla_due == datetime(2026, 11, 9, 8, 30, tzinfo=UTC)


def test_sla_many_breaches_log_twenty_lines_and_a_summary_per_queue(
    database: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A backfill breaches many cases at once: the first 20 (in id order) get a line each,
    the others one line counting them per queue."""
    config = load_config(write_config(tmp_path))
    billing = [post(str(100 + i), handle=f"u{i}", at=T0 + timedelta(minutes=i)) for i in range(23)]
    retention = [
        post(str(200 + i), handle=f"v{i}", at=T0 + timedelta(minutes=25 + i), text="cancel it")
        for i in range(2)
    ]
    feed_labelled(config, [(p, "billing") for p in billing] + [(p, "cancel") for p in retention])
    with caplog.at_level(logging.WARNING):
        done = cases.check_sla(config, at=T0 + timedelta(hours=3))
    assert done == {"breached": 25, "notified": 0, "webhook_failures": 0, "reprioritised": 25}
    lines = [r.getMessage() for r in caplog.records if r.name == "services.cases"]
    assert len(lines) == 21
    assert lines[0] == (
        "SLA breached: case case:x:100 in billing (priority 80) was due 2026-11-03T11:00:00Z,"
        " 120 min ago, no response"
    )
    assert lines[19].startswith("SLA breached: case case:x:119 in billing")
    assert lines[20] == "SLA breached: 5 more cases, no response (billing: 3, retention: 2)"
    store = open_store(config)
    flagged = [c for c in store.cases.list(limit=None) if c.breached_at == T0 + timedelta(hours=3)]
    assert len(flagged) == 25  # every one flagged, logged one by one or not
    assert [e.action for e in store.cases.events("case:x:201")] == ["open", "breach"]


def test_sla_check_in_pages_flags_notifies_and_reprioritises_every_case(
    database: str,
    tmp_path: Path,
    httpserver: HTTPServer,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The check reads a page of cases at a time (memory stays flat on a backlog): with
    pages of 7, 25 overdue cases are each flagged, noted, sent and reprioritised once."""
    monkeypatch.setattr(cases, "SLA_PAGE", 7)
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = config_with_webhook(tmp_path, httpserver.url_for("/hook"))
    posts = [post(str(300 + i), handle=f"w{i}", at=T0 + timedelta(minutes=i)) for i in range(25)]
    feed_labelled(config, [(p, "billing") for p in posts])
    with caplog.at_level(logging.WARNING):
        done = cases.check_sla(config, at=T0 + timedelta(hours=3))
    assert done == {"breached": 25, "notified": 25, "webhook_failures": 0, "reprioritised": 25}
    assert len(httpserver.log) == 25
    lines = [r.getMessage() for r in caplog.records if r.name == "services.cases"]
    assert len(lines) == 21 and lines[20] == "SLA breached: 5 more cases, no response (billing: 5)"
    store = open_store(config)
    for case in store.cases.list(limit=None):
        assert case.breached_at == case.breach_notified_at == T0 + timedelta(hours=3)
        assert [e.action for e in store.cases.events(case.id)] == ["open", "breach"]
    again = cases.check_sla(config, at=T0 + timedelta(hours=3, minutes=5))
    assert (again["breached"], again["notified"]) == (0, 0)


def test_sla_statements_do_not_grow_with_the_breaches(
    database: str, tmp_path: Path, httpserver: HTTPServer
) -> None:
    """Flagging, recording, notifying and reprioritising 50 or 200 cases costs the same few
    statements (the webhook is called once per case, as before)."""
    httpserver.expect_request("/hook", method="POST").respond_with_data("ok")
    config = config_with_webhook(tmp_path, httpserver.url_for("/hook"))
    engine = open_store(config).engine

    def statements(n: int, start: int, at: datetime) -> tuple[dict[str, int], int]:
        posts = [post(str(start + i), handle=f"u{start + i}", at=at) for i in range(n)]
        feed_labelled(config, [(p, "billing") for p in posts], at=at)
        issued: list[str] = []
        with counted(engine, issued):
            done = cases.check_sla(config, at=at + timedelta(hours=2))
        return done, len(issued)

    small, small_count = statements(50, 1000, T0)
    large, large_count = statements(200, 2000, T0 + timedelta(hours=4))
    assert small == {"breached": 50, "notified": 50, "webhook_failures": 0, "reprioritised": 50}
    assert large == {"breached": 200, "notified": 200, "webhook_failures": 0, "reprioritised": 200}
    assert small_count == large_count <= 18  # two pages read: one with the cases, one empty
    assert len(httpserver.log) == 250
    case = open_store(config).cases.get("case:x:2199")
    assert case is not None
    assert case.breached_at == case.breach_notified_at == T0 + timedelta(hours=6)
    assert [e.action for e in open_store(config).cases.events(case.id)] == ["open", "breach"]

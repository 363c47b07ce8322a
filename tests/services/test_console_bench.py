"""The console benchmark's machinery on a few hundred cases: the fill writes what it reports,
the agent logs in through the real HTTP stack (uvicorn in its own process), and the claims and
releases it times really change the cases. No figure is checked: speed is measured by
``make bench``, not by tests."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from core.care import OPEN_STATUSES
from services import access, console_bench
from services.runtime import open_store


@pytest.fixture
def bench_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.delenv("EARSHOT_ES_URL", raising=False)
    config = console_bench.bench_config(f"sqlite:///{tmp_path / 'earshot.db'}", tmp_path / "home")
    yield config
    open_store(config).dispose()


def test_console_bench_fill_writes_what_it_reports(bench_config) -> None:
    filled = console_bench.fill(bench_config, 300)

    store = open_store(bench_config)
    cases = store.cases.list(limit=None)
    assert filled.cases == len(cases) == 300
    assert filled.posts == store.posts.count() > 300  # some customers wrote again
    assert Counter(c.status for c in cases) == filled.by_status
    assert filled.open > filled.cases / 2  # most cases open, some closed
    assert set(filled.by_status) - set(OPEN_STATUSES)
    assert Counter(c.queue for c in cases if c.is_open) == filled.open_by_queue
    assert {q: sorted(ids) for q, ids in filled.new_by_queue.items()} == {
        q: sorted(c.id for c in cases if c.queue == q and c.status == "new")
        for q in filled.new_by_queue
    }
    assert set(filled.busiest()) <= set(filled.open_by_queue) - {"none"}
    assert store.outbox.count() == 0  # every post is in the search index


def test_console_bench_claims_change_the_cases(bench_config) -> None:
    filled = console_bench.fill(bench_config, 300)

    result = console_bench.measure(bench_config, filled, requests=9, claims=8)

    page, claim, release = result["page"], result["claim"], result["release"]
    assert page["n"] == 9 and len(page["ms"]) == 9
    assert page["kind"] in ("html", "api")  # the HTML page when it answers
    assert page["queues"] == result["teams"] == filled.busiest()
    assert page["cases_shown"] > 0
    assert claim["n"] == release["n"] == 8
    assert set(claim["results"]) == set(release["results"])  # the same eight cases
    new = {c for q in result["teams"] for c in filled.new_by_queue[q]}
    assert set(claim["results"]) <= new  # different cases, each new when claimed
    assert all(
        r["status"] == "claimed" and r["assignee"] == result["agent"]
        for r in claim["results"].values()
    )
    assert all(r["status"] == "new" and r["assignee"] is None for r in release["results"].values())
    assert claim["in_store"] == release["in_store"] == 8
    for key in ("p50", "p95", "max", "pass"):
        assert key in page and key in claim
    # Each claim went through the console's service: audited under the agent's name (the
    # untimed warm-up ones too).
    claims = access.audit_log(bench_config, actor=result["agent"], action="cases.claim")
    assert len(claims) == 8 + console_bench.WARMUP
    store = open_store(bench_config)
    events = [e for c in claim["results"] for e in store.cases.events(c)]
    assert Counter(e.action for e in events if e.actor == result["agent"]) == {
        "claim": 8,
        "release": 8,
    }


def test_console_bench_stats_are_nearest_rank_percentiles() -> None:
    figures = console_bench.stats([float(i) for i in range(100, 0, -1)], target=96.0)
    assert figures == {
        "n": 100,
        "p50": 50.0,
        "p95": 95.0,
        "max": 100.0,
        "target": 96.0,
        "pass": True,
    }
    assert console_bench.stats([10.0], target=5.0)["pass"] is False

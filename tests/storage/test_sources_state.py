"""Cursors, dead letters, staging and runs, feedback: the smaller repositories' contract."""

from __future__ import annotations

import pytest

from core.errors import NotFoundError
from core.models import DeadLetter
from storage import SqlStore
from tests.conftest import make_enrichment, make_post


def test_cursors_round_trip(store: SqlStore) -> None:
    assert store.cursors.get("x_samples") is None
    store.cursors.set("x_samples", {"lines": {"a.jsonl": 3}})
    store.cursors.set("x_samples", {"lines": {"a.jsonl": 5}})
    assert store.cursors.get("x_samples") == {"lines": {"a.jsonl": 5}}
    (value, saved_at) = store.cursors.all()["x_samples"]
    assert value == {"lines": {"a.jsonl": 5}} and saved_at.tzinfo is not None


def test_dead_letters_are_kept_once_with_raw_bytes(store: SqlStore) -> None:
    letter = DeadLetter("x_samples", "a.jsonl:4", "a.jsonl:4: invalid UTF-8", b"caf\xe9")
    assert store.dead_letters.add([letter, letter]) == 1
    assert store.dead_letters.add([letter]) == 0
    assert store.dead_letters.list() == [letter]


def test_staging_batch_round_trip(store: SqlStore) -> None:
    posts = [make_post(f"b{i}", post_id=f"x:4{i}") for i in range(3)]
    store.staging.stage_batch(
        batch_id="r1:x",
        run_id="r1",
        source="x",
        posts=posts,
        pending_cursor={"n": 1},
        counts={"fetched": 3},
    )
    store.staging.stage_enrichments("r1:x", [make_enrichment(p.id) for p in posts])
    items = store.staging.batch_items("r1:x")
    assert [p.id for p, _ in items] == ["x:40", "x:41", "x:42"]
    assert all(e is not None and e.post_id == p.id for p, e in items)
    batch = store.staging.batch("r1:x")
    assert (batch.stage, batch.pending_cursor, batch.counts) == (
        "classified",
        {"n": 1},
        {"fetched": 3},
    )
    # Staging the same batch again (a retried task) replaces it.
    store.staging.stage_batch(
        batch_id="r1:x", run_id="r1", source="x", posts=posts[:1], pending_cursor=None, counts={}
    )
    assert [p.id for p, _ in store.staging.batch_items("r1:x")] == ["x:40"]
    with pytest.raises(NotFoundError, match="r9:x"):
        store.staging.batch("r9:x")


def test_staging_runs_keep_counts_and_the_last_summary(store: SqlStore) -> None:
    store.staging.start_run("r1", owner="host:1")
    store.staging.stage_batch(
        batch_id="r1:x",
        run_id="r1",
        source="x",
        posts=[],
        pending_cursor=None,
        counts={"fetched": 0},
    )
    store.staging.update_batch("r1:x", stage="stored", counts={"new": 2})
    assert [(b.stage, b.counts) for b in store.staging.run_batches("r1")] == [
        ("stored", {"fetched": 0, "new": 2})
    ]
    assert store.staging.last_run() is None
    store.staging.finish_run("r1", {"new_posts": 2})
    last = store.staging.last_run()
    assert last is not None and last["summary"] == {"new_posts": 2}


def test_feedback_latest_correction_per_task_wins(store: SqlStore) -> None:
    store.feedback.add("x:1", "intent", "billing", "refund please")
    store.feedback.add("x:1", "intent", "cancel", "refund please")
    store.feedback.add("x:1", "sentiment", "negative", "refund please")
    assert store.feedback.list("intent") == [("refund please", "cancel")]
    assert store.feedback.list("sentiment") == [("refund please", "negative")]

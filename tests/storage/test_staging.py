"""Staging and runs: stages move forward once, staged posts go when a batch closes, runs
are pruned; cursors never move back; exact counts under concurrency."""

from __future__ import annotations

import threading
from dataclasses import replace
from datetime import timedelta

import pytest

from core.errors import ConflictError, StoreError
from core.timeutil import now
from storage import SqlStore
from tests.conftest import make_decision, make_enrichment, make_post


def stage(store: SqlStore, batch_id: str = "r1:x", run_id: str = "r1", n: int = 3) -> list:
    posts = [make_post(f"post {i}", post_id=f"x:{100 + i}") for i in range(n)]
    store.staging.stage_batch(
        batch_id=batch_id,
        run_id=run_id,
        source="x",
        posts=posts,
        pending_cursor={"n": n},
        counts={"fetched": n},
    )
    return posts


def test_staging_advance_moves_a_stage_once(store: SqlStore) -> None:
    stage(store)
    store.staging.advance("r1:x", from_stages=("collected",), to="abandoned")
    with pytest.raises(ConflictError, match="r1:x is abandoned"):
        store.staging.advance("r1:x", from_stages=("collected", "classified"), to="classified")
    assert store.staging.batch("r1:x").stage == "abandoned"


def test_staging_enrichments_drop_dead_lettered_posts(store: SqlStore) -> None:
    posts = stage(store)
    store.staging.stage_enrichments(
        "r1:x", [make_enrichment(p.id) for p in posts[:2]], dropped=[posts[2].id]
    )
    items = store.staging.batch_items("r1:x")
    assert [(p.id, e is not None) for p, e in items] == [("x:100", True), ("x:101", True)]
    assert store.staging.batch("r1:x").stage == "classified"


def test_staging_open_batches_and_drop_items(store: SqlStore) -> None:
    stage(store, "r1:x", "r1")
    stage(store, "r2:x", "r2")
    store.staging.advance("r2:x", from_stages=("collected",), to="abandoned")
    assert [b.batch_id for b in store.staging.open_batches()] == ["r1:x"]
    assert store.staging.item_count() == 6
    assert store.staging.drop_items("r2:x") == 3
    assert store.staging.drop_items("r1:x", ["x:100"]) == 1
    assert store.staging.item_count() == 2


def test_staging_runs_record_owner_heartbeat_and_notes(store: SqlStore) -> None:
    store.staging.start_run("r1", owner="host:42")
    run = store.staging.run("r1")
    assert run is not None and run.owner == "host:42" and run.finished_at is None
    store.staging.annotate_run("r1", {"recovered": {"routed": 3}})
    store.staging.annotate_run("r1", {"other": 1})
    run = store.staging.run("r1")
    assert run is not None and run.summary == {"recovered": {"routed": 3}, "other": 1}
    assert store.staging.run("r404") is None


def test_staging_prune_deletes_old_finished_runs_only(store: SqlStore) -> None:
    for run_id in ("old", "open"):
        store.staging.start_run(run_id, owner="host:1")
        stage(store, f"{run_id}:x", run_id)
    store.staging.finish_run("old", {"new_posts": 0})
    assert store.staging.prune(before=now() - timedelta(days=1)) == 0
    assert store.staging.prune(before=now() + timedelta(seconds=1)) == 1
    assert store.staging.run("old") is None and store.staging.run("open") is not None
    assert [b.batch_id for b in store.staging.open_batches()] == ["open:x"]
    assert store.staging.item_count() == 3


def test_cursors_never_move_back_to_an_older_collection(store: SqlStore) -> None:
    later, earlier = now(), now() - timedelta(minutes=5)
    assert store.cursors.set("x", {"n": 2}, collected_at=later)
    assert not store.cursors.set("x", {"n": 1}, collected_at=earlier)
    assert store.cursors.get("x") == {"n": 2}
    assert store.cursors.set("x", {"n": 3})  # without a time: always saved
    assert store.cursors.get("x") == {"n": 3}


def test_posts_unrouted_lists_posts_without_queue_item(store: SqlStore) -> None:
    store.posts.upsert([make_post("a", post_id=f"x:{i}") for i in (1, 2, 3)])
    store.queues.add_decisions([make_decision("x:2")])
    assert store.posts.unrouted() == ["x:1", "x:3"]
    assert store.posts.unrouted(limit=1) == ["x:1"]
    assert store.posts.unrouted_count() == 2


def test_posts_rejected_names_what_the_database_refuses_and_writes_nothing(
    store: SqlStore,
) -> None:
    good = make_post("fine", post_id="x:1")
    # Bypass the model's own checks: the store must still refuse this row on both databases
    # (NOT NULL text), and name it.
    bad = make_post("bad", post_id="x:2")
    object.__setattr__(bad, "text", None)
    refused = store.posts.rejected([good, bad], [make_enrichment("x:1")])
    assert list(refused) == ["x:2"] and "text" in refused["x:2"].lower()
    assert store.posts.count() == 0 and store.posts.get_enrichment("x:1") is None


def test_store_errors_are_one_line_store_errors(store: SqlStore) -> None:
    bad = make_post("bad", post_id="x:2")
    object.__setattr__(bad, "text", None)
    with pytest.raises(StoreError) as caught:
        store.posts.upsert([bad])
    assert "\n" not in str(caught.value) and "database " in str(caught.value)


def test_posts_upsert_counts_new_exactly_under_concurrency(database_url: str) -> None:
    from storage.migrate import upgrade

    upgrade(database_url)
    posts = [make_post(f"p{i}", post_id=f"x:{i}") for i in range(300)]
    stores = [SqlStore.open(database_url) for _ in range(4)]
    news: list[int] = []
    barrier = threading.Barrier(len(stores))

    def write(s: SqlStore) -> None:
        barrier.wait()
        with s.transaction() as tx:
            news.append(tx.posts.upsert([replace(p, text=p.text + "!") for p in posts]))
            news.append(0 if tx.queues.add_decisions([make_decision("x:1")]) == [] else 1000)

    threads = [threading.Thread(target=write, args=(s,)) for s in stores]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for s in stores:
        s.dispose()
    assert sum(news) == 300 + 1000  # every post new once; one queue item, once

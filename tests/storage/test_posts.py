"""The posts repository contract (SQLite always, PostgreSQL when configured)."""

from __future__ import annotations

from dataclasses import replace

from storage import SqlStore
from tests.conftest import make_decision, make_enrichment, make_post


def test_posts_upsert_counts_new_once(store: SqlStore) -> None:
    posts = [make_post(f"post {i}", post_id=f"x:{i}") for i in range(3)]
    assert store.posts.upsert(posts) == 3
    assert store.posts.upsert(posts) == 0
    assert store.posts.count() == 3


def test_posts_upsert_updates_changed_fields(store: SqlStore) -> None:
    post = make_post("hello", post_id="x:10", metrics={"like_count": 1})
    store.posts.upsert([post])
    store.posts.upsert([replace(post, metrics={"like_count": 7})])
    stored = store.posts.get("x:10")
    assert stored is not None
    assert stored.metrics == {"like_count": 7}
    assert store.posts.count() == 1


def test_posts_accept_duplicate_ids_in_one_batch(store: SqlStore) -> None:
    post = make_post("twice", post_id="x:11")
    assert store.posts.upsert([post, replace(post, text="twice, edited")]) == 1
    stored = store.posts.get("x:11")
    assert stored is not None and stored.text == "twice, edited"


def test_posts_round_trip_keeps_utc_and_author(store: SqlStore) -> None:
    post = make_post("round trip ✨ café", post_id="x:12", handle="ana", followers=1234)
    store.posts.upsert([post])
    stored = store.posts.get("x:12")
    assert stored == post
    assert stored is not None and stored.created_at.tzinfo is not None


def test_posts_enrichment_round_trip(store: SqlStore) -> None:
    store.posts.upsert([make_post("x", post_id="x:13")])
    enrichment = make_enrichment("x:13")
    store.posts.upsert_enrichments([enrichment])
    store.posts.upsert_enrichments([enrichment])
    assert store.posts.get_enrichment("x:13") == enrichment
    assert store.posts.get_enrichment("x:404") is None


def test_posts_ids_page_by_network(store: SqlStore) -> None:
    store.posts.upsert([make_post("a", post_id=f"x:{i}") for i in (7, 8, 9)])
    store.posts.upsert([make_post("b", post_id="reddit:t3_a", source="reddit")])
    assert store.posts.ids(source="x", limit=2) == ["x:7", "x:8"]
    assert store.posts.ids(source="x", after="x:8") == ["x:9"]
    assert store.posts.ids(source="reddit") == ["reddit:t3_a"]


def test_posts_records_join_labels_and_queue_items_in_order(store: SqlStore) -> None:
    posts = [make_post(f"r{i}", post_id=f"x:7{i}") for i in range(3)]
    store.posts.upsert(posts)
    store.posts.upsert_enrichments([make_enrichment("x:70"), make_enrichment("x:71")])
    store.queues.add_decisions([make_decision("x:70", queue="care")])
    records = store.posts.records(["x:72", "x:404", "x:70", "x:71"])
    assert [r.post.id for r in records] == ["x:72", "x:70", "x:71"]
    assert [r.enrichment is not None for r in records] == [False, True, True]
    assert [r.queue_item.decision.queue if r.queue_item else None for r in records] == [
        None,
        "care",
        None,
    ]


def test_store_transaction_commits_every_repository_together(store: SqlStore) -> None:
    post = make_post("together", post_id="x:80")
    try:
        with store.transaction() as tx:
            tx.posts.upsert([post])
            tx.cursors.set("x_samples", {"lines": {"a.jsonl": 1}})
            raise KeyError("the worker dies here")
    except KeyError:
        pass
    assert store.posts.get("x:80") is None
    assert store.cursors.get("x_samples") is None
    with store.transaction() as tx:
        tx.posts.upsert([post])
        tx.cursors.set("x_samples", {"lines": {"a.jsonl": 1}})
    assert store.posts.get("x:80") == post
    assert store.cursors.get("x_samples") == {"lines": {"a.jsonl": 1}}


def test_posts_newest_at_is_the_latest_post_time(store: SqlStore) -> None:
    from datetime import UTC, datetime, timedelta

    assert store.posts.newest_at() is None
    first = make_post("a", post_id="x:1")
    later = replace(make_post("b", post_id="x:2"), created_at=first.created_at + timedelta(hours=5))
    store.posts.upsert([later, first])
    assert store.posts.newest_at() == datetime(2026, 11, 2, 14, 30, tzinfo=UTC)

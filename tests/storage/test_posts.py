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


def test_posts_indexed_hold_what_records_hold_for_the_index(store: SqlStore) -> None:
    from core.models import Enrichment, Label, PiiResult, PiiSpan

    posts = [make_post(f"i{i}", post_id=f"x:6{i}", handle=f"h{i}") for i in range(4)]
    store.posts.upsert(posts)
    spam = make_enrichment("x:61", intent="praise", redacted="[EMAIL] hi", sentiment="positive")
    spam = Enrichment(
        spam.post_id,
        {
            **spam.results,
            "spam": Label("spam", 0.7, "spam.test"),
            "pii": PiiResult(
                (PiiSpan("phone", 0, 3), PiiSpan("email", 4, 9), PiiSpan("phone", 9, 12)),
                "pii.test",
            ),
        },
        spam.redacted_text,
    )
    store.posts.upsert_enrichments([make_enrichment("x:60"), spam, make_enrichment("x:62")])
    store.queues.add_decisions([make_decision("x:60", queue="care", priority=77)])

    asked = ["x:62", "x:404", "x:63", "x:60", "x:61"]
    indexed = store.posts.indexed(asked)
    assert [p.post_id for p in indexed] == ["x:62", "x:60", "x:61"]  # unclassified x:63 left out
    records = {r.post.id: r for r in store.posts.records(asked)}
    for view in indexed:
        record = records[view.post_id]
        assert record.enrichment is not None
        e, item = record.enrichment, record.queue_item
        assert (view.source, view.author_id, view.author_handle, view.created_at) == (
            record.post.source,
            record.post.author.id,
            record.post.author.handle,
            record.post.created_at,
        )
        assert (view.redacted_text, view.language, view.move_private, view.spam) == (
            e.redacted_text,
            e.language.label,
            e.private.move_private,
            e.is_spam,
        )
        assert (view.sentiment, view.sentiment_score, view.intent, view.intent_score) == (
            e.sentiment.label,
            e.sentiment.score,
            e.intent.label,
            e.intent.score,
        )
        assert view.pii_types == tuple(sorted({span.type for span in e.pii}))
        expected_item = (
            (None,) * 5
            if item is None
            else (
                item.decision.queue,
                item.decision.action,
                item.status,
                item.decision.priority,
                item.decision.sla_due,
            )
        )
        assert (view.queue, view.action, view.status, view.priority, view.sla_due) == expected_item
    assert indexed[2].pii_types == ("email", "phone") and indexed[2].spam is True
    assert (indexed[1].queue, indexed[1].priority, indexed[1].status) == ("care", 77, "new")
    assert indexed[0].queue is None and indexed[0].spam is False


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

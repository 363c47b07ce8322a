"""The store contract: every backend passes the same suite.

SQLite always runs; PostgreSQL runs when EARSHOT_TEST_DATABASE_URL points at a server
(``.ci/run`` sets it to the build machines' server).
"""

from __future__ import annotations

import os
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.models import DeadLetter, Enrichment, Label, PiiSpan, PrivateDecision, RoutingDecision
from core.store import Store, StoreError
from tests.conftest import make_post

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)


def enrichment_for(post_id: str, *, intent: str = "billing", redacted: str = "text") -> Enrichment:
    return Enrichment(
        post_id=post_id,
        sentiment=Label("negative", 0.9, "sentiment.test"),
        intent=Label(intent, 0.8, "intent.test"),
        private=PrivateDecision(True, 0.9, ("email address in post",), "private.test"),
        pii=(PiiSpan("email", 10, 25),),
        pii_classifier="pii.test",
        language=Label("en", 0.99, "language.test"),
        spam=Label("ham", 0.9, "spam.test"),
        redacted_text=redacted,
    )


def decision_for(post_id: str, *, queue: str = "billing", priority: int = 60) -> RoutingDecision:
    return RoutingDecision(
        post_id=post_id,
        queue=queue,
        priority=priority,
        action="move_private",
        rule="billing-private",
        decided_at=NOW,
        sla_due=NOW + timedelta(hours=1),
    )


class StoreContract:
    """Behaviour every store must have. Subclasses provide the ``store`` fixture."""

    def test_store_upsert_posts_counts_new_once(self, store: Store) -> None:
        posts = [make_post(f"post {i}", post_id=f"x:{i}") for i in range(3)]
        assert store.upsert_posts(posts) == 3
        assert store.upsert_posts(posts) == 0
        assert store.count_posts() == 3

    def test_store_upsert_updates_changed_fields(self, store: Store) -> None:
        post = make_post("hello", post_id="x:10", metrics={"like_count": 1})
        store.upsert_posts([post])
        store.upsert_posts([replace(post, metrics={"like_count": 7})])
        stored = store.get_post("x:10")
        assert stored is not None
        assert stored.metrics == {"like_count": 7}
        assert store.count_posts() == 1

    def test_store_accepts_duplicate_ids_in_one_batch(self, store: Store) -> None:
        post = make_post("twice", post_id="x:11")
        assert store.upsert_posts([post, replace(post, text="twice, edited")]) == 1
        stored = store.get_post("x:11")
        assert stored is not None and stored.text == "twice, edited"

    def test_store_post_round_trip_keeps_utc_and_author(self, store: Store) -> None:
        post = make_post("round trip ✨ café", post_id="x:12", handle="ana", followers=1234)
        store.upsert_posts([post])
        stored = store.get_post("x:12")
        assert stored == post
        assert stored is not None and stored.created_at.tzinfo is not None

    def test_store_enrichment_round_trip(self, store: Store) -> None:
        store.upsert_posts([make_post("x", post_id="x:13")])
        enrichment = enrichment_for("x:13")
        store.upsert_enrichments([enrichment])
        store.upsert_enrichments([enrichment])
        assert store.get_enrichment("x:13") == enrichment

    def test_store_decisions_keep_agent_status(self, store: Store) -> None:
        store.upsert_posts([make_post("refund please", post_id="x:14")])
        assert store.upsert_decisions([decision_for("x:14")]) == 1
        store.set_status("x:14", "claimed")
        assert store.upsert_decisions([decision_for("x:14", queue="care")]) == 0
        (item,) = store.queue_items()
        assert (item.status, item.decision.queue) == ("claimed", "billing")
        assert store.queue_counts() == {("billing", "claimed"): 1}

    def test_store_set_status_rejects_unknown_post_and_status(self, store: Store) -> None:
        with pytest.raises(StoreError, match="x:404"):
            store.set_status("x:404", "resolved")
        with pytest.raises(StoreError, match="finished"):
            store.set_status("x:404", "finished")

    def test_store_queue_items_filter_and_order(self, store: Store) -> None:
        posts = [make_post(f"p{i}", post_id=f"x:2{i}") for i in range(4)]
        store.upsert_posts(posts)
        store.upsert_decisions(
            [
                decision_for("x:20", queue="billing", priority=10),
                decision_for("x:21", queue="billing", priority=90),
                decision_for("x:22", queue="care", priority=50),
                replace(decision_for("x:23", queue="none", priority=0), action="no_action"),
            ]
        )
        assert [i.post.id for i in store.queue_items(queue="billing")] == ["x:21", "x:20"]
        assert [i.post.id for i in store.queue_items(status="no_action")] == ["x:23"]
        assert [i.post.id for i in store.queue_items()][:2] == ["x:21", "x:22"]

    def test_store_cursor_round_trip(self, store: Store) -> None:
        assert store.get_cursor("x_samples") is None
        store.set_cursor("x_samples", {"lines": {"a.jsonl": 3}})
        store.set_cursor("x_samples", {"lines": {"a.jsonl": 5}})
        assert store.get_cursor("x_samples") == {"lines": {"a.jsonl": 5}}

    def test_store_dead_letters_are_kept_once_with_raw_bytes(self, store: Store) -> None:
        letter = DeadLetter("x_samples", "a.jsonl:4", "a.jsonl:4: invalid UTF-8", b"caf\xe9")
        assert store.add_dead_letters([letter, letter]) == 1
        assert store.add_dead_letters([letter]) == 0
        assert store.dead_letters() == [letter]

    def test_store_search_uses_indexed_redacted_text(self, store: Store) -> None:
        store.upsert_posts(
            [make_post("mail me at jo@example.com about the refund", post_id="x:30")]
        )
        store.upsert_posts([make_post("the doorbell froze again", post_id="x:31")])
        store.index(
            [("x:30", "mail me at [EMAIL] about the refund"), ("x:31", "the doorbell froze again")]
        )
        assert [h.post.id for h in store.search("refund")] == ["x:30"]
        assert [h.post.id for h in store.search("doorbell froze")] == ["x:31"]
        assert store.search("example") == []

    def test_store_search_reindex_replaces_text(self, store: Store) -> None:
        store.upsert_posts([make_post("old words", post_id="x:32")])
        store.index([("x:32", "old words")])
        store.index([("x:32", "new words")])
        assert store.search("old") == []
        assert [h.post.id for h in store.search("new")] == ["x:32"]

    def test_store_search_treats_query_syntax_as_text(self, store: Store) -> None:
        store.upsert_posts([make_post("AND OR NOT", post_id="x:33")])
        store.index([("x:33", "why is my order NOT here")])
        for query in ['"', "(", "NOT", "order*", "a AND (", "🙄", ""]:
            store.search(query)  # never a syntax error
        assert [h.post.id for h in store.search("order NOT")] == ["x:33"]

    def test_store_batch_staging_round_trip(self, store: Store) -> None:
        posts = [make_post(f"b{i}", post_id=f"x:4{i}") for i in range(3)]
        store.stage_batch(
            batch_id="r1:x",
            run_id="r1",
            source="x",
            posts=posts,
            pending_cursor={"n": 1},
            counts={"fetched": 3},
        )
        store.stage_enrichments("r1:x", [enrichment_for(p.id) for p in posts])
        items = store.batch_items("r1:x")
        assert [p.id for p, _ in items] == ["x:40", "x:41", "x:42"]
        assert all(e is not None and e.post_id == p.id for p, e in items)
        assert store.batch("r1:x")["stage"] == "classified"
        # Staging the same batch again (a retried task) replaces it.
        store.stage_batch(
            batch_id="r1:x",
            run_id="r1",
            source="x",
            posts=posts[:1],
            pending_cursor=None,
            counts={},
        )
        assert [p.id for p in store.batch_posts("r1:x")] == ["x:40"]

    def test_store_remove_posts_everywhere_with_audit(self, store: Store) -> None:
        posts = [make_post(f"refund {i}", post_id=f"x:6{i}") for i in range(3)]
        store.upsert_posts(posts)
        store.upsert_enrichments([enrichment_for(p.id) for p in posts])
        store.index([(p.id, p.text) for p in posts])
        store.upsert_decisions([decision_for(p.id) for p in posts])
        assert (
            store.remove_posts(
                [("x:60", "deleted"), ("x:61", "author is protected")], source="x_live"
            )
            == 2
        )
        assert store.remove_posts([("x:60", "deleted")], source="x_live") == 0
        assert [p.id for p in (store.get_post("x:60"), store.get_post("x:62")) if p] == ["x:62"]
        assert store.get_enrichment("x:61") is None
        assert [h.post.id for h in store.search("refund")] == ["x:62"]
        assert [i.post.id for i in store.queue_items()] == ["x:62"]
        assert {(r["post_id"], r["reason"], r["source"]) for r in store.removals()} == {
            ("x:60", "deleted", "x_live"),
            ("x:61", "author is protected", "x_live"),
        }

    def test_store_post_ids_page_by_network(self, store: Store) -> None:
        store.upsert_posts([make_post("a", post_id=f"x:{i}") for i in (7, 8, 9)])
        store.upsert_posts([make_post("b", post_id="reddit:t3_a", source="reddit")])
        assert store.post_ids(source="x", limit=2) == ["x:7", "x:8"]
        assert store.post_ids(source="x", after="x:8") == ["x:9"]
        assert store.post_ids(source="reddit") == ["reddit:t3_a"]

    def test_store_create_schema_is_idempotent(self, store: Store) -> None:
        store.upsert_posts([make_post("keep me", post_id="x:50")])
        store.create_schema()
        assert store.count_posts() == 1


class TestSqliteStore(StoreContract):
    @pytest.fixture
    def store(self, tmp_path: Path) -> Store:
        store = Store(f"sqlite:///{tmp_path / 'store.db'}")
        store.create_schema()
        return store


POSTGRES_URL = os.environ.get("EARSHOT_TEST_DATABASE_URL")


@pytest.mark.skipif(not POSTGRES_URL, reason="EARSHOT_TEST_DATABASE_URL is not set")
class TestPostgresStore(StoreContract):
    @pytest.fixture
    def store(self) -> Store:
        assert POSTGRES_URL is not None
        store = Store(POSTGRES_URL)
        store.drop_schema()
        store.create_schema()
        yield store
        store.drop_schema()
        store.engine.dispose()

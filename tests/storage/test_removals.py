"""Compliance removals and the search-index outbox: nothing removed is left behind."""

from __future__ import annotations

from storage import SqlStore
from tests.conftest import make_decision, make_enrichment, make_post


def test_removals_delete_everywhere_with_audit_and_tell_the_index(store: SqlStore) -> None:
    posts = [make_post(f"refund {i}", post_id=f"x:6{i}") for i in range(3)]
    store.posts.upsert(posts)
    store.posts.upsert_enrichments([make_enrichment(p.id) for p in posts])
    store.queues.add_decisions([make_decision(p.id) for p in posts])
    store.outbox.done([e.id for e in store.outbox.pending(limit=100)])
    removed = store.removals.remove(
        [("x:60", "deleted"), ("x:61", "author is protected")], source="x_live"
    )
    assert removed == 2
    assert store.removals.remove([("x:60", "deleted")], source="x_live") == 0
    assert [p.id for p in (store.posts.get("x:60"), store.posts.get("x:62")) if p] == ["x:62"]
    assert store.posts.get_enrichment("x:61") is None
    assert [i.post.id for i in store.queues.items()] == ["x:62"]
    assert {(r["post_id"], r["reason"], r["source"]) for r in store.removals.list()} == {
        ("x:60", "deleted", "x_live"),
        ("x:61", "author is protected", "x_live"),
    }
    assert {(e.post_id, e.op) for e in store.outbox.pending(limit=100)} == {
        ("x:60", "delete"),
        ("x:61", "delete"),
    }


def test_outbox_entries_stay_until_done(store: SqlStore) -> None:
    store.outbox.add(["x:1", "x:2", "x:1"], "upsert")
    store.outbox.add(["x:1"], "delete")
    pending = store.outbox.pending(limit=10)
    assert [(e.post_id, e.op) for e in pending] == [
        ("x:1", "upsert"),
        ("x:2", "upsert"),
        ("x:1", "delete"),
    ]
    store.outbox.done([pending[0].id])
    assert store.outbox.count() == 2
    assert [e.post_id for e in store.outbox.pending(limit=1)] == ["x:2"]

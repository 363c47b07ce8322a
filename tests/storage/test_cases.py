"""The case store's contract, on every backend: one open case per conversation and customer,
idempotent opening and attaching, conditional changes, compliance removal."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.care import Case
from core.errors import ConflictError, NotFoundError
from tests.conftest import make_decision, make_post

AT = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)


def case(case_id: str = "case:x:1", *, post_id: str = "x:1", conversation: str = "x:1") -> Case:
    return Case(
        id=case_id,
        queue="billing",
        status="new",
        priority=60,
        priority_reasons={"rule": 60.0},
        action="move_private",
        action_detail={"private_reasons": ["order number in post"]},
        rule="billing-private",
        source="x",
        conversation_key=conversation,
        customer_key="x:someone",
        author_handle="Someone",
        tier="standard",
        opened_post_id=post_id,
        opened_at=AT,
        sla_due=AT + timedelta(hours=1),
        created_at=AT,
        updated_at=AT,
    )


def seed(store, *ids: str) -> None:
    store.posts.upsert([make_post("t", post_id=i) for i in ids])
    store.queues.add_decisions([make_decision(i) for i in ids])


def test_case_store_open_is_idempotent_and_round_trips(store) -> None:
    seed(store, "x:1")
    opened, created = store.cases.open(case(), post_ids=["x:1"])
    assert created
    again, created_again = store.cases.open(case(), post_ids=["x:1"])
    assert not created_again and again == opened
    assert store.cases.get("case:x:1") == case()
    assert store.cases.find_open("x:1", "x:someone") == case()
    assert store.cases.of_posts(["x:1", "x:2"]) == {"x:1": "case:x:1"}
    item = store.queues.get("x:1")
    assert item is not None and item.case_id == "case:x:1"


def test_case_store_one_open_case_per_conversation_and_customer(store) -> None:
    seed(store, "x:1", "x:2")
    store.cases.open(case(), post_ids=["x:1"])
    other, created = store.cases.open(case("case:x:2", post_id="x:2"), post_ids=["x:2"])
    assert not created and other.id == "case:x:1"  # the open one is returned
    assert [c.id for c in store.cases.list(limit=None)] == ["case:x:1"]


def test_case_store_attach_keeps_a_post_in_its_first_case(store) -> None:
    seed(store, "x:1", "x:2", "x:3")
    store.cases.open(case(), post_ids=["x:1"])
    store.cases.open(case("case:x:3", post_id="x:3", conversation="x:3"), post_ids=["x:3"])
    assert store.cases.attach("case:x:1", ["x:2"], role="customer", at=AT) == 1
    assert store.cases.attach("case:x:3", ["x:2"], role="customer", at=AT) == 0
    assert store.cases.of_posts(["x:2"]) == {"x:2": "case:x:1"}


def test_case_store_apply_is_conditional(store) -> None:
    seed(store, "x:1")
    store.cases.open(case(), post_ids=["x:1"])
    claimed = store.cases.apply(
        "case:x:1",
        action="claim",
        from_statuses=("new",),
        to_status="claimed",
        actor="ana",
        values={"assignee": "ana"},
        at=AT,
    )
    assert (claimed.status, claimed.assignee) == ("claimed", "ana")
    with pytest.raises(ConflictError, match=r"case case:x:1 is claimed \(held by ana\)"):
        store.cases.apply(
            "case:x:1", action="claim", from_statuses=("new",), to_status="claimed", actor="ben"
        )
    with pytest.raises(ConflictError):  # held by ana: ben may not resolve it
        store.cases.apply(
            "case:x:1",
            action="resolve",
            from_statuses=("claimed",),
            to_status="resolved",
            actor="ben",
            holder="ben",
        )
    resolved = store.cases.apply(
        "case:x:1",
        action="resolve",
        from_statuses=("claimed",),
        to_status="resolved",
        actor="ana",
        holder="ana",
        at=AT + timedelta(minutes=5),
    )
    assert resolved.closed_at == AT + timedelta(minutes=5)
    assert store.cases.find_open("x:1", "x:someone") is None  # closed: no longer open
    assert store.cases.latest("x:1", "x:someone") == resolved
    item = store.queues.get("x:1")
    assert item is not None and (item.status, item.assignee) == ("resolved", "ana")
    assert [
        (e.action, e.from_status, e.to_status, e.actor) for e in store.cases.events("case:x:1")
    ] == [
        ("open", "new", "new", "earshot"),
        ("claim", "new", "claimed", "ana"),
        ("resolve", "claimed", "resolved", "ana"),
    ]
    with pytest.raises(NotFoundError, match="no case 'case:x:9'"):
        store.cases.apply(
            "case:x:9", action="claim", from_statuses=("new",), to_status="claimed", actor="a"
        )


def test_case_store_overdue_lists_unanswered_late_cases(store) -> None:
    seed(store, "x:1", "x:2")
    store.cases.open(case(), post_ids=["x:1"])
    answered = replace(case("case:x:2", post_id="x:2", conversation="x:2"))
    store.cases.open(answered, post_ids=["x:2"])
    store.cases.set_fields("case:x:2", {"first_response_at": AT + timedelta(minutes=5)})
    assert [c.id for c in store.cases.overdue(AT + timedelta(minutes=30))] == []
    assert [c.id for c in store.cases.overdue(AT + timedelta(hours=2))] == ["case:x:1"]


def test_case_store_compliance_removal_drops_emptied_cases(store) -> None:
    seed(store, "x:1", "x:2")
    store.cases.open(case(), post_ids=["x:1"])
    store.cases.attach("case:x:1", ["x:2"], role="customer", at=AT)
    store.removals.remove([("x:2", "deleted")], source="x")
    assert store.cases.members("case:x:1") == [("x:1", "customer")]
    store.removals.remove([("x:1", "deleted")], source="x")
    assert store.cases.get("case:x:1") is None and store.cases.events("case:x:1") == []

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


def test_case_store_overdue_ids_and_ids_by_status_read_every_match_in_id_order(store) -> None:
    ids = [f"x:{n}" for n in (3, 1, 4, 2)]
    seed(store, *ids)
    for post_id in ids:
        store.cases.open(
            case(f"case:{post_id}", post_id=post_id, conversation=post_id), post_ids=[post_id]
        )
    store.cases.set_fields("case:x:2", {"first_response_at": AT + timedelta(minutes=5)})
    store.cases.apply(
        "case:x:4", action="claim", from_statuses=("new",), to_status="claimed", actor="ana"
    )
    late = AT + timedelta(hours=2)
    assert store.cases.overdue_ids(late) == ["case:x:1", "case:x:3", "case:x:4"]
    assert store.cases.overdue_ids(AT) == []
    assert [c.id for c in store.cases.overdue(late, ids=["case:x:2", "case:x:3"])] == ["case:x:3"]
    assert store.cases.ids(statuses=["new"]) == ["case:x:1", "case:x:2", "case:x:3"]
    assert store.cases.ids(statuses=["claimed", "resolved"]) == ["case:x:4"]
    flagged = store.cases.set_fields_many(["case:x:3"], {"breached_at": late})
    assert flagged == {"case:x:3"}  # flagged, not notified yet: still listed
    assert [c.id for c in store.cases.overdue(late, ids=["case:x:3", "case:x:4"])] == [
        "case:x:3",
        "case:x:4",
    ]
    store.cases.set_fields_many(["case:x:3"], {"breach_notified_at": late})
    assert store.cases.overdue_ids(late) == ["case:x:1", "case:x:4"]
    assert [c.id for c in store.cases.overdue(late, ids=["case:x:3"])] == []


# -- many at once -------------------------------------------------------------------------------


def test_case_store_open_many_opens_each_with_its_event_and_first_post(store) -> None:
    seed(store, "x:1", "x:2")
    second = case("case:x:2", post_id="x:2", conversation="x:2")
    assert store.cases.open_many([case(), second]) == {}
    assert store.cases.get_many(["case:x:1", "case:x:2", "case:x:9"]) == {
        "case:x:1": case(),
        "case:x:2": second,
    }
    assert store.cases.of_posts(["x:1", "x:2"]) == {"x:1": "case:x:1", "x:2": "case:x:2"}
    assert [(e.action, e.actor, e.detail) for e in store.cases.events("case:x:2")] == [
        ("open", "earshot", {"post_id": "x:2"})
    ]
    item = store.queues.get("x:2")
    assert item is not None and (item.case_id, item.status) == ("case:x:2", "new")


def test_case_store_open_many_opens_none_when_one_clashes(store) -> None:
    seed(store, "x:1", "x:2", "x:3")
    store.cases.open(case(), post_ids=["x:1"])
    fresh = case("case:x:3", post_id="x:3", conversation="x:3")
    clashing = case("case:x:2", post_id="x:2")  # x:1's conversation and customer: open already
    assert store.cases.open_many([fresh, clashing]) == {"case:x:2": case()}
    assert [c.id for c in store.cases.list(limit=None)] == ["case:x:1"]  # x:3's not either
    assert store.cases.events("case:x:3") == [] and store.cases.of_posts(["x:2", "x:3"]) == {}
    assert store.cases.open_many([case()]) == {"case:x:1": case()}  # the same id: a retry


def test_case_store_open_many_refuses_two_cases_of_one_call_for_one_conversation(store) -> None:
    seed(store, "x:1", "x:2", "x:3")
    twin = case("case:x:2", post_id="x:2")  # the same conversation and customer as case()
    other = case("case:x:3", post_id="x:3", conversation="x:3")
    with pytest.raises(ConflictError, match=r"case:x:2 .* opened in the same call"):
        store.cases.open_many([case(), other, twin])
    assert store.cases.list(limit=None) == [] and store.cases.of_posts(["x:1", "x:3"]) == {}


def test_case_store_of_conversations_lists_every_status_and_customer(store) -> None:
    seed(store, "x:1", "x:2", "x:3")
    store.cases.open(case(), post_ids=["x:1"])
    store.cases.apply(
        "case:x:1", action="no_action", from_statuses=("new",), to_status="no_action", actor="a"
    )
    other = replace(
        case("case:x:2", post_id="x:2"), customer_key="x:other", opened_at=AT + timedelta(minutes=1)
    )
    store.cases.open(other, post_ids=["x:2"])
    store.cases.open(case("case:x:3", post_id="x:3", conversation="x:3"), post_ids=["x:3"])
    found = store.cases.of_conversations(["x:1", "x:404"])
    assert [(c.id, c.status, c.customer_key) for c in found] == [
        ("case:x:1", "no_action", "x:someone"),
        ("case:x:2", "new", "x:other"),
    ]
    assert store.cases.of_conversations([]) == [] and store.cases.get_many([]) == {}


def test_case_store_attach_many_keeps_first_cases_and_mirrors_queue_items(store) -> None:
    seed(store, "x:1", "x:2", "x:3", "x:4", "x:5")
    store.cases.open(case(), post_ids=["x:1"])
    store.cases.open(case("case:x:3", post_id="x:3", conversation="x:3"), post_ids=["x:3"])
    store.cases.apply(
        "case:x:3",
        action="claim",
        from_statuses=("new",),
        to_status="claimed",
        actor="ana",
        values={"assignee": "ana"},
    )
    later = AT + timedelta(minutes=9)
    joined = store.cases.attach_many(
        {"x:2": "case:x:1", "x:4": "case:x:3", "x:3": "case:x:1"}, role="customer", at=later
    )
    assert joined == {"x:2", "x:4"}  # x:3 stays in its own case
    assert store.cases.of_posts(["x:2", "x:3", "x:4"]) == {
        "x:2": "case:x:1",
        "x:3": "case:x:3",
        "x:4": "case:x:3",
    }
    items = {p: store.queues.get(p) for p in ("x:2", "x:4")}
    assert {p: (i.case_id, i.status, i.assignee) for p, i in items.items() if i} == {
        "x:2": ("case:x:1", "new", None),
        "x:4": ("case:x:3", "claimed", "ana"),
    }
    assert store.cases.attach_many({"x:5": "case:x:1"}, role="brand", at=later) == {"x:5"}
    brand = store.queues.get("x:5")
    assert brand is not None and brand.case_id is None  # a brand post's item is left alone
    with pytest.raises(NotFoundError, match="no case 'case:x:9'"):
        store.cases.attach_many({"x:6": "case:x:9"}, role="customer", at=later)


def test_case_store_note_many_records_in_order_with_each_status(store) -> None:
    seed(store, "x:1", "x:2")
    store.cases.open(case(), post_ids=["x:1"])
    store.cases.open(case("case:x:2", post_id="x:2", conversation="x:2"), post_ids=["x:2"])
    store.cases.apply(
        "case:x:2", action="claim", from_statuses=("new",), to_status="claimed", actor="ana"
    )
    later = AT + timedelta(minutes=3)
    notes = [("case:x:1", {"n": 1}), ("case:x:2", {"n": 2}), ("case:x:1", {"n": 3})]
    store.cases.note_many("join", notes, actor="earshot", at=later)
    assert [
        (e.action, e.from_status, e.to_status, e.at, e.detail)
        for e in store.cases.events("case:x:1")[1:]
    ] == [("join", "new", "new", later, {"n": 1}), ("join", "new", "new", later, {"n": 3})]
    assert [(e.from_status, e.detail) for e in store.cases.events("case:x:2")[2:]] == [
        ("claimed", {"n": 2})
    ]
    with pytest.raises(NotFoundError, match="no case 'case:x:9'"):
        store.cases.note_many("join", [("case:x:9", {})], actor="earshot", at=later)


def test_case_store_set_fields_many_only_if_null_returns_the_changed(store) -> None:
    seed(store, "x:1", "x:2", "x:3")
    for n in ("1", "2", "3"):
        store.cases.open(
            case(f"case:x:{n}", post_id=f"x:{n}", conversation=f"x:{n}"), post_ids=[f"x:{n}"]
        )
    first = AT + timedelta(hours=1)
    store.cases.set_fields("case:x:2", {"breached_at": first})  # another check got there first
    later = AT + timedelta(hours=2)
    changed = store.cases.set_fields_many(
        ["case:x:1", "case:x:2", "case:x:9"], {"breached_at": later}, only_if_null="breached_at"
    )
    assert changed == {"case:x:1"}
    breached = {
        i: c.breached_at
        for i, c in store.cases.get_many(["case:x:1", "case:x:2", "case:x:3"]).items()
    }
    assert breached == {"case:x:1": later, "case:x:2": first, "case:x:3": None}
    assert store.cases.set_fields_many(["case:x:2", "case:x:3"], {"breach_notified_at": later}) == {
        "case:x:2",
        "case:x:3",
    }


def test_case_store_set_fields_each_gives_each_case_its_values(store) -> None:
    seed(store, "x:1", "x:2")
    store.cases.open(case(), post_ids=["x:1"])
    store.cases.open(case("case:x:2", post_id="x:2", conversation="x:2"), post_ids=["x:2"])
    store.cases.set_fields_each(
        {
            "case:x:1": {"priority": 71, "priority_reasons": {"rule": 60.0, "waiting": 11.0}},
            "case:x:2": {"priority": 64, "priority_reasons": {"rule": 60.0, "waiting": 4.0}},
        }
    )
    store.cases.set_fields_each({"case:x:2": {"first_response_at": AT, "first_response_by": "ana"}})
    one, two = store.cases.get("case:x:1"), store.cases.get("case:x:2")
    assert one is not None and two is not None
    assert (one.priority, one.priority_reasons) == (71, {"rule": 60.0, "waiting": 11.0})
    assert (two.priority, two.priority_reasons) == (64, {"rule": 60.0, "waiting": 4.0})
    assert (two.first_response_at, two.first_response_by) == (AT, "ana")
    assert one.first_response_at is None


def test_case_store_queue_counts_per_status_and_overdue(store) -> None:
    seed(store, "x:1", "x:2", "x:3", "x:4")
    late = AT + timedelta(hours=2)  # every case here is due at AT + 1 h
    store.cases.open_many(
        [
            case("case:x:1", post_id="x:1", conversation="x:1"),
            replace(case("case:x:2", post_id="x:2", conversation="x:2"), status="claimed"),
            replace(
                case("case:x:3", post_id="x:3", conversation="x:3"),
                first_response_at=AT + timedelta(minutes=5),
                status="responded",
            ),
            replace(case("case:x:4", post_id="x:4", conversation="x:4"), queue="care"),
        ]
    )
    store.cases.set_fields("case:x:2", {"breached_at": AT + timedelta(hours=1)})
    counts = store.cases.queue_counts(["billing", "care", "sales"], late)
    assert counts["billing"] == {"new": 1, "claimed": 1, "responded": 1, "overdue": 2}
    assert counts["care"] == {"new": 1, "overdue": 1}
    assert counts["sales"] == {"overdue": 0}
    assert store.cases.queue_counts(["billing"], AT)["billing"]["overdue"] == 0

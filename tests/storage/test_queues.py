"""The queue repository contract: decisions, ordering, conditional transitions, history."""

from __future__ import annotations

import threading
from dataclasses import replace

import pytest

from core.errors import ConflictError, NotFoundError
from storage import SqlStore
from tests.conftest import make_decision, make_post


def test_queues_decisions_keep_agent_status(store: SqlStore) -> None:
    store.posts.upsert([make_post("refund please", post_id="x:14")])
    assert len(store.queues.add_decisions([make_decision("x:14")])) == 1
    store.queues.transition(
        "x:14", from_status="new", to_status="claimed", actor="ana", assignee="ana"
    )
    assert store.queues.add_decisions([make_decision("x:14", queue="care")]) == []
    (item,) = store.queues.items()
    assert (item.status, item.decision.queue, item.assignee) == ("claimed", "billing", "ana")
    assert store.queues.counts() == {("billing", "claimed"): 1}


def test_queues_transition_rejects_unknown_post(store: SqlStore) -> None:
    with pytest.raises(NotFoundError, match="x:404"):
        store.queues.transition(
            "x:404", from_status="new", to_status="resolved", actor="ana", assignee=None
        )


def test_queues_transition_is_conditional_on_the_status_read(store: SqlStore) -> None:
    store.posts.upsert([make_post("refund please", post_id="x:15")])
    store.queues.add_decisions([make_decision("x:15")])
    store.queues.transition(
        "x:15", from_status="new", to_status="claimed", actor="ana", assignee="ana"
    )
    with pytest.raises(ConflictError, match=r"already claimed by ana"):
        store.queues.transition(
            "x:15", from_status="new", to_status="claimed", actor="ben", assignee="ben"
        )
    item = store.queues.get("x:15")
    assert item is not None and item.assignee == "ana"
    assert [(e.from_status, e.to_status, e.actor) for e in store.queues.events("x:15")] == [
        ("new", "claimed", "ana")
    ]


def test_queues_concurrent_claims_exactly_one_wins(store: SqlStore) -> None:
    store.posts.upsert([make_post("refund please", post_id="x:16")])
    store.queues.add_decisions([make_decision("x:16")])
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def claim(agent: str) -> None:
        barrier.wait()
        try:
            store.queues.transition(
                "x:16", from_status="new", to_status="claimed", actor=agent, assignee=agent
            )
            outcomes.append(f"won:{agent}")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=claim, args=(f"agent{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    winners = [o for o in outcomes if o.startswith("won:")]
    assert len(winners) == 1 and outcomes.count("conflict") == 3
    item = store.queues.get("x:16")
    assert item is not None and f"won:{item.assignee}" == winners[0]
    assert len(store.queues.events("x:16")) == 1


def test_queues_items_filter_and_order(store: SqlStore) -> None:
    posts = [make_post(f"p{i}", post_id=f"x:2{i}") for i in range(4)]
    store.posts.upsert(posts)
    store.queues.add_decisions(
        [
            make_decision("x:20", queue="billing", priority=10),
            make_decision("x:21", queue="billing", priority=90),
            make_decision("x:22", queue="care", priority=50),
            replace(make_decision("x:23", queue="none", priority=0), action="no_action"),
        ]
    )
    assert [i.post.id for i in store.queues.items(queue="billing")] == ["x:21", "x:20"]
    assert [i.post.id for i in store.queues.items(status="no_action")] == ["x:23"]
    assert [i.post.id for i in store.queues.items()][:2] == ["x:21", "x:22"]
    assert store.queues.get("x:404") is None

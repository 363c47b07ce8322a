"""Queue actions: the allowed transitions, the audit trail, and clear errors for the rest."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.config import Config, load_config
from core.errors import ConflictError, NotFoundError, TransitionError
from core.models import QUEUE_STATUSES
from services import queues
from services.queues import TRANSITIONS
from services.runtime import open_store
from tests.conftest import make_decision, make_post


@pytest.fixture
def config(config_path: Path) -> Config:
    config = load_config(config_path)
    store = open_store(config)
    store.posts.upsert([make_post("refund please", post_id="x:1")])
    store.queues.add_decisions([make_decision("x:1")])
    return config


def _put(config: Config, status: str) -> None:
    """Walk x:1 from new to ``status`` through allowed transitions."""
    path = {"new": [], "claimed": ["claimed"], "resolved": ["resolved"]}
    path |= {"moved_private": ["moved_private"], "no_action": ["no_action"]}
    for step in path[status]:
        queues.set_status(config, "x:1", step, actor="setup")


@pytest.mark.parametrize(
    ("start", "target"),
    [(s, t) for s in QUEUE_STATUSES for t in QUEUE_STATUSES if t != s],
)
def test_queues_every_transition_is_allowed_or_rejected_as_declared(
    config: Config, start: str, target: str
) -> None:
    _put(config, start)
    if target in TRANSITIONS[start]:
        item = queues.set_status(config, "x:1", target, actor="ana")
        assert item.status == target
        assert queues.history(config, "x:1")[-1].to_status == target
    else:
        with pytest.raises(TransitionError, match=f"x:1.* is {start}: it cannot become {target}"):
            queues.set_status(config, "x:1", target, actor="ana")
        item = open_store(config).queues.get("x:1")
        assert item is not None and item.status == start


def test_queues_resolved_is_final_and_cannot_go_back_to_new(config: Config) -> None:
    queues.set_status(config, "x:1", "claimed", actor="ana")
    queues.set_status(config, "x:1", "resolved", actor="ana")
    with pytest.raises(TransitionError, match="nothing, it is closed"):
        queues.set_status(config, "x:1", "new", actor="ana")


def test_queues_claim_assigns_and_release_unassigns_with_an_audit_trail(config: Config) -> None:
    assert queues.set_status(config, "x:1", "claimed", actor="ana").assignee == "ana"
    assert queues.set_status(config, "x:1", "new", actor="ana").assignee is None
    assert queues.set_status(config, "x:1", "claimed", actor="ben").assignee == "ben"
    assert queues.set_status(config, "x:1", "resolved", actor="ben").assignee == "ben"
    assert [(e.from_status, e.to_status, e.actor) for e in queues.history(config, "x:1")] == [
        ("new", "claimed", "ana"),
        ("claimed", "new", "ana"),
        ("new", "claimed", "ben"),
        ("claimed", "resolved", "ben"),
    ]


def test_queues_double_claim_is_a_conflict_not_a_takeover(config: Config) -> None:
    queues.set_status(config, "x:1", "claimed", actor="ana")
    with pytest.raises(TransitionError, match="is claimed: it cannot become claimed"):
        queues.set_status(config, "x:1", "claimed", actor="ben")
    # Between reading and writing, someone else got there first: the store refuses.
    with pytest.raises(ConflictError, match="already claimed by ana"):
        open_store(config).queues.transition(
            "x:1", from_status="new", to_status="claimed", actor="ben", assignee="ben"
        )


def test_queues_unknown_post_and_status_are_clear_errors(config: Config) -> None:
    with pytest.raises(NotFoundError, match="x:404"):
        queues.set_status(config, "x:404", "resolved", actor="ana")
    with pytest.raises(TransitionError, match="unknown status 'finished'"):
        queues.set_status(config, "x:1", "finished", actor="ana")
    with pytest.raises(TransitionError, match="unknown status"):
        queues.list_items(config, status="finished")

"""Care-team operations: cases, their life cycle, agents and customer profiles.

A **case** is what an agent works on: the post that opened it and every later post of the
same conversation by the same customer. Its status moves through :data:`ACTIONS_BY_NAME`
only; each move is one conditional update in the store (of two agents claiming one case,
exactly one wins) and one event in the case's audit trail.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.models import QUEUE_STATUSES

CASE_STATUSES: tuple[str, ...] = QUEUE_STATUSES
"""Every case status, in the order reports show them (a routed post's queue item mirrors its
case's status, so the two lists are one)."""
OPEN_STATUSES: tuple[str, ...] = ("new", "claimed", "responded")
CLOSED_STATUSES: tuple[str, ...] = ("resolved", "moved_private", "no_action")

SYSTEM = "earshot"
"""The actor of what Earshot does by itself (opening, joining, reopening, a brand reply seen
on the network, an SLA breach)."""


@dataclass(frozen=True)
class CaseAction:
    """One thing that can happen to a case: from which statuses, to which status, and whether
    only the agent holding the case may do it."""

    name: str
    from_statuses: tuple[str, ...]
    to_status: str
    holder_only: bool = False
    by_agent: bool = True
    """False for what only Earshot does (reopen, brand reply)."""


ACTIONS: tuple[CaseAction, ...] = (
    CaseAction("claim", ("new",), "claimed"),
    CaseAction("release", ("claimed",), "new", holder_only=True),
    CaseAction("respond", ("new", "claimed"), "responded", holder_only=True),
    CaseAction("resolve", ("claimed", "responded"), "resolved", holder_only=True),
    CaseAction("move_private", ("new", "claimed", "responded"), "moved_private", holder_only=True),
    CaseAction("no_action", ("new", "claimed"), "no_action", holder_only=True),
    CaseAction("reroute", ("new", "claimed", "responded"), "new", holder_only=True),
    CaseAction("reopen", CLOSED_STATUSES, "new", by_agent=False),
    CaseAction("brand_reply", ("new", "claimed"), "responded", by_agent=False),
)
"""The case life cycle. ``holder_only``: when the case is claimed, only its holder may do it
(on an unclaimed case any agent of the queue may). ``respond`` on an unclaimed case makes the
agent its holder; ``release`` and ``reroute`` leave it unassigned; ``reroute`` moves it to
another queue as ``new``."""
ACTIONS_BY_NAME: dict[str, CaseAction] = {a.name: a for a in ACTIONS}
AGENT_ACTIONS: tuple[str, ...] = tuple(a.name for a in ACTIONS if a.by_agent)

RESPONSE_KINDS: tuple[str, ...] = ("reply", "self_service", "private", "brand_reply")
"""How a case got its first response: an agent's reply, a reply pointing to a help article,
a move to a private channel, or the brand's own reply seen on the network."""


@dataclass(frozen=True)
class Case:
    id: str
    queue: str
    status: str
    priority: int
    priority_reasons: dict[str, float]
    action: str
    action_detail: dict[str, Any]
    rule: str
    source: str
    conversation_key: str
    customer_key: str
    author_handle: str
    tier: str
    opened_post_id: str
    opened_at: datetime
    """When the customer posted: the SLA clock starts here."""
    sla_due: datetime | None
    created_at: datetime
    updated_at: datetime
    assignee: str | None = None
    first_response_at: datetime | None = None
    first_response_by: str | None = None
    first_response_kind: str | None = None
    breached_at: datetime | None = None
    breach_notified_at: datetime | None = None
    closed_at: datetime | None = None
    reopened: int = 0

    @property
    def is_open(self) -> bool:
        return self.status in OPEN_STATUSES

    def is_overdue(self, at: datetime) -> bool:
        """What the SLA check acts on: open, unanswered and due before ``at`` (not flagged
        yet), or flagged and not notified yet."""
        if self.breached_at is not None:
            return self.breach_notified_at is None
        return (
            self.is_open
            and self.first_response_at is None
            and self.sla_due is not None
            and self.sla_due < at
        )


@dataclass(frozen=True)
class CaseEvent:
    """One entry of a case's audit trail."""

    case_id: str
    action: str
    from_status: str
    to_status: str
    actor: str
    at: datetime
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Agent:
    name: str
    display_name: str
    queues: tuple[str, ...]
    """The queues the agent works; ``("*",)`` for every queue (a team lead)."""
    active: bool = True

    def works(self, queue: str) -> bool:
        return "*" in self.queues or queue in self.queues


@dataclass(frozen=True)
class Profile:
    """One customer across networks: linked handles, and the CRM's id and tier if known."""

    id: str
    handles: tuple[tuple[str, str], ...]
    """``(network, handle)`` pairs."""
    crm_id: str | None = None
    tier: str | None = None
    display_name: str = ""


def handle_key(network: str, handle: str) -> str:
    """How a handle is looked up: ``x:dani_reyes`` (networks' handles are case-insensitive)."""
    return f"{network}:{handle.strip().lstrip('@').lower()}"


def customer_key(network: str, author_id: str) -> str:
    """A customer with no linked profile: one author on one network."""
    return author_id if author_id.startswith(f"{network}:") else f"{network}:{author_id}"


__all__ = [
    "ACTIONS",
    "ACTIONS_BY_NAME",
    "AGENT_ACTIONS",
    "CASE_STATUSES",
    "CLOSED_STATUSES",
    "OPEN_STATUSES",
    "RESPONSE_KINDS",
    "SYSTEM",
    "Agent",
    "Case",
    "CaseAction",
    "CaseEvent",
    "Profile",
    "customer_key",
    "handle_key",
]

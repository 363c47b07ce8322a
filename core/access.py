"""Who may use the console and the JSON API, and what each role may do.

A **user** logs in to the console (or calls the API with a token). Their **role** decides what
they see; agents and team leads also have **teams**: the queues they work (``*``: every queue).
An agent or lead is also an :class:`core.care.Agent` of the same name, so a case action taken in
the console is the same action as ``earshot cases act``.

=========  ======================================================================
role       may
=========  ======================================================================
agent      the queues of their teams: read cases, act on them, correct labels
lead       the same, and the care reports (overview, SLA attainment) of their teams
marketing  advocates, super-users and detractors (and their CSV), the overview
analyst    search, the overview
admin      users, API tokens, the configuration and the audit log
=========  ======================================================================
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

ROLES: tuple[str, ...] = ("agent", "lead", "marketing", "analyst", "admin")
QUEUE_ROLES: tuple[str, ...] = ("agent", "lead")
"""Roles that work queues (and are agents of the same name)."""

PERMISSIONS: dict[str, frozenset[str]] = {
    "agent": frozenset({"queues", "cases.act", "labels.correct"}),
    "lead": frozenset({"queues", "cases.act", "labels.correct", "reports", "overview"}),
    "marketing": frozenset({"advocates", "overview"}),
    "analyst": frozenset({"search", "overview"}),
    "admin": frozenset({"users", "configuration", "audit", "overview"}),
}
"""What each role may do. Every console page and API route names one of these."""

CAPABILITIES: frozenset[str] = frozenset().union(*PERMISSIONS.values())


@dataclass(frozen=True)
class User:
    name: str
    role: str
    display_name: str = ""
    teams: tuple[str, ...] = ()
    """Queues worked (agents and leads); ``("*",)``: every queue."""
    active: bool = True
    created_at: datetime | None = None

    def may(self, capability: str) -> bool:
        return self.active and capability in PERMISSIONS.get(self.role, frozenset())

    def sees_queue(self, queue: str) -> bool:
        return self.may("queues") and ("*" in self.teams or queue in self.teams)


@dataclass(frozen=True)
class Session:
    """A logged-in browser. Only the SHA-256 of the cookie's token is stored."""

    token_hash: str
    user_name: str
    csrf_token: str
    created_at: datetime
    expires_at: datetime
    address: str = ""


@dataclass(frozen=True)
class ApiToken:
    """A token for the JSON API (``Authorization: Bearer es_<id>_<secret>``); only the
    SHA-256 of the secret is stored."""

    id: str
    user_name: str
    secret_hash: str
    label: str
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None


@dataclass(frozen=True)
class AuditEntry:
    """One thing a person did (or tried): who, what, on what, when, from where, and how it
    ended (``ok``; ``denied``: not allowed, or a wrong password; ``throttled``: a login refused
    after too many failures; ``failed``: refused as invalid or in conflict)."""

    actor: str
    action: str
    at: datetime
    target: str = ""
    outcome: str = "ok"
    address: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    id: int | None = None


OUTCOMES: tuple[str, ...] = ("ok", "denied", "throttled", "failed")

__all__ = [
    "CAPABILITIES",
    "OUTCOMES",
    "PERMISSIONS",
    "QUEUE_ROLES",
    "ROLES",
    "ApiToken",
    "AuditEntry",
    "Session",
    "User",
]

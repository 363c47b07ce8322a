"""The store's interfaces, one per concern, and the records they return.

A :class:`Store` bundles the repositories; ``with store.transaction() as tx:`` gives the same
bundle bound to one transaction, so a step can commit posts, labels, the index outbox and the
source's cursor together. No caller ever holds a database connection.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.access import ApiToken, AuditEntry, Session, User
from core.care import Agent, Case, CaseEvent, Profile
from core.history import PracticeExample
from core.insights import Activity, Alert, AuthorScore
from core.models import DeadLetter, Enrichment, Post, RoutingDecision


@dataclass(frozen=True)
class QueueItem:
    """A routed post waiting in (or closed in) a queue."""

    decision: RoutingDecision
    status: str
    post: Post
    assignee: str | None = None
    case_id: str | None = None


@dataclass(frozen=True)
class QueueEvent:
    """One status change of a queue item: who made it and when."""

    post_id: str
    from_status: str
    to_status: str
    actor: str
    at: datetime


@dataclass(frozen=True)
class StoredRecord:
    """A stored post with what is known about it: labels and queue item, if any."""

    post: Post
    enrichment: Enrichment | None
    queue_item: QueueItem | None


@dataclass(frozen=True)
class IndexedPost:
    """What the search index holds of a stored, classified post, read without decoding the
    whole post and its labels (:meth:`PostRepository.indexed`). ``queue`` and the fields after
    it are None until the post is routed."""

    post_id: str
    source: str
    author_id: str
    author_handle: str
    created_at: datetime
    redacted_text: str
    language: str
    sentiment: str
    sentiment_score: float
    intent: str
    intent_score: float
    move_private: bool
    spam: bool
    pii_types: tuple[str, ...]
    """Sorted, each type once."""
    queue: str | None = None
    action: str | None = None
    status: str | None = None
    priority: int | None = None
    sla_due: datetime | None = None


@dataclass(frozen=True)
class OutboxEntry:
    """A change the search index has not received yet."""

    id: int
    post_id: str
    op: str  # "upsert" or "delete"


STAGES: tuple[str, ...] = ("collected", "classified", "stored", "routed", "abandoned")
"""A batch's stages, in order. ``routed`` and ``abandoned`` are final: the batch's staged
posts are deleted then. ``abandoned``: its run died before storing it; the source's cursor
never moved, so the next collection fetches the same posts again."""
OPEN_STAGES: tuple[str, ...] = ("collected", "classified", "stored")


@dataclass(frozen=True)
class Batch:
    """A staged batch: one source's posts of one run, and how far the pipeline got."""

    batch_id: str
    run_id: str
    source: str
    stage: str
    pending_cursor: dict[str, Any] | None
    counts: dict[str, int]
    created_at: datetime | None = None
    cursor_key: str | None = None
    """The cursor storing the batch moves (a backfill's own); None: its source's."""

    @property
    def cursor(self) -> str:
        """The name of the cursor that storing this batch moves."""
        return self.cursor_key or self.source


@dataclass(frozen=True)
class Run:
    """One listening cycle: who runs it, and when it last showed signs of life."""

    run_id: str
    owner: str | None
    started_at: datetime
    heartbeat_at: datetime
    finished_at: datetime | None
    summary: dict[str, Any] | None = None


class PostRepository(Protocol):
    """Posts and their classifications."""

    def upsert(self, posts: Sequence[Post]) -> int:
        """Insert or update posts; returns how many were new to the store."""
        ...

    def get(self, post_id: str) -> Post | None: ...

    def count(self) -> int: ...

    def newest_at(self) -> datetime | None:
        """When the newest stored post was posted (None: no posts)."""
        ...

    def ids(self, *, source: str, after: str = "", limit: int = 1000) -> list[str]:
        """Stored post ids of one network in id order, ``limit`` at a time after ``after``."""
        ...

    def upsert_enrichments(self, enrichments: Sequence[Enrichment]) -> None: ...

    def get_enrichment(self, post_id: str) -> Enrichment | None: ...

    def records(self, post_ids: Sequence[str]) -> list[StoredRecord]:
        """Stored posts with their labels and queue items, in the order asked (missing ids
        are left out)."""
        ...

    def indexed(self, post_ids: Sequence[str]) -> list[IndexedPost]:
        """What the search index holds of these posts, in the order asked (missing and
        unclassified ids are left out): :meth:`records`' fields for the index, at a third of
        its cost."""
        ...

    def unrouted(self, *, limit: int = 1000) -> list[str]:
        """Ids of stored posts that have no queue item (in id order, at most ``limit``)."""
        ...

    def unrouted_count(self) -> int: ...

    def label_rows(self, *, since: datetime | None = None) -> Iterator[tuple[datetime, str, str]]:
        """``(created_at, intent, sentiment)`` of every labelled post (posted since ``since``),
        streamed."""
        ...

    def activities(
        self, *, since: datetime | None = None, until: datetime | None = None, batch: int = 5000
    ) -> Iterator[Activity]:
        """Labelled posts (created in ``[since, until)``) in the slim form the insights read,
        oldest first, streamed ``batch`` rows at a time."""
        ...

    def by_handles(self, handles: Sequence[tuple[str, str]], *, limit: int = 50) -> list[Post]:
        """Posts by these ``(network, handle)`` authors (handles compared without case),
        newest first."""
        ...

    def rejected(self, posts: Sequence[Post], enrichments: Sequence[Enrichment]) -> dict[str, str]:
        """Which posts the database refuses to store (with their labels), and why: each is
        tried alone and rolled back. Writes nothing."""
        ...


class QueueRepository(Protocol):
    """Queue items and their status history."""

    def add_decisions(self, decisions: Sequence[RoutingDecision]) -> list[RoutingDecision]:
        """Record decisions; returns those of posts routed for the first time. A post already
        in a queue keeps its decision and status."""
        ...

    def get(self, post_id: str) -> QueueItem | None: ...

    def items(
        self, *, queue: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[QueueItem]:
        """Queue items, most urgent first (priority, then SLA due time)."""
        ...

    def counts(self) -> dict[tuple[str, str], int]:
        """Items per ``(queue, status)``."""
        ...

    def transition(
        self,
        post_id: str,
        *,
        from_status: str,
        to_status: str,
        actor: str,
        assignee: str | None,
    ) -> QueueItem:
        """Move an item to ``to_status`` only if its status is still ``from_status`` (one
        conditional update: of two concurrent calls, one wins), record the event, and return
        the item. Raises NotFoundError or ConflictError."""
        ...

    def events(self, post_id: str) -> list[QueueEvent]: ...


class CursorRepository(Protocol):
    def get(self, source: str) -> dict[str, Any] | None: ...

    def set(
        self, source: str, value: Mapping[str, Any], *, collected_at: datetime | None = None
    ) -> bool:
        """Save a source's cursor. With ``collected_at`` (when the batch that reached it was
        collected), a cursor saved by a batch collected later is kept: a slower concurrent
        run never moves a cursor back. Returns whether it was saved."""
        ...

    def all(self) -> dict[str, tuple[dict[str, Any], datetime]]:
        """Every source's cursor and when it was last saved."""
        ...


class DeadLetterRepository(Protocol):
    def add(self, letters: Sequence[DeadLetter]) -> int:
        """Keep records that could not be processed; the same record twice is kept once.
        Returns how many were new."""
        ...

    def list(self, *, limit: int = 100) -> list[DeadLetter]: ...


class StagingRepository(Protocol):
    """Batches between pipeline steps, and runs. A batch holds a copy of its posts only while
    it is open (collected, classified or stored); routing or abandoning it deletes them."""

    def stage_batch(
        self,
        *,
        batch_id: str,
        run_id: str,
        source: str,
        posts: Sequence[Post],
        pending_cursor: Mapping[str, Any] | None,
        counts: Mapping[str, int],
        cursor_key: str | None = None,
    ) -> None: ...

    def batch(self, batch_id: str) -> Batch: ...

    def batch_items(self, batch_id: str) -> list[tuple[Post, Enrichment | None]]: ...

    def stage_enrichments(
        self, batch_id: str, enrichments: Sequence[Enrichment], *, dropped: Sequence[str] = ()
    ) -> None:
        """Attach labels to staged posts and drop the ``dropped`` ones (dead-lettered); the
        batch becomes ``classified``."""
        ...

    def advance(self, batch_id: str, *, from_stages: Sequence[str], to: str) -> None:
        """Move the batch to stage ``to`` only if it is still in one of ``from_stages`` (one
        conditional update: of two processes, one wins); raises ConflictError otherwise."""
        ...

    def drop_items(self, batch_id: str, post_ids: Sequence[str] | None = None) -> int:
        """Delete staged posts of a batch (all of them by default); returns how many."""
        ...

    def open_batches(self) -> list[Batch]:
        """Batches not routed nor abandoned yet, oldest first."""
        ...

    def item_count(self) -> int:
        """Staged posts, over every batch."""
        ...

    def update_batch(
        self, batch_id: str, *, stage: str, counts: Mapping[str, int] | None = None
    ) -> None: ...

    def run_batches(self, run_id: str) -> list[Batch]: ...

    def start_run(self, run_id: str, *, owner: str) -> None: ...

    def touch_run(self, run_id: str) -> None:
        """Record that the run is alive (each step calls it)."""
        ...

    def run(self, run_id: str) -> Run | None: ...

    def annotate_run(self, run_id: str, values: Mapping[str, Any]) -> None:
        """Merge ``values`` into the run's summary (before it finishes)."""
        ...

    def finish_run(self, run_id: str, summary: Mapping[str, Any]) -> None: ...

    def last_run(self) -> dict[str, Any] | None: ...

    def prune(self, *, before: datetime) -> int:
        """Delete runs that finished before ``before``, with their batches; returns how many
        runs."""
        ...


class FeedbackRepository(Protocol):
    """Agents' corrections of labels: training data for the next ``earshot train``."""

    def add(self, post_id: str, task: str, label: str, text: str) -> None: ...

    def list(self, task: str) -> list[tuple[str, str]]:
        """``(text, label)`` pairs of one task."""
        ...


class RemovalRepository(Protocol):
    """Compliance removals, with their audit trail."""

    def remove(self, removals: Sequence[tuple[str, str]], *, source: str) -> int:
        """Delete posts everywhere in the store (posts, labels, queues, staging), queue their
        removal from the search index, and keep an audit record of each. Returns how many
        stored posts were removed."""
        ...

    def list(self, *, limit: int = 100) -> list[dict[str, Any]]: ...


class OutboxRepository(Protocol):
    """What the search index still has to receive (written in the same transaction as the
    change, consumed after the index accepted it)."""

    def add(self, post_ids: Sequence[str], op: str) -> None: ...

    def pending(self, *, limit: int) -> list[OutboxEntry]: ...

    def pending_for(self, post_ids: Sequence[str]) -> list[OutboxEntry]:
        """Every pending entry of these posts, oldest first."""
        ...

    def done(self, entry_ids: Sequence[int]) -> None: ...

    def count(self) -> int: ...


class CaseRepository(Protocol):
    """Cases (a conversation with one customer), the posts in them and their audit trail."""

    def open(self, case: Case, *, post_ids: Sequence[str]) -> tuple[Case, bool]:
        """Insert an open case with its first posts, unless one is open for the same
        conversation and customer already (then that one is returned): ``(case, created)``."""
        ...

    def open_many(self, cases: Sequence[Case]) -> dict[str, Case]:
        """Insert open cases, each with its ``open`` event and first post: all of them, or none
        when one clashes with a stored case (same id, or open for the same conversation and
        customer). Returns the stored case each clashing one met, by its id; empty: all opened."""
        ...

    def get(self, case_id: str) -> Case | None: ...

    def get_many(self, case_ids: Sequence[str]) -> dict[str, Case]:
        """The cases with these ids, by id (unknown ids are left out)."""
        ...

    def find_open(self, conversation_key: str, customer_key: str) -> Case | None: ...

    def latest(self, conversation_key: str, customer_key: str) -> Case | None:
        """The most recently opened case of this conversation and customer, any status."""
        ...

    def of_conversations(self, conversation_keys: Sequence[str]) -> list[Case]:
        """Every case of these conversations (any status and customer), oldest opened first."""
        ...

    def of_posts(self, post_ids: Sequence[str]) -> dict[str, str]:
        """The case of each post that is in one."""
        ...

    def attach(self, case_id: str, post_ids: Sequence[str], *, role: str, at: datetime) -> int:
        """Add posts to a case (``customer`` or ``brand``); a post stays in its first case.
        The customer's posts' queue items take the case's queue, status and holder."""
        ...

    def attach_many(self, cases_of: Mapping[str, str], *, role: str, at: datetime) -> set[str]:
        """:meth:`attach` for many cases: post id -> case id. Returns the posts that joined."""
        ...

    def apply(
        self,
        case_id: str,
        *,
        action: str,
        from_statuses: Sequence[str],
        to_status: str,
        actor: str,
        holder: str | None = None,
        values: Mapping[str, Any] | None = None,
        detail: Mapping[str, Any] | None = None,
        at: datetime | None = None,
    ) -> Case:
        """One conditional update (status in ``from_statuses``; with ``holder``, unclaimed or
        held by them) plus its audit event; raises NotFoundError or ConflictError."""
        ...

    def note(
        self, case_id: str, action: str, *, actor: str, detail: Mapping[str, Any], at: datetime
    ) -> None:
        """An audit event that changes no status."""
        ...

    def note_many(
        self,
        action: str,
        notes: Sequence[tuple[str, Mapping[str, Any]]],
        *,
        actor: str,
        at: datetime,
    ) -> None:
        """:meth:`note` for many ``(case id, detail)`` pairs, recorded in their order."""
        ...

    def set_fields(
        self, case_id: str, values: Mapping[str, Any], *, only_if_null: str | None = None
    ) -> bool: ...

    def set_fields_many(
        self,
        case_ids: Sequence[str],
        values: Mapping[str, Any],
        *,
        only_if_null: str | None = None,
    ) -> set[str]:
        """The same fields on many cases (with ``only_if_null``, only where that column is
        still empty); returns the ids of the cases changed."""
        ...

    def set_fields_each(self, changes: Mapping[str, Mapping[str, Any]]) -> None:
        """Each case its own fields: case id -> values."""
        ...

    def members(self, case_id: str) -> list[tuple[str, str]]:
        """``(post_id, role)``, oldest post first."""
        ...

    def events(self, case_id: str) -> list[CaseEvent]: ...

    def overdue(self, at: datetime, *, ids: Sequence[str] | None = None) -> list[Case]:
        """Open unanswered cases due before ``at`` not flagged yet, and flagged ones whose
        breach was not notified yet, most overdue first; with ``ids``, those of these cases,
        in id order."""
        ...

    def overdue_ids(self, at: datetime) -> list[str]:
        """The ids of the cases :meth:`overdue` returns, in id order: read once, then the
        cases a page of ids at a time (paging the cases by id sorts every match again for
        each page: quadratic over the many thousands a backfill makes overdue)."""
        ...

    def ids(self, *, statuses: Sequence[str]) -> list[str]:
        """The ids of the cases with these statuses, in id order (see :meth:`overdue_ids`)."""
        ...

    def queue_counts(self, queues: Sequence[str], at: datetime) -> dict[str, dict[str, int]]:
        """For each of ``queues``: its cases per status (statuses with none are left out) and
        ``overdue``, the open cases with no first response whose SLA was due before ``at``
        (flagged as breached or not)."""
        ...

    def remove_posts(self, post_ids: Sequence[str]) -> int:
        """Take removed posts out of their cases (a case left with no customer post is
        deleted); returns how many cases were deleted."""
        ...

    def list(
        self,
        *,
        queue: str | None = None,
        statuses: Sequence[str] | None = None,
        assignee: str | None = None,
        handle_keys: Sequence[str] | None = None,
        opened_since: datetime | None = None,
        conversation_key: str | None = None,
        limit: int | None = 50,
    ) -> list[Case]:
        """Most urgent first: priority, then SLA due time."""
        ...


class AgentRepository(Protocol):
    def upsert(self, agent: Agent) -> None: ...

    def get(self, name: str) -> Agent | None: ...

    def list(self) -> list[Agent]: ...


class ProfileRepository(Protocol):
    """One customer across networks."""

    def link(
        self,
        handles: Sequence[tuple[str, str]],
        *,
        crm_id: str | None = None,
        tier: str | None = None,
        display_name: str | None = None,
    ) -> Profile:
        """Link ``(network, handle)`` pairs into one profile (the CRM id's, else the first
        linked handle's, else a new one); idempotent."""
        ...

    def get(self, profile_id: str) -> Profile | None: ...

    def of_handles(self, keys: Sequence[str]) -> dict[str, Profile]:
        """The profile of each linked handle key (``x:dani_reyes``)."""
        ...

    def by_crm(self, crm_id: str) -> Profile | None: ...

    def count(self) -> int: ...

    def handle_map(self) -> dict[str, tuple[str, str | None]]:
        """Every linked handle key (``x:dani_reyes``): its profile id and tier."""
        ...


class InsightRepository(Protocol):
    """Marketing's author scores (the last daily run's) and spike alerts."""

    def replace_scores(self, kind: str, scores: Sequence[AuthorScore]) -> None:
        """Replace the list of one kind, in rank order, in one transaction."""
        ...

    def scores(
        self, kind: str, *, limit: int | None = None, keys: Sequence[str] | None = None
    ) -> list[AuthorScore]: ...

    def add_alerts(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Keep alerts (one per kind, key and hour); returns those that were new."""
        ...

    def alerts(
        self, *, since: datetime | None = None, unnotified: bool = False, limit: int = 100
    ) -> list[Alert]:
        """Newest hour first."""
        ...

    def mark_notified(self, alert_ids: Sequence[str], at: datetime) -> None: ...


class HistoryRepository(Protocol):
    """Each brand's public-to-private practice: customer posts labelled by what the brand's
    agents did."""

    def add(self, examples: Sequence[PracticeExample]) -> int:
        """Keep examples (each once); returns how many were new."""
        ...

    def correct(self, example: PracticeExample) -> None:
        """An agent's correction: it replaces every label of the same post (``post_id``) or
        of the same brand, text and time."""
        ...

    def examples(
        self, *, brand: str | None = None, before: datetime | None = None
    ) -> list[PracticeExample]:
        """Oldest first."""
        ...

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per brand: (private, total)."""
        ...


class UserRepository(Protocol):
    """Console users and their password hashes (never the passwords)."""

    def upsert(self, user: User, *, password_hash: str | None = None) -> None:
        """Create or update a user; ``password_hash`` None keeps the stored one (a new user
        without one cannot log in until it is set)."""
        ...

    def get(self, name: str) -> User | None: ...

    def password_hash(self, name: str) -> str | None:
        """The stored hash of an active user; None for an unknown or inactive user."""
        ...

    def set_password_hash(self, name: str, password_hash: str) -> None:
        """Raises NotFoundError for an unknown user."""
        ...

    def list(self) -> list[User]:
        """Every user, by name."""
        ...


class SessionRepository(Protocol):
    """Browser sessions and API tokens."""

    def create(self, session: Session) -> None: ...

    def get(self, token_hash: str, *, at: datetime) -> Session | None:
        """The session, unless it expired before ``at`` (or was ended)."""
        ...

    def end(self, token_hash: str) -> None: ...

    def end_all(self, user_name: str) -> int:
        """End every session of a user (deactivated, or a new password); returns how many."""
        ...

    def prune(self, *, before: datetime) -> int:
        """Delete sessions that expired before ``before``; returns how many."""
        ...

    def add_token(self, token: ApiToken) -> None: ...

    def token(self, token_id: str) -> ApiToken | None: ...

    def tokens(self, user_name: str | None = None) -> list[ApiToken]:
        """Tokens (of one user), newest first, revoked ones included."""
        ...

    def touch_token(self, token_id: str, at: datetime) -> None: ...

    def revoke_token(self, token_id: str, at: datetime) -> bool:
        """Returns whether a live token was revoked."""
        ...


class AuditRepository(Protocol):
    """What people did in the console and the API, and every login attempt."""

    def add(self, entry: AuditEntry) -> AuditEntry:
        """Keep an entry; returns it with its id."""
        ...

    def list(
        self,
        *,
        actor: str | None = None,
        action: str | None = None,
        target: str | None = None,
        before_id: int | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Newest first; ``before_id`` pages back."""
        ...

    def count(
        self,
        *,
        action: str,
        since: datetime,
        outcome: str | None = None,
        actor: str | None = None,
        address: str | None = None,
    ) -> int:
        """Entries of one action since ``since`` (e.g. failed logins of a name or an address,
        for rate limiting)."""
        ...


class Store(Protocol):
    """Every repository, over one database."""

    @property
    def posts(self) -> PostRepository: ...

    @property
    def queues(self) -> QueueRepository: ...

    @property
    def cursors(self) -> CursorRepository: ...

    @property
    def dead_letters(self) -> DeadLetterRepository: ...

    @property
    def staging(self) -> StagingRepository: ...

    @property
    def feedback(self) -> FeedbackRepository: ...

    @property
    def removals(self) -> RemovalRepository: ...

    @property
    def outbox(self) -> OutboxRepository: ...

    @property
    def cases(self) -> CaseRepository: ...

    @property
    def agents(self) -> AgentRepository: ...

    @property
    def profiles(self) -> ProfileRepository: ...

    @property
    def insights(self) -> InsightRepository: ...

    @property
    def history(self) -> HistoryRepository: ...

    @property
    def users(self) -> UserRepository: ...

    @property
    def sessions(self) -> SessionRepository: ...

    @property
    def audit(self) -> AuditRepository: ...

    def transaction(self) -> AbstractContextManager[Store]:
        """The same repositories, all in one transaction (committed on leaving the block)."""
        ...


__all__ = [
    "OPEN_STAGES",
    "STAGES",
    "AgentRepository",
    "AuditRepository",
    "Batch",
    "CaseRepository",
    "CursorRepository",
    "DeadLetterRepository",
    "FeedbackRepository",
    "HistoryRepository",
    "IndexedPost",
    "InsightRepository",
    "OutboxEntry",
    "OutboxRepository",
    "PostRepository",
    "ProfileRepository",
    "QueueEvent",
    "QueueItem",
    "QueueRepository",
    "RemovalRepository",
    "Run",
    "SessionRepository",
    "StagingRepository",
    "Store",
    "StoredRecord",
    "UserRepository",
]

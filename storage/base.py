"""The store's interfaces, one per concern, and the records they return.

A :class:`Store` bundles the repositories; ``with store.transaction() as tx:`` gives the same
bundle bound to one transaction, so a step can commit posts, labels, the index outbox and the
source's cursor together. No caller ever holds a database connection.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.models import DeadLetter, Enrichment, Post, RoutingDecision


@dataclass(frozen=True)
class QueueItem:
    """A routed post waiting in (or closed in) a queue."""

    decision: RoutingDecision
    status: str
    post: Post
    assignee: str | None = None


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
class OutboxEntry:
    """A change the search index has not received yet."""

    id: int
    post_id: str
    op: str  # "upsert" or "delete"


@dataclass(frozen=True)
class Batch:
    """A staged batch: one source's posts of one run, and how far the pipeline got."""

    batch_id: str
    run_id: str
    source: str
    stage: str
    pending_cursor: dict[str, Any] | None
    counts: dict[str, int]


class PostRepository(Protocol):
    """Posts and their classifications."""

    def upsert(self, posts: Sequence[Post]) -> int:
        """Insert or update posts; returns how many were new to the store."""
        ...

    def get(self, post_id: str) -> Post | None: ...

    def count(self) -> int: ...

    def ids(self, *, source: str, after: str = "", limit: int = 1000) -> list[str]:
        """Stored post ids of one network in id order, ``limit`` at a time after ``after``."""
        ...

    def upsert_enrichments(self, enrichments: Sequence[Enrichment]) -> None: ...

    def get_enrichment(self, post_id: str) -> Enrichment | None: ...

    def records(self, post_ids: Sequence[str]) -> list[StoredRecord]:
        """Stored posts with their labels and queue items, in the order asked (missing ids
        are left out)."""
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

    def set(self, source: str, value: Mapping[str, Any]) -> None: ...

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
    """Batches between pipeline steps, and runs."""

    def stage_batch(
        self,
        *,
        batch_id: str,
        run_id: str,
        source: str,
        posts: Sequence[Post],
        pending_cursor: Mapping[str, Any] | None,
        counts: Mapping[str, int],
    ) -> None: ...

    def batch(self, batch_id: str) -> Batch: ...

    def batch_items(self, batch_id: str) -> list[tuple[Post, Enrichment | None]]: ...

    def stage_enrichments(self, batch_id: str, enrichments: Sequence[Enrichment]) -> None: ...

    def update_batch(
        self, batch_id: str, *, stage: str, counts: Mapping[str, int] | None = None
    ) -> None: ...

    def run_batches(self, run_id: str) -> list[Batch]: ...

    def start_run(self, run_id: str) -> None: ...

    def finish_run(self, run_id: str, summary: Mapping[str, Any]) -> None: ...

    def last_run(self) -> dict[str, Any] | None: ...


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

    def done(self, entry_ids: Sequence[int]) -> None: ...

    def count(self) -> int: ...


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

    def transaction(self) -> AbstractContextManager[Store]:
        """The same repositories, all in one transaction (committed on leaving the block)."""
        ...


__all__ = [
    "Batch",
    "CursorRepository",
    "DeadLetterRepository",
    "FeedbackRepository",
    "OutboxEntry",
    "OutboxRepository",
    "PostRepository",
    "QueueEvent",
    "QueueItem",
    "QueueRepository",
    "RemovalRepository",
    "StagingRepository",
    "Store",
    "StoredRecord",
]

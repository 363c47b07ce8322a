"""Storage: posts and labels, queues, cursors, dead letters, staging and runs, feedback,
removals and the search-index outbox, each behind a small interface (:mod:`storage.base`),
implemented once over SQLAlchemy for SQLite and PostgreSQL, with Alembic migrations."""

from storage.base import (
    STAGES,
    AgentRepository,
    Batch,
    CaseRepository,
    IndexedPost,
    OutboxEntry,
    ProfileRepository,
    QueueEvent,
    QueueItem,
    Run,
    Store,
    StoredRecord,
)
from storage.sql import SqlStore

__all__ = [
    "STAGES",
    "AgentRepository",
    "Batch",
    "CaseRepository",
    "IndexedPost",
    "OutboxEntry",
    "ProfileRepository",
    "QueueEvent",
    "QueueItem",
    "Run",
    "SqlStore",
    "Store",
    "StoredRecord",
]

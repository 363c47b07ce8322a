"""The SQL store: every repository over one SQLAlchemy engine (SQLite or PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine

from storage.sql.access import SqlAudit, SqlSessions, SqlUsers
from storage.sql.cases import SqlAgents, SqlCases, SqlProfiles
from storage.sql.cursors import SqlCursors
from storage.sql.database import Database, open_engine
from storage.sql.dead_letters import SqlDeadLetters
from storage.sql.feedback import SqlFeedback
from storage.sql.history import SqlHistory
from storage.sql.insights import SqlInsights
from storage.sql.outbox import SqlOutbox
from storage.sql.posts import SqlPosts
from storage.sql.queues import SqlQueues
from storage.sql.removals import SqlRemovals
from storage.sql.staging import SqlStaging


class SqlStore:
    """Storage over one database URL (``sqlite:///...`` or ``postgresql+psycopg://...``).

    The schema comes from the migrations (:func:`storage.migrate.upgrade`), never from here.
    """

    def __init__(self, db: Database) -> None:
        self._db = db
        self.posts = SqlPosts(db)
        self.queues = SqlQueues(db)
        self.cursors = SqlCursors(db)
        self.dead_letters = SqlDeadLetters(db)
        self.staging = SqlStaging(db)
        self.feedback = SqlFeedback(db)
        self.removals = SqlRemovals(db)
        self.outbox = SqlOutbox(db)
        self.cases = SqlCases(db)
        self.agents = SqlAgents(db)
        self.profiles = SqlProfiles(db)
        self.insights = SqlInsights(db)
        self.history = SqlHistory(db)
        self.users = SqlUsers(db)
        self.sessions = SqlSessions(db)
        self.audit = SqlAudit(db)

    @classmethod
    def open(cls, url: str) -> SqlStore:
        return cls(Database(open_engine(url)))

    @property
    def engine(self) -> Engine:
        """For the embedded search index, which lives in the same database."""
        return self._db.engine

    @property
    def dialect(self) -> str:
        return self._db.dialect

    @contextmanager
    def transaction(self) -> Iterator[SqlStore]:
        with self._db.begin() as connection:
            yield SqlStore(self._db.bound(connection))

    def dispose(self) -> None:
        self._db.engine.dispose()

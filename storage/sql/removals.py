"""Compliance removals: posts deleted at the source leave every table (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import delete, select

from core.batching import SQL_BATCH, chunked
from core.timeutil import now
from storage.sql import schema
from storage.sql.cases import SqlCases
from storage.sql.database import Database, existing
from storage.sql.outbox import SqlOutbox

_EVERYWHERE = (
    schema.posts.c.id,
    schema.enrichments.c.post_id,
    schema.queue_items.c.post_id,
    schema.queue_events.c.post_id,
    schema.batch_posts.c.post_id,
)


class SqlRemovals:
    def __init__(self, db: Database) -> None:
        self._db = db

    def remove(self, removals: Sequence[tuple[str, str]], *, source: str) -> int:
        reasons = dict(removals)
        if not reasons:
            return 0
        ids = list(reasons)
        removed_at = now()
        with self._db.begin() as conn:
            present = existing(conn, schema.posts.c.id, ids)
            SqlCases(self._db.bound(conn)).remove_posts(ids)
            for chunk in chunked(ids, SQL_BATCH):
                for column in _EVERYWHERE:
                    conn.execute(delete(column.table).where(column.in_(chunk)))
            # The index is told in the same transaction: a removal can be late there, never lost.
            SqlOutbox(self._db.bound(conn)).add(ids, "delete")
            if present:
                conn.execute(
                    schema.removals.insert(),
                    [
                        {
                            "post_id": i,
                            "source": source,
                            "reason": reasons[i],
                            "removed_at": removed_at,
                        }
                        for i in sorted(present)
                    ],
                )
        return len(present)

    def list(self, *, limit: int = 100) -> list[dict[str, Any]]:
        table = schema.removals
        stmt = select(table).order_by(table.c.id.desc()).limit(limit)
        with self._db.begin() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

"""Changes the search index has still to receive (SQL)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import delete, func, select

from core.batching import SQL_BATCH, chunked
from core.timeutil import now
from storage.base import OutboxEntry
from storage.sql import schema
from storage.sql.database import Database

OPS = ("upsert", "delete")
_OUTBOX = schema.index_outbox


class SqlOutbox:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, post_ids: Sequence[str], op: str) -> None:
        if op not in OPS:
            raise ValueError(f"unknown outbox operation {op!r}; expected one of {OPS}")
        created = now()
        rows = [{"post_id": i, "op": op, "created_at": created} for i in dict.fromkeys(post_ids)]
        with self._db.begin() as conn:
            for chunk in chunked(rows, SQL_BATCH):
                self._db.insert(conn, _OUTBOX, chunk)

    def pending(self, *, limit: int) -> list[OutboxEntry]:
        stmt = select(_OUTBOX.c.id, _OUTBOX.c.post_id, _OUTBOX.c.op).order_by(_OUTBOX.c.id)
        with self._db.begin() as conn:
            return [OutboxEntry(*row) for row in conn.execute(stmt.limit(limit))]

    def pending_for(self, post_ids: Sequence[str]) -> list[OutboxEntry]:
        entries: list[OutboxEntry] = []
        with self._db.begin() as conn:
            for chunk in chunked(list(dict.fromkeys(post_ids)), SQL_BATCH):
                stmt = select(_OUTBOX.c.id, _OUTBOX.c.post_id, _OUTBOX.c.op).where(
                    _OUTBOX.c.post_id.in_(chunk)
                )
                entries.extend(OutboxEntry(*row) for row in conn.execute(stmt))
        return sorted(entries, key=lambda entry: entry.id)

    def done(self, entry_ids: Sequence[int]) -> None:
        with self._db.begin() as conn:
            for chunk in chunked(list(entry_ids), SQL_BATCH):
                conn.execute(delete(_OUTBOX).where(_OUTBOX.c.id.in_(chunk)))

    def count(self) -> int:
        with self._db.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(_OUTBOX)).scalar_one())

"""Each source's position between runs (SQL)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select

from core.timeutil import now
from storage.sql import schema
from storage.sql.database import Database


class SqlCursors:
    def __init__(self, db: Database) -> None:
        self._db = db

    def get(self, source: str) -> dict[str, Any] | None:
        table = schema.cursors
        with self._db.begin() as conn:
            row = conn.execute(select(table.c.value).where(table.c.source == source)).first()
        return None if row is None else dict(row[0])

    def set(
        self, source: str, value: Mapping[str, Any], *, collected_at: datetime | None = None
    ) -> bool:
        table = schema.cursors
        row = {
            "source": source,
            "value": dict(value),
            "updated_at": now(),
            "collected_at": collected_at,
        }
        with self._db.begin() as conn:
            if collected_at is not None:
                saved = conn.execute(
                    select(table.c.collected_at).where(table.c.source == source)
                ).first()
                if saved is not None and saved[0] is not None and saved[0] > collected_at:
                    return False  # a batch collected later has already moved it further
            self._db.upsert(conn, table, [row], ["source"])
        return True

    def all(self) -> dict[str, tuple[dict[str, Any], datetime]]:
        with self._db.begin() as conn:
            return {
                r.source: (dict(r.value), r.updated_at)
                for r in conn.execute(select(schema.cursors))
            }

"""Agents' label corrections (SQL)."""

from __future__ import annotations

from sqlalchemy import select

from core.timeutil import now
from storage.sql import schema
from storage.sql.database import Database


class SqlFeedback:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, post_id: str, task: str, label: str, text: str) -> None:
        row = {"post_id": post_id, "task": task, "label": label, "text": text, "created_at": now()}
        with self._db.begin() as conn:
            self._db.upsert(conn, schema.feedback, [row], ["post_id", "task"])

    def list(self, task: str) -> list[tuple[str, str]]:
        table = schema.feedback
        stmt = select(table.c.text, table.c.label).where(table.c.task == task)
        with self._db.begin() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt.order_by(table.c.post_id))]

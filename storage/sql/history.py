"""Each brand's public-to-private practice: labelled customer posts (SQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Integer, cast, delete, func, or_, select

from core.batching import SQL_BATCH, chunked
from core.history import PracticeExample
from storage.sql import schema
from storage.sql.database import Database

_TABLE = schema.private_history


def fingerprint(example: PracticeExample) -> str:
    key = "\x1f".join([example.brand, example.text, example.created_at.isoformat()])
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def _row(e: PracticeExample) -> dict[str, object]:
    return {
        "fingerprint": fingerprint(e),
        "brand": e.brand,
        "text": e.text,
        "private": e.private,
        "reason": e.reason,
        "origin": e.origin,
        "post_id": e.post_id,
        "created_at": e.created_at,
    }


class SqlHistory:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, examples: Sequence[PracticeExample]) -> int:
        rows = [_row(e) for e in examples]
        rows = list({r["fingerprint"]: r for r in rows}.values())
        new = 0
        with self._db.begin() as conn:
            for chunk in chunked(rows, SQL_BATCH):
                new += len(self._db.insert_new(conn, _TABLE, chunk, "fingerprint"))
        return new

    def correct(self, example: PracticeExample) -> None:
        same = _TABLE.c.fingerprint == fingerprint(example)
        if example.post_id is not None:
            same = or_(same, _TABLE.c.post_id == example.post_id)
        with self._db.begin() as conn:
            conn.execute(delete(_TABLE).where(same))
            self._db.insert_new(conn, _TABLE, [_row(example)], "fingerprint")

    def examples(
        self, *, brand: str | None = None, before: datetime | None = None
    ) -> list[PracticeExample]:
        stmt = select(_TABLE).order_by(_TABLE.c.created_at, _TABLE.c.id)
        if brand is not None:
            stmt = stmt.where(_TABLE.c.brand == brand)
        if before is not None:
            stmt = stmt.where(_TABLE.c.created_at < before)
        with self._db.begin() as conn:
            return [
                PracticeExample(
                    r.brand, r.text, bool(r.private), r.created_at, r.origin, r.reason, r.post_id
                )
                for r in conn.execute(stmt)
            ]

    def counts(self) -> dict[str, tuple[int, int]]:
        """Per brand: (private, total)."""
        stmt = select(
            _TABLE.c.brand,
            func.sum(cast(_TABLE.c.private, Integer)),
            func.count(),
        ).group_by(_TABLE.c.brand)
        with self._db.begin() as conn:
            return {b: (int(p or 0), int(n)) for b, p, n in conn.execute(stmt)}

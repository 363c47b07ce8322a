"""Records that could not be processed, kept with their raw bytes (SQL)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from sqlalchemy import select

from core.models import DeadLetter
from core.redaction import redact_pii, redact_pii_in_bytes
from core.timeutil import now
from storage.sql import schema
from storage.sql.database import Database, existing


class SqlDeadLetters:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add(self, letters: Sequence[DeadLetter]) -> int:
        rows = {}
        for letter in letters:
            # No personal data in a dead letter: cards masked, emails, phones and IBANs
            # replaced, in the raw record and in the error (which may quote it); ids kept.
            payload = redact_pii_in_bytes(letter.payload)
            digest = hashlib.sha256(
                b"\0".join([letter.source.encode(), letter.location.encode(), payload])
            ).hexdigest()
            rows[digest] = {
                "fingerprint": digest,
                "source": letter.source,
                "location": letter.location,
                "error": redact_pii(letter.error),
                "payload": payload,
                "created_at": now(),
            }
        if not rows:
            return 0
        table = schema.dead_letters
        with self._db.begin() as conn:
            known = existing(conn, table.c.fingerprint, list(rows))
            self._db.upsert(conn, table, list(rows.values()), ["fingerprint"], update=[])
        return len(set(rows) - known)

    def list(self, *, limit: int = 100) -> list[DeadLetter]:
        table = schema.dead_letters
        with self._db.begin() as conn:
            rows = conn.execute(select(table).order_by(table.c.id).limit(limit))
            return [DeadLetter(r.source, r.location, r.error, bytes(r.payload)) for r in rows]

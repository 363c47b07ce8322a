"""Column types shared by every table Earshot keeps in SQL (the store's and the embedded
search index's)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, TypeDecorator

from core.timeutil import utc


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)

    def bind_processor(self, dialect: Any) -> Any:
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)
        return _sqlite_text


_LAST: tuple[datetime | None, str | None] = (None, None)
"""The last value :func:`_sqlite_text` formatted, and its text: a batch's rows share their
``now()`` (updated, decided, event times), one object bound over and over."""


def _sqlite_text(value: datetime | None) -> str | None:
    """What :meth:`UTCDateTime.process_bind_param` and SQLite's ``DATETIME`` make of a value
    (``2026-11-02 09:30:00.000000``, naive UTC), in one C call instead of SQLAlchemy's
    formatting in Python: a backfill binds millions of times."""
    global _LAST
    if value is None:
        return None
    last = _LAST  # one read: another thread may replace the pair, never half of it
    if last[0] is value:
        return last[1]
    if value.tzinfo is UTC:  # most values: drop the "+00:00" instead of converting
        text = value.isoformat(" ", "microseconds")[:-6]
    elif value.tzinfo is not None:
        text = value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    else:
        text = value.isoformat(" ", "microseconds")
    _LAST = (value, text)
    return text

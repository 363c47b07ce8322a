"""The shared column types store on SQLite exactly what SQLAlchemy's own types store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy import Column, DateTime, Integer, MetaData, Table, create_engine, select
from sqlalchemy.dialects import sqlite

from core.sqltypes import UTCDateTime

TIMES = [
    datetime(2026, 11, 2, 9, 30, tzinfo=UTC),
    datetime(2026, 11, 2, 12, 0, 0, 5, tzinfo=timezone(timedelta(hours=2))),
    datetime(2026, 3, 29, 3, 30, 1, 123456, tzinfo=ZoneInfo("Europe/Paris")),
    datetime(2026, 11, 2, 23, 59, 59, 999999),  # naive: taken as UTC
    datetime(999, 1, 1, tzinfo=UTC),
]


def test_utc_datetime_sqlite_text_is_sqlalchemys_datetime_text() -> None:
    dialect = sqlite.dialect()
    column = UTCDateTime()
    reference = DateTime().dialect_impl(dialect).bind_processor(dialect)
    assert reference is not None
    fast = column.bind_processor(dialect)
    for value in TIMES:
        assert fast(value) == reference(column.process_bind_param(value, dialect)), value
    assert fast(None) is None
    assert fast(TIMES[1]) == "2026-11-02 10:00:00.000005"


def test_utc_datetime_reads_back_as_aware_utc_on_sqlite(tmp_path: Path) -> None:
    engine = create_engine(f"sqlite:///{tmp_path / 'times.db'}")
    table = Table(
        "t", MetaData(), Column("n", Integer, primary_key=True), Column("at", UTCDateTime)
    )
    table.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.execute(table.insert(), [{"n": i, "at": t} for i, t in enumerate([*TIMES, None])])
        read = conn.execute(select(table.c.at).order_by(table.c.n)).scalars().all()
    engine.dispose()
    expected = [t.astimezone(UTC) if t.tzinfo else t.replace(tzinfo=UTC) for t in TIMES]
    assert read == [*expected, None]


def test_utc_datetime_sqlite_text_of_a_repeated_value_is_its_own() -> None:
    dialect = sqlite.dialect()
    fast = UTCDateTime().bind_processor(dialect)
    first = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)
    twin = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # equal, another object
    other = datetime(2026, 11, 2, 9, 31, tzinfo=timezone(timedelta(hours=1)))
    texts = [fast(v) for v in (first, first, twin, other, first, None, first)]
    assert texts == [
        "2026-11-02 09:30:00.000000",
        "2026-11-02 09:30:00.000000",
        "2026-11-02 09:30:00.000000",
        "2026-11-02 08:31:00.000000",
        "2026-11-02 09:30:00.000000",
        None,
        "2026-11-02 09:30:00.000000",
    ]

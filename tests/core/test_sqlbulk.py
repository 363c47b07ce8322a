"""The driver-level bulk writes store exactly what SQLAlchemy's own insert stores."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, create_engine, select
from sqlalchemy.exc import IntegrityError

from core.sqlbulk import quote, sqlite_insert, sqlite_upsert
from core.sqltypes import UTCDateTime


def _table(name: str, metadata: MetaData) -> Table:
    return Table(
        name,
        metadata,
        Column("id", String(20), primary_key=True),
        Column("n", Integer),
        Column("at", UTCDateTime),
        Column("data", JSON),
    )


ROWS: list[dict[str, Any]] = [
    {"id": "a", "n": 1, "at": datetime(2026, 11, 2, 9, 30, tzinfo=UTC), "data": {"k": [1, "é"]}},
    {
        "id": "b",
        "n": None,
        "at": datetime(2026, 11, 2, 12, 0, tzinfo=timezone(timedelta(hours=2))),
        "data": None,
    },
    {"id": "c", "n": 3, "at": None, "data": ["x", None]},
]


@pytest.fixture
def tables(tmp_path: Path) -> Any:
    engine = create_engine(f"sqlite:///{tmp_path / 'bulk.db'}")
    metadata = MetaData()
    plain, bulk = _table("plain", metadata), _table("bulk", metadata)
    metadata.create_all(engine)
    yield engine, plain, bulk
    engine.dispose()


def test_sqlite_insert_stores_what_sqlalchemy_stores(tables: Any) -> None:
    engine, plain, bulk = tables
    with engine.begin() as conn:
        conn.execute(plain.insert(), ROWS)
        conn.exec_driver_sql(*sqlite_insert(conn, bulk, ROWS, ""))
    with engine.begin() as conn:
        raw_plain = conn.exec_driver_sql("SELECT * FROM plain ORDER BY id").all()
        raw_bulk = conn.exec_driver_sql("SELECT * FROM bulk ORDER BY id").all()
        read_back = [dict(r._mapping) for r in conn.execute(select(bulk).order_by(bulk.c.id))]
    assert raw_bulk == raw_plain  # the same text in the database, value for value
    assert read_back[1]["at"] == datetime(2026, 11, 2, 10, 0, tzinfo=UTC)  # stored as UTC
    assert read_back[0]["data"] == {"k": [1, "é"]} and read_back[2]["at"] is None


def test_sqlite_upsert_updates_the_named_columns_or_keeps_the_row(tables: Any) -> None:
    engine, _, bulk = tables
    with engine.begin() as conn:
        conn.exec_driver_sql(*sqlite_insert(conn, bulk, ROWS, ""))
        sqlite_upsert(conn, bulk, [{**ROWS[0], "n": 10, "data": {"new": True}}], ["id"], ["n"])
        sqlite_upsert(conn, bulk, [{**ROWS[2], "n": 30}], ["id"], [])
    with engine.begin() as conn:
        rows = {r.id: r for r in conn.execute(select(bulk))}
    assert (rows["a"].n, rows["a"].data) == (10, {"k": [1, "é"]})  # only n was to change
    assert rows["c"].n == 3  # no columns to update: the stored row stays


def test_sqlite_insert_of_a_clashing_key_fails_like_any_insert(tables: Any) -> None:
    engine, _, bulk = tables
    with pytest.raises(IntegrityError), engine.begin() as conn:
        conn.exec_driver_sql(*sqlite_insert(conn, bulk, [ROWS[0], ROWS[0]], ""))


def test_quote_doubles_embedded_quotes() -> None:
    assert quote('we"ird') == '"we""ird"'

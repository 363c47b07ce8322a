"""PostgreSQL's bulk insert (``unnest_insert``): the same rows as SQLAlchemy's own insert,
only the new keys returned, in row order. JSON columns: msgspec's text, read back as the
values ``json`` would give, and rows ``json.dumps`` wrote read as before."""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    select,
)
from sqlalchemy.engine import Engine

from core.sqltypes import UTCDateTime
from storage.sql.database import Database, json_text, json_value, open_engine, unnest_insert
from tests.conftest import BACKENDS, fresh_database

METADATA = MetaData()


def _table(name: str) -> Table:
    return Table(
        name,
        METADATA,
        Column("id", String(40), primary_key=True),
        Column("body", Text),
        Column("count", Integer),
        Column("score", Float),
        Column("flag", Boolean),
        Column("data", JSON),
        Column("at", UTCDateTime),
        Column("raw", LargeBinary),
        Column("never", Integer),
    )


BULK, PLAIN = _table("bulk_rows"), _table("plain_rows")

ROWS: list[dict[str, Any]] = [
    {
        "id": "x:2",
        "body": 'quote \' backslash \\ brace { comma , "dq" 😡 مرحبا',
        "count": 3,
        "score": 0.25,
        "flag": True,
        "data": {"reasons": ["order number in post"], "nested": {"n": 1, "none": None}},
        "at": datetime(2026, 11, 2, 9, 30, 15, 123456, tzinfo=UTC),
        "raw": b"\x00\xffbytes",
        "never": None,
    },
    {
        "id": "x:1",
        "body": None,
        "count": None,
        "score": None,
        "flag": False,
        "data": [],
        "at": None,
        "raw": None,
        "never": None,
    },
    {
        "id": "x:3",
        "body": "",
        "count": -7,
        "score": 1e-9,
        "flag": None,
        "data": "a plain string",
        "at": datetime(2026, 11, 3, tzinfo=UTC),
        "raw": b"",
        "never": None,
    },
]


@pytest.fixture(params=[b for b in BACKENDS if b.id == "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    with fresh_database(request.param, tmp_path) as url:
        engine = open_engine(url)
        METADATA.create_all(engine)
        yield engine
        engine.dispose()


def _read(engine: Engine, table: Table) -> list[dict[str, Any]]:
    with engine.begin() as conn:
        return [dict(r._mapping) for r in conn.execute(select(table).order_by(table.c.id))]


def test_unnest_insert_stores_what_a_plain_insert_stores(engine: Engine) -> None:
    with engine.begin() as conn:
        new = unnest_insert(conn, BULK, ROWS, conflict="id", returning="id")
        conn.execute(PLAIN.insert(), ROWS)
    assert new == ["x:2", "x:1", "x:3"]  # row order
    bulk, plain = _read(engine, BULK), _read(engine, PLAIN)
    assert bulk == plain
    assert bulk[1]["body"] == ROWS[0]["body"] and bulk[1]["data"] == ROWS[0]["data"]
    assert bulk[1]["at"] == ROWS[0]["at"] and bulk[1]["raw"] == b"\x00\xffbytes"


def test_unnest_insert_returns_only_the_new_keys(engine: Engine) -> None:
    database = Database(engine)
    with engine.begin() as conn:
        assert database.insert_new(conn, BULK, ROWS[:2], "id") == {"x:1", "x:2"}
        changed = [{**ROWS[0], "count": 99}, ROWS[2]]
        assert database.insert_new(conn, BULK, changed, "id") == {"x:3"}
        assert unnest_insert(conn, BULK, changed, conflict=None, returning="id") == []
    assert [r["count"] for r in _read(engine, BULK)] == [None, 3, -7]  # x:2 left alone


JSON_VALUES: list[Any] = [
    {"reasons": ["order number in post"], "score": 0.9759, "n": -3, "none": None, "t": True},
    ["é", "😡 مرحبا", 'quote " backslash \\', 1e-9, 12345678901234567890],
    "a plain string",
    {"1": [{"nested": {"deep": []}}]},
]


def test_json_text_is_json_dumps_value_compact() -> None:
    for value in JSON_VALUES:
        text = json_text(value)
        assert json.loads(text) == value, text
    assert json_text({"a": [1, 2], "b": None}) == '{"a":[1,2],"b":null}'  # compact
    assert json_text({"a": "é"}) == '{"a":"é"}'  # UTF-8 text, not \\u escapes
    assert json_text((1, 2)) == "[1,2]"


def test_json_text_hands_what_msgspec_refuses_to_json_dumps() -> None:
    assert json_text({"a": "x\ud83dy"}) == json.dumps({"a": "x\ud83dy"})  # lone surrogate
    assert json_text({None: 1}) == '{"null": 1}'
    with pytest.raises(TypeError):
        json_text({"a": object()})


def test_json_value_reads_what_json_dumps_wrote() -> None:
    for value in JSON_VALUES:
        assert json_value(json.dumps(value)) == value
    old = json_value(json.dumps({"score": math.nan, "text": "x\ud83dy"}))
    assert math.isnan(old["score"]) and old["text"] == "x\ud83dy"
    assert json_value(b'{"a":[1]}') == {"a": [1]}


def test_open_engine_stores_json_columns_as_msgspec_text(tmp_path: Path) -> None:
    engine = open_engine(f"sqlite:///{tmp_path / 'json.db'}")
    METADATA.create_all(engine, tables=[PLAIN])
    try:
        with engine.begin() as conn:
            conn.execute(PLAIN.insert(), ROWS)
            raw = conn.exec_driver_sql("SELECT data FROM plain_rows WHERE id = 'x:2'").scalar()
        assert raw == json_text(ROWS[0]["data"])
        assert [r["data"] for r in _read(engine, PLAIN)] == [[], ROWS[0]["data"], "a plain string"]
    finally:
        engine.dispose()

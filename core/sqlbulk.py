"""Bulk writes below SQLAlchemy's per-row bookkeeping, shared by the store and the embedded
search index: values go through each column's own bind processing (so they are stored as a
plain ``connection.execute(table.insert(), rows)`` would store them) and then straight to the
driver's ``executemany``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Table
from sqlalchemy.engine import Connection


def quote(name: str) -> str:
    """An SQL identifier, quoted."""
    return '"' + name.replace('"', '""') + '"'


def driver_columns(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], names: Sequence[str]
) -> list[list[Any]]:
    """``rows`` as one list of driver values per name of ``names``, each value through its
    column's SQLAlchemy bind processing, so that it is stored exactly as
    ``connection.execute(table.insert(), rows)`` would store it, without that call's
    per-row bookkeeping (most of a bulk write's time at 100,000 posts)."""
    dialect = connection.dialect
    columns: list[list[Any]] = []
    for name in names:
        process = table.c[name].type._cached_bind_processor(dialect)
        values = [row[name] for row in rows]
        columns.append([process(v) for v in values] if process else values)
    return columns


def sqlite_insert(
    connection: Connection, table: Table, rows: Sequence[dict[str, Any]], clause: str
) -> tuple[str, list[tuple[Any, ...]]]:
    """SQLite: ``INSERT INTO table (<the rows' keys>) VALUES (?, ...)<clause>`` and the
    rows' parameter tuples, for the driver's executemany."""
    names = list(rows[0])
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(n) for n in names)})"
        f" VALUES ({', '.join('?' for _ in names)}){clause}"
    )
    return sql, list(zip(*driver_columns(connection, table, rows, names), strict=True))


def sqlite_upsert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    keys: Sequence[str],
    update: Sequence[str],
) -> None:
    """SQLite: insert ``rows``; on a clash on ``keys`` set the ``update`` columns to the new
    values (none: keep the existing row)."""
    if not rows:
        return
    target = f" ON CONFLICT ({', '.join(quote(k) for k in keys)})"
    if update:
        sets = ", ".join(f"{quote(c)} = excluded.{quote(c)}" for c in update)
        clause = f"{target} DO UPDATE SET {sets}"
    else:
        clause = f"{target} DO NOTHING"
    connection.exec_driver_sql(*sqlite_insert(connection, table, rows, clause))

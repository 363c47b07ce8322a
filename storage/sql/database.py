"""The database handle the SQL repositories share: one engine, and optionally one open
transaction that every repository call joins."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, Table, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError

from core.errors import StoreError

SUPPORTED = ("sqlite", "postgresql")


def open_engine(url: str) -> Engine:
    """An engine for a ``sqlite:///...`` or ``postgresql+psycopg://...`` URL."""
    try:
        parsed = make_url(url)
    except ArgumentError as e:
        raise StoreError(f"invalid database URL {url!r}: {e}") from None
    dialect = parsed.get_backend_name()
    if dialect not in SUPPORTED:
        raise StoreError(
            f"unsupported database {dialect!r} in {parsed.render_as_string(hide_password=True)}"
            f" (supported: {', '.join(SUPPORTED)})"
        )
    if dialect == "sqlite" and parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url)
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read while an Airflow task writes; busy_timeout waits out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


class Database:
    """An engine, or one transaction on it that every repository sharing this object joins."""

    def __init__(self, engine: Engine, connection: Connection | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._connection = connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """The open transaction, or a new one committed on leaving the block."""
        if self._connection is not None:
            yield self._connection
        else:
            with self.engine.begin() as connection:
                yield connection

    def bound(self, connection: Connection) -> Database:
        return Database(self.engine, connection)

    def upsert(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[dict[str, Any]],
        keys: Sequence[str],
        *,
        update: Sequence[str] | None = None,
    ) -> None:
        """Insert rows; on a key conflict update ``update`` columns (default: all others), or
        leave the existing row alone when ``update`` is empty."""
        if not rows:
            return
        stmt = (sqlite if self.dialect == "sqlite" else postgresql).insert(table)
        if update is None:
            update = [c.name for c in table.columns if c.name not in keys]
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        connection.execute(stmt, list(rows))


def last_wins(items: Sequence[Any], key: Any = lambda item: item.id) -> list[Any]:
    """Drop earlier duplicates of the same key (one statement may not touch a row twice)."""
    return list({key(item): item for item in items}.values())

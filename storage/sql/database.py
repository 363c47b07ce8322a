"""The database handle the SQL repositories share: one engine, and optionally one open
transaction that every repository call joins."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import msgspec
from sqlalchemy import Engine, Table, create_engine, event, select
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from core.batching import SQL_BATCH, chunked
from core.errors import StoreError
from core.sqlbulk import driver_columns, sqlite_insert, sqlite_upsert

SUPPORTED = ("sqlite", "postgresql")
_JSON_ENCODER = msgspec.json.Encoder()
_JSON_DECODER = msgspec.json.Decoder()


def json_text(value: Any) -> str:
    """A JSON column's text: the value ``json.dumps`` would store, written compact and as
    UTF-8 text rather than ``\\u`` escapes, about 8 times as fast (a backfill encodes every
    post's labels, cases and staged copy). What msgspec will not encode (a lone surrogate, a
    ``None`` key) goes to ``json.dumps``, which stores it or raises as it always did."""
    try:
        return _JSON_ENCODER.encode(value).decode("utf-8")
    except (TypeError, ValueError, msgspec.EncodeError):  # UnicodeError is a ValueError
        return json.dumps(value)


def json_value(text: str | bytes) -> Any:
    """A JSON column's value (about 3 times as fast as ``json.loads``). What msgspec will not
    read (``NaN``, a lone surrogate's escape: ``json.dumps`` wrote them into older rows) goes
    to ``json.loads``."""
    try:
        return _JSON_DECODER.decode(text)
    except msgspec.DecodeError:
        return json.loads(text)


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
    connect_args: dict[str, Any] = {}
    if dialect == "postgresql":
        # No server-side prepared statements: psycopg prepares a query after 5 runs, and
        # PostgreSQL then keeps a generic plan made while the tables were small. For the
        # store's `id IN (...)` lookups of hundreds of ids that plan is a sequential scan
        # comparing every row with every id (no hashing of a parameter list): 0.5-1 s each
        # at 60,000 cases, where a plan made for the actual values takes milliseconds.
        connect_args["prepare_threshold"] = None
    engine = create_engine(
        url,
        connect_args=connect_args,
        json_serializer=json_text,
        json_deserializer=json_value,
    )
    if dialect == "sqlite":
        event.listen(engine, "connect", _sqlite_connect)
        event.listen(engine, "begin", _sqlite_begin)
    return engine


@contextmanager
def scratch_postgres(server_url: str, prefix: str) -> Iterator[str]:
    """A new, empty PostgreSQL database beside ``server_url``'s, dropped afterwards (its
    connections forced out): for tests and benchmarks. Yields its URL."""
    import secrets

    from sqlalchemy import text

    name = f"{prefix}_{secrets.token_hex(6)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


SQLITE_BUSY_TIMEOUT_MS = 60_000
"""How long a SQLite transaction waits for another process's write lock before failing."""
SQLITE_CACHE_KB = 64 * 1024
"""Each SQLite connection's page cache."""


def _sqlite_connect(dbapi_conn: Any, _record: Any) -> None:
    # SQLAlchemy, not the sqlite3 module, begins transactions (see _sqlite_begin).
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    # WAL lets readers go on while a writer commits; busy_timeout waits out other writers.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # SQLite's default page cache is 2 MB: a backfill's inserts into the cases table (a dozen
    # indexes) then reread index pages from the OS for most rows.
    cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KB}")
    cursor.execute("PRAGMA temp_store=MEMORY")
    cursor.close()


def _sqlite_begin(connection: Connection) -> None:
    # IMMEDIATE takes the write lock at the start: of two processes, the second waits
    # (busy_timeout) for the first to commit. A deferred transaction that reads and then
    # writes fails at once with "database is locked" when another process wrote in between,
    # which is what two `earshot run --once` at the same time used to hit. It also makes DDL
    # transactional.
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    """An engine, or one transaction on it that every repository sharing this object joins."""

    def __init__(self, engine: Engine, connection: Connection | None = None) -> None:
        self.engine = engine
        self.dialect = engine.dialect.name
        self._connection = connection

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """The open transaction, or a new one committed on leaving the block. A database
        error becomes a :class:`StoreError` that names the database and the reason."""
        if self._connection is not None:
            yield self._connection
            return
        try:
            with self.engine.begin() as connection:
                yield connection
        except SQLAlchemyError as e:
            raise store_error(self.engine, e) from e

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
        if update is None:
            update = [c.name for c in table.columns if c.name not in keys]
        if self.dialect == "sqlite":
            sqlite_upsert(connection, table, rows, keys, update)
            return
        stmt = postgresql.insert(table)
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        connection.execute(stmt, list(rows))

    def insert_new(
        self, connection: Connection, table: Table, rows: Sequence[dict[str, Any]], key: str
    ) -> set[Any]:
        """Insert the rows whose ``key`` is not in the table yet (of rows sharing a key, the
        first); returns their keys. Exact under concurrency: of two transactions inserting one
        key, only one gets it back."""
        if self.dialect != "sqlite":
            return set(self.insert_returning(connection, table, rows, conflict=key, returning=key))
        # The transaction holds SQLite's write lock (BEGIN IMMEDIATE): no row appears between
        # this look and the insert, which then goes in as one executemany (with RETURNING,
        # sqlite3 needs a statement per row).
        taken = existing(connection, table.c[key], [row[key] for row in rows])
        new: dict[Any, dict[str, Any]] = {}
        for row in rows:
            if row[key] not in taken and row[key] not in new:
                new[row[key]] = row
        if new:
            self.insert(connection, table, list(new.values()))
        return set(new)

    def insert_returning(
        self,
        connection: Connection,
        table: Table,
        rows: Sequence[dict[str, Any]],
        *,
        conflict: str | None,
        returning: str,
    ) -> list[Any]:
        """PostgreSQL: insert ``rows``, skipping each that clashes on ``conflict`` (None: on any
        unique key); returns the ``returning`` values of those inserted. SQLite has no bulk
        ``RETURNING`` (sqlite3 would need a statement per row): its callers look the clashes up
        first, under the write lock their transaction holds (:meth:`insert_new`,
        ``SqlCases.open_many``)."""
        if self.dialect != "postgresql":
            raise NotImplementedError(f"insert_returning is for PostgreSQL, not {self.dialect}")
        if not rows:
            return []
        return unnest_insert(connection, table, rows, conflict=conflict, returning=returning)

    def insert(self, connection: Connection, table: Table, rows: Sequence[dict[str, Any]]) -> None:
        """Insert ``rows`` (a key clash is an error)."""
        if not rows:
            return
        if self.dialect == "sqlite":
            connection.exec_driver_sql(*sqlite_insert(connection, table, rows, ""))
        else:
            connection.execute(table.insert(), list(rows))


def existing(connection: Connection, column: Any, values: Sequence[Any]) -> set[Any]:
    """Which of ``values`` are present in ``column``."""
    found: set[Any] = set()
    for chunk in chunked(list(dict.fromkeys(values)), SQL_BATCH):
        found.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def unnest_insert(
    connection: Connection,
    table: Table,
    rows: Sequence[dict[str, Any]],
    *,
    conflict: str | None,
    returning: str,
) -> list[Any]:
    """PostgreSQL: ``INSERT ... SELECT * FROM unnest(<one array per column>) ON CONFLICT
    [(conflict)] DO NOTHING RETURNING returning``, the ``returning`` values of the rows
    inserted, in row order.

    One short statement for any number of rows. A multi-row ``VALUES`` list (what SQLAlchemy
    sends for an insert of many rows with ``RETURNING``) holds a placeholder per value, and
    psycopg parses every such statement in Python: at 100,000 posts that parsing alone took
    about 50 s of a 300 s run. Values pass through each column's SQLAlchemy bind processing
    first, so they are stored exactly as a plain insert would store them."""
    if not rows:
        return []
    dialect = connection.dialect
    quote = dialect.identifier_preparer.quote
    names = list(rows[0])
    arrays = driver_columns(connection, table, rows, names)
    casts = [f"%s::{table.c[name].type.compile(dialect=dialect)}[]" for name in names]
    target = f" ({quote(conflict)})" if conflict else ""
    sql = (
        f"INSERT INTO {dialect.identifier_preparer.format_table(table)}"
        f" ({', '.join(quote(n) for n in names)})"
        f" SELECT * FROM unnest({', '.join(casts)})"
        f" ON CONFLICT{target} DO NOTHING RETURNING {quote(returning)}"
    )
    return [row[0] for row in connection.exec_driver_sql(sql, tuple(arrays))]


def reason(error: SQLAlchemyError) -> str:
    """The first line of the database's own message."""
    lines = str(getattr(error, "orig", None) or error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def store_error(engine: Engine, error: SQLAlchemyError) -> StoreError:
    """A :class:`StoreError` for a database error: one line, password hidden."""
    shown = engine.url.render_as_string(hide_password=True)
    return StoreError(f"database {shown}: {reason(error)}")


def last_wins(items: Sequence[Any], key: Any = lambda item: item.id) -> list[Any]:
    """Drop earlier duplicates of the same key (one statement may not touch a row twice)."""
    return list({key(item): item for item in items}.values())

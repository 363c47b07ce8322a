"""Bring a database to the current schema with the Alembic migrations in ``storage/migrations``.

``earshot db upgrade`` calls :func:`upgrade`. It accepts every database an Earshot ever made:

- an empty database (or one holding only other applications' tables) is built from scratch;
- a database of release 07680ed (or an earlier commit), made by ``Store.create_schema()``
  before Earshot had migrations, has Earshot's tables but no ``alembic_version``: it is stamped
  at the first revision (the 07680ed schema) and upgraded from there. Tables an earlier commit
  lacked (``removals``, ``feedback``) are created first, as ``create_schema()`` would have;
- a database with ``alembic_version`` is upgraded from the revision it records.

The whole upgrade is one transaction (SQLite and PostgreSQL both have transactional DDL), so a
failure leaves the database as it was, and it runs under a lock, so that two processes
upgrading one database at once do not race: on PostgreSQL a transaction-level advisory lock
(``pg_advisory_xact_lock``) on the connection the migrations use, held until the commit; on
SQLite an exclusive ``flock`` on ``<database>.migrate.lock`` plus ``BEGIN IMMEDIATE``.

Downgrades are not supported: restore a backup instead.

Alembic's own progress lines are logged at INFO on the ``alembic`` logger; unless the caller
has set that logger's level, :func:`upgrade` sets it to WARNING so the CLI stays quiet.

A new revision (``NNNN_slug`` ids, files ``versions/vNNNN_slug.py``) can be started with::

    from alembic import command
    from storage.migrate import alembic_config
    command.revision(alembic_config(), "what changes", rev_id="0003_what_changes")
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, inspect, text
from sqlalchemy.engine import URL, Connection, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, SQLAlchemyError

from core.errors import EarshotError, MigrationError
from storage.sql.database import open_engine

__all__ = [
    "BASELINE",
    "alembic_config",
    "current_revision",
    "head_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

BASELINE = "0001_release_07680ed"
"""The first revision: the schema of release 07680ed, the last one without migrations."""

PG_LOCK_KEY = 0x65617273686F74  # "earshot" in ASCII: one fixed advisory lock for migrations


# Release 07680ed's tables and their columns, to recognize a database of that release (or of
# an earlier commit, which lacked some of these tables) that has no alembic_version yet.
def _columns(names: str) -> frozenset[str]:
    return frozenset(names.split())


RELEASE_TABLES: dict[str, frozenset[str]] = {
    "posts": _columns(
        "id source url author_id author_handle author_name author_followers author_verified"
        " title text language created_at conversation_id in_reply_to_id metrics first_seen_at"
    ),
    "enrichments": _columns("post_id sentiment intent move_private spam language data updated_at"),
    "queue_items": _columns(
        "post_id queue priority action rule status decided_at sla_due updated_at"
    ),
    "cursors": _columns("source value updated_at"),
    "dead_letters": _columns("id fingerprint source location error payload created_at"),
    "batches": _columns("batch_id run_id source stage pending_cursor counts created_at updated_at"),
    "batch_posts": _columns("batch_id post_id position post enrichment"),
    "removals": _columns("id post_id source reason removed_at"),
    "feedback": _columns("post_id task label text created_at"),
    "runs": _columns("run_id started_at finished_at summary"),
    "post_search": _columns("post_id text"),
}
# Tables that only later revisions create: with no alembic_version, their presence means the
# database was not made by a release, and its revision cannot be told.
LATER_TABLES = frozenset({"queue_events", "index_outbox", "search_documents", "search_fts"})


def upgrade(url: str, *, revision: str = "head") -> str:
    """Upgrade the database at ``url`` to ``revision`` (default: the newest) and return the
    revision it is now at. Running it again is a no-op. Raises :class:`MigrationError`."""
    _quiet_alembic()
    before = "unknown"
    engine: Engine | None = None
    try:
        engine = _engine(url)
        with _file_lock(engine.url), engine.connect() as connection, connection.begin():
            if connection.dialect.name == "postgresql":
                connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PG_LOCK_KEY})
            config = alembic_config(connection)
            recorded = _revision(connection)
            before = recorded or "no revision"
            if recorded is None:
                _adopt_unversioned(connection, config)
            elif recorded not in _known_revisions():
                raise MigrationError(
                    f"the database is at revision {recorded!r}, which this Earshot does not know"
                    f" (a newer version upgraded it): upgrade Earshot"
                )
            command.upgrade(config, revision)
            now = _revision(connection)
        if now is None:
            raise MigrationError("no revision is recorded after the upgrade")
        return now
    except (SQLAlchemyError, CommandError, OSError, EarshotError) as e:
        raise MigrationError(
            f"cannot upgrade the database {_shown(url)} to revision {revision!r}"
            f" (it was at {before}): {_reason(e)}"
        ) from e
    finally:
        if engine is not None:
            engine.dispose()


def current_revision(url: str) -> str | None:
    """The revision the database at ``url`` is at; None when it has no ``alembic_version``
    (an empty database, a SQLite file that does not exist yet, or one of release 07680ed)."""
    engine: Engine | None = None
    try:
        parsed = _parse(url)
        if parsed.get_backend_name() == "sqlite":
            path = _sqlite_path(parsed)
            if path is not None and not path.exists():
                return None
        engine = _engine(url)
        with engine.connect() as connection:
            return _revision(connection)
    except (SQLAlchemyError, OSError, EarshotError) as e:
        raise MigrationError(
            f"cannot read the revision of the database {_shown(url)}: {_reason(e)}"
        ) from e
    finally:
        if engine is not None:
            engine.dispose()


@cache
def head_revision() -> str:
    """The newest revision: what :func:`upgrade` brings a database to by default."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:
        raise MigrationError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


@cache
def _known_revisions() -> frozenset[str]:
    script = ScriptDirectory.from_config(alembic_config())
    return frozenset(r.revision for r in script.walk_revisions())


def alembic_config(connection: Connection | None = None, **attributes: Any) -> Config:
    """Alembic's configuration, built in code (no alembic.ini). ``env.py`` runs the migrations
    on ``connection``; other ``attributes`` (``target_metadata`` for autogenerate) pass through."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR).replace("%", "%%"))
    config.set_main_option("path_separator", "os")
    config.set_main_option("file_template", "v%%(rev)s")
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes.update(attributes)
    return config


DIALECT_SEARCH_COLUMNS = frozenset({"tsv", "fts_rowid"})
DIALECT_SEARCH_INDEXES = frozenset({"search_documents_tsv", "search_documents_fts_rowid"})


def include_object(
    obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any
) -> bool:
    """For autogenerate: leave out the search structures of one dialect, which the migrations
    create with raw DDL (SQLite's FTS5 table ``search_fts``, its shadow tables and the
    documents' ``fts_rowid`` column with its index; PostgreSQL's ``tsv`` column and its GIN
    index)."""
    if type_ == "table" and name is not None and name.startswith("search_fts"):
        return False
    if type_ == "column" and name in DIALECT_SEARCH_COLUMNS:
        return obj.table.name != "search_documents"
    return not (type_ == "index" and name in DIALECT_SEARCH_INDEXES)


# -- internals -----------------------------------------------------------------------------


def _adopt_unversioned(connection: Connection, config: Config) -> None:
    """Give a database without ``alembic_version`` its revision: nothing for an empty one, the
    baseline for one of release 07680ed (after adding any table an earlier commit lacked)."""
    inspector = inspect(connection)
    tables = set(inspector.get_table_names())
    present = tables & set(RELEASE_TABLES)
    if not present:
        return  # empty (or only other applications' tables): built from scratch
    later = sorted(tables & LATER_TABLES)
    if later:
        raise MigrationError(
            f"the database has Earshot tables but no alembic_version, and tables no release made"
            f" ({', '.join(later)}): its revision cannot be told. If you know it, stamp it"
            f" (alembic.command.stamp with storage.migrate.alembic_config), or use a backup."
        )
    for table in sorted(present):
        columns = {c["name"] for c in inspector.get_columns(table)}
        if table != "post_search" and not RELEASE_TABLES[table] <= columns:
            missing = ", ".join(sorted(RELEASE_TABLES[table] - columns))
            raise MigrationError(
                f"table {table!r} lacks the columns Earshot's has ({missing}):"
                f" the database does not look like an Earshot database"
            )
    if present == set(RELEASE_TABLES):
        command.stamp(config, BASELINE)
    else:
        # A commit older than 07680ed: the baseline creates just the missing tables.
        command.upgrade(config, BASELINE)


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _engine(url: str) -> Engine:
    """The store's engine for ``url``. On SQLite it sets WAL and busy_timeout, creates the
    file's folder, and begins every transaction with ``BEGIN IMMEDIATE``, so that DDL is
    transactional and writers queue up."""
    return open_engine(url)


def _sqlite_path(parsed: URL) -> Path | None:
    database = parsed.database
    if (
        not database
        or database == ":memory:"
        or str(parsed.query.get("uri", "")).lower()
        in (
            "true",
            "1",
        )
    ):
        return None
    return Path(database)


@contextmanager
def _file_lock(parsed: URL) -> Iterator[None]:
    """On SQLite, hold an exclusive lock on ``<database>.migrate.lock`` (blocks until free)."""
    path = _sqlite_path(parsed) if parsed.get_backend_name() == "sqlite" else None
    if path is None or sys.platform == "win32":
        yield  # BEGIN IMMEDIATE alone serializes writers there
        return
    import fcntl

    with open(f"{path}.migrate.lock", "a+b") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def _parse(url: str) -> URL:
    try:
        return make_url(url)
    except ArgumentError as e:
        raise MigrationError(f"not a database URL: {e}") from None


def _shown(url: str) -> str:
    """The URL with its password hidden."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(://[^:/@]*:)[^@]*@", r"\1***@", url)


def _reason(error: BaseException) -> str:
    if isinstance(error, MigrationError):
        return str(error)
    if isinstance(error, DBAPIError) and error.orig is not None:
        return f"{type(error.orig).__name__}: {_one_line(str(error.orig))}"
    return (
        f"{type(error).__name__}: {_one_line(str(error))}" if str(error) else type(error).__name__
    )


def _one_line(message: str) -> str:
    """A driver's message on one line (psycopg adds hints on lines of their own)."""
    return "; ".join(line.strip() for line in message.strip().splitlines() if line.strip())


def _quiet_alembic() -> None:
    logger = logging.getLogger("alembic")
    if logger.level == logging.NOTSET:
        logger.setLevel(logging.WARNING)

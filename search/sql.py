"""The embedded search index: the store's own database, SQLite (FTS5) or PostgreSQL (tsvector).

The tables are the store's and the migrations create them (``earshot db upgrade``); this module
only reads and writes them, through its own :class:`~sqlalchemy.Table` definitions:

- ``search_documents``: one row per post, its filterable fields, its redacted text and that
  text folded for search (``search_text``: :func:`core.folding.fold`, no accents, no case);
  queries are folded the same way, so both backends are case- and accent-insensitive alike;
- SQLite: ``search_fts``, an FTS5 table ``(text)`` of the folded text, with the
  ``unicode61 remove_diacritics 2`` tokenizer. Its ``rowid`` is the document's ``fts_rowid``
  (a unique, indexed column of ``search_documents`` on SQLite only): a new document takes the
  next number, so FTS5 appends instead of inserting at random places (five times faster
  than the hash of the post id used before migration 0011), and a document indexed again
  keeps its number;
- PostgreSQL: ``search_documents.tsv``, generated as ``to_tsvector('simple', search_text)``
  with a GIN index.

User text is never query syntax. On SQLite each word (a run of letters and digits) becomes a
quoted FTS5 string, and the strings are ANDed; on PostgreSQL the text goes through
``plainto_tsquery('simple', ...)``, which ANDs the words the text-search parser finds. A text
with no word in it matches nothing; an empty (or blank) text lists the filtered documents,
newest first.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    cast,
    delete,
    exists,
    false,
    func,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection, RowMapping
from sqlalchemy.exc import DBAPIError, SQLAlchemyError
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.sql.expression import FromClause

from core.batching import SQL_BATCH, chunked
from core.errors import SearchError
from core.folding import fold
from core.sqlbulk import sqlite_insert, sqlite_upsert
from core.sqltypes import UTCDateTime
from search.base import (
    FILTER_FIELDS,
    SearchDocument,
    SearchHit,
    SearchQuery,
    check_update,
)

__all__ = ["SqlSearchIndex", "query_words"]


_metadata = MetaData()

DOCUMENTS: Final = Table(
    "search_documents",
    _metadata,
    Column("post_id", String(80), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("author_id", String(64), nullable=False),
    Column("author_handle", String(128), nullable=False),
    Column("language", String(16)),
    Column("sentiment", String(16)),
    Column("intent", String(32)),
    Column("private", Boolean),
    Column("spam", Boolean),
    Column("queue", String(32)),
    Column("action", String(32)),
    Column("status", String(16)),
    Column("pii_types", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("text", Text, nullable=False),
    Column("search_text", Text),
    Column("priority", Integer),
    Column("sla_due", UTCDateTime),
    Column("sentiment_score", Float),
    Column("intent_score", Float),
)
"""The documents (both dialects). PostgreSQL's generated ``tsv`` column is left out: it is
never written, and queries name it with :data:`_TSV`."""
Index("search_documents_created_at", DOCUMENTS.c.created_at)

FTS: Final = Table(
    "search_fts",
    _metadata,
    Column("rowid", Integer, primary_key=True),
    Column("text", Text),
)
"""SQLite's FTS5 table (``rowid`` is its implicit key: the document's ``fts_rowid``)."""

_SQLITE_DOCUMENTS: Final = DOCUMENTS.to_metadata(MetaData())
"""SQLite's documents: :data:`DOCUMENTS` and ``fts_rowid``, the document's row in :data:`FTS`
(not in :data:`DOCUMENTS`, which both dialects share: PostgreSQL has no such column)."""
_SQLITE_DOCUMENTS.append_column(Column("fts_rowid", Integer))
_SQLITE_ROWID = _SQLITE_DOCUMENTS.c.fts_rowid
_SQLITE_UPDATED: Final = [c.name for c in _SQLITE_DOCUMENTS.c if c.name != "post_id"]

_COLUMNS = list(DOCUMENTS.c)
_TSV = literal_column("search_documents.tsv", postgresql.TSVECTOR)
_FTS_MATCH_TARGET: ColumnElement[Any] = literal_column("search_fts")
# The same column as _SQLITE_ROWID, named as text: searches select from DOCUMENTS, and a
# column of the other Table object would add that table to the FROM list a second time.
_SQLITE_DOCUMENTS_ROWID: ColumnElement[int] = literal_column("search_documents.fts_rowid", Integer)
_FTS_RANK: ColumnElement[float] = literal_column("search_fts.rank", Float)
_WORD = re.compile(r"\w+")
_MAX_FIRST_ID = 80


def query_words(text: str) -> list[str]:
    """The words of a user's text, each once, in order: runs of ``\\w`` holding at least one
    letter or digit (a lone ``_`` is no word), NFC-normalized."""
    words = (w for w in _WORD.findall(unicodedata.normalize("NFC", text)))
    return list(dict.fromkeys(w for w in words if any(c.isalnum() for c in w)))


@dataclass(frozen=True)
class _Plan:
    """A query's conditions: the filters, and for a text its match condition and score."""

    where: list[ColumnElement[bool]]
    source: FromClause
    match: ColumnElement[bool] | None = None
    score: ColumnElement[Any] = field(default_factory=lambda: literal(0.0))

    @property
    def conditions(self) -> list[ColumnElement[bool]]:
        return self.where if self.match is None else [self.match, *self.where]


class SqlSearchIndex:
    """:class:`~search.base.SearchIndex` over the store's database (SQLite or PostgreSQL).

    Each call runs in its own transaction on ``engine``; :meth:`index` and :meth:`delete` are
    atomic whatever the number of documents. Database failures raise
    :class:`~core.errors.SearchError` naming the operation."""

    def __init__(self, engine: Engine) -> None:
        dialect = engine.dialect.name
        if dialect == "sqlite":
            self.name = "sqlite-fts5"
        elif dialect == "postgresql":
            self.name = "postgresql"
        else:
            raise SearchError(
                f"the embedded search index needs SQLite or PostgreSQL, not {dialect!r}"
            )
        self.engine = engine
        self._sqlite = dialect == "sqlite"

    def __repr__(self) -> str:
        return f"SqlSearchIndex({self.name}, {self.engine.url!r})"

    # -- writes ----------------------------------------------------------------------------

    def index(self, documents: Sequence[SearchDocument]) -> dict[str, str]:
        """Index documents, all or none (a failure raises :class:`SearchError`): this backend
        refuses no single document, so it returns ``{}``."""
        # Duplicates: the last wins. In id order: two processes indexing overlapping documents
        # lock their rows in the same order, so they wait for each other, never deadlock.
        unique = sorted({d.post_id: d for d in documents}.values(), key=lambda d: d.post_id)
        if not unique:
            return {}
        with self._errors(f"index {_counted(unique, 'document')}{_first(unique)}") as conn:
            if not self._sqlite:
                for chunk in chunked(unique, SQL_BATCH):
                    self._upsert_documents(conn, [_row(d) for d in chunk])
                return {}
            # The write lock is held from the start (BEGIN IMMEDIATE): no other process can
            # take the numbers after the highest one between this read and the inserts.
            last = conn.execute(select(func.max(_SQLITE_ROWID))).scalar() or 0
            for chunk in chunked(unique, SQL_BATCH):
                rows = [_row(d) for d in chunk]
                known = self._fts_rowids(conn, [row["post_id"] for row in rows])
                for row in rows:
                    rowid = known.get(row["post_id"])
                    if rowid is None:
                        last += 1
                        rowid = last
                    row["fts_rowid"] = rowid
                sqlite_upsert(conn, _SQLITE_DOCUMENTS, rows, ["post_id"], _SQLITE_UPDATED)
                if known:
                    conn.execute(delete(FTS).where(FTS.c.rowid.in_(list(known.values()))))
                conn.exec_driver_sql(
                    *sqlite_insert(
                        conn,
                        FTS,
                        [{"rowid": row["fts_rowid"], "text": row["search_text"]} for row in rows],
                        "",
                    )
                )
        return {}

    def update(self, post_id: str, values: Mapping[str, Any]) -> bool:
        check_update(post_id, values)
        with self._errors(f"update {sorted(values)} of document {post_id!r}") as conn:
            if not values:
                found = conn.execute(
                    select(DOCUMENTS.c.post_id).where(DOCUMENTS.c.post_id == post_id)
                ).first()
                return found is not None
            result = conn.execute(
                update(DOCUMENTS).where(DOCUMENTS.c.post_id == post_id).values(dict(values))
            )
            return bool(result.rowcount)

    def delete(self, post_ids: Sequence[str]) -> None:
        unique = sorted(set(post_ids))  # a steady lock order, as in index()
        if not unique:
            return
        with self._errors(f"delete {_counted(unique, 'document')}{_first_id(unique[0])}") as conn:
            for chunk in chunked(unique, SQL_BATCH):
                if self._sqlite:
                    rowids = list(self._fts_rowids(conn, chunk).values())
                    conn.execute(delete(FTS).where(FTS.c.rowid.in_(rowids)))
                conn.execute(delete(DOCUMENTS).where(DOCUMENTS.c.post_id.in_(chunk)))

    # -- reads -----------------------------------------------------------------------------

    def get(self, post_id: str) -> SearchDocument | None:
        with self._errors(f"read document {post_id!r}") as conn:
            row = conn.execute(select(*_COLUMNS).where(DOCUMENTS.c.post_id == post_id)).first()
        return None if row is None else _document(row._mapping)

    def search(self, query: SearchQuery) -> list[SearchHit]:
        plan = self._plan(query)
        if plan is None:
            return []
        order = [DOCUMENTS.c.created_at.desc(), DOCUMENTS.c.post_id]  # newest first, then id
        if plan.match is not None:
            order.insert(0, plan.score.desc())  # best match first
        stmt = (
            select(*_COLUMNS, plan.score.label("score"))
            .select_from(plan.source)
            .where(*plan.conditions)
            .order_by(*order)
            .limit(query.limit)
            .offset(query.offset)
        )
        with self._errors(f"search {_described(query)}") as conn:
            rows = conn.execute(stmt).all()
        return [SearchHit(_document(r._mapping), float(r._mapping["score"])) for r in rows]

    def count(self, query: SearchQuery) -> int:
        plan = self._plan(query)
        if plan is None:
            return 0
        stmt = select(func.count()).select_from(plan.source).where(*plan.conditions)
        with self._errors(f"count {_described(query)}") as conn:
            return int(conn.execute(stmt).scalar_one())

    # -- internals -------------------------------------------------------------------------

    def _plan(self, query: SearchQuery) -> _Plan | None:
        """How to run ``query``; None when it can match nothing (a text without words)."""
        where = _filters(query, self._has_any_pii)
        if not query.text.strip():
            return _Plan(where, DOCUMENTS)
        words = query_words(query.text)
        if not words:
            return None
        if self._sqlite:
            # a \w run holds no quote; the FTS table holds folded text
            fts_query = " ".join(f'"{fold(w).replace(chr(34), "")}"' for w in words)
            return _Plan(
                where,
                FTS.join(DOCUMENTS, FTS.c.rowid == _SQLITE_DOCUMENTS_ROWID),
                match=_FTS_MATCH_TARGET.op("MATCH")(literal(fts_query, Text)).self_group(),
                score=-_FTS_RANK,  # bm25: lower is better
            )
        tsquery = func.plainto_tsquery(
            literal_column("'simple'::regconfig"),
            # PostgreSQL text cannot hold NUL; the documents' tsv is over folded text
            literal(fold(query.text).replace("\x00", " "), Text),
        )
        return _Plan(
            where,
            DOCUMENTS,
            match=_TSV.bool_op("@@")(tsquery),
            score=func.ts_rank(_TSV, tsquery),
        )

    def _has_any_pii(self, types: list[str]) -> ColumnElement[bool]:
        if self._sqlite:
            element = func.json_each(DOCUMENTS.c.pii_types).table_valued("value")
            return exists(select(1).select_from(element).where(element.c.value.in_(types)))
        as_jsonb = cast(DOCUMENTS.c.pii_types, postgresql.JSONB)
        return as_jsonb.has_any(cast(postgresql.array(types), postgresql.ARRAY(Text)))

    @staticmethod
    def _upsert_documents(conn: Connection, rows: list[dict[str, Any]]) -> None:
        """PostgreSQL: insert or update the documents (their ``tsv`` follows)."""
        others = [c.name for c in DOCUMENTS.c if c.name != "post_id"]
        insert = postgresql.insert(DOCUMENTS)
        stmt = insert.on_conflict_do_update(
            index_elements=[DOCUMENTS.c.post_id], set_={c: insert.excluded[c] for c in others}
        )
        conn.execute(stmt, rows)

    @staticmethod
    def _fts_rowids(conn: Connection, post_ids: Sequence[str]) -> dict[str, int]:
        """SQLite: the ``search_fts`` rows of the documents of ``post_ids`` already indexed."""
        stmt = select(_SQLITE_DOCUMENTS.c.post_id, _SQLITE_ROWID).where(
            _SQLITE_DOCUMENTS.c.post_id.in_(list(post_ids)), _SQLITE_ROWID.is_not(None)
        )
        return {post_id: rowid for post_id, rowid in conn.execute(stmt)}

    @contextmanager
    def _errors(self, operation: str) -> Iterator[Connection]:
        """A transaction; a database error in it becomes a :class:`SearchError`."""
        try:
            with self.engine.begin() as conn:
                yield conn
        except SQLAlchemyError as e:
            raise SearchError(
                f"{self.name} search index: cannot {operation}: {_reason(e)}{_hint(e)}"
            ) from e


def _filters(
    query: SearchQuery, has_any_pii: Callable[[list[str]], ColumnElement[bool]]
) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    for name in FILTER_FIELDS:
        allowed = query.allowed(name)
        if allowed is None:
            continue
        if name == "pii_types":
            types = [t for t in allowed if t is not None]
            where.append(has_any_pii(types) if types else false())
            continue
        column = DOCUMENTS.c[name]
        values = [v for v in allowed if v is not None]
        conditions: list[ColumnElement[bool]] = []
        if values:
            conditions.append(column.in_(values))
        if len(values) < len(allowed):
            conditions.append(column.is_(None))
        where.append(or_(*conditions) if conditions else false())
    if query.created_from is not None:
        where.append(DOCUMENTS.c.created_at >= query.created_from)
    if query.created_to is not None:
        where.append(DOCUMENTS.c.created_at < query.created_to)
    return where


def _row(document: SearchDocument) -> dict[str, Any]:
    row = document.fields()
    row["pii_types"] = list(document.pii_types)
    row["search_text"] = fold(document.text)
    return row


def _document(row: RowMapping) -> SearchDocument:
    values = {c.name: row[c.name] for c in _COLUMNS if c.name != "search_text"}
    values["pii_types"] = tuple(values["pii_types"] or ())
    return SearchDocument(**values)


def _counted(items: Sequence[Any], noun: str) -> str:
    return f"{len(items)} {noun}{'' if len(items) == 1 else 's'}"


def _first(documents: Sequence[SearchDocument]) -> str:
    return _first_id(documents[0].post_id)


def _first_id(post_id: str) -> str:
    shown = post_id if len(post_id) <= _MAX_FIRST_ID else post_id[:_MAX_FIRST_ID] + "…"
    return f" (first {shown!r})"


def _described(query: SearchQuery) -> str:
    text = query.text if len(query.text) <= 60 else query.text[:60] + "…"
    parts = [f"text {text!r}"] if query.text else []
    if query.filters:
        parts.append(f"filters {dict(query.filters)!r}")
    if query.created_from is not None or query.created_to is not None:
        parts.append(f"created from {query.created_from} to {query.created_to}")
    return "documents (" + ", ".join(parts or ["everything"]) + ")"


def _reason(error: SQLAlchemyError) -> str:
    if isinstance(error, DBAPIError) and error.orig is not None:
        return f"{type(error.orig).__name__}: {str(error.orig).strip().splitlines()[0]}"
    return f"{type(error).__name__}: {error}"


def _hint(error: SQLAlchemyError) -> str:
    message = str(error).lower()
    if "no such table" in message or ("relation" in message and "does not exist" in message):
        return " (the search tables are missing: run `earshot db upgrade`)"
    if "column" in message and "tsv" in message and "does not exist" in message:
        return " (the search tables are out of date: run `earshot db upgrade`)"
    return ""

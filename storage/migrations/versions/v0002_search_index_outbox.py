"""Queue assignees and events, the search-index outbox and documents; enrichments by task.

Revision ID: 0002_search_index_outbox
Revises: 0001_release_07680ed

Schema:

- ``queue_items.assignee`` (nullable) and the ``queue_events`` history;
- ``index_outbox``: changes the search index has not received yet;
- ``search_documents`` (the embedded index's documents) with its ``created_at`` index, plus
  ``search_fts`` (FTS5) on SQLite, or a generated ``tsv`` column and its GIN index on
  PostgreSQL; the old ``post_search`` table is dropped.

Data:

- every ``enrichments.data`` and ``batch_posts.enrichment`` moves from the flat form of
  release 07680ed (``sentiment``, ``intent``, ``private``, ``pii`` + ``pii_classifier``, ...)
  to one result per task under ``results``, each with its ``kind`` (read in chunks);
- every stored post is queued in ``index_outbox`` (``upsert``), so that the next indexing pass
  rebuilds the search index, whose documents are richer than ``post_search``'s, from the store.

Downgrades are not supported.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from alembic import op

from core.errors import MigrationError

revision = "0002_search_index_outbox"
down_revision = "0001_release_07680ed"
branch_labels = None
depends_on = None

CHUNK = 500
"""Rows read and rewritten at a time."""


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"

    op.add_column("queue_items", sa.Column("assignee", sa.String(64), nullable=True))

    op.create_table(
        "queue_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.String(80), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_queue_events_post_id", "queue_events", ["post_id"])

    op.create_table(
        "index_outbox",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("post_id", sa.String(80), nullable=False),
        sa.Column("op", sa.String(8), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_index_outbox_post_id", "index_outbox", ["post_id"])

    op.create_table(
        "search_documents",
        sa.Column("post_id", sa.String(80), primary_key=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("author_id", sa.String(64), nullable=False),
        sa.Column("author_handle", sa.String(128), nullable=False),
        sa.Column("language", sa.String(16)),
        sa.Column("sentiment", sa.String(16)),
        sa.Column("intent", sa.String(32)),
        sa.Column("private", sa.Boolean()),
        sa.Column("spam", sa.Boolean()),
        sa.Column("queue", sa.String(32)),
        sa.Column("action", sa.String(32)),
        sa.Column("status", sa.String(16)),
        sa.Column("pii_types", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
    )
    op.create_index("search_documents_created_at", "search_documents", ["created_at"])
    if sqlite:
        op.execute(
            "CREATE VIRTUAL TABLE search_fts USING fts5("
            "post_id UNINDEXED, text, tokenize='unicode61 remove_diacritics 2')"
        )
    else:
        op.execute(
            "ALTER TABLE search_documents ADD COLUMN tsv tsvector"
            " GENERATED ALWAYS AS (to_tsvector('simple', text)) STORED"
        )
        op.execute("CREATE INDEX search_documents_tsv ON search_documents USING gin(tsv)")

    _rewrite_enrichments(bind)
    _rewrite_batch_enrichments(bind)
    _queue_every_post(bind)

    op.execute("DROP TABLE post_search")


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")


# -- data ----------------------------------------------------------------------------------

_enrichments = sa.table("enrichments", sa.column("post_id", sa.String), sa.column("data", sa.JSON))
_batch_posts = sa.table(
    "batch_posts",
    sa.column("batch_id", sa.String),
    sa.column("post_id", sa.String),
    sa.column("enrichment", sa.JSON),
)
_posts = sa.table("posts", sa.column("id", sa.String))
_index_outbox = sa.table(
    "index_outbox",
    sa.column("post_id", sa.String),
    sa.column("op", sa.String),
    sa.column("created_at", sa.DateTime),
)


def _rewrite_enrichments(bind: sa.Connection) -> None:
    table = _enrichments
    update = (
        sa.update(table)
        .where(table.c.post_id == sa.bindparam("key_post_id"))
        .values(data=sa.bindparam("new_data", type_=sa.JSON))
    )
    last: str | None = None
    while True:
        query = sa.select(table.c.post_id, table.c.data).order_by(table.c.post_id).limit(CHUNK)
        if last is not None:
            query = query.where(table.c.post_id > last)
        rows = bind.execute(query).all()
        if not rows:
            return
        changes = []
        for post_id, data in rows:
            new = _by_task(data, f"enrichments row {post_id!r}")
            if new is not None:
                changes.append({"key_post_id": post_id, "new_data": new})
        if changes:
            bind.execute(update, changes)
        last = rows[-1].post_id


def _rewrite_batch_enrichments(bind: sa.Connection) -> None:
    table = _batch_posts
    update = (
        sa.update(table)
        .where(table.c.batch_id == sa.bindparam("key_batch_id"))
        .where(table.c.post_id == sa.bindparam("key_post_id"))
        .values(enrichment=sa.bindparam("new_enrichment", type_=sa.JSON))
    )
    last: tuple[str, str] | None = None
    while True:
        query = (
            sa.select(table.c.batch_id, table.c.post_id, table.c.enrichment)
            .where(table.c.enrichment.is_not(None))
            .order_by(table.c.batch_id, table.c.post_id)
            .limit(CHUNK)
        )
        if last is not None:
            query = query.where(
                sa.or_(
                    table.c.batch_id > last[0],
                    sa.and_(table.c.batch_id == last[0], table.c.post_id > last[1]),
                )
            )
        rows = bind.execute(query).all()
        if not rows:
            return
        changes = []
        for batch_id, post_id, data in rows:
            if data is None:  # a JSON null
                continue
            new = _by_task(data, f"batch_posts row ({batch_id!r}, {post_id!r})")
            if new is not None:
                changes.append(
                    {"key_batch_id": batch_id, "key_post_id": post_id, "new_enrichment": new}
                )
        if changes:
            bind.execute(update, changes)
        last = (rows[-1].batch_id, rows[-1].post_id)


def _by_task(data: Any, where: str) -> dict[str, Any] | None:
    """The enrichment in its per-task form, or None if it already is in that form.

    Flat (07680ed)::

        {"post_id", "sentiment": {label, score, classifier}, "intent": {...}, "language": {...},
         "spam": {...}, "private": {move_private, score, reasons, classifier},
         "pii": [{type, start, end}, ...], "pii_classifier", "redacted_text"}

    Per task::

        {"post_id", "results": {task: {"kind": "label" | "private" | "pii", ...}} (sorted),
         "redacted_text"}
    """
    if not isinstance(data, Mapping):
        raise MigrationError(f"{where}: the enrichment is not a JSON object: {data!r:.80}")
    if "results" in data:
        return None
    try:
        results: dict[str, dict[str, Any]] = {
            "pii": {
                "kind": "pii",
                "spans": [
                    {"type": span["type"], "start": span["start"], "end": span["end"]}
                    for span in data["pii"]
                ],
                "classifier": data["pii_classifier"],
            }
        }
        for task, value in data.items():
            if task in ("post_id", "redacted_text", "pii", "pii_classifier"):
                continue
            if task == "private":
                results[task] = {
                    "kind": "private",
                    "move_private": value["move_private"],
                    "score": value["score"],
                    "reasons": list(value["reasons"]),
                    "classifier": value["classifier"],
                }
            else:
                results[task] = {
                    "kind": "label",
                    "label": value["label"],
                    "score": value["score"],
                    "classifier": value["classifier"],
                }
        return {
            "post_id": data["post_id"],
            "results": {task: results[task] for task in sorted(results)},
            "redacted_text": data["redacted_text"],
        }
    except (KeyError, TypeError) as e:
        raise MigrationError(
            f"{where}: not an enrichment of release 07680ed ({type(e).__name__}: {e})"
        ) from e


def _queue_every_post(bind: sa.Connection) -> None:
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like every time
    bind.execute(
        _index_outbox.insert().from_select(
            ["post_id", "op", "created_at"],
            sa.select(
                _posts.c.id,
                sa.literal("upsert", sa.String),
                sa.literal(now, sa.DateTime),
            ).order_by(_posts.c.id),
        )
    )

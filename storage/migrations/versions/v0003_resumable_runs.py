"""Resumable runs, monotonic cursors, cleaned posts, accent-insensitive search on PostgreSQL.

Revision ID: 0003_resumable_runs
Revises: 0002_search_index_outbox

Schema:

- ``runs.owner`` and ``runs.heartbeat_at``: which process runs a run and when it last showed
  signs of life, so that a later run can tell a dead run's batches (to finish) from a live
  one's (to leave alone);
- ``cursors.collected_at``: when the batch that saved the cursor was collected, so that a
  slower concurrent run never moves a cursor back;
- ``posts.cleaned``: what the listener removed from a post (invisible characters), as a list;
- ``search_documents.search_text``: the text folded for search (:func:`core.folding.fold`:
  no accents, no case). PostgreSQL's generated ``tsv`` is rebuilt over it, so that search is
  accent-insensitive there as it already was on SQLite (whose ``search_fts`` now also holds
  the folded text).

Data: ``search_text`` is filled from each document's text, in chunks; SQLite's ``search_fts``
rows are rewritten with the folded text.

Downgrades are not supported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from core.folding import fold

revision = "0003_resumable_runs"
down_revision = "0002_search_index_outbox"
branch_labels = None
depends_on = None

CHUNK = 500
"""Documents read and rewritten at a time."""

_documents = sa.table(
    "search_documents",
    sa.column("post_id", sa.String),
    sa.column("text", sa.Text),
    sa.column("search_text", sa.Text),
)


def upgrade() -> None:
    bind = op.get_bind()
    sqlite = bind.dialect.name == "sqlite"

    op.add_column("runs", sa.Column("owner", sa.String(200), nullable=True))
    op.add_column("runs", sa.Column("heartbeat_at", sa.DateTime(), nullable=True))
    op.add_column("cursors", sa.Column("collected_at", sa.DateTime(), nullable=True))
    op.add_column("posts", sa.Column("cleaned", sa.JSON(), nullable=True))
    op.add_column("search_documents", sa.Column("search_text", sa.Text(), nullable=True))

    if not sqlite:
        op.execute("DROP INDEX search_documents_tsv")
        op.execute("ALTER TABLE search_documents DROP COLUMN tsv")
    _fill_search_text(bind)
    if sqlite:  # one pass over the FTS table, each row finding its document by primary key
        op.execute(
            "UPDATE search_fts SET text = (SELECT d.search_text FROM search_documents d"
            " WHERE d.post_id = search_fts.post_id)"
        )
    if not sqlite:
        op.execute(
            "ALTER TABLE search_documents ADD COLUMN tsv tsvector"
            " GENERATED ALWAYS AS (to_tsvector('simple', coalesce(search_text, ''))) STORED"
        )
        op.execute("CREATE INDEX search_documents_tsv ON search_documents USING gin(tsv)")


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")


def _fill_search_text(bind: sa.Connection) -> None:
    after = ""
    while True:
        rows = bind.execute(
            sa.select(_documents.c.post_id, _documents.c.text)
            .where(_documents.c.post_id > after)
            .order_by(_documents.c.post_id)
            .limit(CHUNK)
        ).all()
        if not rows:
            return
        for post_id, text in rows:
            folded = fold(text)
            bind.execute(
                _documents.update()
                .where(_documents.c.post_id == post_id)
                .values(search_text=folded)
            )
        after = rows[-1][0]

"""Sequential row ids for SQLite's full-text index, and one redundant index less on ``cases``.

Revision ID: 0011_search_rowids
Revises: 0010_console_indexes

Schema:

- SQLite: ``search_documents.fts_rowid`` (INTEGER, unique index ``search_documents_fts_rowid``)
  is the document's row in ``search_fts``, which is rebuilt as ``fts5(text)``: the rows used
  to be keyed by a 63-bit hash of the post id, so every new document went to a random place in
  the FTS5 table and its doclists, which made indexing five times slower than in id order
  (33 against 6.5 µs a document over 100,000 posts) and the index 40 % larger. New documents
  take the next number; a document indexed again keeps its own.
- ``ix_cases_queue`` is dropped: ``ix_cases_queue_priority`` and ``ix_cases_queue_status``
  begin with ``queue`` and serve the same lookups, and every new case paid for a third index.

Data: SQLite's documents are numbered in the order they were written, and ``search_fts`` is
filled again from their folded text (``search_text``) in one statement.

Downgrades are not supported.
"""

from __future__ import annotations

from alembic import op

revision = "0011_search_rowids"
down_revision = "0010_console_indexes"
branch_labels = None
depends_on = None

FTS_DDL = (
    "CREATE VIRTUAL TABLE search_fts USING fts5(text, tokenize='unicode61 remove_diacritics 2')"
)


def upgrade() -> None:
    op.drop_index("ix_cases_queue", table_name="cases")
    if op.get_bind().dialect.name != "sqlite":
        return
    op.execute("ALTER TABLE search_documents ADD COLUMN fts_rowid INTEGER")
    op.execute("UPDATE search_documents SET fts_rowid = rowid")
    op.execute("CREATE UNIQUE INDEX search_documents_fts_rowid ON search_documents (fts_rowid)")
    op.execute("DROP TABLE search_fts")
    op.execute(FTS_DDL)
    op.execute(
        "INSERT INTO search_fts (rowid, text)"
        " SELECT fts_rowid, search_text FROM search_documents ORDER BY fts_rowid"
    )


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

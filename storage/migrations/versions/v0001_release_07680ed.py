"""Release 07680ed: the schema ``Store.create_schema()`` of that release built.

Revision ID: 0001_release_07680ed
Revises: (none)

A frozen snapshot of release 07680ed, the last without migrations, on both dialects: ten tables
plus ``post_search``, an FTS5 table on SQLite and a table with a generated ``tsvector`` and a
GIN index on PostgreSQL. Databases of that release are stamped at this revision instead of
running it. Each table (with its indexes) is created only if missing, which also completes a
database of an earlier commit (which lacked ``removals`` and ``feedback``), as
``create_schema()`` did on start.

Downgrades are not supported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001_release_07680ed"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    bind = op.get_bind()
    existing = set(sa.inspect(bind).get_table_names())

    if "posts" not in existing:
        op.create_table(
            "posts",
            sa.Column("id", sa.String(80), primary_key=True),
            sa.Column("source", sa.String(16), nullable=False),
            sa.Column("url", sa.Text(), nullable=False),
            sa.Column("author_id", sa.String(64), nullable=False),
            sa.Column("author_handle", sa.String(128), nullable=False),
            sa.Column("author_name", sa.Text(), nullable=False),
            sa.Column("author_followers", sa.Integer(), nullable=False),
            sa.Column("author_verified", sa.Boolean(), nullable=False),
            sa.Column("title", sa.Text()),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("language", sa.String(16)),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("conversation_id", sa.String(80)),
            sa.Column("in_reply_to_id", sa.String(80)),
            sa.Column("metrics", sa.JSON(), nullable=False),
            sa.Column("first_seen_at", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_posts_author_id", "posts", ["author_id"])
        op.create_index("ix_posts_created_at", "posts", ["created_at"])
        op.create_index("ix_posts_conversation_id", "posts", ["conversation_id"])

    if "enrichments" not in existing:
        op.create_table(
            "enrichments",
            sa.Column("post_id", sa.String(80), primary_key=True),
            sa.Column("sentiment", sa.String(16), nullable=False),
            sa.Column("intent", sa.String(32), nullable=False),
            sa.Column("move_private", sa.Boolean(), nullable=False),
            sa.Column("spam", sa.Boolean(), nullable=False),
            sa.Column("language", sa.String(16), nullable=False),
            sa.Column("data", sa.JSON(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_enrichments_intent", "enrichments", ["intent"])

    if "queue_items" not in existing:
        op.create_table(
            "queue_items",
            sa.Column("post_id", sa.String(80), primary_key=True),
            sa.Column("queue", sa.String(32), nullable=False),
            sa.Column("priority", sa.Integer(), nullable=False),
            sa.Column("action", sa.String(32), nullable=False),
            sa.Column("rule", sa.String(128), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("decided_at", sa.DateTime(), nullable=False),
            sa.Column("sla_due", sa.DateTime()),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_queue_items_queue", "queue_items", ["queue"])
        op.create_index("ix_queue_items_status", "queue_items", ["status"])

    if "cursors" not in existing:
        op.create_table(
            "cursors",
            sa.Column("source", sa.String(64), primary_key=True),
            sa.Column("value", sa.JSON(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
        )

    if "dead_letters" not in existing:
        op.create_table(
            "dead_letters",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
            sa.Column("source", sa.String(64), nullable=False),
            sa.Column("location", sa.Text(), nullable=False),
            sa.Column("error", sa.Text(), nullable=False),
            sa.Column("payload", sa.LargeBinary(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )

    if "batches" not in existing:
        op.create_table(
            "batches",
            sa.Column("batch_id", sa.String(64), primary_key=True),
            sa.Column("run_id", sa.String(64), nullable=False),
            sa.Column("source", sa.String(64), nullable=False),
            sa.Column("stage", sa.String(16), nullable=False),
            sa.Column("pending_cursor", sa.JSON()),
            sa.Column("counts", sa.JSON(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
            sa.Column("updated_at", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_batches_run_id", "batches", ["run_id"])

    if "batch_posts" not in existing:
        op.create_table(
            "batch_posts",
            sa.Column("batch_id", sa.String(64), primary_key=True),
            sa.Column("post_id", sa.String(80), primary_key=True),
            sa.Column("position", sa.Integer(), nullable=False),
            sa.Column("post", sa.JSON(), nullable=False),
            sa.Column("enrichment", sa.JSON()),
        )

    if "removals" not in existing:
        op.create_table(
            "removals",
            sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
            sa.Column("post_id", sa.String(80), nullable=False),
            sa.Column("source", sa.String(64), nullable=False),
            sa.Column("reason", sa.Text(), nullable=False),
            sa.Column("removed_at", sa.DateTime(), nullable=False),
        )
        op.create_index("ix_removals_post_id", "removals", ["post_id"])

    if "feedback" not in existing:
        op.create_table(
            "feedback",
            sa.Column("post_id", sa.String(80), primary_key=True),
            sa.Column("task", sa.String(16), primary_key=True),
            sa.Column("label", sa.String(32), nullable=False),
            sa.Column("text", sa.Text(), nullable=False),
            sa.Column("created_at", sa.DateTime(), nullable=False),
        )

    if "runs" not in existing:
        op.create_table(
            "runs",
            sa.Column("run_id", sa.String(64), primary_key=True),
            sa.Column("started_at", sa.DateTime(), nullable=False),
            sa.Column("finished_at", sa.DateTime()),
            sa.Column("summary", sa.JSON()),
        )

    if "post_search" not in existing:
        if bind.dialect.name == "sqlite":
            op.execute(
                "CREATE VIRTUAL TABLE post_search USING fts5("
                "post_id UNINDEXED, text, tokenize='unicode61 remove_diacritics 2')"
            )
        else:
            op.execute(
                "CREATE TABLE post_search (post_id VARCHAR(80) PRIMARY KEY,"
                " text TEXT NOT NULL, tsv tsvector GENERATED ALWAYS AS"
                " (to_tsvector('simple', text)) STORED)"
            )
            op.execute("CREATE INDEX post_search_tsv ON post_search USING gin(tsv)")


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

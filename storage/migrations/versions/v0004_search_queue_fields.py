"""Queue priority, SLA due time and label scores in the search documents.

Revision ID: 0004_search_queue_fields
Revises: 0003_resumable_runs

Schema: ``search_documents.priority`` (integer), ``sla_due`` (time), ``sentiment_score`` and
``intent_score`` (floats), all nullable: what analysts need for SLA breaches and for
filtering by confidence.

Data: every stored post not already waiting in ``index_outbox`` is queued there (``upsert``),
so that the next indexing pass fills the new fields from the store.

Downgrades are not supported.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0004_search_queue_fields"
down_revision = "0003_resumable_runs"
branch_labels = None
depends_on = None

_posts = sa.table("posts", sa.column("id", sa.String))
_index_outbox = sa.table(
    "index_outbox",
    sa.column("post_id", sa.String),
    sa.column("op", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    op.add_column("search_documents", sa.Column("priority", sa.Integer(), nullable=True))
    op.add_column("search_documents", sa.Column("sla_due", sa.DateTime(), nullable=True))
    op.add_column("search_documents", sa.Column("sentiment_score", sa.Float(), nullable=True))
    op.add_column("search_documents", sa.Column("intent_score", sa.Float(), nullable=True))
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like every time
    op.get_bind().execute(
        _index_outbox.insert().from_select(
            ["post_id", "op", "created_at"],
            sa.select(_posts.c.id, sa.literal("upsert"), sa.literal(now, sa.DateTime)).where(
                _posts.c.id.not_in(sa.select(_index_outbox.c.post_id))  # not pending already
            ),
        )
    )


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

"""Backfills keep their own cursor.

Revision ID: 0008_batch_cursor_key
Revises: 0007_private_history

Schema: ``batches.cursor_key``: the cursor a batch moves when it is stored, when that is not its
source's own (``earshot backfill`` pages through history under ``backfill:<source>``,
leaving the live schedule's cursor alone). Empty: the source's cursor, as before.

Data: none.

Downgrades are not supported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_batch_cursor_key"
down_revision = "0007_private_history"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("batches", sa.Column("cursor_key", sa.String(64), nullable=True))


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

"""Each brand's public-to-private practice, learned from its own agents.

Revision ID: 0007_private_history
Revises: 0006_insights

Schema: new table ``private_history``: one customer post per row (``brand``, ``text``,
``created_at``) with whether the brand's reply moved it to a private channel (``private``,
``reason``), where the label came from (``origin``: ``import`` from ``earshot
import-history``, ``live`` from a brand reply a listener saw, ``feedback`` from an agent's
correction) and a ``fingerprint`` that keeps each example once.

Data: none.

Downgrades are not supported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_private_history"
down_revision = "0006_insights"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "private_history",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("fingerprint", sa.String(64), nullable=False, unique=True),
        sa.Column("brand", sa.String(128), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("private", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("origin", sa.String(16), nullable=False),
        sa.Column("post_id", sa.String(80), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_private_history_brand", "private_history", ["brand"])


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

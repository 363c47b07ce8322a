"""Marketing insights: author scores and spike alerts.

Revision ID: 0006_insights
Revises: 0005_cases

Schema: new tables ``author_scores`` (per kind, advocate, superuser or detractor, and
customer: the rank, score, components, evidence post ids and handles of the last daily run)
and ``alerts`` (one row per spike: the intent or phrase, its hour, count, expected count,
tail probability, example post ids, and when its webhook was told).

Data: none (the next insights run fills them).

Downgrades are not supported.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_insights"
down_revision = "0005_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "author_scores",
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("key", sa.String(160), primary_key=True),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("components", sa.JSON(), nullable=False),
        sa.Column("evidence", sa.JSON(), nullable=False),
        sa.Column("handles", sa.JSON(), nullable=False),
        sa.Column("profile_id", sa.String(96), nullable=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("computed_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.String(320), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("key", sa.String(256), nullable=False),
        sa.Column("window_start", sa.DateTime(), nullable=False),
        sa.Column("window_end", sa.DateTime(), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("baseline", sa.Float(), nullable=False),
        sa.Column("p_value", sa.Float(), nullable=False),
        sa.Column("method", sa.String(32), nullable=False),
        sa.Column("examples", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("notified_at", sa.DateTime(), nullable=True),
    )
    op.create_index("ix_alerts_window_start", "alerts", ["window_start"])


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

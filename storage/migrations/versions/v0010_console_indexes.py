"""Indexes for the console: its queue pages stay quick with many cases in the store.

Revision ID: 0010_console_indexes
Revises: 0009_console_access

Schema: four indexes on ``cases``, measured with ``python -m services.console_bench``:

- ``ix_cases_queue_priority`` (queue, priority): a queue's cases most urgent first
  (``cases.list(queue=...)``, the queue page) are read from the top of the index instead of
  sorting every case of the queue;
- ``ix_cases_queue_status`` (queue, status, first_response_at, sla_due): a queue's cases
  counted by status, and its open unanswered cases past due, from the index alone;
- ``ix_cases_unanswered_due`` (first_response_at, breached_at, sla_due) and
  ``ix_cases_breach_unnotified`` (breach_notified_at, breached_at): the two halves of
  ``cases.overdue()`` (unanswered cases past due not flagged yet; flagged cases not notified
  yet), read by ``check_sla``, without scanning every case.

Data: none.

Downgrades are not supported.
"""

from __future__ import annotations

from alembic import op

revision = "0010_console_indexes"
down_revision = "0009_console_access"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_cases_queue_priority", "cases", ["queue", "priority"])
    op.create_index(
        "ix_cases_queue_status", "cases", ["queue", "status", "first_response_at", "sla_due"]
    )
    op.create_index(
        "ix_cases_unanswered_due", "cases", ["first_response_at", "breached_at", "sla_due"]
    )
    op.create_index("ix_cases_breach_unnotified", "cases", ["breach_notified_at", "breached_at"])


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

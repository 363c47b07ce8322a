"""Care-team operations: cases, their audit trail, agents and customer profiles.

Revision ID: 0005_cases
Revises: 0004_search_queue_fields

Schema: new tables ``cases`` (a conversation with one customer, its status, holder, priority
with reasons, SLA due time, first response and breach), ``case_posts`` (which posts belong to
which case, as the customer's or the brand's), ``case_events`` (the audit trail), ``agents``,
``profiles`` and ``profile_handles`` (one customer across networks, with a CRM id and tier);
``queue_items.case_id`` and ``queue_items.detail`` (the decision's priority breakdown and
action detail), both nullable.

Data: every queue item still waiting for an agent (``new`` or ``claimed``) gets a case of its
own (``case:<post id>``, same queue, status, holder, priority and due time; the SLA clock from
the post's time), so that no open work disappears from the agents' lists; closed items keep
their status without a case. New posts open and join cases from now on.

Downgrades are not supported.
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005_cases"
down_revision = "0004_search_queue_fields"
branch_labels = None
depends_on = None


_QUEUE_ITEMS = sa.table(
    "queue_items",
    sa.column("post_id", sa.String),
    sa.column("queue", sa.String),
    sa.column("priority", sa.Integer),
    sa.column("action", sa.String),
    sa.column("rule", sa.String),
    sa.column("status", sa.String),
    sa.column("sla_due", sa.DateTime),
    sa.column("assignee", sa.String),
    sa.column("case_id", sa.String),
)
_POSTS = sa.table(
    "posts",
    sa.column("id", sa.String),
    sa.column("source", sa.String),
    sa.column("author_id", sa.String),
    sa.column("author_handle", sa.String),
    sa.column("created_at", sa.DateTime),
)


def upgrade() -> None:
    op.add_column("queue_items", sa.Column("case_id", sa.String(96), nullable=True))
    op.add_column("queue_items", sa.Column("detail", sa.JSON(), nullable=True))
    op.create_index("ix_queue_items_case_id", "queue_items", ["case_id"])
    op.create_table(
        "agents",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("queues", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "cases",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("queue", sa.String(32), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("priority_reasons", sa.JSON(), nullable=False),
        sa.Column("action", sa.String(32), nullable=False),
        sa.Column("action_detail", sa.JSON(), nullable=False),
        sa.Column("rule", sa.String(128), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("conversation_key", sa.String(96), nullable=False),
        sa.Column("customer_key", sa.String(88), nullable=False),
        sa.Column("author_handle", sa.String(128), nullable=False),
        sa.Column("handle_key", sa.String(145), nullable=False),
        sa.Column("tier", sa.String(32), nullable=False),
        sa.Column("opened_post_id", sa.String(80), nullable=False),
        sa.Column("opened_at", sa.DateTime(), nullable=False),
        sa.Column("sla_due", sa.DateTime(), nullable=True),
        sa.Column("assignee", sa.String(64), nullable=True),
        sa.Column("first_response_at", sa.DateTime(), nullable=True),
        sa.Column("first_response_by", sa.String(128), nullable=True),
        sa.Column("first_response_kind", sa.String(16), nullable=True),
        sa.Column("breached_at", sa.DateTime(), nullable=True),
        sa.Column("breach_notified_at", sa.DateTime(), nullable=True),
        sa.Column("closed_at", sa.DateTime(), nullable=True),
        sa.Column("reopened", sa.Integer(), nullable=False),
        sa.Column("open_key", sa.String(256), nullable=True, unique=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    for column in ("queue", "status", "conversation_key", "customer_key", "handle_key"):
        op.create_index(f"ix_cases_{column}", "cases", [column])
    op.create_table(
        "case_posts",
        sa.Column("post_id", sa.String(80), primary_key=True),
        sa.Column("case_id", sa.String(96), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("added_at", sa.DateTime(), nullable=False),
    )
    op.create_index("ix_case_posts_case_id", "case_posts", ["case_id"])
    op.create_table(
        "case_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("case_id", sa.String(96), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("from_status", sa.String(16), nullable=False),
        sa.Column("to_status", sa.String(16), nullable=False),
        sa.Column("actor", sa.String(128), nullable=False),
        sa.Column("at", sa.DateTime(), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
    )
    op.create_index("ix_case_events_case_id", "case_events", ["case_id"])
    op.create_table(
        "profiles",
        sa.Column("id", sa.String(96), primary_key=True),
        sa.Column("crm_id", sa.String(64), nullable=True, unique=True),
        sa.Column("tier", sa.String(32), nullable=True),
        sa.Column("display_name", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("updated_at", sa.DateTime(), nullable=False),
    )
    op.create_table(
        "profile_handles",
        sa.Column("handle_key", sa.String(145), primary_key=True),
        sa.Column("network", sa.String(16), nullable=False),
        sa.Column("handle", sa.String(128), nullable=False),
        sa.Column("profile_id", sa.String(96), nullable=False),
    )
    op.create_index("ix_profile_handles_profile_id", "profile_handles", ["profile_id"])
    _open_cases_for_waiting_items()


def _open_cases_for_waiting_items() -> None:
    bind = op.get_bind()
    json_columns = ("priority_reasons", "action_detail")
    cases = sa.table(
        "cases",
        *(sa.column(c, sa.JSON) if c in json_columns else sa.column(c) for c in _CASE_COLUMNS),
    )
    members = sa.table(
        "case_posts",
        sa.column("post_id"),
        sa.column("case_id"),
        sa.column("role"),
        sa.column("added_at"),
    )
    events = sa.table(
        "case_events",
        *(sa.column(c) for c in ("case_id", "action", "from_status", "to_status", "actor")),
        sa.column("at"),
        sa.column("detail", sa.JSON),
    )
    now = datetime.now(UTC).replace(tzinfo=None)  # stored as naive UTC, like every time
    rows = bind.execute(
        sa.select(
            _QUEUE_ITEMS,
            _POSTS.c.source,
            _POSTS.c.author_id,
            _POSTS.c.author_handle,
            _POSTS.c.created_at,
        )
        .join(_POSTS, _POSTS.c.id == _QUEUE_ITEMS.c.post_id)
        .where(_QUEUE_ITEMS.c.status.in_(["new", "claimed"]))
    ).all()
    for r in rows:
        case_id = f"case:{r.post_id}"
        customer = (
            r.author_id if r.author_id.startswith(f"{r.source}:") else f"{r.source}:{r.author_id}"
        )
        bind.execute(
            cases.insert().values(
                id=case_id,
                queue=r.queue,
                status=r.status,
                priority=r.priority,
                priority_reasons={"rule": float(r.priority)},
                action=r.action,
                action_detail={"rule": r.rule},
                rule=r.rule,
                source=r.source,
                conversation_key=r.post_id,
                customer_key=customer,
                author_handle=r.author_handle,
                handle_key=f"{r.source}:{r.author_handle.lower()}",
                tier="standard",
                opened_post_id=r.post_id,
                opened_at=r.created_at,
                sla_due=r.sla_due,
                assignee=r.assignee,
                reopened=0,
                open_key=f"{r.post_id}|{customer}",
                created_at=now,
                updated_at=now,
            )
        )
        bind.execute(
            members.insert().values(
                post_id=r.post_id, case_id=case_id, role="customer", added_at=now
            )
        )
        bind.execute(
            events.insert().values(
                case_id=case_id,
                action="open",
                from_status="new",
                to_status=r.status,
                actor="earshot",
                at=now,
                detail={"migrated": "0005_cases"},
            )
        )
        bind.execute(
            _QUEUE_ITEMS.update().where(_QUEUE_ITEMS.c.post_id == r.post_id).values(case_id=case_id)
        )


_CASE_COLUMNS = (
    "id",
    "queue",
    "status",
    "priority",
    "priority_reasons",
    "action",
    "action_detail",
    "rule",
    "source",
    "conversation_key",
    "customer_key",
    "author_handle",
    "handle_key",
    "tier",
    "opened_post_id",
    "opened_at",
    "sla_due",
    "assignee",
    "reopened",
    "open_key",
    "created_at",
    "updated_at",
)


def downgrade() -> None:
    raise NotImplementedError("Earshot does not downgrade; restore a backup instead")

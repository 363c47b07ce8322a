"""The store's tables (SQLAlchemy Core), as the newest migration leaves them.

Migrations (``storage/migrations``) create and change the schema; these definitions are
what the queries are written against, and a test checks that the two agree. The embedded
search index's table, ``search_documents``, lives in the same database and is defined by
:mod:`search.sql`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
)

from core.models import MAX_AUTHOR_ID, MAX_HANDLE, MAX_LANGUAGE, MAX_POST_ID, MAX_SOURCE
from core.sqltypes import UTCDateTime

metadata = MetaData()

posts = Table(
    "posts",
    metadata,
    Column("id", String(MAX_POST_ID), primary_key=True),
    Column("source", String(MAX_SOURCE), nullable=False),
    Column("url", Text, nullable=False),
    Column("author_id", String(MAX_AUTHOR_ID), nullable=False, index=True),
    Column("author_handle", String(MAX_HANDLE), nullable=False),
    Column("author_name", Text, nullable=False),
    Column("author_followers", Integer, nullable=False),
    Column("author_verified", Boolean, nullable=False),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("language", String(MAX_LANGUAGE)),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("conversation_id", String(MAX_POST_ID), index=True),
    Column("in_reply_to_id", String(MAX_POST_ID)),
    Column("metrics", JSON, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
    Column("cleaned", JSON),
)

enrichments = Table(
    "enrichments",
    metadata,
    Column("post_id", String(80), primary_key=True),
    Column("sentiment", String(16), nullable=False),
    Column("intent", String(32), nullable=False, index=True),
    Column("move_private", Boolean, nullable=False),
    Column("spam", Boolean, nullable=False),
    Column("language", String(16), nullable=False),
    Column("data", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

queue_items = Table(
    "queue_items",
    metadata,
    Column("post_id", String(80), primary_key=True),
    Column("queue", String(32), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    Column("action", String(32), nullable=False),
    Column("rule", String(128), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("decided_at", UTCDateTime, nullable=False),
    Column("sla_due", UTCDateTime),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("assignee", String(64)),
    Column("case_id", String(96), index=True),
    Column("detail", JSON),
)

queue_events = Table(
    "queue_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post_id", String(80), nullable=False, index=True),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("at", UTCDateTime, nullable=False),
)

cursors = Table(
    "cursors",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("collected_at", UTCDateTime),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("source", String(64), nullable=False),
    Column("location", Text, nullable=False),
    Column("error", Text, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

batches = Table(
    "batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("pending_cursor", JSON),
    Column("cursor_key", String(64)),
    Column("counts", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

batch_posts = Table(
    "batch_posts",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("post_id", String(80), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("post", JSON, nullable=False),
    Column("enrichment", JSON),
)

removals = Table(
    "removals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post_id", String(80), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("removed_at", UTCDateTime, nullable=False),
)

feedback = Table(
    "feedback",
    metadata,
    Column("post_id", String(80), primary_key=True),
    Column("task", String(16), primary_key=True),
    Column("label", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("summary", JSON),
    Column("owner", String(200)),
    Column("heartbeat_at", UTCDateTime),
)

index_outbox = Table(
    "index_outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post_id", String(80), nullable=False, index=True),
    Column("op", String(8), nullable=False),  # "upsert" or "delete"
    Column("created_at", UTCDateTime, nullable=False),
)

# -- care-team operations (migration 0005) ---------------------------------------------------

agents = Table(
    "agents",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("queues", JSON, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("id", String(96), primary_key=True),
    # no index of its own: ix_cases_queue_priority begins with it (migration 0011)
    Column("queue", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("priority", Integer, nullable=False),
    Column("priority_reasons", JSON, nullable=False),
    Column("action", String(32), nullable=False),
    Column("action_detail", JSON, nullable=False),
    Column("rule", String(128), nullable=False),
    Column("source", String(MAX_SOURCE), nullable=False),
    Column("conversation_key", String(MAX_POST_ID + MAX_SOURCE), nullable=False, index=True),
    Column("customer_key", String(MAX_AUTHOR_ID + MAX_SOURCE + 8), nullable=False, index=True),
    Column("author_handle", String(MAX_HANDLE), nullable=False),
    Column("handle_key", String(MAX_HANDLE + MAX_SOURCE + 1), nullable=False, index=True),
    Column("tier", String(32), nullable=False),
    Column("opened_post_id", String(MAX_POST_ID), nullable=False),
    Column("opened_at", UTCDateTime, nullable=False),
    Column("sla_due", UTCDateTime),
    Column("assignee", String(64)),
    Column("first_response_at", UTCDateTime),
    Column("first_response_by", String(MAX_HANDLE)),
    Column("first_response_kind", String(16)),
    Column("breached_at", UTCDateTime),
    Column("breach_notified_at", UTCDateTime),
    Column("closed_at", UTCDateTime),
    Column("reopened", Integer, nullable=False),
    # conversation + customer while the case is open, NULL once closed: a unique index, so
    # two runs can never open two cases for one open conversation.
    Column("open_key", String(256), unique=True),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    # A queue's cases in priority order, read from the top; a queue's cases counted by status,
    # and its overdue ones, from the index alone (migration 0010).
    Index("ix_cases_queue_priority", "queue", "priority"),
    Index("ix_cases_queue_status", "queue", "status", "first_response_at", "sla_due"),
    # overdue(): unanswered unflagged cases by due time, and flagged ones not yet notified.
    Index("ix_cases_unanswered_due", "first_response_at", "breached_at", "sla_due"),
    Index("ix_cases_breach_unnotified", "breach_notified_at", "breached_at"),
)

case_posts = Table(
    "case_posts",
    metadata,
    Column("post_id", String(MAX_POST_ID), primary_key=True),
    Column("case_id", String(96), nullable=False, index=True),
    Column("role", String(16), nullable=False),  # customer, brand
    Column("added_at", UTCDateTime, nullable=False),
)

case_events = Table(
    "case_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("case_id", String(96), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("from_status", String(16), nullable=False),
    Column("to_status", String(16), nullable=False),
    Column("actor", String(MAX_HANDLE), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("detail", JSON, nullable=False),
)

profiles = Table(
    "profiles",
    metadata,
    Column("id", String(96), primary_key=True),
    Column("crm_id", String(64), unique=True),
    Column("tier", String(32)),
    Column("display_name", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

profile_handles = Table(
    "profile_handles",
    metadata,
    Column("handle_key", String(MAX_HANDLE + MAX_SOURCE + 1), primary_key=True),
    Column("network", String(MAX_SOURCE), nullable=False),
    Column("handle", String(MAX_HANDLE), nullable=False),
    Column("profile_id", String(96), nullable=False, index=True),
)

# -- marketing insights (migration 0006) -----------------------------------------------------

author_scores = Table(
    "author_scores",
    metadata,
    Column("kind", String(16), primary_key=True),
    Column("key", String(160), primary_key=True),
    Column("rank", Integer, nullable=False),
    Column("score", Float, nullable=False),
    Column("components", JSON, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("handles", JSON, nullable=False),
    Column("profile_id", String(96)),
    Column("tier", String(32)),
    Column("computed_at", UTCDateTime, nullable=False),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", String(320), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("key", String(256), nullable=False),
    Column("window_start", UTCDateTime, nullable=False, index=True),
    Column("window_end", UTCDateTime, nullable=False),
    Column("count", Integer, nullable=False),
    Column("baseline", Float, nullable=False),
    Column("p_value", Float, nullable=False),
    Column("method", String(32), nullable=False),
    Column("examples", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("notified_at", UTCDateTime),
)

# -- each brand's public-to-private practice (migration 0007) -------------------------------

private_history = Table(
    "private_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("fingerprint", String(64), nullable=False, unique=True),
    Column("brand", String(MAX_HANDLE), nullable=False, index=True),
    Column("text", Text, nullable=False),
    Column("private", Boolean, nullable=False),
    Column("reason", Text),
    Column("origin", String(16), nullable=False),  # import, live, feedback
    Column("post_id", String(MAX_POST_ID)),
    Column("created_at", UTCDateTime, nullable=False),
)

# -- console access (migration 0009) ----------------------------------------------------------

users = Table(
    "users",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("display_name", Text, nullable=False),
    Column("role", String(16), nullable=False),
    Column("teams", JSON, nullable=False),  # queue names; ["*"]: every queue
    Column("password_hash", Text),  # none: cannot log in until one is set
    Column("active", Boolean, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("token_hash", String(64), primary_key=True),  # SHA-256 of the cookie's token
    Column("user_name", String(64), nullable=False, index=True),
    Column("csrf_token", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("address", Text, nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user_name", String(64), nullable=False, index=True),
    Column("secret_hash", String(64), nullable=False),  # SHA-256 of the secret
    Column("label", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_used_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("outcome", String(16), nullable=False),  # ok, denied, failed
    Column("address", Text, nullable=False),
    Column("detail", JSON, nullable=False),
    Index("ix_audit_log_action_at", "action", "at"),
    Index("ix_audit_log_actor_at", "actor", "at"),
)

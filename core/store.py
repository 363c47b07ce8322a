"""The store: posts, enrichments, queue items, listener cursors, dead letters and search.

One implementation over SQLAlchemy Core serves both the embedded default (SQLite, with FTS5
for search) and production (PostgreSQL, with a ``tsvector`` index), chosen by URL. Every write
is an upsert keyed by the post id, so replaying a batch changes nothing.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Engine,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    create_engine,
    delete,
    event,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from core.models import (
    QUEUE_STATUSES,
    Author,
    DeadLetter,
    Enrichment,
    Post,
    RoutingDecision,
    utc,
)
from core.redaction import mask_cards_in_bytes


class StoreError(RuntimeError):
    """A store operation failed."""


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone, so store naive UTC)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else utc(value).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


metadata = MetaData()

posts_table = Table(
    "posts",
    metadata,
    Column("id", String(80), primary_key=True),
    Column("source", String(16), nullable=False),
    Column("url", Text, nullable=False),
    Column("author_id", String(64), nullable=False, index=True),
    Column("author_handle", String(128), nullable=False),
    Column("author_name", Text, nullable=False),
    Column("author_followers", Integer, nullable=False),
    Column("author_verified", Boolean, nullable=False),
    Column("title", Text),
    Column("text", Text, nullable=False),
    Column("language", String(16)),
    Column("created_at", UTCDateTime, nullable=False, index=True),
    Column("conversation_id", String(80), index=True),
    Column("in_reply_to_id", String(80)),
    Column("metrics", JSON, nullable=False),
    Column("first_seen_at", UTCDateTime, nullable=False),
)

enrichments_table = Table(
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

queue_items_table = Table(
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
)

cursors_table = Table(
    "cursors",
    metadata,
    Column("source", String(64), primary_key=True),
    Column("value", JSON, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

dead_letters_table = Table(
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

batches_table = Table(
    "batches",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("run_id", String(64), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("stage", String(16), nullable=False),
    Column("pending_cursor", JSON),
    Column("counts", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

batch_posts_table = Table(
    "batch_posts",
    metadata,
    Column("batch_id", String(64), primary_key=True),
    Column("post_id", String(80), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("post", JSON, nullable=False),
    Column("enrichment", JSON),
)

removals_table = Table(
    "removals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("post_id", String(80), nullable=False, index=True),
    Column("source", String(64), nullable=False),
    Column("reason", Text, nullable=False),
    Column("removed_at", UTCDateTime, nullable=False),
)

feedback_table = Table(
    "feedback",
    metadata,
    Column("post_id", String(80), primary_key=True),
    Column("task", String(16), primary_key=True),
    Column("label", String(32), nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

runs_table = Table(
    "runs",
    metadata,
    Column("run_id", String(64), primary_key=True),
    Column("started_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Column("summary", JSON),
)

# PostgreSQL keeps search rows in a plain table with a generated tsvector; SQLite uses FTS5.
pg_search_table = Table(
    "post_search",
    MetaData(),
    Column("post_id", String(80), primary_key=True),
    Column("text", Text, nullable=False),
)


@dataclass(frozen=True)
class QueueItem:
    decision: RoutingDecision
    status: str
    post: Post


@dataclass(frozen=True)
class SearchHit:
    post: Post
    intent: str | None
    queue: str | None


def _now() -> datetime:
    return datetime.now(UTC)


def _fts_query(text_query: str) -> str:
    """Quote each word so user text is never parsed as FTS5 syntax (AND of the words)."""
    words = re.findall(r"\w+", text_query, flags=re.UNICODE)
    return " ".join(f'"{w}"' for w in words)


class Store:
    """Storage over one SQLAlchemy URL (``sqlite:///...`` or ``postgresql+psycopg://...``)."""

    def __init__(self, url: str, *, engine: Engine | None = None) -> None:
        self.url = url
        if engine is None:
            if url.startswith("sqlite:///"):
                Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
            engine = create_engine(url, future=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
        self.engine = engine
        self.dialect = engine.dialect.name
        if self.dialect not in {"sqlite", "postgresql"}:
            raise StoreError(f"unsupported database {self.dialect!r} in {url!r}")

    # -- schema ---------------------------------------------------------------------------
    def create_schema(self) -> None:
        """Create every table if missing (safe to call on each start)."""
        with self.engine.begin() as conn:
            metadata.create_all(conn)
            if self.dialect == "sqlite":
                conn.execute(
                    text(
                        "CREATE VIRTUAL TABLE IF NOT EXISTS post_search USING fts5("
                        "post_id UNINDEXED, text, tokenize='unicode61 remove_diacritics 2')"
                    )
                )
            else:
                conn.execute(
                    text(
                        "CREATE TABLE IF NOT EXISTS post_search (post_id VARCHAR(80) PRIMARY KEY,"
                        " text TEXT NOT NULL, tsv tsvector GENERATED ALWAYS AS"
                        " (to_tsvector('simple', text)) STORED)"
                    )
                )
                conn.execute(
                    text("CREATE INDEX IF NOT EXISTS post_search_tsv ON post_search USING gin(tsv)")
                )

    def drop_schema(self) -> None:
        """Drop every Earshot table (tests and ``earshot reset`` only)."""
        with self.engine.begin() as conn:
            conn.execute(text("DROP TABLE IF EXISTS post_search"))
            metadata.drop_all(conn)

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def _insert(self, table: Table) -> Any:
        module = sqlite if self.dialect == "sqlite" else postgresql
        return module.insert(table)

    def _upsert(
        self,
        conn: Connection,
        table: Table,
        rows: Sequence[dict[str, Any]],
        keys: Sequence[str],
        *,
        update: Sequence[str] | None = None,
    ) -> None:
        if not rows:
            return
        stmt = self._insert(table)
        if update is None:
            update = [c.name for c in table.columns if c.name not in keys]
        if update:
            stmt = stmt.on_conflict_do_update(
                index_elements=list(keys), set_={c: stmt.excluded[c] for c in update}
            )
        else:
            stmt = stmt.on_conflict_do_nothing(index_elements=list(keys))
        conn.execute(stmt, list(rows))

    # -- posts ----------------------------------------------------------------------------
    def existing_post_ids(self, ids: Iterable[str], conn: Connection | None = None) -> set[str]:
        wanted = list(dict.fromkeys(ids))
        found: set[str] = set()
        with self._conn(conn) as c:
            for start in range(0, len(wanted), 500):
                chunk = wanted[start : start + 500]
                rows = c.execute(select(posts_table.c.id).where(posts_table.c.id.in_(chunk)))
                found.update(r[0] for r in rows)
        return found

    def upsert_posts(self, posts: Sequence[Post], conn: Connection | None = None) -> int:
        """Insert or update posts; returns how many were new to the store."""
        with self._conn(conn) as c:
            known = self.existing_post_ids((p.id for p in posts), c)
            now = _now()
            rows = [_post_row(p, now) for p in _last_wins(posts)]
            updatable = [
                c.name for c in posts_table.columns if c.name not in ("id", "first_seen_at")
            ]
            self._upsert(c, posts_table, rows, ["id"], update=updatable)
        return len({p.id for p in posts} - known)

    def get_post(self, post_id: str) -> Post | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(posts_table).where(posts_table.c.id == post_id)).first()
        return None if row is None else _row_post(row._mapping)

    def count_posts(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(posts_table)).scalar_one())

    # -- enrichments and search -----------------------------------------------------------
    def upsert_enrichments(
        self, enrichments: Sequence[Enrichment], conn: Connection | None = None
    ) -> None:
        now = _now()
        rows = [
            {
                "post_id": e.post_id,
                "sentiment": e.sentiment.label,
                "intent": e.intent.label,
                "move_private": e.private.move_private,
                "spam": e.is_spam,
                "language": e.language.label,
                "data": e.to_dict(),
                "updated_at": now,
            }
            for e in _last_wins(enrichments, key=lambda e: e.post_id)
        ]
        with self._conn(conn) as c:
            self._upsert(c, enrichments_table, rows, ["post_id"])

    def get_enrichment(self, post_id: str) -> Enrichment | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(enrichments_table.c.data).where(enrichments_table.c.post_id == post_id)
            ).first()
        return None if row is None else Enrichment.from_dict(row[0])

    def index(self, docs: Sequence[tuple[str, str]], conn: Connection | None = None) -> None:
        """Index ``(post_id, text)`` pairs for full-text search, replacing earlier versions."""
        docs = list({post_id: body for post_id, body in docs}.items())
        if not docs:
            return
        with self._conn(conn) as c:
            if self.dialect == "sqlite":
                c.execute(
                    text("DELETE FROM post_search WHERE post_id = :post_id"),
                    [{"post_id": post_id} for post_id, _ in docs],
                )
                c.execute(
                    text("INSERT INTO post_search (post_id, text) VALUES (:post_id, :text)"),
                    [{"post_id": post_id, "text": body} for post_id, body in docs],
                )
            else:
                self._upsert(
                    c, pg_search_table, [{"post_id": i, "text": t} for i, t in docs], ["post_id"]
                )

    def search(self, query: str, *, limit: int = 20) -> list[SearchHit]:
        """Full-text search over indexed (redacted) post text, best matches first."""
        if self.dialect == "sqlite":
            match = _fts_query(query)
            if not match:
                return []
            sql = text(
                "SELECT post_id FROM post_search WHERE post_search MATCH :q ORDER BY rank LIMIT :n"
            )
            params: dict[str, Any] = {"q": match, "n": limit}
        else:
            sql = text(
                "SELECT post_id FROM post_search WHERE tsv @@ plainto_tsquery('simple', :q)"
                " ORDER BY ts_rank(tsv, plainto_tsquery('simple', :q)) DESC, post_id LIMIT :n"
            )
            params = {"q": query, "n": limit}
        with self.engine.connect() as conn:
            ids = [r[0] for r in conn.execute(sql, params)]
            if not ids:
                return []
            rows = conn.execute(
                select(posts_table, enrichments_table.c.intent, queue_items_table.c.queue)
                .outerjoin(enrichments_table, enrichments_table.c.post_id == posts_table.c.id)
                .outerjoin(queue_items_table, queue_items_table.c.post_id == posts_table.c.id)
                .where(posts_table.c.id.in_(ids))
            ).all()
        by_id = {r._mapping["id"]: r._mapping for r in rows}
        return [
            SearchHit(_row_post(by_id[i]), by_id[i]["intent"], by_id[i]["queue"])
            for i in ids
            if i in by_id
        ]

    # -- queues ---------------------------------------------------------------------------
    def upsert_decisions(
        self, decisions: Sequence[RoutingDecision], conn: Connection | None = None
    ) -> int:
        """Record routing decisions; returns how many posts were routed for the first time."""
        return len(self.add_decisions(decisions, conn))

    def add_decisions(
        self, decisions: Sequence[RoutingDecision], conn: Connection | None = None
    ) -> list[RoutingDecision]:
        """Record routing decisions; returns those of posts routed for the first time.

        A post already in a queue keeps its decision and status: an agent may have claimed
        it, and re-running a batch must not put it back to ``new``.
        """
        unique = _last_wins(decisions, key=lambda d: d.post_id)
        known = self.existing_queue_ids([d.post_id for d in unique])
        now = _now()
        rows = [
            {**d.to_dict(), "decided_at": d.decided_at, "sla_due": d.sla_due}
            | {"status": d.initial_status, "updated_at": now}
            for d in unique
        ]
        with self._conn(conn) as c:
            self._upsert(c, queue_items_table, rows, ["post_id"], update=[])
        return [d for d in unique if d.post_id not in known]

    def existing_queue_ids(self, ids: Sequence[str]) -> set[str]:
        found: set[str] = set()
        with self.engine.connect() as conn:
            for start in range(0, len(ids), 500):
                chunk = list(ids[start : start + 500])
                rows = conn.execute(
                    select(queue_items_table.c.post_id).where(
                        queue_items_table.c.post_id.in_(chunk)
                    )
                )
                found.update(r[0] for r in rows)
        return found

    def set_status(self, post_id: str, status: str) -> None:
        if status not in QUEUE_STATUSES:
            raise StoreError(f"unknown status {status!r}; expected one of {QUEUE_STATUSES}")
        with self.engine.begin() as conn:
            result = conn.execute(
                update(queue_items_table)
                .where(queue_items_table.c.post_id == post_id)
                .values(status=status, updated_at=_now())
            )
        if result.rowcount == 0:
            raise StoreError(f"post {post_id!r} is in no queue")

    def queue_items(
        self, *, queue: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[QueueItem]:
        """Queue items, most urgent first (priority, then SLA due time)."""
        stmt = select(queue_items_table, posts_table).join(
            posts_table, posts_table.c.id == queue_items_table.c.post_id
        )
        if queue:
            stmt = stmt.where(queue_items_table.c.queue == queue)
        if status:
            stmt = stmt.where(queue_items_table.c.status == status)
        stmt = stmt.order_by(
            queue_items_table.c.priority.desc(),
            queue_items_table.c.sla_due.asc(),
            queue_items_table.c.post_id,
        ).limit(limit)
        with self.engine.connect() as conn:
            rows = conn.execute(stmt).all()
        items = []
        for row in rows:
            m = row._mapping
            decision = RoutingDecision(
                post_id=m["post_id"],
                queue=m["queue"],
                priority=m["priority"],
                action=m["action"],
                rule=m["rule"],
                decided_at=m["decided_at"],
                sla_due=m["sla_due"],
            )
            items.append(QueueItem(decision, m["status"], _row_post(m)))
        return items

    def queue_counts(self) -> dict[tuple[str, str], int]:
        stmt = select(queue_items_table.c.queue, queue_items_table.c.status, func.count()).group_by(
            queue_items_table.c.queue, queue_items_table.c.status
        )
        with self.engine.connect() as conn:
            return {(q, s): int(n) for q, s, n in conn.execute(stmt)}

    # -- cursors --------------------------------------------------------------------------
    def get_cursor(self, source: str) -> dict[str, Any] | None:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(cursors_table.c.value).where(cursors_table.c.source == source)
            ).first()
        return None if row is None else dict(row[0])

    def set_cursor(
        self, source: str, value: dict[str, Any], conn: Connection | None = None
    ) -> None:
        with self._conn(conn) as c:
            self._upsert(
                c,
                cursors_table,
                [{"source": source, "value": value, "updated_at": _now()}],
                ["source"],
            )

    # -- compliance -----------------------------------------------------------------------
    def post_ids(self, *, source: str, after: str = "", limit: int = 1000) -> list[str]:
        """Stored post ids of one network in id order, ``limit`` at a time after ``after``."""
        stmt = (
            select(posts_table.c.id)
            .where(posts_table.c.source == source)
            .where(posts_table.c.id > after)
            .order_by(posts_table.c.id)
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def remove_posts(self, removals: Sequence[tuple[str, str]], *, source: str) -> int:
        """Delete posts everywhere (posts, labels, queues, search, staging) and keep an audit
        record of each removal. Returns how many stored posts were removed."""
        reasons = dict(removals)
        if not reasons:
            return 0
        ids = list(reasons)
        now = _now()
        with self.engine.begin() as conn:
            present = {
                r[0]
                for r in conn.execute(select(posts_table.c.id).where(posts_table.c.id.in_(ids)))
            }
            for table, column in (
                (posts_table, posts_table.c.id),
                (enrichments_table, enrichments_table.c.post_id),
                (queue_items_table, queue_items_table.c.post_id),
                (batch_posts_table, batch_posts_table.c.post_id),
            ):
                conn.execute(delete(table).where(column.in_(ids)))
            conn.execute(
                text("DELETE FROM post_search WHERE post_id = :post_id"),
                [{"post_id": i} for i in ids],
            )
            if present:
                conn.execute(
                    removals_table.insert(),
                    [
                        {"post_id": i, "source": source, "reason": reasons[i], "removed_at": now}
                        for i in sorted(present)
                    ],
                )
        return len(present)

    def removals(self, *, limit: int = 100) -> list[dict[str, Any]]:
        stmt = select(removals_table).order_by(removals_table.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def cursors(self) -> dict[str, tuple[dict[str, Any], datetime]]:
        with self.engine.connect() as conn:
            return {
                r.source: (dict(r.value), r.updated_at) for r in conn.execute(select(cursors_table))
            }

    # -- feedback (agent corrections) -----------------------------------------------------
    def add_feedback(self, post_id: str, task: str, label: str) -> None:
        """Record an agent's correction of a label; the next `earshot train` learns from it."""
        post = self.get_post(post_id)
        if post is None:
            raise StoreError(f"no stored post {post_id!r} to correct")
        row = {
            "post_id": post_id,
            "task": task,
            "label": label,
            "text": post.text,
            "created_at": _now(),
        }
        with self.engine.begin() as conn:
            self._upsert(conn, feedback_table, [row], ["post_id", "task"])

    def feedback(self, task: str) -> list[tuple[str, str]]:
        stmt = select(feedback_table.c.text, feedback_table.c.label).where(
            feedback_table.c.task == task
        )
        with self.engine.connect() as conn:
            return [(r[0], r[1]) for r in conn.execute(stmt.order_by(feedback_table.c.post_id))]

    # -- dead letters ---------------------------------------------------------------------
    def add_dead_letters(
        self, letters: Sequence[DeadLetter], conn: Connection | None = None
    ) -> int:
        """Keep records that could not be processed; the same record twice is kept once."""
        if not letters:
            return 0
        rows = {}
        for letter in letters:
            payload = mask_cards_in_bytes(letter.payload)  # not even a broken record keeps one
            digest = hashlib.sha256(
                b"\0".join([letter.source.encode(), letter.location.encode(), payload])
            ).hexdigest()
            rows[digest] = {
                "fingerprint": digest,
                "source": letter.source,
                "location": letter.location,
                "error": letter.error,
                "payload": payload,
                "created_at": _now(),
            }
        with self._conn(conn) as c:
            known = {
                r[0]
                for r in c.execute(
                    select(dead_letters_table.c.fingerprint).where(
                        dead_letters_table.c.fingerprint.in_(list(rows))
                    )
                )
            }
            self._upsert(c, dead_letters_table, list(rows.values()), ["fingerprint"], update=[])
        return len(set(rows) - known)

    def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        stmt = select(dead_letters_table).order_by(dead_letters_table.c.id).limit(limit)
        with self.engine.connect() as conn:
            return [
                DeadLetter(r.source, r.location, r.error, bytes(r.payload))
                for r in conn.execute(stmt)
            ]

    # -- batches and runs (staging between pipeline steps) --------------------------------
    def stage_batch(
        self,
        *,
        batch_id: str,
        run_id: str,
        source: str,
        posts: Sequence[Post],
        pending_cursor: dict[str, Any] | None,
        counts: dict[str, int],
    ) -> None:
        now = _now()
        with self.engine.begin() as conn:
            conn.execute(delete(batch_posts_table).where(batch_posts_table.c.batch_id == batch_id))
            self._upsert(
                conn,
                batches_table,
                [
                    {
                        "batch_id": batch_id,
                        "run_id": run_id,
                        "source": source,
                        "stage": "collected",
                        "pending_cursor": pending_cursor,
                        "counts": counts,
                        "created_at": now,
                        "updated_at": now,
                    }
                ],
                ["batch_id"],
            )
            if posts:
                conn.execute(
                    batch_posts_table.insert(),
                    [
                        {"batch_id": batch_id, "post_id": p.id, "position": i, "post": p.to_dict()}
                        for i, p in enumerate(_last_wins(posts))
                    ],
                )

    def batch(self, batch_id: str) -> dict[str, Any]:
        with self.engine.connect() as conn:
            row = conn.execute(
                select(batches_table).where(batches_table.c.batch_id == batch_id)
            ).first()
        if row is None:
            raise StoreError(f"unknown batch {batch_id!r}")
        return dict(row._mapping)

    def batch_posts(self, batch_id: str) -> list[Post]:
        return [post for post, _ in self.batch_items(batch_id)]

    def batch_items(self, batch_id: str) -> list[tuple[Post, Enrichment | None]]:
        stmt = (
            select(batch_posts_table.c.post, batch_posts_table.c.enrichment)
            .where(batch_posts_table.c.batch_id == batch_id)
            .order_by(batch_posts_table.c.position)
        )
        with self.engine.connect() as conn:
            return [
                (Post.from_dict(p), None if e is None else Enrichment.from_dict(e))
                for p, e in conn.execute(stmt)
            ]

    def stage_enrichments(self, batch_id: str, enrichments: Sequence[Enrichment]) -> None:
        with self.engine.begin() as conn:
            for e in enrichments:
                conn.execute(
                    update(batch_posts_table)
                    .where(batch_posts_table.c.batch_id == batch_id)
                    .where(batch_posts_table.c.post_id == e.post_id)
                    .values(enrichment=e.to_dict())
                )
            self.update_batch(batch_id, stage="classified", conn=conn)

    def update_batch(
        self,
        batch_id: str,
        *,
        stage: str,
        counts: dict[str, int] | None = None,
        conn: Connection | None = None,
    ) -> None:
        with self._conn(conn) as c:
            values: dict[str, Any] = {"stage": stage, "updated_at": _now()}
            if counts is not None:
                old = c.execute(
                    select(batches_table.c.counts).where(batches_table.c.batch_id == batch_id)
                ).scalar_one()
                values["counts"] = {**old, **counts}
            c.execute(
                update(batches_table).where(batches_table.c.batch_id == batch_id).values(**values)
            )

    def run_batches(self, run_id: str) -> list[dict[str, Any]]:
        stmt = (
            select(batches_table)
            .where(batches_table.c.run_id == run_id)
            .order_by(batches_table.c.source)
        )
        with self.engine.connect() as conn:
            return [dict(r._mapping) for r in conn.execute(stmt)]

    def start_run(self, run_id: str) -> None:
        with self.engine.begin() as conn:
            self._upsert(
                conn,
                runs_table,
                [{"run_id": run_id, "started_at": _now(), "finished_at": None, "summary": None}],
                ["run_id"],
                update=[],
            )

    def finish_run(self, run_id: str, summary: dict[str, Any]) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(runs_table)
                .where(runs_table.c.run_id == run_id)
                .values(finished_at=_now(), summary=summary)
            )

    def last_run(self) -> dict[str, Any] | None:
        stmt = (
            select(runs_table)
            .where(runs_table.c.finished_at.is_not(None))
            .order_by(runs_table.c.finished_at.desc())
            .limit(1)
        )
        with self.engine.connect() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else dict(row._mapping)

    @contextmanager
    def _conn(self, conn: Connection | None) -> Iterator[Connection]:
        if conn is not None:
            yield conn
        else:
            with self.engine.begin() as new:
                yield new


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cursor = dbapi_conn.cursor()
    # WAL lets the CLI read while an Airflow task writes; busy_timeout waits out short locks.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _last_wins(items: Sequence[Any], key: Any = lambda p: p.id) -> list[Any]:
    """Drop earlier duplicates of the same key (one statement may not touch a row twice)."""
    return list({key(item): item for item in items}.values())


def _post_row(post: Post, now: datetime) -> dict[str, Any]:
    return {
        "id": post.id,
        "source": post.source,
        "url": post.url,
        "author_id": post.author.id,
        "author_handle": post.author.handle,
        "author_name": post.author.display_name,
        "author_followers": post.author.followers,
        "author_verified": post.author.verified,
        "title": post.title,
        "text": post.text,
        "language": post.language,
        "created_at": post.created_at,
        "conversation_id": post.conversation_id,
        "in_reply_to_id": post.in_reply_to_id,
        "metrics": dict(post.metrics),
        "first_seen_at": now,
    }


def _row_post(m: Any) -> Post:
    return Post(
        id=m["id"],
        source=m["source"],
        url=m["url"],
        author=Author(
            id=m["author_id"],
            handle=m["author_handle"],
            display_name=m["author_name"],
            followers=m["author_followers"],
            verified=bool(m["author_verified"]),
        ),
        text=m["text"],
        created_at=m["created_at"],
        language=m["language"],
        conversation_id=m["conversation_id"],
        in_reply_to_id=m["in_reply_to_id"],
        metrics=dict(m["metrics"] or {}),
        title=m["title"],
    )

"""Posts and their classifications (SQL)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.exc import SQLAlchemyError

from core.batching import SQL_BATCH, chunked
from core.insights import Activity
from core.models import ENGAGEMENT_METRICS, Author, Enrichment, Post, RoutingDecision, unchecked
from core.timeutil import now, utc
from storage.base import IndexedPost, QueueItem, StoredRecord
from storage.sql import schema
from storage.sql.database import Database, last_wins, reason

_UPDATABLE = [c.name for c in schema.posts.columns if c.name not in ("id", "first_seen_at")]


class SqlPosts:
    def __init__(self, db: Database) -> None:
        self._db = db

    def upsert(self, posts: Sequence[Post]) -> int:
        unique = last_wins(posts)
        seen = now()
        rows = [post_row(p, seen) for p in unique]
        new: set[str] = set()
        with self._db.begin() as conn:
            for chunk in chunked(rows, SQL_BATCH):
                inserted = self._db.insert_new(conn, schema.posts, chunk, "id")
                known = [row for row in chunk if row["id"] not in inserted]
                self._db.upsert(conn, schema.posts, known, ["id"], update=_UPDATABLE)
                new |= inserted
        return len(new)

    def get(self, post_id: str) -> Post | None:
        with self._db.begin() as conn:
            row = conn.execute(select(schema.posts).where(schema.posts.c.id == post_id)).first()
        return None if row is None else row_post(row._mapping)

    def count(self) -> int:
        with self._db.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(schema.posts)).scalar_one())

    def newest_at(self) -> datetime | None:
        with self._db.begin() as conn:
            value = conn.execute(select(func.max(schema.posts.c.created_at))).scalar_one()
        return None if value is None else utc(value)

    def ids(self, *, source: str, after: str = "", limit: int = 1000) -> list[str]:
        stmt = (
            select(schema.posts.c.id)
            .where(schema.posts.c.source == source)
            .where(schema.posts.c.id > after)
            .order_by(schema.posts.c.id)
            .limit(limit)
        )
        with self._db.begin() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def upsert_enrichments(self, enrichments: Sequence[Enrichment]) -> None:
        updated = now()
        rows = [
            {
                "post_id": e.post_id,
                "sentiment": e.sentiment.label,
                "intent": e.intent.label,
                "move_private": e.private.move_private,
                "spam": e.is_spam,
                "language": e.language.label,
                "data": e.to_dict(),
                "updated_at": updated,
            }
            for e in last_wins(enrichments, key=lambda e: e.post_id)
        ]
        with self._db.begin() as conn:
            for chunk in chunked(rows, SQL_BATCH):
                self._db.upsert(conn, schema.enrichments, chunk, ["post_id"])

    def get_enrichment(self, post_id: str) -> Enrichment | None:
        table = schema.enrichments
        with self._db.begin() as conn:
            row = conn.execute(select(table.c.data).where(table.c.post_id == post_id)).first()
        return None if row is None else Enrichment.from_dict(row[0])

    def records(self, post_ids: Sequence[str]) -> list[StoredRecord]:
        p, e, q = schema.posts, schema.enrichments, schema.queue_items
        found: dict[str, StoredRecord] = {}
        with self._db.begin() as conn:
            for chunk in chunked(list(dict.fromkeys(post_ids)), SQL_BATCH):
                stmt = (
                    select(p, e.c.data.label("enrichment"), *queue_columns())
                    .outerjoin(e, e.c.post_id == p.c.id)
                    .outerjoin(q, q.c.post_id == p.c.id)
                    .where(p.c.id.in_(chunk))
                )
                for row in conn.execute(stmt):
                    m = row._mapping
                    post = row_post(m)
                    data = m["enrichment"]
                    found[post.id] = StoredRecord(
                        post,
                        None if data is None else Enrichment.from_dict(data),
                        None if m["q_queue"] is None else row_queue_item(m, post),
                    )
        return [found[i] for i in post_ids if i in found]

    def indexed(self, post_ids: Sequence[str]) -> list[IndexedPost]:
        p, e, q = schema.posts, schema.enrichments, schema.queue_items
        found: dict[str, IndexedPost] = {}
        with self._db.begin() as conn:
            for chunk in chunked(list(dict.fromkeys(post_ids)), SQL_BATCH):
                stmt = (
                    select(
                        p.c.id,
                        p.c.source,
                        p.c.author_id,
                        p.c.author_handle,
                        p.c.created_at,
                        e.c.language,
                        e.c.sentiment,
                        e.c.intent,
                        e.c.move_private,
                        e.c.spam,
                        e.c.data,
                        q.c.queue,
                        q.c.action,
                        q.c.status,
                        q.c.priority,
                        q.c.sla_due,
                    )
                    .join(e, e.c.post_id == p.c.id)
                    .outerjoin(q, q.c.post_id == p.c.id)
                    .where(p.c.id.in_(chunk))
                )
                for row in conn.execute(stmt):
                    results = row.data["results"]
                    spans = results["pii"]["spans"]
                    found[row.id] = IndexedPost(
                        post_id=row.id,
                        source=row.source,
                        author_id=row.author_id,
                        author_handle=row.author_handle,
                        created_at=row.created_at,
                        redacted_text=str(row.data["redacted_text"]),
                        language=row.language,
                        sentiment=row.sentiment,
                        sentiment_score=float(results["sentiment"]["score"]),
                        intent=row.intent,
                        intent_score=float(results["intent"]["score"]),
                        move_private=bool(row.move_private),
                        spam=bool(row.spam),
                        pii_types=tuple(sorted({span["type"] for span in spans})),
                        queue=row.queue,
                        action=row.action,
                        status=row.status,
                        priority=row.priority,
                        sla_due=row.sla_due,
                    )
        return [found[i] for i in post_ids if i in found]

    def unrouted(self, *, limit: int = 1000) -> list[str]:
        p, q = schema.posts, schema.queue_items
        stmt = (
            select(p.c.id)
            .outerjoin(q, q.c.post_id == p.c.id)
            .where(q.c.post_id.is_(None))
            .order_by(p.c.id)
            .limit(limit)
        )
        with self._db.begin() as conn:
            return [r[0] for r in conn.execute(stmt)]

    def by_handles(self, handles: Sequence[tuple[str, str]], *, limit: int = 50) -> list[Post]:
        if not handles:
            return []
        table = schema.posts
        wanted = or_(
            *(
                and_(
                    table.c.source == network,
                    func.lower(table.c.author_handle) == handle.strip().lstrip("@").lower(),
                )
                for network, handle in handles
            )
        )
        stmt = select(table).where(wanted).order_by(table.c.created_at.desc(), table.c.id)
        with self._db.begin() as conn:
            return [row_post(r._mapping) for r in conn.execute(stmt.limit(limit))]

    def label_rows(self, *, since: Any = None) -> Iterator[tuple[Any, str, str]]:
        posts, labels = schema.posts, schema.enrichments
        stmt = select(posts.c.created_at, labels.c.intent, labels.c.sentiment).join(
            labels, labels.c.post_id == posts.c.id
        )
        if since is not None:
            stmt = stmt.where(posts.c.created_at >= since)
        with self._db.begin() as conn:
            for row in conn.execution_options(yield_per=5000).execute(stmt):
                yield row[0], row[1], row[2]

    def activities(
        self, *, since: Any = None, until: Any = None, batch: int = 5000
    ) -> Iterator[Activity]:
        posts, labels = schema.posts, schema.enrichments
        stmt = select(
            posts.c.id,
            posts.c.source,
            posts.c.author_handle,
            posts.c.author_followers,
            posts.c.created_at,
            posts.c.title,
            posts.c.text,
            posts.c.metrics,
            posts.c.conversation_id,
            posts.c.in_reply_to_id,
            posts.c.url,
            labels.c.sentiment,
            labels.c.intent,
            labels.c.spam,
            labels.c.data,
        ).join(labels, labels.c.post_id == posts.c.id)
        if since is not None:
            stmt = stmt.where(posts.c.created_at >= since)
        if until is not None:
            stmt = stmt.where(posts.c.created_at < until)
        with self._db.begin() as conn:
            rows = conn.execution_options(yield_per=batch).execute(
                stmt.order_by(posts.c.created_at)
            )
            for r in rows:
                metrics = r.metrics or {}
                engagement = sum(int(metrics.get(k) or 0) for k in ENGAGEMENT_METRICS)
                sentiment = ((r.data or {}).get("results") or {}).get("sentiment") or {}
                yield Activity(
                    post_id=r.id,
                    source=r.source,
                    handle=r.author_handle,
                    followers=r.author_followers,
                    created_at=r.created_at,
                    text=f"{r.title}\n{r.text}" if r.title else r.text,
                    sentiment=r.sentiment,
                    sentiment_score=float(sentiment.get("score", 1.0)),
                    intent=r.intent,
                    spam=bool(r.spam),
                    engagement=engagement,
                    conversation_id=r.conversation_id,
                    in_reply_to_id=r.in_reply_to_id,
                    url=r.url,
                )

    def unrouted_count(self) -> int:
        p, q = schema.posts, schema.queue_items
        stmt = (
            select(func.count())
            .select_from(p.outerjoin(q, q.c.post_id == p.c.id))
            .where(q.c.post_id.is_(None))
        )
        with self._db.begin() as conn:
            return int(conn.execute(stmt).scalar_one())

    def rejected(self, posts: Sequence[Post], enrichments: Sequence[Enrichment]) -> dict[str, str]:
        labels = {e.post_id: e for e in enrichments}
        refused: dict[str, str] = {}
        with self._db.engine.connect() as conn:
            outer = conn.begin()
            try:
                probe = SqlPosts(self._db.bound(conn))
                for post in posts:
                    savepoint = conn.begin_nested()
                    try:
                        probe.upsert([post])
                        if post.id in labels:
                            probe.upsert_enrichments([labels[post.id]])
                    except SQLAlchemyError as e:
                        refused[post.id] = reason(e)
                    finally:
                        savepoint.rollback()
            finally:
                outer.rollback()
        return refused


def queue_columns() -> list[Any]:
    """The queue item's columns, prefixed ``q_`` so they never clash with the post's."""
    return [c.label(f"q_{c.name}") for c in schema.queue_items.columns]


def row_queue_item(m: Any, post: Post) -> QueueItem:
    decision = RoutingDecision(
        post_id=m["q_post_id"],
        queue=m["q_queue"],
        priority=m["q_priority"],
        action=m["q_action"],
        rule=m["q_rule"],
        decided_at=m["q_decided_at"],
        sla_due=m["q_sla_due"],
        **decision_detail(m["q_detail"]),
    )
    return QueueItem(decision, m["q_status"], post, m["q_assignee"], m["q_case_id"])


def decision_detail(detail: Any) -> dict[str, Any]:
    """The decision's priority breakdown, action detail and tier, as stored in ``detail``."""
    detail = detail or {}
    return {
        "reasons": dict(detail.get("reasons") or {}),
        "detail": dict(detail.get("action") or {}),
        "tier": detail.get("tier") or "standard",
    }


def post_row(post: Post, first_seen_at: Any) -> dict[str, Any]:
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
        "first_seen_at": first_seen_at,
        "cleaned": list(post.cleaned) or None,
    }


def row_post(m: Any) -> Post:
    """A stored post (checked when it was stored: not checked again)."""
    author = {
        "id": m["author_id"],
        "handle": m["author_handle"],
        "display_name": m["author_name"],
        "followers": m["author_followers"],
        "verified": bool(m["author_verified"]),
    }
    return unchecked(
        Post,
        {
            "id": m["id"],
            "source": m["source"],
            "url": m["url"],
            "author": unchecked(Author, author),
            "text": m["text"],
            "created_at": m["created_at"],
            "language": m["language"],
            "conversation_id": m["conversation_id"],
            "in_reply_to_id": m["in_reply_to_id"],
            "metrics": dict(m["metrics"] or {}),
            "title": m["title"],
            "cleaned": tuple(m["cleaned"] or ()),
        },
    )

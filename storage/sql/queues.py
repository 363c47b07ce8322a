"""Queue items and their status history (SQL)."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select, update

from core.batching import SQL_BATCH, chunked
from core.errors import ConflictError, NotFoundError
from core.models import RoutingDecision
from core.timeutil import now
from storage.base import QueueEvent, QueueItem
from storage.sql import schema
from storage.sql.database import Database, last_wins
from storage.sql.posts import queue_columns, row_post, row_queue_item

_ITEMS = schema.queue_items


class SqlQueues:
    def __init__(self, db: Database) -> None:
        self._db = db

    def add_decisions(self, decisions: Sequence[RoutingDecision]) -> list[RoutingDecision]:
        unique = last_wins(decisions, key=lambda d: d.post_id)
        updated = now()
        rows = [
            {
                "post_id": d.post_id,
                "queue": d.queue,
                "priority": d.priority,
                "action": d.action,
                "rule": d.rule,
                "decided_at": d.decided_at,
                "sla_due": d.sla_due,
                "status": d.initial_status,
                "updated_at": updated,
                "assignee": None,
                "case_id": None,
                "detail": {"reasons": d.reasons, "action": d.detail, "tier": d.tier},
            }
            for d in unique
        ]
        new: set[str] = set()
        with self._db.begin() as conn:
            # Never overwrite: an agent may have claimed the item since it was first routed.
            for chunk in chunked(rows, SQL_BATCH):
                new |= self._db.insert_new(conn, _ITEMS, chunk, "post_id")
        return [d for d in unique if d.post_id in new]

    def get(self, post_id: str) -> QueueItem | None:
        items = self._select(post_id=post_id, limit=1)
        return items[0] if items else None

    def items(
        self, *, queue: str | None = None, status: str | None = None, limit: int = 50
    ) -> list[QueueItem]:
        return self._select(queue=queue, status=status, limit=limit)

    def _select(
        self,
        *,
        post_id: str | None = None,
        queue: str | None = None,
        status: str | None = None,
        limit: int,
    ) -> list[QueueItem]:
        stmt = select(schema.posts, *queue_columns()).join(
            schema.posts, schema.posts.c.id == _ITEMS.c.post_id
        )
        if post_id is not None:
            stmt = stmt.where(_ITEMS.c.post_id == post_id)
        if queue:
            stmt = stmt.where(_ITEMS.c.queue == queue)
        if status:
            stmt = stmt.where(_ITEMS.c.status == status)
        stmt = stmt.order_by(
            _ITEMS.c.priority.desc(), _ITEMS.c.sla_due.asc(), _ITEMS.c.post_id
        ).limit(limit)
        with self._db.begin() as conn:
            rows = conn.execute(stmt).all()
        return [row_queue_item(r._mapping, row_post(r._mapping)) for r in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        stmt = select(_ITEMS.c.queue, _ITEMS.c.status, func.count()).group_by(
            _ITEMS.c.queue, _ITEMS.c.status
        )
        with self._db.begin() as conn:
            return {(q, s): int(n) for q, s, n in conn.execute(stmt)}

    def transition(
        self,
        post_id: str,
        *,
        from_status: str,
        to_status: str,
        actor: str,
        assignee: str | None,
    ) -> QueueItem:
        at = now()
        with self._db.begin() as conn:
            # The status check is part of the UPDATE itself (and the UPDATE comes first, so the
            # write lock is taken at once): of two concurrent transitions from the same status,
            # exactly one changes the row.
            result = conn.execute(
                update(_ITEMS)
                .where(_ITEMS.c.post_id == post_id)
                .where(_ITEMS.c.status == from_status)
                .values(status=to_status, assignee=assignee, updated_at=at)
            )
            if result.rowcount != 1:
                latest = conn.execute(
                    select(_ITEMS.c.status, _ITEMS.c.assignee).where(_ITEMS.c.post_id == post_id)
                ).first()
                if latest is None:
                    raise NotFoundError(f"post {post_id!r} is in no queue")
                holder = f" by {latest.assignee}" if latest.assignee else ""
                raise ConflictError(
                    f"post {post_id!r} is already {latest.status}{holder}, no longer"
                    f" {from_status}: it was not changed to {to_status}"
                )
            conn.execute(
                schema.queue_events.insert().values(
                    post_id=post_id,
                    from_status=from_status,
                    to_status=to_status,
                    actor=actor,
                    at=at,
                )
            )
        item = self.get(post_id)
        assert item is not None  # updated in the transaction above
        return item

    def events(self, post_id: str) -> list[QueueEvent]:
        table = schema.queue_events
        stmt = select(table).where(table.c.post_id == post_id).order_by(table.c.id)
        with self._db.begin() as conn:
            return [
                QueueEvent(r.post_id, r.from_status, r.to_status, r.actor, r.at)
                for r in conn.execute(stmt)
            ]

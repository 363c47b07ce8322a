"""Batches waiting between pipeline steps, and the runs they belong to (SQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, func, select, update

from core.batching import SQL_BATCH, chunked
from core.errors import ConflictError, NotFoundError
from core.models import Enrichment, Post
from core.timeutil import now
from storage.base import OPEN_STAGES, Batch, Run
from storage.sql import schema
from storage.sql.database import Database, last_wins

_BATCHES = schema.batches
_ITEMS = schema.batch_posts
_RUNS = schema.runs


class SqlStaging:
    def __init__(self, db: Database) -> None:
        self._db = db

    def stage_batch(
        self,
        *,
        batch_id: str,
        run_id: str,
        source: str,
        posts: Sequence[Post],
        pending_cursor: Mapping[str, Any] | None,
        counts: Mapping[str, int],
        cursor_key: str | None = None,
    ) -> None:
        staged = now()
        row = {
            "batch_id": batch_id,
            "run_id": run_id,
            "source": source,
            "stage": "collected",
            "pending_cursor": None if pending_cursor is None else dict(pending_cursor),
            "cursor_key": cursor_key,
            "counts": dict(counts),
            "created_at": staged,
            "updated_at": staged,
        }
        items = [
            {"batch_id": batch_id, "post_id": p.id, "position": i, "post": p.to_dict()}
            for i, p in enumerate(last_wins(posts))
        ]
        with self._db.begin() as conn:
            conn.execute(delete(_ITEMS).where(_ITEMS.c.batch_id == batch_id))
            self._db.upsert(conn, _BATCHES, [row], ["batch_id"])
            for chunk in chunked(items, SQL_BATCH):
                self._db.insert(conn, _ITEMS, chunk)

    def batch(self, batch_id: str) -> Batch:
        with self._db.begin() as conn:
            row = conn.execute(select(_BATCHES).where(_BATCHES.c.batch_id == batch_id)).first()
        if row is None:
            raise NotFoundError(f"unknown batch {batch_id!r}")
        return _batch(row._mapping)

    def batch_items(self, batch_id: str) -> list[tuple[Post, Enrichment | None]]:
        stmt = (
            select(_ITEMS.c.post, _ITEMS.c.enrichment)
            .where(_ITEMS.c.batch_id == batch_id)
            .order_by(_ITEMS.c.position)
        )
        with self._db.begin() as conn:
            return [
                (Post.from_dict(p, trusted=True), None if e is None else Enrichment.from_dict(e))
                for p, e in conn.execute(stmt)
            ]

    def stage_enrichments(
        self,
        batch_id: str,
        enrichments: Sequence[Enrichment],
        *,
        dropped: Sequence[str] = (),
    ) -> None:
        rows = [{"b_post_id": e.post_id, "b_enrichment": e.to_dict()} for e in enrichments]
        stmt = (
            update(_ITEMS)
            .where(_ITEMS.c.batch_id == batch_id)
            .where(_ITEMS.c.post_id == bindparam("b_post_id"))
            .values(enrichment=bindparam("b_enrichment"))
        )
        with self._db.begin() as conn:
            staging = SqlStaging(self._db.bound(conn))
            staging.advance(batch_id, from_stages=("collected", "classified"), to="classified")
            for chunk in chunked(rows, SQL_BATCH):
                conn.execute(stmt, list(chunk))
            if dropped:
                staging.drop_items(batch_id, dropped)

    def advance(self, batch_id: str, *, from_stages: Sequence[str], to: str) -> None:
        with self._db.begin() as conn:
            result = conn.execute(
                update(_BATCHES)
                .where(_BATCHES.c.batch_id == batch_id)
                .where(_BATCHES.c.stage.in_(list(from_stages)))
                .values(stage=to, updated_at=now())
            )
            if result.rowcount == 1:
                return
            stage = conn.execute(
                select(_BATCHES.c.stage).where(_BATCHES.c.batch_id == batch_id)
            ).scalar_one_or_none()
        if stage is None:
            raise NotFoundError(f"unknown batch {batch_id!r}")
        raise ConflictError(
            f"batch {batch_id} is {stage}, not {' or '.join(from_stages)}: cannot make it {to}"
        )

    def drop_items(self, batch_id: str, post_ids: Sequence[str] | None = None) -> int:
        stmt = delete(_ITEMS).where(_ITEMS.c.batch_id == batch_id)
        with self._db.begin() as conn:
            if post_ids is None:
                return int(conn.execute(stmt).rowcount)
            return sum(
                int(conn.execute(stmt.where(_ITEMS.c.post_id.in_(chunk))).rowcount)
                for chunk in chunked(list(post_ids), SQL_BATCH)
            )

    def open_batches(self) -> list[Batch]:
        stmt = (
            select(_BATCHES)
            .where(_BATCHES.c.stage.in_(OPEN_STAGES))
            .order_by(_BATCHES.c.created_at, _BATCHES.c.batch_id)
        )
        with self._db.begin() as conn:
            return [_batch(r._mapping) for r in conn.execute(stmt)]

    def item_count(self) -> int:
        with self._db.begin() as conn:
            return int(conn.execute(select(func.count()).select_from(_ITEMS)).scalar_one())

    def update_batch(
        self, batch_id: str, *, stage: str, counts: Mapping[str, int] | None = None
    ) -> None:
        values: dict[str, Any] = {"stage": stage, "updated_at": now()}
        with self._db.begin() as conn:
            if counts is not None:
                old = conn.execute(
                    select(_BATCHES.c.counts).where(_BATCHES.c.batch_id == batch_id)
                ).scalar_one_or_none()
                if old is None:
                    raise NotFoundError(f"unknown batch {batch_id!r}")
                values["counts"] = {**old, **counts}
            conn.execute(update(_BATCHES).where(_BATCHES.c.batch_id == batch_id).values(**values))

    def run_batches(self, run_id: str) -> list[Batch]:
        stmt = select(_BATCHES).where(_BATCHES.c.run_id == run_id).order_by(_BATCHES.c.source)
        with self._db.begin() as conn:
            return [_batch(r._mapping) for r in conn.execute(stmt)]

    def start_run(self, run_id: str, *, owner: str) -> None:
        started = now()
        row = {
            "run_id": run_id,
            "started_at": started,
            "finished_at": None,
            "summary": None,
            "owner": owner,
            "heartbeat_at": started,
        }
        with self._db.begin() as conn:
            self._db.upsert(conn, _RUNS, [row], ["run_id"], update=["owner", "heartbeat_at"])

    def touch_run(self, run_id: str) -> None:
        with self._db.begin() as conn:
            conn.execute(update(_RUNS).where(_RUNS.c.run_id == run_id).values(heartbeat_at=now()))

    def run(self, run_id: str) -> Run | None:
        with self._db.begin() as conn:
            row = conn.execute(select(_RUNS).where(_RUNS.c.run_id == run_id)).first()
        if row is None:
            return None
        m = row._mapping
        return Run(
            run_id=m["run_id"],
            owner=m["owner"],
            started_at=m["started_at"],
            heartbeat_at=m["heartbeat_at"] or m["started_at"],
            finished_at=m["finished_at"],
            summary=None if m["summary"] is None else dict(m["summary"]),
        )

    def annotate_run(self, run_id: str, values: Mapping[str, Any]) -> None:
        with self._db.begin() as conn:
            old = conn.execute(
                select(_RUNS.c.summary).where(_RUNS.c.run_id == run_id)
            ).scalar_one_or_none()
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id)
                .values(summary={**(old or {}), **values})
            )

    def prune(self, *, before: datetime) -> int:
        """Delete finished runs that ended before ``before``, with their batches."""
        with self._db.begin() as conn:
            old = [
                r[0]
                for r in conn.execute(
                    select(_RUNS.c.run_id)
                    .where(_RUNS.c.finished_at.is_not(None))
                    .where(_RUNS.c.finished_at < before)
                )
            ]
            for chunk in chunked(old, SQL_BATCH):
                batch_ids = select(_BATCHES.c.batch_id).where(_BATCHES.c.run_id.in_(chunk))
                conn.execute(delete(_ITEMS).where(_ITEMS.c.batch_id.in_(batch_ids)))
                conn.execute(delete(_BATCHES).where(_BATCHES.c.run_id.in_(chunk)))
                conn.execute(delete(_RUNS).where(_RUNS.c.run_id.in_(chunk)))
        return len(old)

    def finish_run(self, run_id: str, summary: Mapping[str, Any]) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id)
                .values(finished_at=now(), heartbeat_at=now(), summary=dict(summary))
            )

    def last_run(self) -> dict[str, Any] | None:
        stmt = (
            select(_RUNS.c.run_id, _RUNS.c.started_at, _RUNS.c.finished_at, _RUNS.c.summary)
            .where(_RUNS.c.finished_at.is_not(None))
            .order_by(_RUNS.c.finished_at.desc())
            .limit(1)
        )
        with self._db.begin() as conn:
            row = conn.execute(stmt).first()
        return None if row is None else dict(row._mapping)


def _batch(m: Any) -> Batch:
    return Batch(
        batch_id=m["batch_id"],
        run_id=m["run_id"],
        source=m["source"],
        stage=m["stage"],
        created_at=m["created_at"],
        pending_cursor=None if m["pending_cursor"] is None else dict(m["pending_cursor"]),
        counts=dict(m["counts"]),
        cursor_key=m["cursor_key"],
    )

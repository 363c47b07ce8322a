"""Batches waiting between pipeline steps, and the runs they belong to (SQL)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import delete, select, update

from core.batching import SQL_BATCH, chunked
from core.errors import NotFoundError
from core.models import Enrichment, Post
from core.timeutil import now
from storage.base import Batch
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
    ) -> None:
        staged = now()
        row = {
            "batch_id": batch_id,
            "run_id": run_id,
            "source": source,
            "stage": "collected",
            "pending_cursor": None if pending_cursor is None else dict(pending_cursor),
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
                conn.execute(_ITEMS.insert(), list(chunk))

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
                (Post.from_dict(p), None if e is None else Enrichment.from_dict(e))
                for p, e in conn.execute(stmt)
            ]

    def stage_enrichments(self, batch_id: str, enrichments: Sequence[Enrichment]) -> None:
        with self._db.begin() as conn:
            for e in enrichments:
                conn.execute(
                    update(_ITEMS)
                    .where(_ITEMS.c.batch_id == batch_id)
                    .where(_ITEMS.c.post_id == e.post_id)
                    .values(enrichment=e.to_dict())
                )
            SqlStaging(self._db.bound(conn)).update_batch(batch_id, stage="classified")

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

    def start_run(self, run_id: str) -> None:
        row = {"run_id": run_id, "started_at": now(), "finished_at": None, "summary": None}
        with self._db.begin() as conn:
            self._db.upsert(conn, _RUNS, [row], ["run_id"], update=[])

    def finish_run(self, run_id: str, summary: Mapping[str, Any]) -> None:
        with self._db.begin() as conn:
            conn.execute(
                update(_RUNS)
                .where(_RUNS.c.run_id == run_id)
                .values(finished_at=now(), summary=dict(summary))
            )

    def last_run(self) -> dict[str, Any] | None:
        stmt = (
            select(_RUNS)
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
        pending_cursor=None if m["pending_cursor"] is None else dict(m["pending_cursor"]),
        counts=dict(m["counts"]),
    )

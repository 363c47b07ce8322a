"""Author scores and spike alerts (SQL)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update

from core.batching import SQL_BATCH, chunked
from core.insights import Alert, AuthorScore
from storage.sql import schema
from storage.sql.database import Database

_SCORES = schema.author_scores
_ALERTS = schema.alerts


class SqlInsights:
    def __init__(self, db: Database) -> None:
        self._db = db

    def replace_scores(self, kind: str, scores: Sequence[AuthorScore]) -> None:
        rows = [
            {
                "kind": kind,
                "key": s.key,
                "rank": rank,
                "score": s.score,
                "components": dict(s.components),
                "evidence": list(s.evidence),
                "handles": [list(h) for h in s.handles],
                "profile_id": s.profile_id,
                "tier": s.tier,
                "computed_at": s.computed_at,
            }
            for rank, s in enumerate(scores, start=1)
        ]
        with self._db.begin() as conn:  # one transaction: readers see the old or the new list
            conn.execute(delete(_SCORES).where(_SCORES.c.kind == kind))
            for chunk in chunked(rows, SQL_BATCH):
                self._db.insert(conn, _SCORES, chunk)

    def scores(
        self, kind: str, *, limit: int | None = None, keys: Sequence[str] | None = None
    ) -> list[AuthorScore]:
        stmt = select(_SCORES).where(_SCORES.c.kind == kind).order_by(_SCORES.c.rank)
        if keys is not None:
            stmt = stmt.where(_SCORES.c.key.in_(list(keys)))
        if limit is not None:
            stmt = stmt.limit(limit)
        with self._db.begin() as conn:
            return [_row_score(r._mapping) for r in conn.execute(stmt)]

    def add_alerts(self, alerts: Sequence[Alert]) -> list[Alert]:
        """Store alerts; returns the new ones (an alert of the same hour is kept once)."""
        by_id = {a.id: a for a in alerts}
        rows = [
            {
                "id": a.id,
                "kind": a.kind,
                "key": a.key,
                "window_start": a.window_start,
                "window_end": a.window_end,
                "count": a.count,
                "baseline": a.baseline,
                "p_value": a.p_value,
                "method": a.method,
                "examples": list(a.examples),
                "created_at": a.created_at,
                "notified_at": None,
            }
            for a in by_id.values()
        ]
        new: set[str] = set()
        with self._db.begin() as conn:
            for chunk in chunked(rows, SQL_BATCH):
                new |= self._db.insert_new(conn, _ALERTS, chunk, "id")
        return [a for a in alerts if a.id in new]

    def alerts(
        self, *, since: datetime | None = None, unnotified: bool = False, limit: int = 100
    ) -> list[Alert]:
        stmt = select(_ALERTS).order_by(_ALERTS.c.window_start.desc(), _ALERTS.c.id).limit(limit)
        if since is not None:
            stmt = stmt.where(_ALERTS.c.window_start >= since)
        if unnotified:
            stmt = stmt.where(_ALERTS.c.notified_at.is_(None))
        with self._db.begin() as conn:
            return [_row_alert(r._mapping) for r in conn.execute(stmt)]

    def mark_notified(self, alert_ids: Sequence[str], at: datetime) -> None:
        with self._db.begin() as conn:
            for chunk in chunked(list(alert_ids), SQL_BATCH):
                conn.execute(update(_ALERTS).where(_ALERTS.c.id.in_(chunk)).values(notified_at=at))


def _row_score(m: Any) -> AuthorScore:
    return AuthorScore(
        kind=m["kind"],
        key=m["key"],
        handles=tuple((n, h) for n, h in m["handles"]),
        score=float(m["score"]),
        components={k: float(v) for k, v in m["components"].items()},
        evidence=tuple(m["evidence"]),
        computed_at=m["computed_at"],
        profile_id=m["profile_id"],
        tier=m["tier"],
    )


def _row_alert(m: Any) -> Alert:
    return Alert(
        kind=m["kind"],
        key=m["key"],
        window_start=m["window_start"],
        window_end=m["window_end"],
        count=int(m["count"]),
        baseline=float(m["baseline"]),
        p_value=float(m["p_value"]),
        method=m["method"],
        examples=tuple(m["examples"]),
        created_at=m["created_at"],
    )

"""What operators read: the last run and every queue by status, and each source's state."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from core.config import Config
from core.models import QUEUE_STATUSES, DeadLetter
from core.timeutil import from_iso, now
from services.runtime import open_store

X_SEARCH_WINDOW = timedelta(days=7)


def last_run(config: Config) -> dict[str, Any] | None:
    """The summary of the last finished run, if any."""
    run = open_store(config).staging.last_run()
    return None if run is None else run["summary"]


def format_report(config: Config, summary: dict[str, Any] | None) -> str:
    """What a person wants after a run: what was new, what went where, what is waiting."""
    store = open_store(config)
    lines = []
    if summary is None:
        lines.append("No run has finished yet. Start one with `make run` or `earshot run --once`.")
    else:
        per_source = ", ".join(f"{n} {s['new']}" for n, s in summary["sources"].items())
        lines.append(
            f"Run {summary['run_id']}: {summary['new_posts']} new posts ({per_source}),"
            f" {summary['dead_letters']} bad records sent to the dead-letter table"
        )
        recovered = summary.get("recovered") or {}
        if recovered.get("routed") or recovered.get("batches_abandoned"):
            lines.append(
                f"Finished what an earlier run left: routed {recovered.get('routed', 0)} stored"
                f" posts, abandoned {recovered.get('batches_abandoned', 0)} unstored batches"
                " (their posts are collected again)"
            )
        if summary["routed"]:
            lines.append("Routed in this run:")
            for queue, n in sorted(summary["routed"].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {queue:<10} {n:>5}")
        else:
            lines.append("Routed in this run: nothing new")
        grouped = summary.get("cases") or {}
        if any(grouped.values()):
            lines.append(
                f"Cases in this run: {grouped.get('opened', 0)} opened,"
                f" {grouped.get('joined', 0)} posts joined an open conversation,"
                f" {grouped.get('reopened', 0)} reopened,"
                f" {grouped.get('brand_replies', 0)} brand replies recorded as first responses"
            )
        sla = summary.get("sla") or {}
        if sla.get("breached"):
            lines.append(
                f"SLA: {sla['breached']} cases newly past their due time with no response"
                " (flagged; `earshot cases list` shows them as BREACHED)"
            )
    counts = store.queues.counts()
    lines.append("All routed posts (by queue and their case's status):")
    lines.append(
        f"  {'queue':<10} " + " ".join(f"{s:>13}" for s in QUEUE_STATUSES) + f" {'total':>7}"
    )
    for queue in sorted({q for q, _ in counts}):
        row = [counts.get((queue, s), 0) for s in QUEUE_STATUSES]
        lines.append(f"  {queue:<10} " + " ".join(f"{n:>13}" for n in row) + f" {sum(row):>7}")
    lines.append(f"Posts stored: {store.posts.count()}")
    unrouted = store.posts.unrouted_count()
    if unrouted:
        lines.append(
            f"WARNING: {unrouted} stored posts are in no queue (a run stopped before routing"
            " them, or routing failed): the next run routes them; if it fails again, check"
            " the routing rules"
        )
    open_batches = store.staging.open_batches()
    if open_batches:
        lines.append(
            f"Unfinished batches: {len(open_batches)} (a run stopped or is still running);"
            " the next run finishes those of stopped runs"
        )
    waiting = store.outbox.count()
    if waiting:
        lines.append(f"Waiting for the search index: {waiting} changes (sent on the next run)")
    return "\n".join(lines)


def dead_letters(config: Config, *, limit: int = 100) -> list[DeadLetter]:
    """Records that could not be processed, oldest first, with where they came from and why."""
    return open_store(config).dead_letters.list(limit=limit)


def sources_status(config: Config, at: datetime | None = None) -> list[dict[str, Any]]:
    """Each configured source with its cursor, last success, rate limit and coverage gaps.

    A live X source whose last success is older than the 7-day search window is reported as
    an open gap even before the next run records it.
    """
    at = at or now()
    cursors = open_store(config).cursors.all()
    rows = []
    for source in config.sources:
        value, updated_at = cursors.get(source.name, ({}, None))
        last = value.get("last_success") or (updated_at.isoformat() if updated_at else None)
        open_gap = None
        last_success = from_iso(value.get("last_success"))
        if source.type == "x" and last_success is not None:
            age = at - last_success
            if age > X_SEARCH_WINDOW:
                open_gap = f"last success {age.days} days ago: older than X's 7-day search window"
        rows.append(
            {
                "name": source.name,
                "type": source.type,
                "network": source.network,
                "position": value.get("streams") or value.get("lines") or {},
                "last_success": last,
                "rate_limited_until": value.get("rate_limited_until"),
                "gaps": list(value.get("gaps") or []),
                "open_gap": open_gap,
            }
        )
    return rows

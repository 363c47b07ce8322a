"""The pipeline steps as plain functions: collect -> classify -> store and index -> route.

The Airflow DAG and ``earshot run --once`` call exactly these. Steps hand each other a batch
id; the batch itself is staged in the store, so a retried step redoes its own work and
nothing else. A source's cursor advances only in the same transaction that commits its posts.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import Any

from core import metrics
from core.config import Config, load_config
from core.store import Store

log = logging.getLogger(__name__)
CLASSIFY_CHUNK = 256
Progress = Callable[[str], None]


@lru_cache(maxsize=4)
def _store(url: str) -> Store:
    store = Store(url)
    store.create_schema()
    return store


def open_store(config: Config) -> Store:
    """The configured store, with its schema created if needed (cached per process)."""
    return _store(config.database_url)


@lru_cache(maxsize=4)
def classifier_pipeline(config: Config) -> Any:
    """The configured classifiers (built once per configuration and process)."""
    from nlp.pipeline import build_pipeline

    return build_pipeline(config)


def source_names(config: Config | None = None, *, kind: str | None = None) -> list[str]:
    """Configured source names, optionally only those of one listener type."""
    config = config or load_config()
    return [s.name for s in config.sources if kind is None or s.type == kind]


def start_run(config: Config, run_id: str | None = None) -> str:
    run_id = run_id or f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    open_store(config).start_run(run_id)
    return run_id


def collect(
    config: Config, source_name: str, run_id: str, *, until: datetime | None = None
) -> dict[str, Any]:
    """Fetch new posts from one source and stage them as a batch. Returns ids and counts.

    ``until`` bounds the time window (Airflow passes the end of the data interval). The
    source's new cursor is staged with the batch and saved only when the batch is stored.
    """
    from listeners.base import build_listener

    store = open_store(config)
    listener = build_listener(config.source(source_name), config)
    previous = store.get_cursor(source_name)
    fetch = listener.fetch(previous, until=until)
    dead = store.add_dead_letters(fetch.dead_letters)
    batch_id = f"{run_id}:{source_name}"
    new_gaps = len(fetch.cursor.get("gaps") or []) - len((previous or {}).get("gaps") or [])
    counts = {
        "fetched": len(fetch.posts),
        "dead_letters": len(fetch.dead_letters),
        "new_gaps": max(0, new_gaps),
        "rate_limited": int(bool(fetch.cursor.get("rate_limited_until"))),
    }
    store.stage_batch(
        batch_id=batch_id,
        run_id=run_id,
        source=source_name,
        posts=fetch.posts,
        pending_cursor=fetch.cursor,
        counts=counts,
    )
    metrics.record_collection(
        source_name,
        fetched=counts["fetched"],
        new_gaps=counts["new_gaps"],
        rate_limited=bool(counts["rate_limited"]),
    )
    log.info(
        "collected %d posts from %s (%d bad records, %d new in the dead-letter table)",
        len(fetch.posts),
        source_name,
        len(fetch.dead_letters),
        dead,
    )
    return {"batch_id": batch_id, "source": source_name, **counts}


def classify(config: Config, batch_id: str, progress: Progress | None = None) -> dict[str, Any]:
    """Run the configured classifiers over a staged batch."""
    store = open_store(config)
    posts = store.batch_posts(batch_id)
    pipeline = classifier_pipeline(config)
    enrichments = []
    for start in range(0, len(posts), CLASSIFY_CHUNK):
        enrichments.extend(pipeline.run(posts[start : start + CLASSIFY_CHUNK]))
        if progress and len(posts) > CLASSIFY_CHUNK:
            progress(f"classified {len(enrichments)}/{len(posts)} posts of {batch_id}")
    store.stage_enrichments(batch_id, enrichments)
    intents = Counter(e.intent.label for e in enrichments)
    log.info("classified %d posts of %s: %s", len(enrichments), batch_id, dict(intents))
    return {"batch_id": batch_id, "classified": len(enrichments)}


def store_and_index(config: Config, batch_id: str) -> dict[str, Any]:
    """Commit a classified batch: posts, enrichments, search index and the source's cursor."""
    store = open_store(config)
    batch = store.batch(batch_id)
    items = store.batch_items(batch_id)
    unclassified = [post.id for post, enrichment in items if enrichment is None]
    if unclassified:
        raise RuntimeError(
            f"batch {batch_id} has {len(unclassified)} unclassified posts"
            f" (first: {unclassified[0]}); run classify first"
        )
    posts = [post for post, _ in items]
    enrichments = [e for _, e in items if e is not None]
    with store.transaction() as conn:
        new = store.upsert_posts(posts, conn)
        store.upsert_enrichments(enrichments, conn)
        store.index([(e.post_id, e.redacted_text) for e in enrichments], conn)
        if batch["pending_cursor"] is not None:
            store.set_cursor(batch["source"], batch["pending_cursor"], conn)
        store.update_batch(batch_id, stage="stored", counts={"new": new}, conn=conn)
    log.info("stored %d posts of %s (%d new)", len(posts), batch_id, new)
    return {"batch_id": batch_id, "stored": len(posts), "new": new}


def route(config: Config, batch_id: str) -> dict[str, Any]:
    """Route a stored batch to queues. Posts already in a queue keep their place."""
    from routing import Router, load_routing

    store = open_store(config)
    router = Router(load_routing(config.routing_path))
    items = store.batch_items(batch_id)
    posts = [post for post, _ in items]
    enrichments = [e for _, e in items if e is not None]
    decisions = router.route(posts, enrichments)
    new = store.add_decisions(decisions)
    routed = len(new)
    by_queue = Counter(d.queue for d in new)
    store.update_batch(
        batch_id,
        stage="routed",
        counts={"routed": routed, **{f"queue:{q}": n for q, n in by_queue.items()}},
    )
    log.info("routed %d new posts of %s: %s", routed, batch_id, dict(by_queue))
    return {"batch_id": batch_id, "routed": routed}


def compliance(
    config: Config, source_name: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Re-check every stored post of a source's network; remove what was deleted, made
    protected or removed, from the store, the queues and the search index (with an audit
    record of each removal)."""
    from listeners.base import build_listener

    source = config.source(source_name)
    store = open_store(config)
    listener = build_listener(source, config)
    checked = removed = 0
    after = ""
    while ids := store.post_ids(source=source.network, after=after, limit=1000):
        removals = listener.check(ids)
        removed += store.remove_posts([(r.post_id, r.reason) for r in removals], source=source_name)
        checked += len(ids)
        after = ids[-1]
        if progress:
            progress(f"{source_name}: checked {checked} posts, removed {removed}")
    log.info("compliance %s: checked %d posts, removed %d", source_name, checked, removed)
    return {"source": source_name, "checked": checked, "removed": removed}


def sources_status(config: Config, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each configured source with its cursor, last success, rate limit and coverage gaps.

    A live X source whose last success is older than the 7-day search window is reported as
    an open gap even before the next run records it.
    """
    now = now or datetime.now(UTC)
    cursors = open_store(config).cursors()
    rows = []
    for source in config.sources:
        value, updated_at = cursors.get(source.name, ({}, None))
        last = value.get("last_success") or (updated_at.isoformat() if updated_at else None)
        gaps = list(value.get("gaps") or [])
        open_gap = None
        if source.type == "x" and value.get("last_success"):
            age = now - datetime.fromisoformat(value["last_success"])
            if age > timedelta(days=7):
                open_gap = f"last success {age.days} days ago: older than X's 7-day search window"
        rows.append(
            {
                "name": source.name,
                "type": source.type,
                "network": source.network,
                "position": value.get("streams") or value.get("lines") or {},
                "last_success": last,
                "rate_limited_until": value.get("rate_limited_until"),
                "gaps": gaps,
                "open_gap": open_gap,
            }
        )
    return rows


def finish_run(config: Config, run_id: str) -> dict[str, Any]:
    """Sum up a run's batches, record the summary and return it."""
    store = open_store(config)
    batches = store.run_batches(run_id)
    sources = {}
    routed: Counter[str] = Counter()
    for batch in batches:
        counts = batch["counts"]
        sources[batch["source"]] = {
            "fetched": counts.get("fetched", 0),
            "new": counts.get("new", 0),
            "dead_letters": counts.get("dead_letters", 0),
            "stage": batch["stage"],
        }
        for key, value in counts.items():
            if key.startswith("queue:"):
                routed[key.removeprefix("queue:")] += value
    summary = {
        "run_id": run_id,
        "new_posts": sum(s["new"] for s in sources.values()),
        "dead_letters": sum(s["dead_letters"] for s in sources.values()),
        "sources": sources,
        "routed": dict(routed),
    }
    store.finish_run(run_id, summary)
    return summary


def run_once(config: Config | None = None, progress: Progress | None = None) -> dict[str, Any]:
    """One listening cycle over every configured source, without Airflow."""
    config = config or load_config()
    run_id = start_run(config)
    for name in source_names(config):
        batch = collect(config, name, run_id)
        if progress:
            progress(
                f"{name}: fetched {batch['fetched']} posts, {batch['dead_letters']} bad records"
            )
        classify(config, batch["batch_id"], progress)
        store_and_index(config, batch["batch_id"])
        route(config, batch["batch_id"])
    return finish_run(config, run_id)


def format_report(summary: dict[str, Any] | None, store: Store) -> str:
    """What a person wants after a run: what was new, what went where, what is waiting."""
    lines = []
    if summary is None:
        lines.append("No run has finished yet. Start one with `make run` or `earshot run --once`.")
    else:
        per_source = ", ".join(f"{n} {s['new']}" for n, s in summary["sources"].items())
        lines.append(
            f"Run {summary['run_id']}: {summary['new_posts']} new posts ({per_source}),"
            f" {summary['dead_letters']} bad records sent to the dead-letter table"
        )
        if summary["routed"]:
            lines.append("Routed in this run:")
            for queue, n in sorted(summary["routed"].items(), key=lambda kv: (-kv[1], kv[0])):
                lines.append(f"  {queue:<10} {n:>5}")
        else:
            lines.append("Routed in this run: nothing new")
    counts = store.queue_counts()
    queues = sorted({q for q, _ in counts})
    statuses = ["new", "claimed", "moved_private", "resolved", "no_action"]
    lines.append("All queue items (by status):")
    lines.append(f"  {'queue':<10} " + " ".join(f"{s:>13}" for s in statuses) + f" {'total':>7}")
    for queue in queues:
        row = [counts.get((queue, s), 0) for s in statuses]
        lines.append(f"  {queue:<10} " + " ".join(f"{n:>13}" for n in row) + f" {sum(row):>7}")
    lines.append(f"Posts stored: {store.count_posts()}")
    return "\n".join(lines)

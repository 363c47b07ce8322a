"""The pipeline steps as plain functions: collect -> classify -> store -> route, then index.

The Airflow DAG and ``earshot run --once`` call exactly these. Steps hand each other a batch
id; the batch itself is staged in the store, so a retried step redoes its own work and nothing
else. A source's cursor advances only in the same transaction that commits its posts, and the
search index learns of each change from the outbox written in that transaction.
"""

from __future__ import annotations

import logging
import secrets
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from core.batching import CLASSIFY_BATCH, chunked
from core.config import Config
from core.errors import StoreError
from services import indexing, metrics
from services.runtime import open_search, open_store, router

log = logging.getLogger(__name__)
Progress = Callable[[str], None]


def start_run(config: Config, run_id: str | None = None) -> str:
    run_id = run_id or f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    open_store(config).staging.start_run(run_id)
    return run_id


def collect(
    config: Config, source_name: str, run_id: str, *, until: datetime | None = None
) -> dict[str, Any]:
    """Fetch new posts from one source and stage them as a batch. Returns ids and counts.

    ``until`` bounds the time window (Airflow passes the end of the data interval). The
    source's new cursor is staged with the batch and saved only when the batch is stored.
    """
    from listeners import build_listener

    store = open_store(config)
    listener = build_listener(config.source(source_name), base_dir=config.base_dir)
    previous = store.cursors.get(source_name)
    fetch = listener.fetch(previous, until=until)
    dead = store.dead_letters.add(fetch.dead_letters)
    batch_id = f"{run_id}:{source_name}"
    new_gaps = len(fetch.cursor.get("gaps") or []) - len((previous or {}).get("gaps") or [])
    counts = {
        "fetched": len(fetch.posts),
        "dead_letters": len(fetch.dead_letters),
        "new_gaps": max(0, new_gaps),
        "rate_limited": int(bool(fetch.cursor.get("rate_limited_until"))),
    }
    store.staging.stage_batch(
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
    from nlp import shared_pipeline

    store = open_store(config)
    posts = [post for post, _ in store.staging.batch_items(batch_id)]
    pipeline = shared_pipeline(config)
    enrichments = []
    for chunk in chunked(posts, CLASSIFY_BATCH):
        enrichments.extend(pipeline.run(chunk))
        if progress and len(posts) > CLASSIFY_BATCH:
            progress(f"classified {len(enrichments)}/{len(posts)} posts of {batch_id}")
    store.staging.stage_enrichments(batch_id, enrichments)
    intents = Counter(e.intent.label for e in enrichments)
    log.info("classified %d posts of %s: %s", len(enrichments), batch_id, dict(intents))
    return {"batch_id": batch_id, "classified": len(enrichments)}


def store_batch(config: Config, batch_id: str) -> dict[str, Any]:
    """Commit a classified batch in one transaction: posts, labels, the source's cursor and
    the outbox entries that will bring the search index up to date."""
    store = open_store(config)
    batch = store.staging.batch(batch_id)
    items = store.staging.batch_items(batch_id)
    unclassified = [post.id for post, enrichment in items if enrichment is None]
    if unclassified:
        raise StoreError(
            f"batch {batch_id} has {len(unclassified)} unclassified posts"
            f" (first: {unclassified[0]}); run classify first"
        )
    posts = [post for post, _ in items]
    enrichments = [e for _, e in items if e is not None]
    with store.transaction() as tx:
        new = tx.posts.upsert(posts)
        tx.posts.upsert_enrichments(enrichments)
        tx.outbox.add([p.id for p in posts], "upsert")
        if batch.pending_cursor is not None:
            tx.cursors.set(batch.source, batch.pending_cursor)
        tx.staging.update_batch(batch_id, stage="stored", counts={"new": new})
    log.info("stored %d posts of %s (%d new)", len(posts), batch_id, new)
    return {"batch_id": batch_id, "stored": len(posts), "new": new}


def route(config: Config, batch_id: str) -> dict[str, Any]:
    """Route a stored batch to queues. Posts already in a queue keep their place."""
    store = open_store(config)
    items = store.staging.batch_items(batch_id)
    posts = [post for post, _ in items]
    enrichments = [e for _, e in items if e is not None]
    decisions = router(config).route(posts, enrichments)
    with store.transaction() as tx:
        new = tx.queues.add_decisions(decisions)
        tx.outbox.add([d.post_id for d in new], "upsert")
        by_queue = Counter(d.queue for d in new)
        tx.staging.update_batch(
            batch_id,
            stage="routed",
            counts={"routed": len(new), **{f"queue:{q}": n for q, n in by_queue.items()}},
        )
    log.info("routed %d new posts of %s: %s", len(new), batch_id, dict(by_queue))
    return {"batch_id": batch_id, "routed": len(new)}


def index(config: Config, progress: Progress | None = None) -> dict[str, int]:
    """Bring the search index up to date with every change still in the outbox."""
    return indexing.drain(open_store(config), open_search(config), progress=progress)


def compliance(
    config: Config, source_name: str, progress: Progress | None = None
) -> dict[str, Any]:
    """Re-check every stored post of a source's network; remove what was deleted, made
    protected or removed, from the store, the queues and the search index (with an audit
    record of each removal)."""
    from listeners import build_listener

    source = config.source(source_name)
    store = open_store(config)
    listener = build_listener(source, base_dir=config.base_dir)
    checked = removed = 0
    after = ""
    while ids := store.posts.ids(source=source.network, after=after, limit=1000):
        removals = listener.check(ids)
        removed += store.removals.remove(
            [(r.post_id, r.reason) for r in removals], source=source_name
        )
        checked += len(ids)
        after = ids[-1]
        if progress:
            progress(f"{source_name}: checked {checked} posts, removed {removed}")
    index(config)
    log.info("compliance %s: checked %d posts, removed %d", source_name, checked, removed)
    return {"source": source_name, "checked": checked, "removed": removed}


def finish_run(config: Config, run_id: str) -> dict[str, Any]:
    """Sum up a run's batches, record the summary and return it."""
    store = open_store(config)
    sources: dict[str, dict[str, Any]] = {}
    routed: Counter[str] = Counter()
    for batch in store.staging.run_batches(run_id):
        counts = batch.counts
        sources[batch.source] = {
            "fetched": counts.get("fetched", 0),
            "new": counts.get("new", 0),
            "dead_letters": counts.get("dead_letters", 0),
            "stage": batch.stage,
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
    store.staging.finish_run(run_id, summary)
    return summary


def run_once(config: Config, progress: Progress | None = None) -> dict[str, Any]:
    """One listening cycle over every configured source, without Airflow."""
    run_id = start_run(config)
    for name in config.source_names():
        batch = collect(config, name, run_id)
        if progress:
            progress(
                f"{name}: fetched {batch['fetched']} posts, {batch['dead_letters']} bad records"
            )
        classify(config, batch["batch_id"], progress)
        store_batch(config, batch["batch_id"])
        route(config, batch["batch_id"])
    index(config)
    return finish_run(config, run_id)

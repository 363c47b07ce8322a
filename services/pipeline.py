"""The pipeline steps as plain functions: collect -> classify -> store -> route, then index.

The Airflow DAG and ``earshot run --once`` call exactly these. Steps hand each other a batch
id; the batch itself is staged in the store with the stage it reached (collected, classified,
stored, routed), so a retried step redoes its own work and nothing else, and a step that finds
its batch already past it does nothing. A source's cursor advances only in the same transaction
that commits its posts, and the search index learns of each change from the outbox written in
that transaction.

Whatever kills a run, the next one finishes its work (:func:`recover`): a batch that was stored
but not routed is routed; one that was never stored is abandoned, since the source's cursor
never moved and the next collection fetches the same posts again; a stored post without a
queue item (an older Earshot, a routing error) is routed. A run is dead when it finished, when
its process is gone (same host), or when it has shown no sign of life for
:data:`STALE_AFTER`; a live run's batches are left alone, so two runs at once never undo each
other's work.

One bad record never stops a run: listeners turn malformed records into dead letters, a post
the classifiers fail on is dead-lettered alone, and a post the database refuses is found
(each tried alone, rolled back) and dead-lettered while the rest of the batch is stored.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import secrets
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime, timedelta
from typing import Any

from core.batching import CLASSIFY_BATCH, chunked, tune_gc_for_batches
from core.config import Config, XSourceConfig
from core.errors import (
    ConfigError,
    ConflictError,
    ModelMissingError,
    SearchError,
    StoreError,
    UnknownClassifierError,
)
from core.models import DeadLetter, Enrichment, Post
from core.redaction import redact_pii
from core.timeutil import now, to_iso
from services import cases, indexing, metrics
from services.runtime import open_search, open_store, router
from storage import STAGES, Batch, Run, Store

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

STALE_AFTER = timedelta(minutes=30)
"""A run that has shown no sign of life for this long (no step started or finished, no chunk
classified) is taken for dead, and a later run finishes its batches."""
HEARTBEAT_EVERY = 10.0
"""Seconds between a run's signs of life while it waits for classification workers."""
RUN_HISTORY = timedelta(days=30)
"""Finished runs (and their batches' counts) are kept this long for reports."""
MAX_BATCH_ID = 64
BACKFILL_MAX_PAGES = 100_000
"""X pages one backfill stream may read (the live schedule keeps its source's ``max_pages``):
the limit only bounds a backfill's batch, not how far back it reaches."""
SYSTEMIC_ERRORS = (ConfigError, ModelMissingError, UnknownClassifierError)
"""Classifier failures that are not about one post: they stop the step instead of
dead-lettering every post."""


def process_owner() -> str:
    """Who runs a run started in this process: ``<host>:<pid>``."""
    return f"{socket.gethostname()}:{os.getpid()}"


def start_run(config: Config, run_id: str | None = None, *, owner: str | None = None) -> str:
    """Record a new run, owned by this process unless ``owner`` says otherwise (the Airflow
    DAG passes ``airflow:<dag run>``: its steps run in other processes)."""
    run_id = run_id or f"run-{datetime.now(UTC):%Y%m%dT%H%M%S}-{secrets.token_hex(3)}"
    open_store(config).staging.start_run(run_id, owner=owner or process_owner())
    return run_id


def recover(config: Config, run_id: str, progress: Progress | None = None) -> dict[str, int]:
    """Finish what dead runs left: route their stored batches, abandon the others (their
    posts are fetched again), then route every stored post that has no queue item. Returns
    counts; a live run's batches are left alone."""
    store = open_store(config)
    done = {"batches_routed": 0, "batches_abandoned": 0, "routed": 0, "left_to_live_runs": 0}
    for batch in store.staging.open_batches():
        if batch.run_id == run_id:
            continue
        run = store.staging.run(batch.run_id)
        if is_alive(run, current_run=run_id):
            done["left_to_live_runs"] += 1
            log.info(
                "batch %s belongs to run %s (%s), still alive: left alone",
                batch.batch_id,
                batch.run_id,
                run.owner if run else "?",
            )
            continue
        if batch.stage == "stored":
            done["routed"] += route(config, batch.batch_id)["routed"]
            done["batches_routed"] += 1
            log.warning(
                "batch %s of run %s was stored but not routed: routed now",
                batch.batch_id,
                batch.run_id,
            )
        elif _abandon(store, batch):
            done["batches_abandoned"] += 1
            log.warning(
                "batch %s of run %s was %s when its run died: abandoned, the source's cursor"
                " never moved, so its posts are collected again",
                batch.batch_id,
                batch.run_id,
                batch.stage,
            )
    done["routed"] += route_unrouted(config, progress)
    if any(done.values()):
        store.staging.annotate_run(run_id, {"recovered": done})
    return done


def is_alive(run: Run | None, *, current_run: str, at: datetime | None = None) -> bool:
    """Whether ``run`` may still be working on its batches."""
    if run is None or run.finished_at is not None:
        return False
    host, _, pid = (run.owner or "").rpartition(":")
    if host == socket.gethostname() and pid.isdigit():
        if int(pid) == os.getpid():
            return run.run_id == current_run  # one run at a time per process
        return _process_exists(int(pid))
    return (at or now()) - run.heartbeat_at < STALE_AFTER


def _process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process
    return True


def _abandon(store: Store, batch: Batch) -> bool:
    with store.transaction() as tx:
        try:
            tx.staging.advance(
                batch.batch_id, from_stages=("collected", "classified"), to="abandoned"
            )
        except ConflictError:
            return False  # another run got there first
        tx.staging.drop_items(batch.batch_id)
    return True


def route_unrouted(config: Config, progress: Progress | None = None) -> int:
    """Route every stored post that has no queue item (classifying any that has no labels).
    Returns how many were routed."""
    store = open_store(config)
    routed = 0
    after: set[str] = set()
    while ids := [i for i in store.posts.unrouted(limit=CLASSIFY_BATCH) if i not in after]:
        records = store.posts.records(ids)
        unlabelled = [r.post for r in records if r.enrichment is None]
        labels = {r.post.id: r.enrichment for r in records if r.enrichment is not None}
        if unlabelled:
            fresh, failed = _classify_posts(config, unlabelled)
            store.posts.upsert_enrichments(fresh)
            labels.update({e.post_id: e for e in fresh})
            after.update(failed)  # left unrouted, and reported
        posts = [r.post for r in records if r.post.id in labels]
        profiles = cases.profiles_of(store, posts)
        decisions = router(config).route(
            posts, [labels[p.id] for p in posts], tiers=cases.tiers_of(profiles)
        )
        with store.transaction() as tx:
            new = tx.queues.add_decisions(decisions)
            tx.outbox.add([d.post_id for d in new], "upsert")
            cases.assign(tx, router(config), posts, list(labels.values()), new, profiles=profiles)
        routed += len(new)
        after.update(p.id for p in posts if p.id not in {d.post_id for d in new})
        if progress:
            progress(f"routed {routed} stored posts that had no queue item")
    if routed:
        log.warning("routed %d stored posts that had no queue item", routed)
    return routed


def collect(
    config: Config,
    source_name: str,
    run_id: str,
    *,
    until: datetime | None = None,
    part: int = 1,
    follows: str | None = None,
    since: datetime | None = None,
    cursor_key: str | None = None,
) -> dict[str, Any]:
    """Fetch the next batch of a source's new posts (at most about ``config.batch_size``)
    and stage it. Returns its id, counts, and whether the source has more (``more``).

    The fetch starts at the saved cursor, or where batch ``follows`` of the same run ended
    (its pending cursor) when later batches are collected before earlier ones are stored.
    ``part`` numbers a run's batches of one source. ``until`` bounds the time window (Airflow
    passes the end of the data interval); ``since`` and ``cursor_key`` are a backfill's start
    and own cursor. The new cursor is staged with the batch and saved only when the batch is
    stored.
    """
    return _collect(
        config,
        source_name,
        run_id,
        until=until,
        part=part,
        follows=follows,
        since=since,
        cursor_key=cursor_key,
    )[0]


def _collect(
    config: Config,
    source_name: str,
    run_id: str,
    *,
    until: datetime | None = None,
    part: int = 1,
    follows: str | None = None,
    since: datetime | None = None,
    cursor_key: str | None = None,
    stage_posts: bool = True,
) -> tuple[dict[str, Any], Sequence[Post]]:
    """:func:`collect`, and the posts. ``stage_posts=False`` (:func:`process`, which hands
    the posts on in memory) stages the batch without a copy of its posts."""
    from listeners import build_listener

    store = open_store(config)
    store.staging.touch_run(run_id)
    source = config.source(source_name)
    if cursor_key is not None and isinstance(source, XSourceConfig):
        source = source.model_copy(update={"max_pages": BACKFILL_MAX_PAGES})
    listener = build_listener(source, base_dir=config.base_dir)
    key = cursor_key or source_name
    previous = store.staging.batch(follows).pending_cursor if follows else store.cursors.get(key)
    fetch = listener.fetch(previous, until=until, since=since, limit=config.batch_size)
    dead = store.dead_letters.add(fetch.dead_letters)
    batch_id = batch_id_of(run_id, source_name, part, backfill=cursor_key is not None)
    new_gaps = len(fetch.cursor.get("gaps") or []) - len((previous or {}).get("gaps") or [])
    counts = {
        "fetched": len(fetch.posts),
        "dead_letters": len(fetch.dead_letters),
        "new_gaps": max(0, new_gaps),
        "rate_limited": int(bool(fetch.cursor.get("rate_limited_until"))),
    }
    pending = dict(fetch.cursor)
    if since is not None:
        pending["since"] = to_iso(since)  # what the backfill was started with
    store.staging.stage_batch(
        batch_id=batch_id,
        run_id=run_id,
        source=source_name,
        posts=fetch.posts if stage_posts else (),
        pending_cursor=pending,
        counts=counts,
        cursor_key=cursor_key,
    )
    metrics.record_collection(
        source_name,
        fetched=counts["fetched"],
        new_gaps=counts["new_gaps"],
        rate_limited=bool(counts["rate_limited"]),
    )
    log.info(
        "collected %d posts from %s (%d bad records, %d new in the dead-letter table)%s",
        len(fetch.posts),
        source_name,
        len(fetch.dead_letters),
        dead,
        "; more to come" if fetch.more else "",
    )
    result = {"batch_id": batch_id, "source": source_name, "more": fetch.more, **counts}
    return result, fetch.posts


def collect_all(
    config: Config, source_name: str, run_id: str, *, until: datetime | None = None
) -> dict[str, Any]:
    """Stage every new post of a source as batches of about ``config.batch_size``, each
    fetch starting where the previous batch ended (the Airflow DAG's collect task: the
    steps after it work through ``batch_ids`` in order). Returns the batch ids and the
    summed counts."""
    batches = [collect(config, source_name, run_id, until=until)]
    while batches[-1]["more"]:
        batches.append(
            collect(
                config,
                source_name,
                run_id,
                until=until,
                part=len(batches) + 1,
                follows=batches[-1]["batch_id"],
            )
        )
    summed = {
        key: sum(int(b[key]) for b in batches)
        for key in ("fetched", "dead_letters", "new_gaps", "rate_limited")
    }
    return {"source": source_name, "batch_ids": [b["batch_id"] for b in batches], **summed}


def batch_id_of(run_id: str, source_name: str, part: int = 1, *, backfill: bool = False) -> str:
    """``<run>:<source>`` (``:<part>`` from the second batch on, ``:backfill`` for a
    backfill), or ``<run>:<hash>`` if that would be too long."""
    name = f"{source_name}:backfill" if backfill else source_name
    if part > 1:
        name = f"{name}:{part}"
    batch_id = f"{run_id}:{name}"
    if len(batch_id) <= MAX_BATCH_ID:
        return batch_id
    return f"{run_id}:{hashlib.sha256(name.encode()).hexdigest()[:16]}"


def classify(config: Config, batch_id: str, progress: Progress | None = None) -> dict[str, Any]:
    """Run the configured classifiers over a staged batch. A post they fail on is sent to
    the dead-letter table with the error, and the rest of the batch goes on."""
    return _classify(config, batch_id, progress)[0]


def _classify(
    config: Config,
    batch_id: str,
    progress: Progress | None = None,
    *,
    posts: Sequence[Post] | None = None,
) -> tuple[dict[str, Any], list[Enrichment]]:
    """:func:`classify`, and the labels. Given the batch's ``posts`` (in memory, from the
    collect step of the same process), the labels are handed on in memory and not staged:
    a run that dies before storing them abandons the batch anyway."""
    return _Classifying.start(config, batch_id, posts).finish(progress)


class _Classifying:
    """A batch's classification, from :meth:`start` (with classification workers, every
    chunk is handed to them there and then) to :meth:`finish` (its labels, the dead letters
    of the posts the classifiers failed on, and the batch staged as classified)."""

    def __init__(
        self,
        config: Config,
        batch: Batch,
        posts: Sequence[Post],
        results: Iterator[tuple[list[Enrichment], dict[str, str]]],
        *,
        in_memory: bool,
    ) -> None:
        self.config = config
        self.batch = batch
        self.posts = posts
        self.results = results
        self.in_memory = in_memory

    @classmethod
    def start(
        cls, config: Config, batch_id: str, posts: Sequence[Post] | None = None
    ) -> _Classifying | _Skipped:
        store = open_store(config)
        batch = store.staging.batch(batch_id)
        if batch.stage not in ("collected", "classified"):
            return _Skipped(batch)
        store.staging.touch_run(batch.run_id)
        in_memory = posts is not None
        if posts is None:
            posts = [post for post, _ in store.staging.batch_items(batch_id)]
        return cls(config, batch, posts, _start_classifying(config, posts), in_memory=in_memory)

    def cancel(self) -> None:
        """Drop the chunks no worker has started (the run gave up on this batch)."""
        from nlp.workers import Ahead

        if isinstance(self.results, Ahead):
            self.results.cancel()

    def finish(self, progress: Progress | None = None) -> tuple[dict[str, Any], list[Enrichment]]:
        store = open_store(self.config)
        batch, posts = self.batch, self.posts

        beat = time.monotonic()

        def done(n: int) -> None:
            nonlocal beat
            if time.monotonic() - beat >= HEARTBEAT_EVERY:  # a write per chunk cost more
                store.staging.touch_run(batch.run_id)
                beat = time.monotonic()
            if progress and len(posts) > CLASSIFY_BATCH:
                progress(f"classified {n}/{len(posts)} posts of {batch.batch_id}")

        enrichments, failed = _gathered(self.results, done)
        letters = [
            _dead_letter(batch.source, post, f"classification failed: {failed[post.id]}")
            for post in posts
            if post.id in failed
        ]
        with store.transaction() as tx:
            staged = [] if self.in_memory else enrichments
            tx.staging.stage_enrichments(batch.batch_id, staged, dropped=list(failed))
            tx.dead_letters.add(letters)
            if letters:
                old = tx.staging.batch(batch.batch_id).counts.get("dead_letters", 0)
                tx.staging.update_batch(
                    batch.batch_id, stage="classified", counts={"dead_letters": old + len(letters)}
                )
        intents = Counter(e.intent.label for e in enrichments)
        log.info("classified %d posts of %s: %s", len(enrichments), batch.batch_id, dict(intents))
        result = {
            "batch_id": batch.batch_id,
            "classified": len(enrichments),
            "failed": len(letters),
        }
        return result, enrichments


class _Skipped:
    """A batch already past classification: nothing to do."""

    def __init__(self, batch: Batch) -> None:
        self.batch = batch

    def cancel(self) -> None:
        pass

    def finish(self, progress: Progress | None = None) -> tuple[dict[str, Any], list[Enrichment]]:
        batch = self.batch
        return {"batch_id": batch.batch_id, "classified": 0, "stage": batch.stage}, []


WORKER_NICE = 10
"""How much lower the classification workers' CPU priority is than this process's. In
:func:`process` this process stores, routes and indexes one batch while they classify the
next, and the run waits for this process: at the same priority, three busy processes shared
two cores and this one got about two thirds of one. Lower, the workers use what it leaves.
(In the DAG's classify task this process only waits for them; there the niceness only yields
to other work on the machine.)"""
PARALLEL_FROM = 2000
"""Batches larger than this are classified by a worker process per core (``pipeline.workers``
``auto``): the classifiers other than the transformer are Python on one core."""


def _classify_posts(
    config: Config, posts: Sequence[Post], done: Callable[[int], None] | None = None
) -> tuple[list[Enrichment], dict[str, str]]:
    """Labels for ``posts`` and, for those the classifiers failed on, the error. Chunks of
    :data:`CLASSIFY_BATCH` posts, in this process or in worker processes (same chunks, so
    the same labels)."""
    return _gathered(_start_classifying(config, posts), done)


def _start_classifying(
    config: Config, posts: Sequence[Post]
) -> Iterator[tuple[list[Enrichment], dict[str, str]]]:
    """Each chunk's labels and errors, in order. With worker processes every chunk is handed
    to them now (an :class:`~nlp.workers.Ahead`), so the caller can go on with other work
    while they run; in this process each chunk is classified as the iterator reaches it."""
    from nlp.workers import shared_pool, usable_cores

    chunks = list(chunked(posts, CLASSIFY_BATCH))
    workers = config.workers or (usable_cores() if len(posts) > PARALLEL_FROM else 1)
    if multiprocessing.current_process().daemon:
        workers = 1  # a daemon (a Celery prefork child) may not start processes
    if workers > 1 and len(chunks) > 1:
        pool = shared_pool(config.path, min(workers, len(chunks)), nice=WORKER_NICE)
        return pool.submit_all(classify_chunk, chunks)
    from nlp import shared_pipeline

    pipeline = shared_pipeline(config)
    return (classify_chunk(pipeline, chunk) for chunk in chunks)


def _gathered(
    results: Iterator[tuple[list[Enrichment], dict[str, str]]],
    done: Callable[[int], None] | None = None,
) -> tuple[list[Enrichment], dict[str, str]]:
    enrichments: list[Enrichment] = []
    failed: dict[str, str] = {}
    for labelled, errors in results:
        enrichments.extend(labelled)
        failed.update(errors)
        if done:
            done(len(enrichments) + len(failed))
    return enrichments, failed


def classify_chunk(pipeline: Any, chunk: Sequence[Post]) -> tuple[list[Enrichment], dict[str, str]]:
    """One chunk's labels and, for the posts the classifiers failed on, the error (in this
    process or a worker's)."""
    try:
        return list(pipeline.run(chunk)), {}
    except SYSTEMIC_ERRORS:
        raise
    except Exception as error:  # one post's fault, or every post's: try them alone
        alone = _classify_alone(pipeline, chunk)
        if len(chunk) > 1 and not any(isinstance(r, Enrichment) for r in alone.values()):
            raise  # not one post classifies: the classifiers are broken, not the posts
        log.warning(
            "classifying %d posts failed (%s: %s); classified them one by one",
            len(chunk),
            type(error).__name__,
            redact_pii(str(error)),
        )
        return (
            [r for r in alone.values() if isinstance(r, Enrichment)],
            {i: r for i, r in alone.items() if isinstance(r, str)},
        )


def _classify_alone(pipeline: Any, posts: Sequence[Post]) -> dict[str, Enrichment | str]:
    results: dict[str, Enrichment | str] = {}
    for post in posts:
        try:
            results[post.id] = pipeline.run([post])[0]
        except SYSTEMIC_ERRORS:
            raise
        except Exception as e:
            results[post.id] = f"{type(e).__name__}: {e}"
    return results


def _dead_letter(source: str, post: Post, error: str) -> DeadLetter:
    payload = json.dumps(post.to_dict(), ensure_ascii=False, sort_keys=True)
    return DeadLetter(source, post.id, error, payload.encode("utf-8", "surrogateescape"))


def store_batch(config: Config, batch_id: str) -> dict[str, Any]:
    """Commit a classified batch in one transaction: posts, labels, the source's cursor and
    the outbox entries that will bring the search index up to date. A post the database
    refuses is sent to the dead-letter table and the rest is stored."""
    return _store(config, batch_id)[0]


Items = Sequence[tuple[Post, Enrichment | None]]
"""A batch's posts with their labels, in the batch's order."""


def _store(
    config: Config, batch_id: str, items: Items | None = None
) -> tuple[dict[str, Any], Items]:
    """:func:`store_batch`, and the items it stored (from ``items`` when given, in memory;
    else from staging)."""
    store = open_store(config)
    batch = store.staging.batch(batch_id)
    if batch.stage in ("stored", "routed"):
        return {"batch_id": batch_id, "stored": 0, "new": 0, "stage": batch.stage}, []
    if batch.stage == "abandoned":
        raise ConflictError(
            f"batch {batch_id} was abandoned (its run was taken for dead); the source's cursor"
            " did not move, so the next run collects its posts again"
        )
    store.staging.touch_run(batch.run_id)
    if items is None:
        items = store.staging.batch_items(batch_id)
    unclassified = [post.id for post, enrichment in items if enrichment is None]
    if batch.stage != "classified" or unclassified:
        first = f" (first: {unclassified[0]})" if unclassified else ""
        raise StoreError(
            f"batch {batch_id} is {batch.stage} with {len(unclassified)} unclassified"
            f" posts{first}; run classify first"
        )
    posts = [post for post, _ in items]
    enrichments = [e for _, e in items if e is not None]
    try:
        new = _commit(store, batch, posts, enrichments, [])
    except StoreError as error:
        refused = store.posts.rejected(posts, enrichments)
        if not refused:
            raise
        log.warning(
            "the database refused %d posts of %s (%s): sent to the dead-letter table",
            len(refused),
            batch_id,
            error,
        )
        letters = [
            _dead_letter(batch.source, p, f"the database refused the post: {refused[p.id]}")
            for p in posts
            if p.id in refused
        ]
        posts = [p for p in posts if p.id not in refused]
        enrichments = [e for e in enrichments if e.post_id not in refused]
        new = _commit(store, batch, posts, enrichments, letters)
    log.info("stored %d posts of %s (%d new)", len(posts), batch_id, new)
    labels = {e.post_id: e for e in enrichments}
    stored = [(p, labels[p.id]) for p in posts]
    return {"batch_id": batch_id, "stored": len(posts), "new": new}, stored


def _commit(
    store: Store,
    batch: Batch,
    posts: Sequence[Post],
    enrichments: Sequence[Enrichment],
    letters: Sequence[DeadLetter],
) -> int:
    with store.transaction() as tx:
        tx.staging.advance(batch.batch_id, from_stages=("classified",), to="stored")
        new = tx.posts.upsert(posts)
        tx.posts.upsert_enrichments(enrichments)
        tx.outbox.add([p.id for p in posts], "upsert")
        if batch.pending_cursor is not None:
            tx.cursors.set(batch.cursor, batch.pending_cursor, collected_at=batch.created_at)
        counts = {"new": new}
        if letters:
            tx.dead_letters.add(letters)
            tx.staging.drop_items(batch.batch_id, [letter.location for letter in letters])
            counts["dead_letters"] = batch.counts.get("dead_letters", 0) + len(letters)
        tx.staging.update_batch(batch.batch_id, stage="stored", counts=counts)
    return new


def route(config: Config, batch_id: str, *, items: Items | None = None) -> dict[str, Any]:
    """Route a stored batch to queues, and delete its staged copy of the posts. Posts already
    in a queue keep their place. ``items``: the stored posts and labels, in memory (else read
    from staging)."""
    store = open_store(config)
    batch = store.staging.batch(batch_id)
    if batch.stage in ("routed", "abandoned"):
        return {"batch_id": batch_id, "routed": 0, "stage": batch.stage}
    if batch.stage != "stored":
        raise StoreError(f"batch {batch_id} is {batch.stage}, not stored: store it first")
    store.staging.touch_run(batch.run_id)
    if items is None:
        items = _with_stored_labels(store, store.staging.batch_items(batch_id))
    posts = [post for post, _ in items]
    enrichments = [e for _, e in items if e is not None]
    profiles = cases.profiles_of(store, posts)
    decisions = router(config).route(posts, enrichments, tiers=cases.tiers_of(profiles))
    try:
        with store.transaction() as tx:
            tx.staging.advance(batch_id, from_stages=("stored",), to="routed")
            new = tx.queues.add_decisions(decisions)
            tx.outbox.add([d.post_id for d in new], "upsert")
            grouped = cases.assign(tx, router(config), posts, enrichments, new, profiles=profiles)
            by_queue = Counter(d.queue for d in new)
            tx.staging.update_batch(
                batch_id,
                stage="routed",
                counts={
                    "routed": len(new),
                    **{f"queue:{q}": n for q, n in by_queue.items()},
                    **{f"cases:{k}": n for k, n in grouped.items()},
                },
            )
            tx.staging.drop_items(batch_id)
    except ConflictError:  # another run routed it meanwhile
        return {"batch_id": batch_id, "routed": 0, "stage": "routed"}
    log.info("routed %d new posts of %s: %s", len(new), batch_id, dict(by_queue))
    return {"batch_id": batch_id, "routed": len(new)}


def process(
    config: Config,
    source_name: str,
    run_id: str,
    *,
    since: datetime | None = None,
    cursor_key: str | None = None,
    progress: Progress | None = None,
    timed: Callable[[str], AbstractContextManager[None]] | None = None,
) -> Iterator[dict[str, Any]]:
    """Collect a source's new posts a batch at a time, and classify, store and route each
    batch in this process (``run --once``, ``earshot backfill``), yielding each batch's
    collect result once the batch is routed. Posts and labels go from step to step in memory,
    and the batch is staged without a copy of its posts: a run that dies before storing a
    batch abandons it (the cursor did not move, its posts are collected again), and one that
    dies after storing it leaves stored posts without queue items, which the next run routes
    (:func:`recover`). Each routed batch is then sent to the search index
    (:class:`_BatchIndexer`). ``timed(step)`` measures each step.

    With classification workers, a batch is collected and handed to them before the batch
    ahead of it is stored and routed: this process and the workers then share the cores
    instead of taking turns, the workers at a lower priority (:data:`WORKER_NICE`). The
    source's cursor still moves one stored batch at a time, in order."""
    clock = timed or (lambda step: nullcontext())
    ahead: list[tuple[dict[str, Any], Sequence[Post], _Classifying | _Skipped]] = []
    part = 0
    more = True
    indexer = _BatchIndexer(config, clock)
    try:
        while more:
            part += 1
            with clock("collect"):
                batch, posts = _collect(
                    config,
                    source_name,
                    run_id,
                    part=part,
                    follows=ahead[-1][0]["batch_id"] if ahead else None,
                    since=since,
                    cursor_key=cursor_key,
                    stage_posts=False,
                )
            with clock("classify"):
                ahead.append((batch, posts, _Classifying.start(config, batch["batch_id"], posts)))
            if len(ahead) > 1:
                yield _store_and_route(config, *ahead[0], progress, clock, indexer)
                ahead.pop(0)
            more = bool(batch["more"])
        if ahead:
            yield _store_and_route(config, *ahead[0], progress, clock, indexer)
            ahead.pop(0)
    finally:
        for _, _, classifying in ahead:  # given up on: an error, or the caller stopped
            classifying.cancel()


def _store_and_route(
    config: Config,
    batch: dict[str, Any],
    posts: Sequence[Post],
    classifying: _Classifying | _Skipped,
    progress: Progress | None,
    clock: Callable[[str], AbstractContextManager[None]],
    indexer: _BatchIndexer,
) -> dict[str, Any]:
    batch_id = batch["batch_id"]
    with clock("classify"):
        _, enrichments = classifying.finish(progress)
    labels = {e.post_id: e for e in enrichments}
    with clock("store"):
        _, stored = _store(config, batch_id, [(p, labels[p.id]) for p in posts if p.id in labels])
    with clock("route"):
        route(config, batch_id, items=stored)
    indexer.drain()
    return batch


class _BatchIndexer:
    """Brings the search index up to date after each routed batch of :func:`process`, while
    the workers classify the next one (at the end of a run, the index step then has little
    left: over a backfill, analysts see the posts arrive, and the index's work no longer
    waits for the last batch with the workers idle). When the index fails, the run goes on
    without it: its changes wait in the outbox for the run's index step, which reports the
    error, or for the next run."""

    def __init__(self, config: Config, clock: Callable[[str], AbstractContextManager[None]]):
        self.config = config
        self.clock = clock
        self.failed = False

    def drain(self) -> None:
        if self.failed:
            return
        with self.clock("index"):
            try:
                index(self.config)
            except SearchError as error:
                self.failed = True
                log.warning(
                    "search index unavailable (%s): this run's changes wait in the outbox for"
                    " its index step",
                    redact_pii(str(error)),
                )


def _with_stored_labels(store: Store, items: Items) -> Items:
    """Staged items, with the stored labels of those staged without (a batch that
    :func:`process` handled in memory and whose run died after storing it)."""
    missing = [post.id for post, enrichment in items if enrichment is None]
    if not missing:
        return items
    stored = {r.post.id: r.enrichment for r in store.posts.records(missing)}
    return [(post, enrichment or stored.get(post.id)) for post, enrichment in items]


def classify_all(config: Config, collected: dict[str, Any]) -> dict[str, Any]:
    """:func:`classify` each batch :func:`collect_all` staged, in order."""
    return _each(classify, config, collected)


def store_all(config: Config, collected: dict[str, Any]) -> dict[str, Any]:
    """:func:`store_batch` each batch :func:`collect_all` staged, in order (so that the
    source's cursor only ever moves forward over stored batches)."""
    return _each(store_batch, config, collected)


def route_all(config: Config, collected: dict[str, Any]) -> dict[str, Any]:
    """:func:`route` each batch :func:`collect_all` staged, in order."""
    return _each(route, config, collected)


def _each(
    step: Callable[[Config, str], dict[str, Any]], config: Config, collected: dict[str, Any]
) -> dict[str, Any]:
    summed: Counter[str] = Counter()
    for batch_id in collected["batch_ids"]:
        for key, value in step(config, batch_id).items():
            if isinstance(value, int) and not isinstance(value, bool):
                summed[key] += value
    return {"source": collected["source"], "batch_ids": list(collected["batch_ids"]), **summed}


def index(config: Config, progress: Progress | None = None) -> dict[str, int]:
    """Bring the search index up to date with every change still in the outbox."""
    return indexing.drain(open_store(config), open_search(config), progress=progress)


def reindex(config: Config, progress: Progress | None = None) -> dict[str, int]:
    """Rebuild the search index from the store (resumable through the outbox)."""
    return indexing.reindex(open_store(config), open_search(config), progress=progress)


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
    """Sum up a run's batches (a source's batches together), record the summary and
    return it."""
    store = open_store(config)
    sources: dict[str, dict[str, Any]] = {}
    routed: Counter[str] = Counter()
    grouped: Counter[str] = Counter()
    for batch in store.staging.run_batches(run_id):
        counts = batch.counts
        seen = sources.setdefault(
            batch.source,
            {"fetched": 0, "new": 0, "dead_letters": 0, "batches": 0, "stage": batch.stage},
        )
        for key in ("fetched", "new", "dead_letters"):
            seen[key] += counts.get(key, 0)
        seen["batches"] += 1
        if STAGES.index(batch.stage) < STAGES.index(seen["stage"]):
            seen["stage"] = batch.stage  # the least advanced batch says how far it got
        for key, value in counts.items():
            if key.startswith("queue:"):
                routed[key.removeprefix("queue:")] += value
            elif key.startswith("cases:"):
                grouped[key.removeprefix("cases:")] += value
    run = store.staging.run(run_id)
    recovered = (run.summary or {}).get("recovered") if run is not None else None
    summary = {
        "run_id": run_id,
        "new_posts": sum(s["new"] for s in sources.values()),
        "dead_letters": sum(s["dead_letters"] for s in sources.values()),
        "sources": sources,
        "routed": dict(routed),
        "cases": dict(grouped),
    }
    sla = (run.summary or {}).get("sla") if run is not None else None
    if sla:
        summary["sla"] = sla
    if recovered:
        summary["recovered"] = recovered
    store.staging.finish_run(run_id, summary)
    pruned = store.staging.prune(before=now() - RUN_HISTORY)
    if pruned:
        log.info("pruned %d runs that finished more than %s ago", pruned, RUN_HISTORY)
    return summary


def run_once(config: Config, progress: Progress | None = None) -> dict[str, Any]:
    """One listening cycle over every configured source, without Airflow. Returns the run's
    summary, with the seconds each step took (``seconds``)."""
    seconds: dict[str, float] = {}
    tune_gc_for_batches()

    @contextmanager
    def timed(step: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            seconds[step] = seconds.get(step, 0.0) + time.perf_counter() - started

    with timed("start"):
        run_id = start_run(config)
    with timed("recover"):
        recover(config, run_id, progress)
    for name in config.source_names():
        fetched = 0
        # one bounded batch at a time (two with workers): memory does not grow with a backlog
        for part, batch in enumerate(
            process(config, name, run_id, progress=progress, timed=timed), 1
        ):
            fetched += batch["fetched"]
            if progress and (batch["more"] or part > 1):
                progress(f"{name}: batch {part}, {fetched} posts so far")
            elif progress:
                progress(
                    f"{name}: fetched {batch['fetched']} posts, {batch['dead_letters']} bad records"
                )
    with timed("index"):
        index(config)
    with timed("sla"):
        check_sla(config, run_id)
    with timed("finish"):
        summary = finish_run(config, run_id)
    return {**summary, "seconds": {k: round(v, 2) for k, v in seconds.items()}}


def check_sla(config: Config, run_id: str | None = None) -> dict[str, int]:
    """Flag cases past their SLA and refresh open cases' waiting priority (see
    :func:`services.cases.check_sla`); recorded in the run's summary when in a run."""
    done = cases.check_sla(config)
    if run_id is not None:
        open_store(config).staging.annotate_run(run_id, {"sla": done})
    return done

"""Backfills: a source's history, paged through with the same listener and pipeline steps as
the live schedule, one bounded batch at a time, under a cursor of its own.

``earshot backfill --source NAME --since DATE`` collects what the source holds from
``since`` on (X's recent search reaches back seven days; Reddit's listings about 1,000 items;
a replay source its files), then classifies, stores and routes each batch before the next
is fetched, so memory and staging stay flat. Its cursor (``backfill:<source>``) moves only
when a batch is stored: a backfill that is killed is resumed by running the same command
again (the killed run's stored batch is routed, an unstored one collected again), and the
live schedule's cursor is never touched. Storing is idempotent, so posts the live schedule
already has are not stored twice.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from core.batching import tune_gc_for_batches
from core.config import Config
from core.errors import InvalidValueError
from core.timeutil import now, to_iso, utc
from services import pipeline
from services.runtime import open_store

log = logging.getLogger(__name__)
Progress = Callable[[str], None]

KEY_PREFIX = "backfill:"
MAX_KEY = 64


def cursor_key(source_name: str) -> str:
    """The name of a source's backfill cursor (``backfill:<source>``, hashed if too long)."""
    key = f"{KEY_PREFIX}{source_name}"
    if len(key) <= MAX_KEY:
        return key
    return f"{KEY_PREFIX}{hashlib.sha256(source_name.encode()).hexdigest()[:32]}"


def backfill(
    config: Config,
    source_name: str,
    since: datetime,
    *,
    restart: bool = False,
    progress: Progress | None = None,
    clock: Callable[[], float] = time.monotonic,
) -> dict[str, Any]:
    """Collect, classify, store and route ``source_name``'s posts from ``since`` on, a
    batch at a time; resumes a backfill of the same source and start that did not finish.
    Returns the run's summary with ``batches`` and ``posts_per_second``."""
    config.source(source_name)  # an unknown source is a config error, before any work
    since = utc(since)
    if since > now():
        raise InvalidValueError(f"--since {to_iso(since)} is in the future")
    store = open_store(config)
    key = cursor_key(source_name)
    saved = store.cursors.get(key)
    if saved and restart:
        store.cursors.set(key, {})
        saved = None
    if saved and saved.get("since") not in (None, to_iso(since)):
        raise InvalidValueError(
            f"a backfill of {source_name} from {saved['since']} is already under way or done;"
            f" run it again with --since {saved['since']} to resume it, or add --restart to"
            f" start over from {to_iso(since)}"
        )
    if saved and progress:
        progress(f"{source_name}: resuming the backfill from {to_iso(since)}")
    run_id = pipeline.start_run(config, f"backfill-{now():%Y%m%dT%H%M%S}-{key[-8:]}")
    pipeline.recover(config, run_id, progress)  # a killed backfill's stored batch is routed
    tune_gc_for_batches()
    started = clock()
    posts = batches = 0
    for batch in pipeline.process(config, source_name, run_id, since=since, cursor_key=key):
        batches += 1
        posts += batch["fetched"]
        if progress:
            share = _share_done(config, source_name, store.cursors.get(key))
            progress(_line(source_name, batches, posts, clock() - started, batch["more"], share))
    pipeline.index(config)
    summary = pipeline.finish_run(config, run_id)
    elapsed = max(clock() - started, 1e-9)
    return {**summary, "batches": batches, "posts_per_second": round(posts / elapsed, 1)}


def _line(
    source: str, batches: int, posts: int, elapsed: float, more: bool, share: float | None
) -> str:
    rate = posts / elapsed if elapsed > 0 else 0.0
    line = f"{source}: batch {batches}, {posts:,} posts, {rate:,.0f} posts/s"
    if not more:
        return line + ", done"
    if share is not None and 0 < share < 1 and elapsed > 0:
        line += f", {share:.0%} read, about {_duration(elapsed * (1 - share) / share)} left"
    return line


def _share_done(config: Config, source_name: str, cursor: dict[str, Any] | None) -> float | None:
    """How much of a replay source's files a cursor has read (None for live sources: how
    much history they hold is not known in advance)."""
    source = config.source(source_name)
    if source.type != "replay":
        return None
    from listeners.replay import ReplayListener

    listener = ReplayListener(
        name=source.name, network=source.network, paths=source.paths, base_dir=config.base_dir
    )
    return listener.share_read(cursor)


def _duration(seconds: float) -> str:
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {secs:02d} s"

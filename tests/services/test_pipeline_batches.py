"""Bounded batches: a source's new posts go through the pipeline a batch at a time, with the
same results as one batch, nothing left in staging, and the cursor moving only over stored
batches."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.config import Config, load_config
from listeners import build_listener
from nlp import workers
from nlp.minhash import near_duplicate_groups
from search import SearchQuery
from services import pipeline
from services.cases import conversation_key
from services.runtime import open_store
from tests.conftest import sample_labels, write_config

TINY = 7
"""Posts per batch in these tests: the samples make several batches of each source."""


def batch_config(directory: Path, batch_size: int) -> Config:
    directory.mkdir(parents=True, exist_ok=True)
    path = write_config(directory)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["pipeline"] = {"batch_size": batch_size}
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def outcome(config: Config) -> dict[str, Any]:
    """Everything the pipeline decides about the posts, without times that depend on when
    it ran."""
    store = open_store(config)
    ids = [
        post_id
        for network in ("x", "reddit")
        for post_id in store.posts.ids(source=network, limit=100_000)
    ]
    records = store.posts.records(ids)
    cases = store.cases.list(limit=None)
    return {
        "posts": sorted(json.dumps(r.post.to_dict(), sort_keys=True) for r in records),
        "labels": sorted(
            json.dumps(r.enrichment.to_dict(), sort_keys=True)
            for r in records
            if r.enrichment is not None
        ),
        "queue": sorted(
            (
                r.post.id,
                r.queue_item.decision.queue,
                r.queue_item.decision.priority,
                r.queue_item.decision.action,
                r.queue_item.status,
                r.queue_item.case_id,
            )
            for r in records
            if r.queue_item is not None
        ),
        "cases": sorted(
            (
                c.id,
                c.queue,
                c.status,
                c.priority,
                c.action,
                c.conversation_key,
                c.customer_key,
                tuple(store.cases.members(c.id)),
            )
            for c in cases
        ),
    }


FAST = {"sentiment": "sentiment.m2v.v1", "intent": "intent.m2v.v1"}
"""Per-post classifiers: the MiniLM tier's int8 layers scale activations over the whole chunk
they are given, so its scores move a little with a post's neighbours (see the README)."""


def campaign_posts(config: Config) -> set[str]:
    """Posts with a near-duplicate by another author among all the samples: whether
    ``spam.rules.v2`` calls them a campaign depends on which of them share a batch."""
    store = open_store(config)
    ids = [i for n in ("x", "reddit") for i in store.posts.ids(source=n, limit=100_000)]
    posts = [r.post for r in store.posts.records(ids)]
    groups = near_duplicate_groups([p.text[:5000] for p in posts])
    authors: dict[int, set[str]] = {}
    for group, post in zip(groups, posts, strict=True):
        authors.setdefault(group, set()).add(post.author.id)
    return {p.id for p, g in zip(posts, groups, strict=True) if len(authors[g]) > 1}


def split_threads(config: Config) -> set[str]:
    """Posts of conversations whose posts fall into more than one batch. The APIs list newest
    first, so a reply can be routed a batch before the post it answers: its case then opens
    on the reply (a known difference; within a batch, the oldest post comes first)."""
    where: dict[str, set[int]] = {}
    members: dict[str, set[str]] = {}
    for source in config.sources:
        listener = build_listener(source, base_dir=config.base_dir)
        cursor, more, number = None, True, 0
        while more:
            fetch = listener.fetch(cursor, limit=config.batch_size)
            number += 1
            for post in fetch.posts:
                thread = conversation_key(post)
                where.setdefault(thread, set()).add(number)
                members.setdefault(thread, set()).add(post.id)
            cursor, more = fetch.cursor, fetch.more
    return {p for thread, batches in where.items() if len(batches) > 1 for p in members[thread]}


def without(result: dict[str, Any], post_ids: set[str]) -> dict[str, Any]:
    return {
        "posts": result["posts"],
        "labels": [x for x in result["labels"] if json.loads(x)["post_id"] not in post_ids],
        "queue": [q for q in result["queue"] if q[0] not in post_ids],
        "cases": [c for c in result["cases"] if not {m for m, _ in c[-1]} & post_ids],
    }


def test_pipeline_run_once_in_tiny_batches_decides_as_one_batch_does(
    tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.delenv("EARSHOT_DATABASE_URL", raising=False)
    results = {}
    summaries = {}
    for name, size in (("one", 100_000), ("tiny", TINY)):
        monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / name / "home"))
        config = batch_config(tmp_path / name, size)
        config = replace(config, classifiers={**config.classifiers, **FAST})
        summaries[name] = pipeline.run_once(config)
        results[name] = outcome(config)
    one, tiny = results["one"], results["tiny"]

    assert len(one["posts"]) == len(sample_labels()) and one["cases"]
    # Copy-paste campaigns are found among the posts classified together: split across
    # batches, some campaign posts are seen alone. Every other label is identical.
    context = campaign_posts(config)
    changed = {json.loads(x)["post_id"] for x in set(one["labels"]) ^ set(tiny["labels"])}
    assert changed <= context and len(context) < len(one["posts"]) // 4
    assert tiny["posts"] == one["posts"]
    assert without(tiny, context)["labels"] == without(one, context)["labels"]
    # Routing and cases are identical too, except for campaign posts and for threads split
    # across batches (see split_threads).
    apart = context | split_threads(config)
    assert len(apart) < len(one["posts"]) // 3
    assert without(tiny, apart) == without(one, apart)

    summary = summaries["tiny"]
    assert summary["new_posts"] == summaries["one"]["new_posts"] == len(sample_labels())
    store = open_store(config)
    batches = store.staging.run_batches(summary["run_id"])
    assert len(batches) > 4 and {b.stage for b in batches} == {"routed"}
    assert summary["sources"]["x_samples"]["batches"] > 1
    assert summary["sources"]["x_samples"]["fetched"] == sum(
        b.counts["fetched"] for b in batches if b.source == "x_samples"
    )
    assert store.staging.item_count() == 0  # routed batches leave nothing staged
    assert pipeline.run_once(config)["new_posts"] == 0


def test_pipeline_batches_stay_bounded(config_path: Path, tmp_path: Path) -> None:
    config = batch_config(tmp_path, TINY)
    run_id = pipeline.start_run(config)
    collected = pipeline.collect_all(config, "x_samples", run_id)
    store = open_store(config)
    counts = [store.staging.batch(b).counts for b in collected["batch_ids"]]
    sizes = [c["fetched"] + c["dead_letters"] for c in counts]
    assert len(sizes) > 2 and sum(c["fetched"] for c in counts) == collected["fetched"]
    # Whole lines (API pages of up to 25 tweets here) at a time: a batch ends with the page
    # that reaches the limit.
    assert all(0 < n < TINY + 25 for n in sizes)


def test_pipeline_collect_all_chains_cursors_and_storing_in_order_moves_the_cursor(
    home: Path,
) -> None:
    config = batch_config(home, TINY)
    store = open_store(config)
    run_id = pipeline.start_run(config)
    collected = pipeline.collect_all(config, "x_samples", run_id)
    first, second, *_ = collected["batch_ids"]
    assert store.cursors.get("x_samples") is None  # nothing stored, nothing moved

    pipeline.classify_all(config, collected)
    pipeline.store_batch(config, first)
    assert store.cursors.get("x_samples") == store.staging.batch(first).pending_cursor
    assert store.staging.batch(second).pending_cursor != store.staging.batch(first).pending_cursor

    stored = pipeline.store_all(config, collected)  # the first is stored already: skipped
    assert stored["stored"] == collected["fetched"] - store.staging.batch(first).counts["fetched"]
    routed = pipeline.route_all(config, collected)
    last = store.staging.batch(collected["batch_ids"][-1])
    assert store.cursors.get("x_samples") == last.pending_cursor
    assert routed["routed"] == store.posts.count() == collected["fetched"]
    assert store.staging.item_count() == 0


def test_pipeline_a_run_that_dies_between_batches_loses_and_duplicates_nothing(
    home: Path,
) -> None:
    config = batch_config(home, TINY)
    store = open_store(config)
    run_id = pipeline.start_run(config, owner="elsewhere:1")
    collected = pipeline.collect_all(config, "x_samples", run_id)
    pipeline.classify_all(config, collected)
    pipeline.store_batch(config, collected["batch_ids"][0])
    pipeline.route(config, collected["batch_ids"][0])
    pipeline.store_batch(config, collected["batch_ids"][1])
    # The run dies here: one batch routed, one stored, the rest classified.
    store.staging.finish_run(run_id, {})

    summary = pipeline.run_once(config)
    assert summary["recovered"]["batches_routed"] == 1
    assert summary["recovered"]["batches_abandoned"] == len(collected["batch_ids"]) - 2
    assert store.posts.count() == collected["fetched"] + summary["sources"]["reddit_samples"]["new"]
    assert summary["sources"]["x_samples"]["new"] == collected["fetched"] - sum(
        store.staging.batch(b).counts["fetched"] for b in collected["batch_ids"][:2]
    )
    assert sum(n for _, n in store.queues.counts().items()) == len(sample_labels())
    assert store.staging.item_count() == 0


def test_pipeline_classify_in_worker_processes_labels_as_one_process_does(
    home: Path,
) -> None:
    config = batch_config(home, 100_000)
    listener_posts = [
        post
        for source in config.sources
        for post in build_listener(source, base_dir=config.base_dir).fetch(None).posts
    ]
    alone, alone_failed = pipeline._classify_posts(replace(config, workers=1), listener_posts)
    pooled, pooled_failed = pipeline._classify_posts(replace(config, workers=2), listener_posts)
    assert len(listener_posts) > 256 * 1.5  # several chunks, so both workers get some
    assert [json.dumps(e.to_dict(), sort_keys=True) for e in pooled] == [
        json.dumps(e.to_dict(), sort_keys=True) for e in alone
    ]
    assert pooled_failed == alone_failed == {}
    # The workers run below this process's priority: its storing and routing come first.
    (pool,) = [
        p for key, p in workers.shared_pools().items() if key[0] == str(config.path.resolve())
    ]
    assert pool.nice == pipeline.WORKER_NICE > 0
    expected = min(19, os.nice(0) + pipeline.WORKER_NICE)
    assert set(pool.map(_niceness, range(4))) == {expected}


def _niceness(pipeline: object, item: int) -> int:
    """In a worker: its CPU niceness."""
    return os.nice(0)


def test_pipeline_run_once_with_workers_classifies_a_batch_while_storing_the_one_before(
    tmp_path: Path, monkeypatch
) -> None:
    from nlp.workers import close_shared_pools

    monkeypatch.delenv("EARSHOT_DATABASE_URL", raising=False)
    real_store = pipeline._store
    results = {}
    staged_when_storing: list[list[str]] = []

    def spy(config: Config, batch_id: str, items: Any = None) -> Any:
        staging = open_store(config).staging
        run_id = staging.batch(batch_id).run_id
        staged_when_storing.append([b.batch_id for b in staging.run_batches(run_id)])
        return real_store(config, batch_id, items)

    monkeypatch.setattr(pipeline, "_store", spy)
    try:
        for workers in (1, 2):
            monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / str(workers) / "home"))
            # The workers read the configuration file: the fast tier goes in there.
            path = batch_config(tmp_path / str(workers), 300).path
            data = yaml.safe_load(path.read_text(encoding="utf-8"))
            data["classifiers"] = {**data["classifiers"], **FAST}
            data["pipeline"]["workers"] = workers
            path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
            config = load_config(path)
            staged_when_storing.clear()
            summary = pipeline.run_once(config)
            results[workers] = outcome(config)
            assert open_store(config).staging.item_count() == 0
    finally:
        close_shared_pools()
    # Several batches of more than one chunk each, so the workers had work ahead.
    assert summary["sources"]["x_samples"]["batches"] > 1
    assert summary["sources"]["x_samples"]["fetched"] > 300
    # When the first batch was stored, the next one was collected already (and handed to the
    # workers); the results are those of one process classifying batch after batch.
    assert len(staged_when_storing[0]) == 2
    assert results[2] == results[1]


def test_pipeline_a_run_that_fails_storing_a_batch_leaves_the_next_run_to_finish(
    home: Path, monkeypatch
) -> None:
    from core.errors import StoreError

    config = batch_config(home, TINY)
    store = open_store(config)
    _run_dying_on_second_batch(config, monkeypatch, "_store", StoreError("full"))
    assert 0 < store.posts.count() < len(sample_labels())

    summary = pipeline.run_once(config)
    assert summary["recovered"]["batches_abandoned"] == 2  # the failed one and the one ahead
    assert store.posts.count() == len(sample_labels())
    assert sum(n for _, n in store.queues.counts().items()) == len(sample_labels())
    assert store.staging.item_count() == 0


def test_pipeline_a_run_that_dies_between_storing_and_routing_leaves_the_next_run_to_route(
    home: Path, monkeypatch
) -> None:
    config = batch_config(home, TINY)
    store = open_store(config)
    _run_dying_on_second_batch(config, monkeypatch, "route", RuntimeError("kill"))
    # The second batch is stored, unrouted, and staged without a copy of its posts.
    stored = store.posts.count()
    routed = sum(n for _, n in store.queues.counts().items())
    assert 0 < routed < stored < len(sample_labels())
    assert store.staging.item_count() == 0

    summary = pipeline.run_once(config)
    assert summary["recovered"]["batches_routed"] == 1
    assert summary["recovered"]["routed"] == stored - routed  # from the stored posts
    assert store.posts.count() == len(sample_labels())
    assert sum(n for _, n in store.queues.counts().items()) == len(sample_labels())
    assert store.outbox.pending(limit=10) == []


def test_pipeline_process_indexes_each_batch_once_it_is_routed(home: Path) -> None:
    from services.runtime import open_search

    config = batch_config(home, TINY)
    store, search = open_store(config), open_search(config)
    run_id = pipeline.start_run(config)
    batches = 0
    for _ in pipeline.process(config, "x_samples", run_id):
        batches += 1
        # Nothing waits for the index step: every stored post is searchable already.
        assert store.outbox.pending(limit=10) == []
        assert search.count(SearchQuery(limit=1)) == store.posts.count() > 0
    assert batches > 2


def test_pipeline_process_goes_on_when_the_search_index_fails(
    home: Path, monkeypatch, caplog
) -> None:
    from core.errors import SearchError

    config = batch_config(home, TINY)
    store = open_store(config)
    calls = 0

    def down(config: Config, progress: Any = None) -> dict[str, int]:
        nonlocal calls
        calls += 1
        raise SearchError("index down")

    monkeypatch.setattr(pipeline, "index", down)
    run_id = pipeline.start_run(config)
    with caplog.at_level("WARNING", logger="services.pipeline"):
        batches = sum(1 for _ in pipeline.process(config, "x_samples", run_id))
    assert batches > 2 and calls == 1  # tried after the first batch, not after every one
    assert "search index unavailable (index down)" in caplog.text
    assert store.posts.count() > 0
    assert sum(n for _, n in store.queues.counts().items()) == store.posts.count()
    assert len(store.outbox.pending(limit=100_000)) >= store.posts.count()  # kept for later


def _run_dying_on_second_batch(
    config: Config, monkeypatch: pytest.MonkeyPatch, step: str, error: Exception
) -> None:
    """``run_once`` with the pipeline's ``step`` raising ``error`` on its second call (a run
    dying on its second batch); the step is itself again afterwards."""
    real: Callable[..., Any] = getattr(pipeline, step)
    calls = 0

    def failing(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls == 2:
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(pipeline, step, failing)
    with pytest.raises(type(error)):
        pipeline.run_once(config)
    monkeypatch.setattr(pipeline, step, real)

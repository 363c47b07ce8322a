"""Backfills: a source's history in bounded batches, under its own cursor, resumable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.errors import InvalidValueError
from services import pipeline
from services.backfill import backfill, cursor_key
from services.runtime import open_store
from tests.conftest import ROOT
from tests.services.test_pipeline_batches import batch_config

SINCE = datetime(2026, 1, 1, tzinfo=UTC)


def test_backfill_stores_a_source_in_batches_and_leaves_the_live_cursor_alone(
    home: Path,
) -> None:
    config = batch_config(home, 7)
    lines: list[str] = []
    summary = backfill(config, "x_samples", SINCE, progress=lines.append)
    store = open_store(config)
    assert summary["batches"] > 3 and summary["new_posts"] == store.posts.count() > 100
    assert store.cursors.get("x_samples") is None  # the live schedule's cursor
    assert store.cursors.get(cursor_key("x_samples"))["since"] == "2026-01-01T00:00:00Z"
    assert "posts/s" in lines[0] and "read, about" in lines[0] and lines[-1].endswith("done")
    assert store.staging.item_count() == 0

    live = pipeline.run_once(config)  # the schedule reads the same files: nothing new
    assert live["sources"]["x_samples"]["new"] == 0
    assert live["sources"]["x_samples"]["fetched"] == summary["new_posts"]
    again = backfill(config, "x_samples", SINCE)
    assert again["new_posts"] == 0 and again["sources"]["x_samples"]["fetched"] == 0


def test_backfill_since_skips_what_is_older(home: Path) -> None:
    config = batch_config(home, 50)
    everything = backfill(config, "x_samples", SINCE)["new_posts"]
    store = open_store(config)
    ids = store.posts.ids(source="x", limit=10_000)
    times = sorted(r.post.created_at for r in store.posts.records(ids))
    middle = times[len(times) // 2]

    os.environ["EARSHOT_HOME"] = str(home / "later" / "home")  # the fixture restores it
    later = batch_config(home / "later", 50)
    summary = backfill(later, "x_samples", middle)
    assert 0 < summary["new_posts"] < everything
    assert summary["new_posts"] == sum(1 for t in times if t >= middle)


def test_backfill_of_another_start_asks_to_resume_or_restart(home: Path) -> None:
    config = batch_config(home, 100)
    backfill(config, "reddit_samples", SINCE)
    other = datetime(2026, 6, 1, tzinfo=UTC)
    with pytest.raises(InvalidValueError, match="--since 2026-01-01T00:00:00Z to resume"):
        backfill(config, "reddit_samples", other)
    restarted = backfill(config, "reddit_samples", other, restart=True)
    assert restarted["sources"]["reddit_samples"]["fetched"] > 0  # read again from the start
    assert restarted["new_posts"] == 0  # storing is idempotent


def test_backfill_killed_mid_way_resumes_where_it_stopped(home: Path) -> None:
    config = batch_config(home, 7)
    key = cursor_key("x_samples")
    env = {**os.environ, "EARSHOT_CONFIG": str(config.path)}
    command = [sys.executable, "-m", "cli.main", "backfill", "--source", "x_samples"]
    command += ["--since", "2026-01-01"]
    subprocess.run(
        [sys.executable, "-m", "cli.main", "db", "upgrade"], env=env, check=True, cwd=ROOT
    )
    store = open_store(config)
    child = subprocess.Popen(
        command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    deadline = time.monotonic() + 120
    while store.cursors.get(key) is None or store.posts.count() < 60:
        assert child.poll() is None, child.stderr.read().decode() if child.stderr else ""
        assert time.monotonic() < deadline, "the backfill stored nothing in two minutes"
        time.sleep(0.05)
    child.send_signal(signal.SIGKILL)
    child.wait()
    stored_before = store.posts.count()
    cursor_before = store.cursors.get(key)

    finished = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    last = open_store(config).staging.last_run()
    assert last is not None
    resumed = last["summary"]

    os.environ["EARSHOT_HOME"] = str(home / "whole" / "home")  # the fixture restores it
    whole = batch_config(home / "whole", 100_000)
    expected = backfill(whole, "x_samples", SINCE)["new_posts"]
    assert store.posts.count() == expected > stored_before
    assert resumed["new_posts"] == expected - stored_before
    # The second run started at the killed run's saved cursor, not at the beginning.
    assert cursor_before and "resuming the backfill" in finished.stderr
    assert resumed["sources"]["x_samples"]["fetched"] < expected
    assert store.staging.item_count() == 0
    assert sum(store.queues.counts().values()) == expected

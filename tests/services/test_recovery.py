"""Every step resumable from durable state, and one bad post never stops a run: recovery of
what a dead run left, posts the classifiers or the database refuse, on both databases."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from core.config import load_config
from core.errors import ConfigError
from services import pipeline, reports
from services.runtime import open_store
from tests.conftest import ROOT, sample_labels, write_config


@pytest.fixture
def config_path(database: str, tmp_path: Path) -> Path:
    """The bundled samples over a new database of each kind."""
    return write_config(tmp_path)


def assert_consistent(config_path: Path) -> None:
    """Every stored post routed and indexed once; nothing left in staging."""
    config = load_config(config_path)
    store = open_store(config)
    posts = store.posts.count()
    assert sum(store.queues.counts().values()) == posts
    assert store.posts.unrouted_count() == 0
    assert store.outbox.count() == 0
    assert store.staging.item_count() == 0 and store.staging.open_batches() == []
    with store.engine.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM search_documents")).scalar() == posts


def test_recovery_routes_a_batch_stored_by_a_run_that_died(config_path: Path) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config, owner="elsewhere:1")
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.classify(config, batch["batch_id"])
    pipeline.store_batch(config, batch["batch_id"])
    # The run dies here (kill -9 between store and route). Its owner's heartbeat goes stale.
    store = open_store(config)
    assert store.posts.unrouted_count() == batch["fetched"]
    assert f"WARNING: {batch['fetched']} stored posts are in no queue" in (
        reports.format_report(config, None)
    )
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE runs SET heartbeat_at = '2000-01-01 00:00:00'"))

    summary = pipeline.run_once(config)
    assert summary["recovered"]["batches_routed"] == 1
    assert summary["recovered"]["routed"] == batch["fetched"]
    assert summary["sources"]["reddit_samples"]["new"] == 0
    assert store.staging.batch(batch["batch_id"]).stage == "routed"
    assert f"Finished what an earlier run left: routed {batch['fetched']}" in (
        reports.format_report(config, summary)
    )
    assert_consistent(config_path)


def test_recovery_leaves_a_live_runs_batches_alone(config_path: Path) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config, owner="elsewhere:1")  # heartbeat: now
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.run_once(config)
    store = open_store(config)
    assert store.staging.batch(batch["batch_id"]).stage == "collected"
    pipeline.classify(config, batch["batch_id"])  # the live run goes on, undisturbed
    assert pipeline.store_batch(config, batch["batch_id"])["new"] == 0
    assert pipeline.route(config, batch["batch_id"])["routed"] == 0
    pipeline.index(config)
    assert_consistent(config_path)


def test_recovery_abandons_an_unstored_batch_and_collects_it_again(config_path: Path) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config)  # this process: a run it no longer runs is dead
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.classify(config, batch["batch_id"])
    summary = pipeline.run_once(config)
    assert summary["recovered"]["batches_abandoned"] == 1
    assert summary["new_posts"] == len(sample_labels())
    store = open_store(config)
    assert store.staging.batch(batch["batch_id"]).stage == "abandoned"
    with pytest.raises(Exception, match="abandoned"):
        pipeline.store_batch(config, batch["batch_id"])
    assert_consistent(config_path)


def test_recovery_after_a_routing_error_routes_every_stored_post(
    config_path: Path, tmp_path: Path
) -> None:
    broken = tmp_path / "routing.yaml"
    broken.write_text(
        (ROOT / "config" / "routing.yaml")
        .read_text(encoding="utf-8")
        .replace("queue: none", "queue: nnone", 1),
        encoding="utf-8",
    )
    config = load_config(write_config(tmp_path, routing=broken))
    with pytest.raises(ConfigError):
        pipeline.run_once(config)
    store = open_store(config)
    stored = store.posts.count()
    assert stored > 0 and store.posts.unrouted_count() == stored  # stored, routed nowhere

    fixed = load_config(write_config(tmp_path))
    summary = pipeline.run_once(fixed)
    assert summary["recovered"]["routed"] == stored
    assert store.posts.count() == len(sample_labels())
    assert_consistent(config_path)


def test_recovery_stores_the_rest_when_the_database_refuses_a_post(config_path: Path) -> None:
    config = load_config(config_path)
    store = open_store(config)
    victim = next(iter(sample_labels()))  # a real sample, refused by a real constraint
    with store.engine.begin() as conn:
        if store.dialect == "sqlite":
            conn.exec_driver_sql(
                f"CREATE TRIGGER refuse BEFORE INSERT ON posts WHEN NEW.id = '{victim}'"
                " BEGIN SELECT RAISE(ABORT, 'post refused by a test trigger'); END"
            )
        else:
            conn.exec_driver_sql(
                f"ALTER TABLE posts ADD CONSTRAINT refuse CHECK (id <> '{victim}')"
            )
    summary = pipeline.run_once(config)
    assert summary["new_posts"] == len(sample_labels()) - 1
    assert store.posts.get(victim) is None
    letters = [d for d in store.dead_letters.list() if d.location == victim]
    assert len(letters) == 1 and "the database refused the post" in letters[0].error
    assert pipeline.run_once(config)["new_posts"] == 0  # the cursor moved past it
    assert_consistent(config_path)


def test_recovery_dead_letters_a_post_the_classifiers_fail_on(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nlp.pipeline import ClassifierPipeline

    victim = next(iter(sample_labels()))
    real_run = ClassifierPipeline.run

    def run(self: ClassifierPipeline, posts: list) -> list:
        if any(p.id == victim for p in posts):
            raise ValueError(f"cannot classify {victim}")
        return real_run(self, posts)

    monkeypatch.setattr(ClassifierPipeline, "run", run)
    config = load_config(config_path)
    summary = pipeline.run_once(config)
    store = open_store(config)
    assert summary["new_posts"] == len(sample_labels()) - 1
    letters = [d for d in store.dead_letters.list() if d.location == victim]
    assert len(letters) == 1
    assert letters[0].error == f"classification failed: ValueError: cannot classify {victim}"
    assert_consistent(config_path)


def test_recovery_broken_classifiers_stop_the_run_instead_of_dead_lettering_everything(
    config_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nlp.pipeline import ClassifierPipeline

    def run(self: ClassifierPipeline, posts: list) -> list:
        raise RuntimeError("model file is corrupt")

    monkeypatch.setattr(ClassifierPipeline, "run", run)
    config = load_config(config_path)
    with pytest.raises(RuntimeError, match="corrupt"):
        pipeline.run_once(config)
    store = open_store(config)
    assert store.posts.count() == 0
    assert all("classification failed" not in d.error for d in store.dead_letters.list())


def test_recovery_tells_live_runs_from_dead_ones() -> None:
    import os
    import socket
    import subprocess
    import sys
    from datetime import timedelta

    from core.timeutil import now
    from storage import Run

    def run(owner: str, *, beat: timedelta = timedelta(0), finished: bool = False) -> Run:
        at = now() - beat
        return Run("r1", owner, at, at, at if finished else None)

    host = socket.gethostname()
    gone = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert pipeline.is_alive(run(f"{host}:{os.getpid()}"), current_run="r1")
    assert not pipeline.is_alive(run(f"{host}:{os.getpid()}"), current_run="r2")
    assert not pipeline.is_alive(run(f"{host}:{gone.stdout.strip()}"), current_run="r2")
    assert pipeline.is_alive(run("airflow:manual__1"), current_run="r2")
    assert not pipeline.is_alive(
        run("airflow:manual__1", beat=pipeline.STALE_AFTER), current_run="r2"
    )
    assert not pipeline.is_alive(run("airflow:manual__1", finished=True), current_run="r2")
    assert not pipeline.is_alive(None, current_run="r2")

"""The pipeline steps over the bundled sample corpus, without Airflow."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.config import load_config
from core.errors import ConfigError, StoreError
from services import pipeline, reports, search
from services.runtime import open_store
from tests.conftest import SAMPLES, sample_labels, write_config


def test_pipeline_run_once_routes_every_sample_then_nothing_new(config_path: Path) -> None:
    config = load_config(config_path)
    expected = len(sample_labels())

    first = pipeline.run_once(config)
    store = open_store(config)
    counts = store.queues.counts()
    assert first["new_posts"] == expected
    assert first["dead_letters"] == 4
    assert sum(first["routed"].values()) == expected
    assert sum(counts.values()) == expected
    assert {
        "billing",
        "logistics",
        "care",
        "sales",
        "retention",
        "marketing",
        "partners",
        "none",
    } <= {q for q, _ in counts}  # no sample is meant to be unmatched (tests/routing covers it)

    second = pipeline.run_once(config)
    assert second["new_posts"] == 0
    assert second["routed"] == {}
    assert store.queues.counts() == counts
    assert store.posts.count() == expected
    assert len(store.dead_letters.list()) == 4


def test_pipeline_report_shows_new_posts_and_queues(config_path: Path) -> None:
    config = load_config(config_path)
    summary = pipeline.run_once(config)
    report = reports.format_report(config, summary)
    assert f"{len(sample_labels())} new posts" in report
    assert "4 bad records" in report
    assert "billing" in report and "care" in report


def test_pipeline_run_once_reports_the_time_of_each_step(config_path: Path) -> None:
    summary = pipeline.run_once(load_config(config_path))
    steps = summary["seconds"]
    assert {"collect", "classify", "store", "route", "index"} <= set(steps)
    assert all(isinstance(v, float) and v >= 0 for v in steps.values())
    assert steps["classify"] > 0


def test_pipeline_crash_before_store_loses_nothing_and_duplicates_nothing(
    config_path: Path,
) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config)
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.classify(config, batch["batch_id"])
    # The worker dies here: posts were fetched and classified, never committed.
    store = open_store(config)
    assert store.cursors.get("reddit_samples") is None
    assert store.posts.count() == 0

    summary = pipeline.run_once(config)
    assert summary["sources"]["reddit_samples"]["new"] == batch["fetched"]
    assert store.cursors.get("reddit_samples") is not None
    assert pipeline.run_once(config)["new_posts"] == 0


def test_pipeline_retried_store_step_is_idempotent(config_path: Path) -> None:
    config = load_config(config_path)
    run_id = pipeline.start_run(config)
    batch = pipeline.collect(config, "reddit_samples", run_id)
    pipeline.classify(config, batch["batch_id"])
    assert pipeline.store_batch(config, batch["batch_id"])["new"] == batch["fetched"]
    assert pipeline.store_batch(config, batch["batch_id"])["new"] == 0
    assert pipeline.route(config, batch["batch_id"])["routed"] == batch["fetched"]
    assert pipeline.route(config, batch["batch_id"])["routed"] == 0


def test_pipeline_store_refuses_unclassified_batch(config_path: Path) -> None:
    config = load_config(config_path)
    batch = pipeline.collect(config, "reddit_samples", pipeline.start_run(config))
    with pytest.raises(StoreError, match="unclassified posts"):
        pipeline.store_batch(config, batch["batch_id"])


def test_pipeline_picks_up_appended_mentions(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    feed = tmp_path / "feed"
    feed.mkdir()
    lines = (SAMPLES / "reddit" / "listings.jsonl").read_text(encoding="utf-8").splitlines()
    (feed / "r.jsonl").write_text(lines[0] + "\n", encoding="utf-8")
    config = load_config(
        write_config(
            tmp_path,
            sources=[
                {
                    "name": "r",
                    "type": "replay",
                    "network": "reddit",
                    "paths": [str(feed / "*.jsonl")],
                }
            ],
        )
    )
    first = pipeline.run_once(config)
    with (feed / "r.jsonl").open("a", encoding="utf-8") as handle:
        handle.write(lines[1] + "\n")
    second = pipeline.run_once(config)
    assert first["new_posts"] == len(json.loads(lines[0])["data"]["children"])
    assert second["new_posts"] == len(json.loads(lines[1])["data"]["children"])


def test_pipeline_search_never_matches_redacted_personal_data(config_path: Path) -> None:
    config = load_config(config_path)
    pipeline.run_once(config)
    hits = search.search(config, "refund")
    assert len(hits) >= 5
    assert all("refund" in h.post.text.lower() for h in hits)
    (with_email,) = search.search(config, "returned Cam never arrived")
    assert "rob.hall@examplemail.com" in with_email.post.text  # agents still see the post
    assert "[EMAIL]" in with_email.document.text
    assert search.search(config, "examplemail") == []  # but the index holds [EMAIL] instead


def test_pipeline_unknown_source_is_a_clear_error(config_path: Path) -> None:
    config = load_config(config_path)
    with pytest.raises(ConfigError, match=r"no source named 'nope'.*x_samples, reddit_samples"):
        pipeline.collect(config, "nope", "run-1")


def test_pipeline_missing_sample_folder_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    config = load_config(
        write_config(
            tmp_path,
            sources=[
                {"name": "gone", "type": "replay", "network": "x", "paths": ["missing/*.jsonl"]}
            ],
        )
    )
    # A typo in a path used to log a warning and "succeed" with 0 new posts.
    with pytest.raises(ConfigError, match="replay source 'gone': no file matches 'missing/"):
        pipeline.run_once(config)


def test_repository_config_finds_the_bundled_samples() -> None:
    from listeners import ReplayListener, build_listener

    config = load_config(Path(__file__).resolve().parents[2] / "earshot.yaml")
    listeners = {s.name: build_listener(s, base_dir=config.base_dir) for s in config.sources}
    files = {n: r.files() for n, r in listeners.items() if isinstance(r, ReplayListener)}
    assert {name: len(found) for name, found in files.items()} == {
        "x_samples": 2,
        "reddit_samples": 1,
    }

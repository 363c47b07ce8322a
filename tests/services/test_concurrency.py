"""Runs at the same time (three ``earshot run --once`` processes), on a new and on an existing
database, on SQLite and PostgreSQL: all succeed, every post is stored, routed and indexed
once, and between them they count each new post once (before, PostgreSQL and SQLite both
counted about twice as many "new posts" as there were)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import text

from core.config import load_config
from services.runtime import open_store
from tests.services.crash_corpus import (
    Corpus,
    assert_invariants,
    earshot,
    expected_ids,
    write_crash_config,
)


def run_together(config: Path, n: int = 3) -> None:
    processes = [earshot(config, "run", "--once") for _ in range(n)]
    for process in processes:
        _out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err.decode(errors="replace")[-2000:]


def new_posts_counted(config: Path) -> int:
    store = open_store(load_config(config))
    with store.engine.connect() as conn:
        summaries = conn.execute(text("SELECT summary FROM runs")).scalars().all()
    return sum((s if isinstance(s, dict) else json.loads(s))["new_posts"] for s in summaries)


@pytest.mark.parametrize("existing", [False, True], ids=["new-database", "existing-database"])
def test_concurrency_two_runs_at_once(database: str, existing: bool, tmp_path: Path) -> None:
    corpus = Corpus(tmp_path / "feed")
    corpus.folder.mkdir()
    corpus.add_pages("a.jsonl", 30)
    config = write_crash_config(tmp_path, corpus)
    if existing:
        run_together(config, n=1)
        corpus.add_pages("a.jsonl", 10)  # new mentions for the two runs to race over
    run_together(config)
    assert_invariants(config, corpus)
    assert new_posts_counted(config) == len(expected_ids(corpus))

"""Two ``earshot run --once`` at the same time, on a new and on an existing database, on
SQLite and PostgreSQL: both succeed, every post is stored, routed and indexed once, and
between them they count each new post once."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from core.config import load_config
from services.runtime import open_store
from tests.conftest import BACKENDS, fresh_database
from tests.services.crash_corpus import (
    Corpus,
    assert_invariants,
    earshot,
    expected_ids,
    write_crash_config,
)


@pytest.fixture(params=BACKENDS)
def database(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    monkeypatch.setenv("EARSHOT_HOME", str(tmp_path / "home"))
    with fresh_database(request.param, tmp_path) as url:
        monkeypatch.setenv("EARSHOT_DATABASE_URL", url)
        yield request.param


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

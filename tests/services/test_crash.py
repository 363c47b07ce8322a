"""The crash test: a real ``earshot run --once`` killed (SIGKILL) at random points, over and
over, on SQLite and PostgreSQL; then one clean run, and the invariants: every distinct input id
stored once, routed once, indexed once; every bad record dead-lettered once; cursors at the end
of the input; nothing left in staging.

At least 20 kills per database (fixed seeds, so a failure replays the same kill times);
``EARSHOT_CRASH_KILLS=200`` kills more.
"""

from __future__ import annotations

import os
import random
import signal
import time
from pathlib import Path

from core.config import load_config
from services.runtime import open_store
from tests.services.crash_corpus import Corpus, assert_invariants, earshot, write_crash_config

KILLS = int(os.environ.get("EARSHOT_CRASH_KILLS", "20"))


def test_crash_random_kills_lose_nothing_and_duplicate_nothing(
    database: str, tmp_path: Path
) -> None:
    rng = random.Random(f"earshot-crash-{database.split(':')[0]}")  # fixed per database kind
    corpus = Corpus(tmp_path / "feed")
    corpus.folder.mkdir()
    corpus.add_pages("a.jsonl", 20)
    corpus.add_pages("b.jsonl", 10)
    config = write_crash_config(tmp_path, corpus)

    longest = 3.0  # seconds a whole run takes, learnt from the runs that finish
    kills = finished = 0
    while kills < KILLS:
        assert kills + finished < 4 * KILLS, "runs finish before any kill lands"
        process = earshot(config, "run", "--once")
        started = time.monotonic()
        time.sleep(rng.uniform(0.0, longest))
        if process.poll() is None:
            process.send_signal(signal.SIGKILL)
            kills += 1
        _out, err = process.communicate()
        if process.returncode == 0:
            finished += 1
            longest = max(longest, time.monotonic() - started)
        else:
            assert process.returncode == -signal.SIGKILL, err.decode(errors="replace")[-2000:]
        if kills % 5 == 4 and process.returncode != 0:
            corpus.add_pages("a.jsonl", 2)  # new mentions keep arriving between crashes

    for _ in range(2):  # the clean run finishes what the killed ones left; the next finds none
        process = earshot(config, "run", "--once")
        _out, err = process.communicate()
        assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    assert_invariants(config, corpus)
    last = open_store(load_config(config)).staging.last_run()
    assert last is not None
    assert last["summary"]["new_posts"] == 0
    assert {name: s["fetched"] for name, s in last["summary"]["sources"].items()} == {
        "x_generated": 0,
        "reddit_samples": 0,
    }

"""The crash test: a real ``earshot run --once`` killed (SIGKILL) over and over, on SQLite
and PostgreSQL: half the kills at a random moment, half right after a step logged its commit
(each step in turn), so that every window between two steps is hit. Then one clean run, and
the invariants: every distinct input id stored once, routed once, indexed once; every bad
record dead-lettered once; cursors at the end of the input; nothing left in staging.

At least 20 kills per database (fixed seeds, so a failure replays the same kill times);
``EARSHOT_CRASH_KILLS=200`` kills more.
"""

from __future__ import annotations

import os
import random
import re
import signal
import subprocess
import time
from collections import Counter
from pathlib import Path

from core.config import load_config
from services.runtime import open_store
from tests.services.crash_corpus import Corpus, assert_invariants, earshot, write_crash_config

KILLS = int(os.environ.get("EARSHOT_CRASH_KILLS", "20"))
MILESTONES = [
    r"collected \d+ posts from",
    r"classified \d+ posts of",
    r"stored \d+ posts of",
    r"routed \d+ new posts of",
    r"search index",
]
"""Log lines (``-v``) each step writes after its commit; half the kills land right after one."""


def open_batches(config: Path) -> list:
    from storage import SqlStore

    try:
        store = SqlStore.open(load_config(config).database_url)
    except Exception:
        return []
    try:
        return store.staging.open_batches()
    except Exception:  # killed before the first migration committed: no tables yet
        return []
    finally:
        store.dispose()


def kill_after(process: subprocess.Popen[bytes], milestone: str, *, nth: int) -> None:
    """Read the run's log until the ``nth`` line matching ``milestone``, then SIGKILL it (if
    no such line comes, the run finishes)."""
    assert process.stderr is not None
    seen = 0
    for line in process.stderr:
        if re.search(milestone, line.decode(errors="replace")):
            seen += 1
            if seen == nth:
                process.send_signal(signal.SIGKILL)
                return


def test_crash_random_kills_lose_nothing_and_duplicate_nothing(
    database: str, tmp_path: Path
) -> None:
    rng = random.Random(f"earshot-crash-{database.split(':')[0]}")  # fixed per database kind
    corpus = Corpus(tmp_path / "feed")
    corpus.folder.mkdir()
    corpus.add_pages("a.jsonl", 20)
    corpus.add_pages("b.jsonl", 10)
    config = write_crash_config(tmp_path, corpus)

    durations = [2.0]  # seconds whole runs took (learnt from the runs that finish)
    kills = finished = turn = 0
    left_open: Counter[str] = Counter()  # stages of the batches each kill left behind
    while kills < KILLS:
        assert kills + finished < 4 * KILLS, "runs finish before any kill lands"
        if kills % 2:  # at a random moment
            process = earshot(config, "run", "--once")
            started = time.monotonic()
            time.sleep(rng.uniform(0.0, sum(durations) / len(durations)))
            if process.poll() is None:
                process.send_signal(signal.SIGKILL)
        else:  # right after a step committed and logged it: the next step is under way
            process = earshot(config, "-v", "run", "--once")
            started = time.monotonic()
            turn += 1
            milestone = MILESTONES[turn % len(MILESTONES)]
            kill_after(process, milestone, nth=1 + turn // len(MILESTONES) % 2)
        _out, err = process.communicate()
        killed = process.returncode == -signal.SIGKILL  # it may have ended as the kill came
        if killed:
            kills += 1
            left_open.update(b.stage for b in open_batches(config))
        else:
            assert process.returncode == 0, err.decode(errors="replace")[-2000:]
            finished += 1
            durations.append(time.monotonic() - started)
        if kills % 3 == 2 or not killed:
            corpus.add_pages("a.jsonl", 2)  # new mentions keep arriving between runs

    print(f"{kills} kills, {finished} runs finished first; batches left open: {left_open}")
    assert left_open["collected"] and left_open["stored"], left_open  # both windows were hit

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

"""The insights benchmark (`make bench`): the daily scoring over a generated store of one
million posts, its time and peak memory. Target: under 5 minutes and 2 GB on 2 cores.

The store is generated once (``var/bench/insights-<n>.db``, SQLite, about a minute) and kept:
100,000 authors with a long-tailed activity, 90 days of posts on X and Reddit, the sentiment,
intent and spam labels a classifier would give, and Reddit threads with questions, answers and
thank-yous. The scoring runs in its own process, so that its peak memory is its own.
"""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

POSTS = 1_000_000
AUTHORS = 100_000
AT = datetime(2026, 11, 1, tzinfo=UTC)
TARGET_SECONDS = 300
TARGET_MB = 2_000
VERSION = 1
POSITIVE = [
    "Love my Halden hub, works great",
    "You should get the Halden Therma, best I've used",
    "Halden support sorted it in minutes, brilliant",
    "Switched to Halden last year and never looked back",
]
NEGATIVE = ["Halden app down again", "Still waiting for my Halden refund", "Hub offline again"]
NEUTRAL = ["Halden announces new firmware", "Saw a Halden van today", "Halden shop opening hours"]
QUESTIONS = [
    "How do I reset the hub?",
    "Why is my thermostat reading cold?",
    "Can I add a second hub?",
]
ANSWERS = ["Hold the button 15 seconds", "Move it away from the door", "Use a repeater plug"]
THANKS = ["That worked, thanks!", "Sorted, cheers", "Thank you, fixed"]


def generate(path: Path, n: int = POSTS, *, progress: bool = True) -> None:
    """Write a store of ``n`` labelled posts to ``path`` (SQLite), migrated to the current
    schema."""
    from sqlalchemy import insert

    from storage import SqlStore
    from storage.migrate import upgrade
    from storage.sql import schema

    path.parent.mkdir(parents=True, exist_ok=True)
    path.unlink(missing_ok=True)
    url = f"sqlite:///{path}"
    upgrade(url)
    store = SqlStore.open(url)
    rng = random.Random(20261101)
    weights = [1 / (i + 1) ** 0.9 for i in range(AUTHORS)]  # a few very active authors
    authors = rng.choices(range(AUTHORS), weights=weights, k=n)
    first_seen = AT
    posts_rows: list[dict] = []
    label_rows: list[dict] = []
    open_questions: list[tuple[str, str, int]] = []  # (post id, thread, asker)
    answered: list[tuple[str, str, int]] = []

    def flush() -> None:
        with store.engine.begin() as conn:
            conn.execute(insert(schema.posts), posts_rows)
            conn.execute(insert(schema.enrichments), label_rows)
        posts_rows.clear()
        label_rows.clear()

    for i, author in enumerate(authors):
        created = AT - timedelta(seconds=rng.randrange(90 * 86400))
        reddit = author % 3 == 0
        source = "reddit" if reddit else "x"
        native = f"t1_{i:x}" if reddit else str(10**18 + i)
        post_id = f"{source}:{native}"
        thread, parent, intent, sentiment = None, None, "other", "neutral"
        roll = rng.random()
        if reddit and roll < 0.15:
            text, intent, thread = rng.choice(QUESTIONS), "question", native
            open_questions.append((native, native, author))
        elif reddit and roll < 0.35 and open_questions:
            q, thread, asker = open_questions[rng.randrange(len(open_questions))]
            text, parent = rng.choice(ANSWERS), q
            answered.append((native, thread, asker))
        elif reddit and roll < 0.45 and answered:
            a, thread, asker = answered[rng.randrange(len(answered))]
            author, text, parent, sentiment = asker, rng.choice(THANKS), a, "positive"
        elif roll < 0.65:
            text, sentiment, intent = rng.choice(POSITIVE), "positive", "praise"
        elif roll < 0.85:
            text, sentiment, intent = rng.choice(NEGATIVE), "negative", "complaint"
        else:
            text = rng.choice(NEUTRAL)
        posts_rows.append(
            {
                "id": post_id,
                "source": source,
                "url": f"https://example.test/{post_id}",
                "author_id": f"{source}:{author}",
                "author_handle": f"user{author}",
                "author_name": f"User {author}",
                "author_followers": 0 if reddit else int(rng.lognormvariate(5, 1.5)),
                "author_verified": False,
                "title": None,
                "text": f"{text} #{i}",
                "language": "en",
                "created_at": created,
                "conversation_id": thread,
                "in_reply_to_id": parent,
                "metrics": {"score": rng.randrange(30)}
                if reddit
                else {"like_count": rng.randrange(20)},
                "first_seen_at": first_seen,
                "cleaned": None,
            }
        )
        label_rows.append(
            {
                "post_id": post_id,
                "sentiment": sentiment,
                "intent": intent,
                "move_private": False,
                "spam": rng.random() < 0.02,
                "language": "en",
                "data": {"results": {"sentiment": {"score": round(0.6 + 0.4 * rng.random(), 2)}}},
                "updated_at": first_seen,
            }
        )
        if len(posts_rows) == 20_000:
            flush()
            if progress and (i + 1) % 100_000 == 0:
                print(f"  generated {i + 1} posts", flush=True)
    if posts_rows:
        flush()
    store.dispose()


def score_only(path: Path) -> dict[str, float]:
    """Score the store at ``path`` (in this process); returns seconds, peak MB and counts."""
    import os
    import resource

    from core.config import load_config
    from services import insights

    os.environ["EARSHOT_DATABASE_URL"] = f"sqlite:///{path}"
    config = load_config()
    start = time.perf_counter()
    counts = insights.score(config, at=AT)
    seconds = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"seconds": round(seconds, 1), "peak_mb": round(peak_mb), **counts}


def main() -> None:
    from nlp.bench import machine

    if len(sys.argv) > 2 and sys.argv[1] == "--score":
        print(json.dumps(score_only(Path(sys.argv[2]))))
        return
    n = int(sys.argv[1]) if len(sys.argv) > 1 else POSTS
    path = Path("var") / "bench" / f"insights-{n}-v{VERSION}.db"
    print(f"machine: {machine()}")
    if not path.is_file():
        print(f"insights: generating a store of {n} posts in {path} (once) ...", flush=True)
        started = time.perf_counter()
        generate(path.with_suffix(".tmp"), n)
        path.with_suffix(".tmp").rename(path)
        print(f"  generated in {time.perf_counter() - started:.0f} s", flush=True)
    print(f"insights: daily scoring over {n} stored posts ...", flush=True)
    out = subprocess.run(
        [sys.executable, "-m", "services.insights_bench", "--score", str(path)],
        check=True,
        capture_output=True,
        text=True,
    )
    result = json.loads(out.stdout.strip().splitlines()[-1])
    ok = result["seconds"] < TARGET_SECONDS and result["peak_mb"] < TARGET_MB
    print(
        f"insights: {n} posts scored in {result['seconds']} s, peak {result['peak_mb']} MB"
        f" ({result['advocate']} advocates, {result['superuser']} super-users,"
        f" {result['detractor']} detractors); target under {TARGET_SECONDS} s and"
        f" {TARGET_MB} MB: {'met' if ok else 'MISSED'}"
    )
    if not ok:
        sys.exit(1)


if __name__ == "__main__":
    main()

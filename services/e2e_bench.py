"""The end-to-end benchmark (`make bench`): ``earshot run --once`` over a generated backlog of
posts as X API v2 pages, on a fresh store each run, with posts per second, peak memory and the
time of each step, next to two reference points measured in the same run on the same texts
(VADER alone; parse and insert into SQLite with FTS5). Speeds move with the CPU and its load:
compare the ratios.

    python -m services.e2e_bench [--posts 100000] [--tier fast|minilm] [--store sqlite|postgres]

The corpus is generated (deterministic, team-written texts: the labelled sample posts and
``nlp/data/posts_written.jsonl``, with varied authors, times, hashtags and order numbers) into
``var/bench/e2e-<n>/`` and kept. PostgreSQL runs only when ``EARSHOT_TEST_DATABASE_URL`` is set:
a scratch database is created there and dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from contextlib import nullcontext
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from storage.sql.database import scratch_postgres

ROOT = Path(__file__).resolve().parents[1]
PAGE = 100
VERSION = 1
TIERS = {
    "fast": ("sentiment.m2v.v1", "intent.m2v.v1"),
    "minilm": ("sentiment.minilm.v1", "intent.minilm.v1"),
}
SUFFIXES = ["", "", "", " #help", " 🙄", " !!", " @HaldenSupport", " pls", " 😍", " lol", " #fail"]


def texts() -> list[str]:
    """The team-written texts the corpus is made of."""
    from nlp.samples import sample_examples

    written = ROOT / "nlp" / "data" / "posts_written.jsonl"
    lines = written.read_text(encoding="utf-8").splitlines() if written.is_file() else []
    return [
        *(text for text, _ in sample_examples(ROOT / "samples")),
        *(json.loads(line)["text"] for line in lines if line.strip()),
    ]


def corpus(n: int) -> Path:
    """``n`` posts as X API v2 search pages (100 a page), generated once and kept."""
    folder = ROOT / "var" / "bench" / f"e2e-{n}-v{VERSION}"
    pages = folder / "x" / "pages.jsonl"
    if pages.is_file():
        return folder
    pages.parent.mkdir(parents=True, exist_ok=True)
    rng = random.Random(n)
    pool = texts()
    users = [
        {
            "id": str(2_000_000_000 + i),
            "username": f"user{i}",
            "name": f"User {i}",
            "public_metrics": {"followers_count": int(rng.lognormvariate(5.0, 1.6))},
            "verified": rng.random() < 0.01,
        }
        for i in range(max(1, n // 4))
    ]
    start = datetime(2026, 11, 1, tzinfo=UTC)
    tmp = pages.with_suffix(".tmp")
    with tmp.open("w", encoding="utf-8") as out:
        for first in range(0, n, PAGE):
            tweets, authors = [], {}
            for i in range(first, min(n, first + PAGE)):
                user = users[int(rng.paretovariate(1.2)) % len(users)]
                authors[user["id"]] = user
                text = rng.choice(pool) + rng.choice(SUFFIXES)
                if rng.random() < 0.03:
                    text += f" order HLD-{rng.randint(100000, 9999999)}"
                at = start + timedelta(seconds=i * 86_400 * 30 // n)
                tweets.append(
                    {
                        "id": str(1_900_000_000_000_000_000 + i),
                        "text": text[:280],
                        "author_id": user["id"],
                        "created_at": at.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                        "lang": "en",
                        "conversation_id": str(1_900_000_000_000_000_000 + i),
                        "public_metrics": {
                            "like_count": int(rng.expovariate(0.5)),
                            "retweet_count": int(rng.expovariate(2.0)),
                            "reply_count": int(rng.expovariate(2.0)),
                            "quote_count": 0,
                        },
                    }
                )
            page = {
                "data": tweets,
                "includes": {"users": list(authors.values())},
                "meta": {"result_count": len(tweets)},
            }
            out.write(json.dumps(page, ensure_ascii=False) + "\n")
    tmp.replace(pages)
    return folder


def config_file(folder: Path, tier: str, work: Path) -> Path:
    """A configuration like the bundled one, with one replay source over the corpus."""
    import yaml

    base = yaml.safe_load((ROOT / "earshot.yaml").read_text(encoding="utf-8"))
    sentiment, intent = TIERS[tier]
    base["classifiers"] = {**base["classifiers"], "sentiment": sentiment, "intent": intent}
    base["sources"] = [
        {"name": "x_backlog", "type": "replay", "network": "x", "paths": [str(folder / "x/*")]}
    ]
    for key in ("intents", "routing", "insights"):
        if isinstance(base.get(key), str):
            base[key] = str(ROOT / base[key])
    base["home"] = str(work)
    path = work / "earshot.yaml"
    path.write_text(yaml.safe_dump(base, sort_keys=False), encoding="utf-8")
    return path


def run_once(folder: Path, tier: str, database_url: str | None) -> dict[str, Any]:
    """``earshot run --once`` in its own process (so that its peak memory is its own)."""
    with tempfile.TemporaryDirectory(prefix="earshot-e2e-") as tmp:
        work = Path(tmp)
        env = {
            **os.environ,
            "EARSHOT_CONFIG": str(config_file(folder, tier, work)),
            "EARSHOT_HOME": str(work),
            "EARSHOT_MODELS": str(ROOT / "var" / "models"),
        }
        env.pop("EARSHOT_DATABASE_URL", None)
        if database_url:
            env["EARSHOT_DATABASE_URL"] = database_url
        cli = [sys.executable, "-m", "cli.main"]
        subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)
        # Peak memory: VmHWM, the high-water mark of this process's own memory. Not
        # ru_maxrss: Linux carries it across exec, so a child started by this process reported
        # this process's size (the 1M-post corpus the reference points read: 3.2 GB).
        script = (
            "import json,resource,sys,time\n"
            "def hwm():\n"
            "    try:\n"
            "        for line in open('/proc/self/status'):\n"
            "            if line.startswith('VmHWM:'): return int(line.split()[1])/1024\n"
            "    except OSError: pass\n"
            "    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss/1024\n"
            "def cpu(who):\n"
            "    usage = resource.getrusage(who)\n"
            "    return usage.ru_utime + usage.ru_stime\n"
            "from core.config import load_config\n"
            "from services import pipeline\n"
            "t=time.perf_counter()\n"
            "s=pipeline.run_once(load_config())\n"
            "from nlp.workers import close_shared_pools\n"
            "close_shared_pools()\n"
            "print(json.dumps({'seconds':time.perf_counter()-t,'new':s['new_posts'],"
            "'steps':s.get('seconds',{}),"
            "'peak_mb':hwm(),"
            "'cpu':cpu(resource.RUSAGE_SELF),'worker_cpu':cpu(resource.RUSAGE_CHILDREN),"
            "'worker_peak_mb':resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss/1024}))\n"
        )
        out = subprocess.run(
            [sys.executable, "-c", script], env=env, check=True, capture_output=True, text=True
        )
        return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def reference_points(folder: Path) -> dict[str, float]:
    """Posts per second of VADER alone, and of json.loads + SQLite insert with FTS5."""
    import sqlite3

    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    lines = (folder / "x" / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    started = time.perf_counter()
    rows = [(t["id"], t["text"], json.dumps(t)) for line in lines for t in json.loads(line)["data"]]
    with tempfile.TemporaryDirectory() as tmp:
        db = sqlite3.connect(Path(tmp) / "ref.db")
        db.execute("create table posts (id text primary key, text text, raw text)")
        db.execute("create virtual table posts_fts using fts5(text)")
        db.executemany("insert into posts values (?, ?, ?)", rows)
        db.executemany("insert into posts_fts values (?)", [(r[1],) for r in rows])
        db.commit()
        db.close()
    insert = len(rows) / (time.perf_counter() - started)
    analyzer = SentimentIntensityAnalyzer()
    sample = [r[1] for r in rows[:20_000]]
    started = time.perf_counter()
    for text in sample:
        analyzer.polarity_scores(text)
    vader = len(sample) / (time.perf_counter() - started)
    return {"vader": vader, "parse_insert": insert}


def main(argv: list[str] | None = None) -> None:
    from nlp.bench import machine

    parser = argparse.ArgumentParser(prog="python -m services.e2e_bench")
    parser.add_argument("--posts", type=int, default=100_000)
    parser.add_argument("--tier", choices=sorted(TIERS), default="fast")
    parser.add_argument("--store", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args(argv)
    load = os.getloadavg()[0]
    print(f"machine: {machine()}; load average {load:.2f} at the start")
    print(f"end to end: earshot run --once over {args.posts:,} posts ({args.tier} tier)")
    folder = corpus(args.posts)
    stores: list[tuple[str, str | None]] = []
    if args.store in ("sqlite", "both"):
        stores.append(("SQLite", None))
    pg = os.environ.get("EARSHOT_TEST_DATABASE_URL")
    if args.store in ("postgres", "both"):
        if pg:
            stores.append(("PostgreSQL", pg))
        else:
            print("  PostgreSQL: skipped (set EARSHOT_TEST_DATABASE_URL to measure it)")
    refs = reference_points(folder)
    for label, url in stores:
        with scratch_postgres(url, "earshot_e2e") if url else nullcontext(None) as database:
            result = run_once(folder, args.tier, database)
        seconds = float(result["seconds"])
        rate = args.posts / seconds
        steps = result.get("steps") or {}
        print(
            f"  {label}: {rate:,.0f} posts/s ({args.posts:,} posts in {seconds:.1f} s),"
            f" peak memory {float(result['peak_mb']):,.0f} MB"
            + (
                f" (+ {float(result['worker_peak_mb']):,.0f} MB in each classification worker)"
                if result.get("worker_peak_mb")
                else ""
            )
        )
        if steps:
            print("    steps: " + ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()))
        if "cpu" in result:
            print(
                f"    CPU time: main process {float(result['cpu']):.1f} s,"
                f" classification workers {float(result['worker_cpu']):.1f} s"
            )
        print(
            f"    VADER alone {refs['vader']:,.0f} posts/s ({refs['vader'] / rate:.1f} x);"
            f" parse + SQLite insert {refs['parse_insert']:,.0f} posts/s"
            f" ({refs['parse_insert'] / rate:.1f} x)"
        )


if __name__ == "__main__":
    main()

"""A generated replay corpus and a real ``earshot`` process to kill: shared by the crash and
concurrency tests of the pipeline's guarantees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import yaml
from sqlalchemy import text

from core.config import load_config
from services.runtime import open_store
from tests.conftest import ROOT, SAMPLES, sample_labels

FAST_CLASSIFIERS = {
    "language": "language.stopwords.v1",
    "spam": "spam.rules.v2",
    "sentiment": "sentiment.vader.v1",
    "pii": "pii.regex.v1",
    "intent": "intent.keywords.v1",
    "private": "private.rules.v1",
}
"""Rule-based classifiers: a process starts in about a second, so that kills land all over
the run instead of mostly in model loading."""

TEMPLATES = [
    "@HaldenSupport my order {n} still has not arrived, any update?",
    "Love the new Halden Hub, setup took two minutes #{n}",
    "Halden charged me twice this month, refund please (ref {n})",
    "Is the Halden thermostat compatible with older boilers? asking for house {n}",
    "the app keeps logging me out since the update, tried {n} times",
    "cancel my Halden subscription, I'm done after {n} days of outages",
]


@dataclass
class Corpus:
    """X pages written to ``folder``; knows which tweet ids are valid and which are not."""

    folder: Path
    valid: set[str] = field(default_factory=set)
    poison: int = 0
    next_id: int = 1_990_000_000_000_000_000

    def add_pages(self, name: str, pages: int, per_page: int = 50) -> None:
        path = self.folder / name
        with path.open("a", encoding="utf-8") as out:
            for _ in range(pages):
                tweets = []
                for i in range(per_page):
                    tweet_id = str(self.next_id)
                    self.next_id += 1
                    tweet = {
                        "id": tweet_id,
                        "text": TEMPLATES[int(tweet_id) % len(TEMPLATES)].format(n=tweet_id[-6:]),
                        "author_id": str(1_500_000_000 + int(tweet_id) % 17),
                        "created_at": "2026-11-20T10:00:00.000Z",
                        "lang": "en",
                    }
                    if i == per_page - 1:  # one bad record per page: no time
                        del tweet["created_at"]
                        self.poison += 1
                    else:
                        self.valid.add(f"x:{tweet_id}")
                    tweets.append(tweet)
                users = [
                    {"id": str(1_500_000_000 + u), "username": f"user{u}", "name": f"User {u}"}
                    for u in range(17)
                ]
                page = {"data": tweets, "includes": {"users": users}}
                out.write(json.dumps(page) + "\n")


def write_crash_config(directory: Path, corpus: Corpus) -> Path:
    data = yaml.safe_load((ROOT / "earshot.yaml").read_text(encoding="utf-8"))
    data["intents"] = str(ROOT / "config" / "intents.yaml")
    data["insights"] = str(ROOT / "config" / "insights.yaml")
    data["routing"] = str(ROOT / "config" / "routing.yaml")
    data["classifiers"] = dict(FAST_CLASSIFIERS)
    data["sources"] = [
        {
            "name": "x_generated",
            "type": "replay",
            "network": "x",
            "paths": [str(corpus.folder / "*.jsonl")],
        },
        {
            "name": "reddit_samples",
            "type": "replay",
            "network": "reddit",
            "paths": [str(SAMPLES / "reddit" / "*.jsonl")],
        },
    ]
    path = directory / "earshot.yaml"
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def earshot(config: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``earshot <args>`` as its own process (as a user or a scheduler would)."""
    command = [str(Path(sys.executable).parent / "earshot"), "--config", str(config), *args]
    return subprocess.Popen(
        command, env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def expected_ids(corpus: Corpus) -> set[str]:
    return corpus.valid | {i for i in sample_labels() if i.startswith("reddit:")}


def assert_invariants(config_path: Path, corpus: Corpus) -> None:
    """Every distinct valid input id stored once, routed once and indexed once; every bad
    record dead-lettered once; nothing left in staging; cursors at the end of the input."""
    config = load_config(config_path)
    store = open_store(config)
    stored = set(store.posts.ids(source="x", limit=10**6)) | set(
        store.posts.ids(source="reddit", limit=10**6)
    )
    expected = expected_ids(corpus)
    assert stored == expected, (
        f"missing {sorted(expected - stored)[:5]}, unexpected {sorted(stored - expected)[:5]}"
    )
    assert store.posts.unrouted_count() == 0
    assert sum(store.queues.counts().values()) == len(expected)  # one item per post (key)
    assert store.outbox.count() == 0
    with store.engine.connect() as conn:
        indexed = conn.execute(text("SELECT count(*) FROM search_documents")).scalar()
        distinct = conn.execute(
            text("SELECT count(DISTINCT post_id) FROM search_documents")
        ).scalar()
    assert indexed == distinct == len(expected)
    generated = [d for d in store.dead_letters.list(limit=10**6) if d.source == "x_generated"]
    assert len(generated) == corpus.poison
    assert store.staging.item_count() == 0
    assert store.staging.open_batches() == []

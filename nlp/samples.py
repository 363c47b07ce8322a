"""The labelled sample corpus (``samples/``) as ``(text, labels)`` pairs, for training the heads
and for the benchmark.

The texts are read straight from the API-shaped JSONL files, as the replay listener turns
them into posts (X: the tweet's text; Reddit: a submission's title and body, a comment's
body; card numbers masked), so that classifier training needs no listener.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from core.redaction import mask_cards


def sample_examples(samples_dir: Path) -> list[tuple[str, dict[str, str]]]:
    """``(text, labels)`` for every labelled sample post (spam excluded), in file order."""
    labels_path = samples_dir / "labels.csv"
    if not labels_path.is_file():
        return []
    with labels_path.open(encoding="utf-8") as handle:
        labels = {row["id"]: row for row in csv.DictReader(handle)}
    texts = [*_x_texts(samples_dir / "x"), *_reddit_texts(samples_dir / "reddit")]
    return [
        (text, labels[post])
        for post, text in texts
        if post in labels and labels[post]["spam"] != "true"
    ]


def _pages(folder: Path) -> Iterator[dict[str, Any]]:
    """Each complete, well-formed JSON object line of the folder's ``*.jsonl`` files."""
    for path in sorted(folder.glob("*.jsonl")):
        with path.open("rb") as handle:
            for raw in handle:
                if not raw.endswith(b"\n"):
                    break  # a last line still being written
                try:
                    page = json.loads(raw.decode("utf-8"))
                except (UnicodeDecodeError, json.JSONDecodeError):
                    continue  # the samples hold deliberately bad records
                if isinstance(page, dict):
                    yield page


def _x_texts(folder: Path) -> Iterator[tuple[str, str]]:
    for page in _pages(folder):
        tweets = page.get("data")
        for tweet in tweets if isinstance(tweets, list) else ():
            if isinstance(tweet, dict) and _strings(tweet, "id", "text"):
                yield f"x:{tweet['id']}", mask_cards(tweet["text"])


def _reddit_texts(folder: Path) -> Iterator[tuple[str, str]]:
    for page in _pages(folder):
        listing = page.get("data")
        children = listing.get("children") if isinstance(listing, dict) else None
        for thing in children if isinstance(children, list) else ():
            data = thing.get("data") if isinstance(thing, dict) else None
            if not isinstance(data, dict) or not _strings(data, "name"):
                continue
            if thing.get("kind") == "t3" and _strings(data, "title"):
                body = data.get("selftext") or ""
                text = f"{data['title']}\n\n{body}".strip() if body else data["title"]
            elif thing.get("kind") == "t1" and _strings(data, "body"):
                text = data["body"]
            else:
                continue
            yield f"reddit:{data['name']}", mask_cards(text)


def _strings(record: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(record.get(key), str) for key in keys)

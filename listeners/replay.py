"""The replay listener: the embedded default source, reading API-shaped JSONL files.

Each line of an X file is one X API v2 search response page (``data`` plus
``includes.users``); each line of a Reddit file is one listing (``kind: Listing``). The cursor
records how many lines of each file were consumed, so a second run reads only what was
appended since.
"""

from __future__ import annotations

import glob
import json
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import ConfigError, RecordError
from core.models import DeadLetter, Post
from listeners.base import Fetch, Removal
from listeners.reddit_records import normalize_reddit_thing
from listeners.x_records import normalize_tweet, users_by_id

log = logging.getLogger(__name__)


class ReplayListener:
    """Replays JSONL files of API responses for one network (``x`` or ``reddit``)."""

    def __init__(self, *, name: str, network: str, paths: list[str], base_dir: Path) -> None:
        if network not in ("x", "reddit"):
            raise ConfigError(f"replay source {name!r}: unknown network {network!r}")
        self.name = name
        self.network = network
        self.paths = paths
        self.base_dir = base_dir

    def files(self) -> list[Path]:
        found: list[Path] = []
        for pattern in self.paths:
            # glob.glob, unlike Path.glob, also takes absolute patterns.
            matches = sorted(Path(m) for m in glob.glob(str(self.base_dir / pattern)))
            if not matches:
                log.warning("replay source %s: no file matches %s", self.name, pattern)
            found.extend(m for m in matches if m.is_file())
        return list(dict.fromkeys(found))

    def check(self, post_ids: Sequence[str]) -> list[Removal]:
        """Replayed files never change after the fact: nothing to remove."""
        return []

    def fetch(self, cursor: dict[str, Any] | None, *, until: datetime | None = None) -> Fetch:
        consumed: dict[str, int] = dict((cursor or {}).get("lines", {}))
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        for path in self.files():
            key = self._key(path)
            start = consumed.get(key, 0)
            end = start
            for number, raw in _complete_lines(path, start):
                end = number
                if not raw.strip():
                    continue
                location = f"{key}:{number}"
                new_posts, new_letters = self._parse_line(raw, location)
                posts.extend(new_posts)
                letters.extend(new_letters)
            consumed[key] = end
        for letter in letters:
            log.warning("%s: bad record sent to the dead-letter table: %s", self.name, letter.error)
        return Fetch(
            posts=tuple(posts),
            dead_letters=tuple(letters),
            cursor={"lines": consumed},
        )

    def _key(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.base_dir))
        except ValueError:
            return str(path)

    def _parse_line(self, raw: bytes, location: str) -> tuple[list[Post], list[DeadLetter]]:
        def dead(error: str, payload: bytes = raw, where: str = location) -> DeadLetter:
            return DeadLetter(self.name, where, f"{where}: {error}", payload)

        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return [], [dead(f"invalid UTF-8 at byte {e.start}")]
        try:
            page = json.loads(line)
        except json.JSONDecodeError as e:
            return [], [dead(f"invalid JSON ({e.msg} at column {e.colno})")]
        if not isinstance(page, dict):
            return [], [dead(f"expected a JSON object, got {type(page).__name__}")]

        items, normalize = self._items(page)
        if items is None:
            shape = "an X API v2 page with 'data'" if self.network == "x" else "a Reddit Listing"
            return [], [dead(f"expected {shape}")]
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        for index, item in enumerate(items):
            where = f"{location} item {index}"
            try:
                posts.append(normalize(item))
            except RecordError as e:
                payload = json.dumps(item, ensure_ascii=False).encode("utf-8")
                letters.append(dead(str(e), payload, where))
        return posts, letters

    def _items(self, page: dict[str, Any]) -> tuple[list[Any] | None, Any]:
        if self.network == "x":
            data = page.get("data", [] if "meta" in page else None)
            users = users_by_id(page)
            return (data if isinstance(data, list) else None), lambda t: normalize_tweet(t, users)
        listing = page.get("data")
        if page.get("kind") != "Listing" or not isinstance(listing, dict):
            return None, None
        children = listing.get("children")
        return (children if isinstance(children, list) else None), normalize_reddit_thing


def _complete_lines(path: Path, skip: int) -> Iterator[tuple[int, bytes]]:
    """Yield ``(line number, bytes)`` after the first ``skip`` lines, 1-based.

    A last line without a newline is still being written by whoever appends to the file;
    it is left for the next fetch.
    """
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number <= skip:
                continue
            if not raw.endswith(b"\n"):
                return
            yield number, raw.rstrip(b"\r\n")

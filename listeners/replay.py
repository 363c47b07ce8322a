"""The replay listener: the embedded default source, reading API-shaped JSONL files.

Each line of an X file is one X API v2 search response page (``data`` plus
``includes.users``); each line of a Reddit file is one listing (``kind: Listing``). The cursor
records how many lines of each file were consumed, and how many bytes with a hash of their
start, so a second run reads only what was appended since, and a file replaced by another
(shorter, or with different content) is read again from its start (storing is idempotent, so
re-reading loses nothing and duplicates nothing).

A configured pattern that matches no file is an error (a typo must not look like a quiet
day). Records deleted or removed before they were replayed are skipped, not stored.
"""

from __future__ import annotations

import glob
import hashlib
import json
import logging
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from core.errors import ConfigError, NotAMention
from core.models import DeadLetter, Post
from core.redaction import redact_pii
from listeners.base import Fetch, Removal, failure, payload_bytes
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
            files = [m for m in matches if m.is_file()]
            if not files:
                raise ConfigError(
                    f"replay source {self.name!r}: no file matches {pattern!r}"
                    f" (looked in {self.base_dir})"
                )
            found.extend(files)
        return list(dict.fromkeys(found))

    def share_read(self, cursor: dict[str, Any] | None) -> float | None:
        """The share of the files' bytes a cursor has consumed (a backfill's progress)."""
        marks = (cursor or {}).get("files") or {}
        total = done = 0
        for path in self.files():
            size = path.stat().st_size
            total += size
            done += min(size, int((marks.get(self._key(path)) or {}).get("bytes", 0)))
        return done / total if total else None

    def check(self, post_ids: Sequence[str]) -> list[Removal]:
        """Replayed files never change after the fact: nothing to remove."""
        return []

    def fetch(
        self,
        cursor: dict[str, Any] | None,
        *,
        until: datetime | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Fetch:
        consumed: dict[str, int] = dict((cursor or {}).get("lines", {}))
        marks: dict[str, dict[str, Any]] = dict((cursor or {}).get("files", {}))
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        skipped = older = 0
        more = False
        for path in self.files():
            key = self._key(path)
            start = consumed.get(key, 0)
            if start and _replaced(path, start, marks.get(key)):
                log.warning(
                    "%s: %s was replaced since it was read (%d lines consumed): reading it again"
                    " from the start",
                    self.name,
                    key,
                    start,
                )
                start = 0
            end, offset = start, int((marks.get(key) or {}).get("bytes", 0)) if start else 0
            for number, raw, after in _complete_lines(path, start, offset):
                if limit is not None and len(posts) + len(letters) >= limit:
                    more = True  # this line and the rest wait for the next fetch
                    break
                end, offset = number, after
                if not raw.strip():
                    continue
                location = f"{key}:{number}"
                new_posts, new_letters, new_skipped = self.parse_line(raw, location)
                if since is not None:
                    kept = [p for p in new_posts if p.created_at >= since]
                    older += len(new_posts) - len(kept)
                    new_posts = kept
                posts.extend(new_posts)
                letters.extend(new_letters)
                skipped += new_skipped
            consumed[key] = end
            if end and not offset:  # a cursor from before byte offsets were kept
                offset = _offset_after(path, end)
            marks[key] = {"bytes": offset, "head": _head(path, offset)}
            if more:
                break
        for letter in letters:
            log.warning(
                "%s: bad record sent to the dead-letter table: %s",
                self.name,
                redact_pii(letter.error),
            )
        if skipped:
            log.info(
                "%s: skipped %d posts deleted or removed before they were seen", self.name, skipped
            )
        if older:
            log.info("%s: skipped %d posts from before %s", self.name, older, since)
        return Fetch(
            posts=tuple(posts),
            dead_letters=tuple(letters),
            cursor={"lines": consumed, "files": marks},
            more=more,
        )

    def _key(self, path: Path) -> str:
        try:
            return str(path.relative_to(self.base_dir))
        except ValueError:
            return str(path)

    def parse_line(self, raw: bytes, location: str) -> tuple[list[Post], list[DeadLetter], int]:
        """One line's posts, dead letters, and how many records were skipped (deleted or
        removed before they were seen). Never raises for what the line holds."""

        def dead(error: str, payload: bytes = raw, where: str = location) -> DeadLetter:
            return DeadLetter(self.name, where, f"{where}: {error}", payload)

        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError as e:
            return [], [dead(f"invalid UTF-8 at byte {e.start}")], 0
        try:
            page = json.loads(line)
        except (json.JSONDecodeError, RecursionError) as e:
            reason = (
                f"{e.msg} at column {e.colno}"
                if isinstance(e, json.JSONDecodeError)
                else ("nested too deeply")
            )
            return [], [dead(f"invalid JSON ({reason})")], 0
        if not isinstance(page, dict):
            return [], [dead(f"expected a JSON object, got {type(page).__name__}")], 0

        items, normalize = self._items(page)
        if items is None:
            shape = "an X API v2 page with 'data'" if self.network == "x" else "a Reddit Listing"
            return [], [dead(f"expected {shape}")], 0
        posts: list[Post] = []
        letters: list[DeadLetter] = []
        skipped = 0
        for index, item in enumerate(items):
            where = f"{location} item {index}"
            try:
                posts.append(normalize(item))
            except NotAMention:
                skipped += 1
            except Exception as e:  # one record's fault: dead-letter it, go on
                letters.append(dead(failure(e), payload_bytes(item), where))
        return posts, letters, skipped

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


def _complete_lines(path: Path, skip: int, offset: int = 0) -> Iterator[tuple[int, bytes, int]]:
    """Yield ``(line number, bytes, offset after the line)`` after the first ``skip`` lines,
    1-based. ``offset``, when known, is where line ``skip + 1`` starts: reading seeks there
    instead of counting lines from the start (a backfill reads a large file in many fetches).

    A last line without a newline is still being written by whoever appends to the file;
    it is left for the next fetch.
    """
    with path.open("rb") as handle:
        if skip and offset:
            handle.seek(offset)
            lines: Iterator[tuple[int, bytes]] = enumerate(handle, start=skip + 1)
        else:
            offset = 0
            lines = enumerate(handle, start=1)
        for number, raw in lines:
            offset += len(raw)
            if number <= skip:
                continue
            if not raw.endswith(b"\n"):
                return
            yield number, raw.rstrip(b"\r\n"), offset


HEAD_BYTES = 4096
"""How much of a file's consumed start the cursor fingerprints."""


def _head(path: Path, upto: int) -> str:
    with path.open("rb") as handle:
        return hashlib.sha256(handle.read(min(upto, HEAD_BYTES))).hexdigest()


def _offset_after(path: Path, lines: int) -> int:
    offset = 0
    with path.open("rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if number > lines:
                break
            offset += len(raw)
    return offset


def _replaced(path: Path, lines: int, mark: dict[str, Any] | None) -> bool:
    """Whether the file no longer starts with what the cursor consumed of it."""
    if isinstance(mark, dict) and isinstance(mark.get("bytes"), int):
        if path.stat().st_size < mark["bytes"]:
            return True
        return _head(path, mark["bytes"]) != mark.get("head")
    # A cursor of lines only: the file is replaced if it has fewer complete lines now.
    complete = 0
    with path.open("rb") as handle:
        for raw in handle:
            if raw.endswith(b"\n"):
                complete += 1
                if complete >= lines:
                    return False
    return True

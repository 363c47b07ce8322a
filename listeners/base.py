"""The listener interface (:class:`Listener`, what a fetch returns, what a check finds) and the
record validation every normalizer shares (:func:`require`, :func:`clean_text`).

Imports nothing from the listeners that implement it.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from core.errors import RecordError
from core.models import DeadLetter, Post

MAX_TEXT_CHARS = 40_000
"""Longest text accepted: Reddit's own limit for a self-post or comment (X allows 25,000)."""

# Invisible and format characters. Bidirectional marks, embeddings, overrides and isolates can
# make a post display differently from what it says (the "Trojan Source" trick); zero-width
# spaces, soft hyphens, Hangul fillers and tag characters hide words from search and rules or
# make an empty-looking post. They are removed, and the post is kept with a note of what was
# removed (``Post.cleaned``). Kept: zero-width joiner and non-joiner (emoji sequences, Indic and
# Persian scripts), variation selectors, tab and newline, and the tag characters of an emoji
# tag sequence (the flags of England, Scotland and Wales).
_EMOJI_TAG_SEQUENCE = "\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f"
_INVISIBLE = (
    "[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u00ad\u061c\u115f\u1160\u180e\u200b"
    "\u200e\u200f\u202a-\u202e\u2060-\u2064\u2066-\u206f\u3164\ufeff\uffa0"
    "\U000e0000-\U000e007f]"
)
_CLEAN = re.compile(f"({_EMOJI_TAG_SEQUENCE})|{_INVISIBLE}")


class Removal(NamedTuple):
    """A stored post that must go: deleted, made protected, or removed by moderators."""

    post_id: str
    reason: str


@dataclass(frozen=True)
class Fetch:
    """What one fetch produced: posts, records that failed, and the cursor to save after commit.

    ``more``: the fetch stopped at its ``limit`` with posts still to read; fetching again from
    ``cursor`` goes on where it stopped."""

    posts: tuple[Post, ...]
    dead_letters: tuple[DeadLetter, ...]
    cursor: dict[str, Any]
    more: bool = False


class Listener(Protocol):
    """One configured source: reads new posts from a cursor, and re-checks stored ones."""

    name: str

    def fetch(
        self,
        cursor: dict[str, Any] | None,
        *,
        until: datetime | None = None,
        since: datetime | None = None,
        limit: int | None = None,
    ) -> Fetch:
        """Fetch what was posted after ``cursor`` (and before ``until``, if given; from
        ``since`` on, if given: a backfill's start).

        With ``limit``, stops once about that many posts are read (at the end of a line, page
        or stream, so the cursor can resume there) and says whether more is left
        (:attr:`Fetch.more`). Returns the cursor to save once the posts are committed; never
        saves it itself.
        """
        ...

    def check(self, post_ids: Sequence[str]) -> list[Removal]:
        """Which of these stored posts must be removed (deleted, protected, removed)."""
        ...


def require(record: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    """Return ``record[key]`` or raise a :class:`RecordError` naming the field."""
    if not isinstance(record, dict):
        raise RecordError(f"expected an object, got {type(record).__name__}")
    if key not in record or record[key] is None:
        raise RecordError(f"missing required field {key!r}")
    value = record[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        expected = " or ".join(k.__name__ for k in _as_tuple(kind))
        raise RecordError(f"field {key!r} must be {expected}, got {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def clean_text(text: Any, field_name: str = "text") -> tuple[str, str | None]:
    """Validate and clean one text field: a string of valid Unicode, bounded, without
    invisible characters. Returns the cleaned text and a note of what was removed (None if
    nothing was); raises :class:`RecordError` naming the field otherwise."""
    if not isinstance(text, str):
        raise RecordError(f"field {field_name!r} must be str, got {type(text).__name__}")
    if len(text) > MAX_TEXT_CHARS:
        raise RecordError(
            f"field {field_name!r} is {len(text):,} characters long;"
            f" the limit is {MAX_TEXT_CHARS:,}"
        )
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RecordError(
            f"field {field_name!r} contains a lone surrogate U+{ord(text[e.start]):04X}"
            f" at offset {e.start} (not valid Unicode text)"
        ) from None
    removed: list[str] = []

    def strip(match: re.Match[str]) -> str:
        if match.group(1):
            return match.group(1)
        removed.append(match.group())
        return ""

    cleaned = _CLEAN.sub(strip, text)
    if not removed:
        return text, None
    codes = ", ".join(f"U+{ord(c):04X}" for c in sorted(set(removed)))
    plural = "" if len(removed) == 1 else "s"
    note = f"{field_name}: removed {len(removed)} invisible character{plural} ({codes})"
    return cleaned, note


def payload_bytes(record: Any) -> bytes:
    """A record as JSON bytes for the dead-letter table, whatever it holds (lone surrogates
    are escaped, anything JSON cannot encode is written as its ``repr``)."""
    text = json.dumps(record, ensure_ascii=False, default=repr)
    return text.encode("utf-8", "backslashreplace")


def failure(error: Exception) -> str:
    """What to record about a record that could not be normalized."""
    if isinstance(error, RecordError):
        return str(error)
    return f"unexpected {type(error).__name__}: {error}"

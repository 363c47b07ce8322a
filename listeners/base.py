"""The listener interface (:class:`Listener`, what a fetch returns, what a check finds) and the
record validation every normalizer shares (:func:`require`, :func:`check_text`).

Imports nothing from the listeners that implement it.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple, Protocol

from core.errors import RecordError
from core.models import DeadLetter, Post

MAX_TEXT_CHARS = 40_000
"""Longest text accepted: Reddit's own limit for a self-post or comment (X allows 25,000)."""

# Bidirectional embedding/override/isolate controls can make a post display differently from
# what it says (the "Trojan Source" trick), and zero-width spaces hide words from search and
# rules. Zero-width joiners stay allowed: emoji sequences and several scripts need them.
_FORBIDDEN = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u180e\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


class Removal(NamedTuple):
    """A stored post that must go: deleted, made protected, or removed by moderators."""

    post_id: str
    reason: str


@dataclass(frozen=True)
class Fetch:
    """What one fetch produced: posts, records that failed, and the cursor to save after commit."""

    posts: tuple[Post, ...]
    dead_letters: tuple[DeadLetter, ...]
    cursor: dict[str, Any]


class Listener(Protocol):
    """One configured source: reads new posts from a cursor, and re-checks stored ones."""

    name: str

    def fetch(self, cursor: dict[str, Any] | None, *, until: datetime | None = None) -> Fetch:
        """Fetch what was posted after ``cursor`` (and before ``until``, if given).

        Returns the cursor to save once the posts are committed; never saves it itself.
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


def check_text(text: str, field_name: str = "text") -> str:
    """Validate post text: bounded length, no invisible or direction-override controls."""
    if len(text) > MAX_TEXT_CHARS:
        raise RecordError(
            f"field {field_name!r} is {len(text):,} characters long;"
            f" the limit is {MAX_TEXT_CHARS:,}"
        )
    match = _FORBIDDEN.search(text)
    if match:
        char = match.group()
        name = unicodedata.name(char, "control character")
        raise RecordError(
            f"field {field_name!r} contains U+{ord(char):04X} {name} at offset {match.start()}"
        )
    return text

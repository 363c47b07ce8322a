"""The listener interface, record validation shared by every source, and the factory."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol

from core.models import DeadLetter, Post

if TYPE_CHECKING:
    from core.config import Config, SourceConfig

MAX_TEXT_CHARS = 40_000
"""Longest text accepted: Reddit's own limit for a self-post or comment (X allows 25,000)."""

# Bidirectional embedding/override/isolate controls can make a post display differently from
# what it says (the "Trojan Source" trick), and zero-width spaces hide words from search and
# rules. Zero-width joiners stay allowed: emoji sequences and several scripts need them.
_FORBIDDEN = re.compile(
    "[\u202a-\u202e\u2066-\u2069\u200b\u2060\ufeff\u180e\x00-\x08\x0b\x0c\x0e-\x1f\x7f]"
)


class RecordError(ValueError):
    """One record could not be normalized; the message says which field and why."""


class ListenerError(RuntimeError):
    """A source could not be read; the message names the source and what failed."""


class ListenerAuthError(ListenerError):
    """The credentials were refused or are missing. Retrying will not help."""


class RateLimited(ListenerError):
    """The platform asked us to wait until ``reset_at``."""

    def __init__(self, message: str, reset_at: datetime) -> None:
        super().__init__(message)
        self.reset_at = reset_at


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
    stats: dict[str, int] = field(default_factory=dict)


class Listener(Protocol):
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


def build_listener(source: SourceConfig, config: Config) -> Listener:
    """Create the listener a source configuration describes."""
    if source.type == "replay":
        from listeners.replay import ReplayListener

        paths = source.options.get("paths")
        if not isinstance(paths, list) or not paths:
            raise ValueError(f"source {source.name!r}: a replay source needs a list of 'paths'")
        return ReplayListener(
            name=source.name,
            network=source.network,
            paths=[str(p) for p in paths],
            base_dir=config.base_dir,
        )
    if source.type == "x":
        from listeners.x import XListener

        return XListener.from_config(source)
    if source.type == "reddit":
        from listeners.reddit import RedditListener

        return RedditListener.from_config(source)
    raise ValueError(
        f"source {source.name!r}: unknown listener type {source.type!r} (known: replay, x, reddit)"
    )

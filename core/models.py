"""The data model: a public post, what the classifiers found in it, and where it was routed.

All types are frozen dataclasses. ``to_dict``/``from_dict`` give a JSON-safe form with
ISO-8601 UTC timestamps (:mod:`core.timeutil`), used by staging, the store and the CLI.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field
from datetime import datetime
from typing import Any, ClassVar, TypeVar

from core.errors import RecordError
from core.timeutil import from_iso, to_iso

T = TypeVar("T")

SOURCES: tuple[str, ...] = ("x", "reddit")

SENTIMENTS: tuple[str, ...] = ("negative", "neutral", "positive")
INTENTS: tuple[str, ...] = (
    "complaint",
    "billing",
    "delivery",
    "technical",
    "account",
    "question",
    "purchase",
    "cancel",
    "praise",
    "feedback",
    "partnership",
    "other",
)
ACTIONS: tuple[str, ...] = (
    "reply_public",
    "move_private",
    "self_service",
    "escalate",
    "thank",
    "no_action",
)
QUEUE_STATUSES: tuple[str, ...] = (
    "new",
    "claimed",
    "responded",
    "resolved",
    "moved_private",
    "no_action",
)
"""Every queue item status, in the order reports show them: a routed post's status is its
case's (:mod:`core.care`)."""
UNMATCHED = "unmatched"

__all__ = [
    "ACTIONS",
    "INTENTS",
    "QUEUE_STATUSES",
    "SENTIMENTS",
    "SOURCES",
    "UNMATCHED",
    "Author",
    "DeadLetter",
    "Enrichment",
    "Label",
    "PiiResult",
    "PiiSpan",
    "Post",
    "PrivateDecision",
    "RoutingDecision",
    "TaskResult",
    "post_id",
    "reference",
]


# Limits every store holds to (PostgreSQL's column types; SQLite is checked the same, so a
# record is refused alike everywhere). storage.sql.schema sizes its columns with these.
MAX_POST_ID = 80
MAX_AUTHOR_ID = 64
MAX_HANDLE = 128
MAX_LANGUAGE = 16
MAX_SOURCE = 16
MAX_COUNT = 2**31 - 1
"""Largest follower count: a 32-bit signed integer column."""
MAX_METRIC = 2**53
"""Largest engagement count: what every JSON reader keeps exact."""
ENGAGEMENT_METRICS: tuple[str, ...] = (
    "like_count",
    "retweet_count",
    "reply_count",
    "quote_count",
    "score",
)
"""The metrics that count as engagement a post received (X's public metrics, Reddit's
score)."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f]")


def post_id(source: str, native_id: str) -> str:
    """Build Earshot's stable id: ``x:<tweet id>`` or ``reddit:<fullname>``. Raises
    :class:`RecordError` for an unknown source or an empty or too long id."""
    if source not in SOURCES:
        raise RecordError(f"unknown source {source!r}; expected one of {SOURCES}")
    if not native_id:
        raise RecordError(f"empty native id for source {source!r}")
    built = f"{source}:{native_id}"
    _check_key(built, "id", MAX_POST_ID)
    return built


def reference(source: str, native: str | None) -> str | None:
    """A post id as Earshot stores it (``x:<id>``), from a network's own reference to a post
    (a reply's parent, a conversation's root), which may or may not carry the prefix."""
    if not native:
        return None
    return native if native.startswith(f"{source}:") else f"{source}:{native}"


def _check_str(value: Any, name: str, *, optional: bool = False) -> None:
    if value is None and optional:
        return
    if not isinstance(value, str):
        raise RecordError(f"field {name!r} must be a string, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as e:
        raise RecordError(
            f"field {name!r} holds a lone surrogate U+{ord(value[e.start]):04X}"
            f" at offset {e.start} (not valid Unicode text)"
        ) from None
    if "\x00" in value:  # no PostgreSQL text can hold one
        raise RecordError(f"field {name!r} holds a NUL character at offset {value.index(chr(0))}")


def _check_key(value: Any, name: str, limit: int, *, optional: bool = False) -> None:
    """An identifier: a string of at most ``limit`` characters without control characters."""
    _check_str(value, name, optional=optional)
    if value is None:
        return
    if len(value) > limit:
        raise RecordError(f"field {name!r} is {len(value)} characters long; the limit is {limit}")
    if match := _CONTROL.search(value):
        raise RecordError(
            f"field {name!r} holds control character U+{ord(match.group()):04X}"
            f" at offset {match.start()}"
        )


def _check_count(value: Any, name: str, limit: int, *, low: int = 0) -> None:
    if isinstance(value, bool) or not isinstance(value, int):
        raise RecordError(f"field {name!r} must be an integer, got {type(value).__name__}")
    if not low <= value <= limit:
        raise RecordError(f"field {name!r} is {value}; it must be from {low} to {limit}")


@dataclass(frozen=True)
class Author:
    id: str
    handle: str
    display_name: str = ""
    followers: int = 0
    verified: bool = False

    def __post_init__(self) -> None:
        _check_key(self.id, "author.id", MAX_AUTHOR_ID)
        _check_key(self.handle, "author.handle", MAX_HANDLE)
        _check_str(self.display_name, "author.display_name")
        _check_count(self.followers, "author.followers", MAX_COUNT)
        if not isinstance(self.verified, bool):
            raise RecordError("field 'author.verified' must be true or false")


@dataclass(frozen=True)
class Post:
    """One public mention, normalized from any network."""

    id: str
    source: str
    url: str
    author: Author
    text: str
    created_at: datetime
    language: str | None = None
    conversation_id: str | None = None
    in_reply_to_id: str | None = None
    metrics: dict[str, int] = field(default_factory=dict)
    title: str | None = None
    cleaned: tuple[str, ...] = ()
    """What the listener removed from the post (e.g. invisible characters), one note per
    field: ``"text: removed 2 invisible characters (U+200E, U+00AD)"``."""
    brand: str | None = None
    """The brand account the post addresses, when the caller knows it (``earshot classify``
    takes a ``brand`` per line); otherwise the classifiers find it from the mentions."""

    def __post_init__(self) -> None:
        """Check every limit the stores hold to; raises :class:`RecordError` naming the field."""
        _check_key(self.id, "id", MAX_POST_ID)
        _check_key(self.source, "source", MAX_SOURCE)
        _check_str(self.url, "url")
        if not isinstance(self.author, Author):
            raise RecordError("field 'author' must be an Author")
        _check_str(self.text, "text")
        _check_str(self.title, "title", optional=True)
        if not isinstance(self.created_at, datetime) or self.created_at.tzinfo is None:
            raise RecordError("field 'created_at' must be a time with a time zone")
        _check_key(self.language, "language", MAX_LANGUAGE, optional=True)
        _check_key(self.conversation_id, "conversation_id", MAX_POST_ID, optional=True)
        _check_key(self.in_reply_to_id, "in_reply_to_id", MAX_POST_ID, optional=True)
        if not isinstance(self.metrics, dict):
            raise RecordError("field 'metrics' must map names to integers")
        for name, value in self.metrics.items():
            _check_key(name, "metrics", MAX_LANGUAGE * 4)
            _check_count(value, f"metrics.{name}", MAX_METRIC, low=-MAX_METRIC)  # Reddit scores
        for note in self.cleaned:
            _check_str(note, "cleaned")
        _check_key(self.brand, "brand", MAX_HANDLE, optional=True)

    def to_dict(self) -> dict[str, Any]:
        # Written out rather than dataclasses.asdict, whose deep copy was a tenth of a run.
        author = self.author
        return {
            "id": self.id,
            "source": self.source,
            "url": self.url,
            "author": {
                "id": author.id,
                "handle": author.handle,
                "display_name": author.display_name,
                "followers": author.followers,
                "verified": author.verified,
            },
            "text": self.text,
            "created_at": to_iso(self.created_at),
            "language": self.language,
            "conversation_id": self.conversation_id,
            "in_reply_to_id": self.in_reply_to_id,
            "metrics": dict(self.metrics),
            "title": self.title,
            "cleaned": list(self.cleaned),
            "brand": self.brand,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, trusted: bool = False) -> Post:
        """The post :meth:`to_dict` wrote. ``trusted``: read back from Earshot's own store,
        where only checked posts are written, so the checks are not run again."""
        values = dict(data)
        values["created_at"] = _required_time(values["created_at"], "created_at")
        values["metrics"] = dict(values.get("metrics") or {})
        values["cleaned"] = tuple(values.get("cleaned") or ())
        if not trusted:
            values["author"] = Author(**values["author"])
            return cls(**values)
        values["author"] = unchecked(Author, values["author"])
        return unchecked(cls, values)


# -- what the classifiers found ----------------------------------------------------------------


@dataclass(frozen=True)
class Label:
    """A single-label prediction: the label, its score in [0, 1], the classifier that made it."""

    kind: ClassVar[str] = "label"
    label: str
    score: float
    classifier: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "label": self.label,
            "score": self.score,
            "classifier": self.classifier,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Label:
        return cls(str(data["label"]), float(data["score"]), str(data["classifier"]))


@dataclass(frozen=True)
class PiiSpan:
    """Where personal data or an identifier sits in the text (character offsets, end exclusive).

    The matched text itself is deliberately not kept: card numbers must never be stored.
    """

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class PiiResult:
    """Every span of personal data found in one post, and the classifier that found them."""

    kind: ClassVar[str] = "pii"
    spans: tuple[PiiSpan, ...]
    classifier: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "spans": [{"type": s.type, "start": s.start, "end": s.end} for s in self.spans],
            "classifier": self.classifier,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PiiResult:
        spans = tuple(PiiSpan(**span) for span in data["spans"])
        return cls(spans, str(data["classifier"]))


@dataclass(frozen=True)
class PrivateDecision:
    """Whether the conversation should move to a private channel, and why."""

    kind: ClassVar[str] = "private"
    move_private: bool
    score: float
    reasons: tuple[str, ...]
    classifier: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "move_private": self.move_private,
            "score": self.score,
            "reasons": list(self.reasons),
            "classifier": self.classifier,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PrivateDecision:
        return cls(
            bool(data["move_private"]),
            float(data["score"]),
            tuple(data["reasons"]),
            str(data["classifier"]),
        )


TaskResult = Label | PiiResult | PrivateDecision
"""What one task's classifier says about one post."""

_RESULT_KINDS: dict[str, type[Label] | type[PiiResult] | type[PrivateDecision]] = {
    cls.kind: cls for cls in (Label, PiiResult, PrivateDecision)
}


@dataclass(frozen=True)
class Enrichment:
    """Everything the classifiers found in one post: one result per task, by task name.

    The accessors below (``sentiment``, ``intent``, ...) are for the tasks that routing and
    the store read by name; a new task needs none, it is simply one more entry in ``results``.
    """

    post_id: str
    results: Mapping[str, TaskResult]
    redacted_text: str

    def result(self, task: str) -> TaskResult:
        try:
            return self.results[task]
        except KeyError:
            raise KeyError(
                f"post {self.post_id} has no {task!r} result (has {sorted(self.results)})"
            ) from None

    def label(self, task: str) -> Label:
        value = self.result(task)
        if not isinstance(value, Label):
            raise TypeError(
                f"task {task!r} of post {self.post_id} holds a {value.kind}, not a label"
            )
        return value

    @property
    def sentiment(self) -> Label:
        return self.label("sentiment")

    @property
    def intent(self) -> Label:
        return self.label("intent")

    @property
    def language(self) -> Label:
        return self.label("language")

    @property
    def spam(self) -> Label:
        return self.label("spam")

    @property
    def private(self) -> PrivateDecision:
        value = self.result("private")
        if not isinstance(value, PrivateDecision):
            raise TypeError(f"task 'private' of post {self.post_id} holds a {value.kind}")
        return value

    @property
    def pii(self) -> tuple[PiiSpan, ...]:
        value = self.result("pii")
        if not isinstance(value, PiiResult):
            raise TypeError(f"task 'pii' of post {self.post_id} holds a {value.kind}")
        return value.spans

    @property
    def is_spam(self) -> bool:
        return self.spam.label == "spam"

    def to_dict(self) -> dict[str, Any]:
        return {
            "post_id": self.post_id,
            "results": {task: value.to_dict() for task, value in sorted(self.results.items())},
            "redacted_text": self.redacted_text,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Enrichment:
        results: dict[str, TaskResult] = {}
        for task, value in data["results"].items():
            kind = _RESULT_KINDS.get(value.get("kind"))
            if kind is None:
                raise ValueError(f"unknown result kind {value.get('kind')!r} for task {task!r}")
            results[task] = kind.from_dict(value)
        return cls(str(data["post_id"]), results, str(data["redacted_text"]))


# -- where it went ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RoutingDecision:
    """Where a post goes: queue, priority 0-100, suggested action, the rule that fired, SLA due.

    ``reasons`` is the priority's breakdown (points per component: ``rule``, ``negative``,
    ``followers``, ``engagement``, ``velocity``, ``tier``, ``waiting``); ``detail`` what backs
    the suggested action (``private_reasons``, ``article`` with its score); ``tier`` the
    author's tier that set the SLA.
    """

    post_id: str
    queue: str
    priority: int
    action: str
    rule: str
    decided_at: datetime
    sla_due: datetime | None
    reasons: dict[str, float] = field(default_factory=dict)
    detail: dict[str, Any] = field(default_factory=dict)
    tier: str = "standard"

    @property
    def initial_status(self) -> str:
        # Unmatched posts wait for a person to triage them; other "no action" ones are closed.
        return "no_action" if self.action == "no_action" and self.queue != UNMATCHED else "new"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["decided_at"] = to_iso(self.decided_at)
        data["sla_due"] = to_iso(self.sla_due)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RoutingDecision:
        values = dict(data)
        values["decided_at"] = _required_time(values["decided_at"], "decided_at")
        values["sla_due"] = from_iso(values.get("sla_due"))
        values["reasons"] = dict(values.get("reasons") or {})
        values["detail"] = dict(values.get("detail") or {})
        return cls(**values)


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be turned into a post, with where it came from and why."""

    source: str
    location: str
    error: str
    payload: bytes


def unchecked(cls: type[T], values: Mapping[str, Any]) -> T:
    """An instance of a frozen dataclass from its field values, without ``__post_init__``'s
    checks (for values Earshot checked before it stored them). Fields left out take their
    defaults."""
    instance = object.__new__(cls)
    fields = cls.__dataclass_fields__  # type: ignore[attr-defined]
    for name, spec in fields.items():
        if name in values:
            value = values[name]
        elif spec.default is not MISSING:
            value = spec.default
        elif spec.default_factory is not MISSING:
            value = spec.default_factory()
        else:
            raise TypeError(f"{cls.__name__} needs {name!r}")
        object.__setattr__(instance, name, value)
    return instance


def _required_time(value: str | None, name: str) -> datetime:
    parsed = from_iso(value)
    if parsed is None:
        raise ValueError(f"missing time {name!r}")
    return parsed

"""The data model: a public post, what the classifiers found in it, and where it was routed.

All types are frozen dataclasses. ``to_dict``/``from_dict`` give a JSON-safe form with
ISO-8601 UTC timestamps, used by the store, XCom-free staging and the CLI.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

Source = Literal["x", "reddit"]
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
QUEUE_STATUSES: tuple[str, ...] = ("new", "claimed", "resolved", "moved_private", "no_action")
UNMATCHED = "unmatched"


def post_id(source: str, native_id: str) -> str:
    """Build Earshot's stable id: ``x:<tweet id>`` or ``reddit:<fullname>``."""
    if source not in SOURCES:
        raise ValueError(f"unknown source {source!r}; expected one of {SOURCES}")
    if not native_id:
        raise ValueError(f"empty native id for source {source!r}")
    return f"{source}:{native_id}"


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else utc(value).isoformat().replace("+00:00", "Z")


def _parse_dt(value: str | None) -> datetime | None:
    if value is None:
        return None
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))


@dataclass(frozen=True)
class Author:
    id: str
    handle: str
    display_name: str = ""
    followers: int = 0
    verified: bool = False


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

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["created_at"] = _iso(self.created_at)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Post:
        values = dict(data)
        values["author"] = Author(**values["author"])
        created_at = _parse_dt(values["created_at"])
        assert created_at is not None
        values["created_at"] = created_at
        values["metrics"] = dict(values.get("metrics") or {})
        return cls(**values)


@dataclass(frozen=True)
class Label:
    """A single-label prediction: the label, its score in [0, 1], the classifier that made it."""

    label: str
    score: float
    classifier: str


@dataclass(frozen=True)
class PiiSpan:
    """Where personal data or an identifier sits in the text (character offsets, end exclusive).

    The matched text itself is deliberately not kept: card numbers must never be stored.
    """

    type: str
    start: int
    end: int


@dataclass(frozen=True)
class PrivateDecision:
    """Whether the conversation should move to a private channel, and why."""

    move_private: bool
    score: float
    reasons: tuple[str, ...]
    classifier: str


@dataclass(frozen=True)
class Enrichment:
    """Everything the classifiers found in one post."""

    post_id: str
    sentiment: Label
    intent: Label
    private: PrivateDecision
    pii: tuple[PiiSpan, ...]
    pii_classifier: str
    language: Label
    spam: Label
    redacted_text: str

    @property
    def is_spam(self) -> bool:
        return self.spam.label == "spam"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["private"]["reasons"] = list(self.private.reasons)
        data["pii"] = [asdict(span) for span in self.pii]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Enrichment:
        private = dict(data["private"])
        private["reasons"] = tuple(private["reasons"])
        return cls(
            post_id=data["post_id"],
            sentiment=Label(**data["sentiment"]),
            intent=Label(**data["intent"]),
            private=PrivateDecision(**private),
            pii=tuple(PiiSpan(**span) for span in data["pii"]),
            pii_classifier=data["pii_classifier"],
            language=Label(**data["language"]),
            spam=Label(**data["spam"]),
            redacted_text=data["redacted_text"],
        )


@dataclass(frozen=True)
class RoutingDecision:
    """Where a post goes: queue, priority 0-100, suggested action, the rule that fired, SLA due."""

    post_id: str
    queue: str
    priority: int
    action: str
    rule: str
    decided_at: datetime
    sla_due: datetime | None

    @property
    def initial_status(self) -> str:
        # Unmatched posts wait for a person to triage them; other "no action" ones are closed.
        return "no_action" if self.action == "no_action" and self.queue != UNMATCHED else "new"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["decided_at"] = _iso(self.decided_at)
        data["sla_due"] = _iso(self.sla_due)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RoutingDecision:
        values = dict(data)
        decided_at = _parse_dt(values["decided_at"])
        assert decided_at is not None
        values["decided_at"] = decided_at
        values["sla_due"] = _parse_dt(values.get("sla_due"))
        return cls(**values)


@dataclass(frozen=True)
class DeadLetter:
    """A record that could not be turned into a post, with where it came from and why."""

    source: str
    location: str
    error: str
    payload: bytes

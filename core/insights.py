"""Marketing's view of the stored posts: author scores (advocates, super-users, detractors)
with the components and posts behind each, and spike alerts.

:class:`Activity` is the slim form of a labelled post the scoring reads: the store streams
it, the scorers never see a whole :class:`core.models.Post`, so a million of them pass
through in bounded memory.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

SCORE_KINDS: tuple[str, ...] = ("advocate", "superuser", "detractor")
ALERT_KINDS: tuple[str, ...] = ("intent", "phrase")


@dataclass(frozen=True, slots=True)
class Activity:
    """One labelled post, as the insights read it."""

    post_id: str
    source: str
    handle: str
    followers: int
    created_at: datetime
    text: str
    sentiment: str
    sentiment_score: float
    intent: str
    spam: bool
    engagement: int
    """Likes, reposts, replies and quotes received (X), or the score (Reddit)."""
    conversation_id: str | None = None
    in_reply_to_id: str | None = None
    url: str = ""


@dataclass(frozen=True)
class AuthorScore:
    """Why an author is an advocate, a super-user or a detractor: the score, the points per
    component, and the posts that earned them (best first)."""

    kind: str
    key: str
    """The customer: their profile id when their handles are linked, else ``network:handle``."""
    handles: tuple[tuple[str, str], ...]
    score: float
    components: dict[str, float]
    evidence: tuple[str, ...]
    computed_at: datetime
    profile_id: str | None = None
    tier: str | None = None


@dataclass(frozen=True)
class Alert:
    """A spike: an intent or a phrase far above its usual volume in one hour."""

    kind: str
    key: str
    window_start: datetime
    window_end: datetime
    count: int
    baseline: float
    """The expected count for that hour."""
    p_value: float
    method: str
    examples: tuple[str, ...]
    """Post ids of example posts."""
    created_at: datetime

    @property
    def id(self) -> str:
        return f"{self.kind}:{self.key}:{self.window_start.isoformat()}"


__all__ = ["ALERT_KINDS", "SCORE_KINDS", "Activity", "Alert", "AuthorScore"]

"""A brand's public-to-private practice: customer posts labelled by what the brand's own
agent did (moved the customer to a private channel, or answered in public)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

ORIGINS = ("import", "live", "feedback", "labels")


@dataclass(frozen=True)
class PracticeExample:
    brand: str
    """The brand's account, lower case, without the @ (``haldensupport``)."""
    text: str
    private: bool
    created_at: datetime
    origin: str = "import"
    reason: str | None = None
    post_id: str | None = None


def brand_key(handle: str) -> str:
    return handle.strip().lstrip("@").lower()

"""What a live source remembers between runs, and how it is stored in the cursor: per-stream
positions, the last successful collection, coverage gaps, and how long the platform asked us
to wait. Times are written as ISO-8601 with ``Z`` (:mod:`core.timeutil`); cursors saved
earlier with ``+00:00`` still parse."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.timeutil import from_iso, to_iso


@dataclass
class SourceState:
    """The decoded cursor of a live source; ``to_cursor`` gives back the JSON-ready form."""

    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_success: datetime | None = None
    rate_limited_until: datetime | None = None
    gaps: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_cursor(cls, cursor: dict[str, Any] | None) -> SourceState:
        cursor = cursor or {}
        return cls(
            streams={k: dict(v) for k, v in (cursor.get("streams") or {}).items()},
            last_success=from_iso(cursor.get("last_success")),
            rate_limited_until=from_iso(cursor.get("rate_limited_until")),
            gaps=[dict(g) for g in cursor.get("gaps") or []],
        )

    def to_cursor(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "last_success": to_iso(self.last_success),
            "rate_limited_until": to_iso(self.rate_limited_until),
            "gaps": self.gaps,
        }

    def add_gap(self, start: datetime, end: datetime, reason: str) -> None:
        """Record that nothing was (or can be) collected between ``start`` and ``end``."""
        self.gaps.append({"from": to_iso(start) or "", "to": to_iso(end) or "", "reason": reason})

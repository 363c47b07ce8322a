"""What a live source remembers between runs: per-stream positions, the last successful
collection, coverage gaps, and how long the platform asked us to wait."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from core.timeutil import from_iso as _dt
from core.timeutil import to_iso as _iso


@dataclass
class SourceState:
    streams: dict[str, dict[str, Any]] = field(default_factory=dict)
    last_success: datetime | None = None
    rate_limited_until: datetime | None = None
    gaps: list[dict[str, str]] = field(default_factory=list)

    @classmethod
    def from_cursor(cls, cursor: dict[str, Any] | None) -> SourceState:
        cursor = cursor or {}
        return cls(
            streams={k: dict(v) for k, v in (cursor.get("streams") or {}).items()},
            last_success=_dt(cursor.get("last_success")),
            rate_limited_until=_dt(cursor.get("rate_limited_until")),
            gaps=[dict(g) for g in cursor.get("gaps") or []],
        )

    def to_cursor(self) -> dict[str, Any]:
        return {
            "streams": self.streams,
            "last_success": _iso(self.last_success),
            "rate_limited_until": _iso(self.rate_limited_until),
            "gaps": self.gaps,
        }

    def add_gap(self, start: datetime, end: datetime, reason: str) -> None:
        self.gaps.append({"from": _iso(start) or "", "to": _iso(end) or "", "reason": reason})

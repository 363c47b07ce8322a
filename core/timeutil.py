"""The one way Earshot writes and reads times: aware UTC datetimes, ISO-8601 with ``Z``."""

from __future__ import annotations

from datetime import UTC, datetime


def utc(value: datetime) -> datetime:
    """Return ``value`` as an aware UTC datetime; naive values are taken to be UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def now() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def to_iso(value: datetime | None) -> str | None:
    """``2026-11-02T09:30:00Z`` (None stays None)."""
    return None if value is None else utc(value).isoformat().replace("+00:00", "Z")


def from_iso(value: str | None) -> datetime | None:
    """Parse an ISO-8601 time (``Z`` or an offset; naive means UTC) into aware UTC."""
    if value is None:
        return None
    return utc(datetime.fromisoformat(value.replace("Z", "+00:00")))

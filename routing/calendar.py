"""Business hours: when a queue's SLA clock runs.

A calendar is weekly wall-clock hours in one time zone, plus holidays. Due times add only the
time inside those hours; elapsed time is real time (UTC), so a day on which the clocks change
is as long as it really is. Days are walked interval by interval, never minute by minute.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import RoutingConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400
"""How far ahead an opening is looked for before the calendar is declared never open."""
_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
Interval = tuple[time, time]


@dataclass(frozen=True)
class BusinessHours:
    name: str
    timezone: str
    weekly: tuple[tuple[Interval, ...], ...]
    """Seven entries, Monday first: each day's sorted open intervals (local wall-clock time;
    a closing ``time.max`` stands for 24:00)."""
    holidays: frozenset[date] = frozenset()

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of one local date, as UTC instants."""
        if day in self.holidays:
            return []
        zone = ZoneInfo(self.timezone)
        out = []
        for opens, closes in self.weekly[day.weekday()]:
            start = _instant(day, opens, zone)
            end = (
                _instant(day + timedelta(days=1), time(0), zone)
                if closes == time.max
                else _instant(day, closes, zone)
            )
            if end > start:
                out.append((start, end))
        return out

    def _open_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Open intervals from ``start`` on (the first one clipped to start there)."""
        first = start.astimezone(ZoneInfo(self.timezone)).date()
        for offset in range(SEARCH_DAYS + 1):
            for opens, closes in self.intervals(first + timedelta(days=offset)):
                if closes > start:
                    yield max(opens, start), closes
        raise RoutingConfigError(
            f"calendar {self.name!r} has no open hour in the {SEARCH_DAYS} days after"
            f" {start.isoformat()}"
        )

    def add(self, start: datetime, minutes: float) -> datetime:
        """When ``minutes`` business minutes have passed after ``start`` (UTC). Outside hours
        the clock starts at the next opening."""
        start = _aware(start, "start")
        if minutes < 0:
            raise ValueError(f"minutes must be 0 or more, got {minutes}")
        left = timedelta(minutes=minutes)
        for opens, closes in self._open_from(start):
            if left <= closes - opens:
                return opens + left
            left -= closes - opens
        raise AssertionError("unreachable: _open_from raises when it runs out")

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself when open, else the next opening (UTC)."""
        return self.add(at, 0)

    def is_open(self, at: datetime) -> bool:
        at = _aware(at, "at")
        day = at.astimezone(ZoneInfo(self.timezone)).date()
        return any(
            opens <= at < closes
            for d in (day - timedelta(days=1), day)
            for opens, closes in self.intervals(d)
        )

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Business minutes between two instants (0 when ``end`` is not after ``start``)."""
        start, end = _aware(start, "start"), _aware(end, "end")
        total = timedelta()
        if end <= start:
            return 0.0
        for opens, closes in self._open_from(start):
            if opens >= end:
                break
            total += min(closes, end) - opens
        return total.total_seconds() / 60


def _aware(value: datetime, name: str) -> datetime:
    if value.tzinfo is None:
        raise ValueError(f"{name} must be a time with a time zone, got {value.isoformat()}")
    return value.astimezone(UTC)


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. An ambiguous time (clocks going back) is
    its first occurrence; a time that does not exist (clocks going forward) is the instant
    the clocks jump."""
    local = datetime.combine(day, wall, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # In the gap: the jump lies between the two readings of the wall time (fold 1, fold 0).
    low = local.replace(fold=1).astimezone(UTC)
    high = instant
    after = high.astimezone(zone).utcoffset()
    while high - low > timedelta(seconds=1):
        middle = low + (high - low) / 2
        if middle.astimezone(zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return high.replace(microsecond=0) if high.microsecond else high


def parse_business_hours(name: str, spec: Mapping[str, Any], where: str) -> BusinessHours:
    """A calendar from YAML: ``timezone``, ``weekly`` (``mon: "09:00-17:30"``, a list of
    ranges, or ``closed``; missing days are closed), ``holidays`` (ISO dates)."""
    unknown = sorted(set(spec) - {"timezone", "weekly", "holidays"})
    if unknown:
        raise RoutingConfigError(
            f"{where}: unknown keys {unknown}; expected timezone, weekly, holidays"
        )
    zone_name = spec.get("timezone")
    if not isinstance(zone_name, str):
        raise RoutingConfigError(f"{where}.timezone: expected a time zone name like Europe/London")
    try:
        ZoneInfo(zone_name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RoutingConfigError(f"{where}.timezone: unknown time zone {zone_name!r}") from None
    weekly_spec = spec.get("weekly") or {}
    if not isinstance(weekly_spec, Mapping):
        raise RoutingConfigError(f"{where}.weekly: expected a mapping of weekdays to hours")
    bad_days = sorted(set(weekly_spec) - set(WEEKDAYS))
    if bad_days:
        raise RoutingConfigError(
            f"{where}.weekly: unknown weekdays {bad_days}; expected {list(WEEKDAYS)}"
        )
    weekly = tuple(
        _day(weekly_spec.get(day, "closed"), f"{where}.weekly.{day}") for day in WEEKDAYS
    )
    if not any(weekly):
        raise RoutingConfigError(f"{where}.weekly: no open hour in the whole week")
    holidays = set()
    for value in spec.get("holidays") or []:
        if isinstance(value, date) and not isinstance(value, datetime):
            holidays.add(value)
            continue
        try:
            holidays.add(date.fromisoformat(str(value)))
        except ValueError:
            raise RoutingConfigError(
                f"{where}.holidays: {value!r} is not a date like 2026-12-25"
            ) from None
    return BusinessHours(name, zone_name, weekly, frozenset(holidays))


def _day(value: Any, where: str) -> tuple[Interval, ...]:
    if value in ("closed", None):
        return ()
    ranges = [value] if isinstance(value, str) else value
    if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
        raise RoutingConfigError(f'{where}: expected "HH:MM-HH:MM", a list of them, or closed')
    intervals = sorted(_range(r, where) for r in ranges)
    for (_, first_end), (second_start, _) in pairwise(intervals):
        if second_start < first_end:
            raise RoutingConfigError(f"{where}: ranges overlap: {ranges}")
    return tuple(intervals)


def _range(text: str, where: str) -> Interval:
    match = _RANGE.match(text)
    if not match:
        raise RoutingConfigError(f"{where}: {text!r} is not a range like 09:00-17:30")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    opens = _clock(h1, m1, text, where)
    closes = time.max if (h2, m2) == (24, 0) else _clock(h2, m2, text, where)
    if closes <= opens:
        raise RoutingConfigError(
            f"{where}: {text!r} closes before it opens (split a range that runs past midnight)"
        )
    return opens, closes


def _clock(hour: int, minute: int, text: str, where: str) -> time:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RoutingConfigError(f"{where}: {text!r} has an impossible time")
    return time(hour, minute)

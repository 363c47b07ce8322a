"""Business hours: when a queue's SLA clock runs.

A calendar is weekly wall-clock hours in one time zone, plus holidays. Due times count only the
time inside those hours; elapsed time is real time (UTC), so a day on which the clocks change is
as long as it really is. Days are walked interval by interval, never minute by minute.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from itertools import pairwise
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core.errors import RoutingConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
SEARCH_DAYS = 400
"""How many days without an open hour are searched before a calendar is declared never open."""

Interval = tuple[time, time]
"""Wall-clock (open, close); a closing ``time.max`` stands for 24:00."""

_RANGE = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_KEYS = ("timezone", "weekly", "holidays")


@dataclass(frozen=True)
class BusinessHours:
    name: str
    timezone: str
    """IANA time zone name, e.g. ``Europe/London``."""
    weekly: tuple[tuple[Interval, ...], ...]
    """Seven entries, Monday first: each day's sorted, non-overlapping open intervals in local
    wall-clock time."""
    holidays: frozenset[date] = frozenset()
    """Local dates on which the calendar is closed all day."""
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, init=False, repr=False, compare=False, hash=False
    )
    """:meth:`intervals` of the dates asked already (routing asks for the same few days for
    every post of a batch)."""

    def __post_init__(self) -> None:
        where = f"calendar {self.name!r}"
        _zone(self.timezone, f"{where}: timezone")
        if len(self.weekly) != len(WEEKDAYS):
            raise RoutingConfigError(
                f"{where}: weekly has {len(self.weekly)} days; expected 7, Monday first"
            )
        for day, intervals in zip(WEEKDAYS, self.weekly, strict=True):
            for opens, closes in intervals:
                if closes <= opens:
                    raise RoutingConfigError(
                        f"{where}: weekly.{day} interval {opens}-{closes} closes before it opens"
                    )
            for (_, first_close), (second_open, _) in pairwise(intervals):
                if second_open < first_close:
                    raise RoutingConfigError(
                        f"{where}: weekly.{day} intervals are not sorted and disjoint: {intervals}"
                    )

    def is_open(self, at: datetime) -> bool:
        """Whether ``at`` (an aware datetime) lies inside business hours."""
        at = _utc(at, "at")
        return any(opens <= at < closes for opens, closes in self.intervals(self._date(at)))

    def next_open(self, at: datetime) -> datetime:
        """``at`` itself (in UTC) when open, else the next opening."""
        return self.add(at, 0)

    def add(self, start: datetime, minutes: float) -> datetime:
        """The instant (UTC) when ``minutes`` business minutes have passed after ``start``.
        Outside hours the clock starts at the next opening."""
        start = _utc(start, "start")
        if not math.isfinite(minutes) or minutes < 0:
            raise ValueError(f"minutes must be a finite number, 0 or more, got {minutes!r}")
        left = timedelta(minutes=minutes)
        for opens, closes in self._open_from(start):
            if left <= closes - opens:
                return opens + left
            left -= closes - opens
        raise AssertionError("unreachable: _open_from never ends without raising")

    def business_minutes(self, start: datetime, end: datetime) -> float:
        """Business minutes between two instants (0 when ``end`` is not after ``start``)."""
        start, end = _utc(start, "start"), _utc(end, "end")
        if end <= start:
            return 0.0
        total = timedelta()
        day, last = self._date(start), self._date(end)
        while day <= last:
            for opens, closes in self.intervals(day):
                overlap = min(closes, end) - max(opens, start)
                if overlap > timedelta():
                    total += overlap
            day += timedelta(days=1)
        return total / timedelta(minutes=1)

    def intervals(self, day: date) -> list[tuple[datetime, datetime]]:
        """The open intervals of one local date, as UTC instants (none on a holiday). An
        interval that vanishes in a clock change is left out."""
        known = self._days.get(day)
        if known is None:
            known = self._days[day] = tuple(self._intervals(day))
        return list(known)

    def _intervals(self, day: date) -> Iterator[tuple[datetime, datetime]]:
        if day in self.holidays:
            return
        zone = ZoneInfo(self.timezone)
        for opens, closes in self.weekly[day.weekday()]:
            start = _instant(day, opens, zone)
            end = (
                _instant(day + timedelta(days=1), time(0), zone)
                if closes == time.max
                else _instant(day, closes, zone)
            )
            if end > start:
                yield start, end

    def _date(self, at: datetime) -> date:
        """The local date of an instant."""
        return at.astimezone(ZoneInfo(self.timezone)).date()

    def _open_from(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """The open intervals that end after ``start``, in order, the first one clipped to begin
        no earlier than ``start``. Endless unless the calendar stays closed for SEARCH_DAYS
        days, which raises."""
        day = self._date(start)
        if not any(self.weekly):
            raise self._never_open(day)
        last_open = day
        while True:
            for opens, closes in self.intervals(day):
                if closes > start:
                    last_open = day
                    yield max(opens, start), closes
            if (day - last_open).days >= SEARCH_DAYS:
                raise self._never_open(last_open)
            day += timedelta(days=1)

    def _never_open(self, since: date) -> RoutingConfigError:
        return RoutingConfigError(
            f"calendar {self.name!r} has no open hour in the {SEARCH_DAYS} days after"
            f" {since.isoformat()} ({self.timezone}); check its weekly hours and holidays"
        )


def parse_business_hours(name: str, spec: Mapping[str, Any], where: str) -> BusinessHours:
    """A calendar from YAML like::

        timezone: Europe/London
        weekly: {mon: "09:00-17:30", tue: ["08:00-12:00", "13:00-17:00"], sat: closed}
        holidays: ["2026-12-25", "2026-12-26"]

    A weekday that is missing or ``closed`` is closed; "24:00" may close a range. Errors are
    RoutingConfigError with a message starting with ``where``."""
    if not isinstance(spec, Mapping):
        raise RoutingConfigError(f"{where}: expected a mapping with keys {', '.join(_KEYS)}")
    unknown = sorted(str(key) for key in spec if key not in _KEYS)
    if unknown:
        raise RoutingConfigError(f"{where}: unknown keys {unknown}; expected {', '.join(_KEYS)}")
    zone_name = spec.get("timezone")
    if not isinstance(zone_name, str):
        raise RoutingConfigError(f"{where}.timezone: expected a time zone name like Europe/London")
    _zone(zone_name, f"{where}.timezone")

    weekly_spec = spec.get("weekly")
    if weekly_spec is None:
        weekly_spec = {}
    if not isinstance(weekly_spec, Mapping):
        raise RoutingConfigError(
            f'{where}.weekly: expected a mapping of weekdays to hours, like mon: "09:00-17:00"'
        )
    bad_days = sorted(str(day) for day in weekly_spec if day not in WEEKDAYS)
    if bad_days:
        raise RoutingConfigError(
            f"{where}.weekly: unknown weekdays {bad_days}; expected {', '.join(WEEKDAYS)}"
        )
    weekly = tuple(
        _parse_day(weekly_spec.get(day, "closed"), f"{where}.weekly.{day}") for day in WEEKDAYS
    )
    if not any(weekly):
        raise RoutingConfigError(f"{where}.weekly: no open hour in the whole week")

    holidays_spec = spec.get("holidays")
    if holidays_spec is None:
        holidays_spec = []
    if not isinstance(holidays_spec, list):
        raise RoutingConfigError(
            f'{where}.holidays: expected a list of dates like ["2026-12-25"], got {holidays_spec!r}'
        )
    holidays = frozenset(_parse_date(value, f"{where}.holidays") for value in holidays_spec)
    return BusinessHours(name, zone_name, weekly, holidays)


def _parse_day(value: Any, where: str) -> tuple[Interval, ...]:
    if value is None or (isinstance(value, str) and value.strip() == "closed"):
        return ()
    ranges = [value] if isinstance(value, str) else value
    if not isinstance(ranges, list) or not all(isinstance(r, str) for r in ranges):
        raise RoutingConfigError(
            f'{where}: expected "HH:MM-HH:MM", a list of them, or closed; got {value!r}'
        )
    parsed = sorted((_parse_range(text, where), text) for text in ranges)
    for (first, first_text), (second, second_text) in pairwise(parsed):
        if second[0] < first[1]:
            raise RoutingConfigError(f"{where}: ranges overlap: {first_text!r} and {second_text!r}")
    return tuple(interval for interval, _ in parsed)


def _parse_range(text: str, where: str) -> Interval:
    match = _RANGE.match(text)
    if not match:
        raise RoutingConfigError(f"{where}: {text!r} is not a range like 09:00-17:30")
    h1, m1, h2, m2 = (int(group) for group in match.groups())
    opens = _clock(h1, m1, text, where)
    closes = time.max if (h2, m2) == (24, 0) else _clock(h2, m2, text, where)
    if closes <= opens:
        raise RoutingConfigError(
            f"{where}: {text!r} closes before it opens (or when it opens); split a range that"
            " runs past midnight, e.g. 22:00-24:00 and the next day 00:00-06:00"
        )
    return opens, closes


def _clock(hour: int, minute: int, text: str, where: str) -> time:
    if not (0 <= hour <= 23 and 0 <= minute <= 59):
        raise RoutingConfigError(
            f"{where}: {text!r} has an impossible time (00:00 to 23:59, or 24:00 to close)"
        )
    return time(hour, minute)


def _parse_date(value: Any, where: str) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value  # YAML already read an unquoted 2026-12-25 as a date
    if isinstance(value, str) and _ISO_DATE.match(value.strip()):
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
    raise RoutingConfigError(f"{where}: {value!r} is not a date like 2026-12-25")


def _zone(name: str, where: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise RoutingConfigError(
            f"{where}: unknown time zone {name!r}; expected an IANA name like Europe/London"
        ) from None


def _utc(value: datetime, name: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a datetime with a time zone, got {value.isoformat()}")
    return value.astimezone(UTC)


def _instant(day: date, wall: time, zone: ZoneInfo) -> datetime:
    """The UTC instant of a local wall-clock time. An ambiguous time (clocks going back) is its
    first occurrence; a time that does not exist (clocks going forward) is the instant the
    clocks jump."""
    local = datetime.combine(day, wall, tzinfo=zone)
    instant = local.astimezone(UTC)
    if instant.astimezone(zone).replace(tzinfo=None) == local.replace(tzinfo=None):
        return instant
    # In the gap: read with the offset after the jump (fold=1) the wall time is an instant
    # before the jump, read with the offset before it (fold=0) an instant after it. Clocks jump
    # on a whole second: bisect the seconds in between.
    low = math.floor(local.replace(fold=1).timestamp())
    high = math.ceil(instant.timestamp())
    after = instant.astimezone(zone).utcoffset()
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == after:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)

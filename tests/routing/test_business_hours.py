"""Business hours: due times across closing time, weekends, holidays, time zones and both
daylight-saving changes. Every expected time was worked out by hand (see the comments)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RoutingConfigError
from routing.calendar import WEEKDAYS, BusinessHours, parse_business_hours

WEEKDAYS_9_TO_5 = {day: "09:00-17:00" for day in WEEKDAYS[:5]}


def hours(timezone: str = "Europe/London", weekly=None, holidays=()) -> BusinessHours:
    spec = {"timezone": timezone, "weekly": weekly or WEEKDAYS_9_TO_5, "holidays": list(holidays)}
    return parse_business_hours("test", spec, "calendars.test")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


LONDON = hours()
# 3-6 November 2026 are Tuesday to Friday; London is on GMT (UTC+0) in November.


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (utc(2026, 11, 3, 10, 0), 60, utc(2026, 11, 3, 11, 0)),  # inside hours
        (utc(2026, 11, 3, 16, 30), 60, utc(2026, 11, 4, 9, 30)),  # 30 today, 30 tomorrow
        (utc(2026, 11, 6, 16, 30), 60, utc(2026, 11, 9, 9, 30)),  # Friday -> Monday
        (utc(2026, 11, 3, 7, 0), 30, utc(2026, 11, 3, 9, 30)),  # before opening
        (utc(2026, 11, 3, 18, 0), 30, utc(2026, 11, 4, 9, 30)),  # after closing
        (utc(2026, 11, 7, 12, 0), 30, utc(2026, 11, 9, 9, 30)),  # on a Saturday
        (utc(2026, 11, 3, 10, 0), 8 * 60, utc(2026, 11, 4, 10, 0)),  # a whole working day
        (utc(2026, 11, 3, 10, 0), 5 * 8 * 60, utc(2026, 11, 10, 10, 0)),  # a working week
        (utc(2026, 11, 3, 17, 0), 0, utc(2026, 11, 4, 9, 0)),  # closing instant: next opening
        (utc(2026, 11, 3, 9, 0), 0, utc(2026, 11, 3, 9, 0)),  # opening instant: now
    ],
)
def test_business_hours_add(start: datetime, minutes: int, due: datetime) -> None:
    assert LONDON.add(start, minutes) == due


def test_business_hours_skip_holidays() -> None:
    christmas = hours(holidays=["2026-12-24", "2026-12-25"])
    # Wednesday 23 December 16:00 + 120 minutes: 60 that day, then Thursday and Friday are
    # holidays, the weekend is closed: the other 60 run on Monday 28th from 09:00.
    assert christmas.add(utc(2026, 12, 23, 16, 0), 120) == utc(2026, 12, 28, 10, 0)
    assert not christmas.is_open(utc(2026, 12, 24, 12, 0))


def test_business_hours_split_day() -> None:
    lunch = hours(weekly={"mon": ["08:00-12:00", "13:00-17:00"]})
    # Monday 9 November 11:30 + 60: 30 before lunch, 30 after it.
    assert lunch.add(utc(2026, 11, 9, 11, 30), 60) == utc(2026, 11, 9, 13, 30)
    assert not lunch.is_open(utc(2026, 11, 9, 12, 30))
    assert lunch.next_open(utc(2026, 11, 9, 12, 30)) == utc(2026, 11, 9, 13, 0)
    # Monday 17:00 -> the next Monday (the only open day).
    assert lunch.next_open(utc(2026, 11, 9, 17, 0)) == utc(2026, 11, 16, 8, 0)


def test_business_hours_time_zones() -> None:
    """One instant, Tuesday 3 November 2026 12:00 UTC, 60 minutes, 09:00-17:00 locally."""
    start = utc(2026, 11, 3, 12, 0)
    # London (UTC+0): 12:00 local, open: due 13:00 UTC.
    assert hours("Europe/London").add(start, 60) == utc(2026, 11, 3, 13, 0)
    # New York (UTC-5 since 1 November): 07:00 local, opens 09:00 = 14:00 UTC: due 15:00 UTC.
    assert hours("America/New_York").add(start, 60) == utc(2026, 11, 3, 15, 0)
    # Tokyo (UTC+9): 21:00 local, closed; Wednesday 09:00 = 00:00 UTC: due 01:00 UTC.
    assert hours("Asia/Tokyo").add(start, 60) == utc(2026, 11, 4, 1, 0)


def test_business_hours_dst_spring_forward_london() -> None:
    always = hours(weekly=dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    # Sunday 29 March 2026: clocks go from 01:00 GMT to 02:00 BST, the day has 23 hours.
    (day,) = always.intervals(date(2026, 3, 29))
    assert day == (utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 23, 0))
    early = hours(weekly={"sun": "01:30-03:30"})
    # 01:30 does not exist that night: the interval opens when the clocks jump (01:00 UTC)
    # and closes at 03:30 BST = 02:30 UTC: 90 real minutes.
    assert early.intervals(date(2026, 3, 29)) == [(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 30))]
    # Friday 27 March 16:30 GMT + 60 on 09:00-17:00: 30 on Friday, then Monday 30 March
    # 09:00 BST = 08:00 UTC, + 30.
    assert LONDON.add(utc(2026, 3, 27, 16, 30), 60) == utc(2026, 3, 30, 8, 30)


def test_business_hours_dst_fall_back_london() -> None:
    always = hours(weekly=dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    # Sunday 25 October 2026: clocks go back from 02:00 BST to 01:00 GMT: 25 hours.
    (day,) = always.intervals(date(2026, 10, 25))
    assert day == (utc(2026, 10, 24, 23, 0), utc(2026, 10, 26, 0, 0))
    assert always.business_minutes(*day) == 25 * 60
    early = hours(weekly={"sun": "00:30-03:30"})
    # 00:30 BST = 23:30 UTC (Saturday); 03:30 GMT = 03:30 UTC: 4 real hours.
    assert early.intervals(date(2026, 10, 25)) == [
        (utc(2026, 10, 24, 23, 30), utc(2026, 10, 25, 3, 30))
    ]
    # Friday 23 October 16:30 BST (15:30 UTC) + 60: Monday 26 October 09:30 GMT.
    assert LONDON.add(utc(2026, 10, 23, 15, 30), 60) == utc(2026, 10, 26, 9, 30)


def test_business_hours_dst_new_york() -> None:
    ny = hours("America/New_York")
    # Friday 6 March 2026 16:30 EST (21:30 UTC) + 60: Monday 9 March 09:30 EDT = 13:30 UTC.
    assert ny.add(utc(2026, 3, 6, 21, 30), 60) == utc(2026, 3, 9, 13, 30)
    # Friday 30 October 16:30 EDT (20:30 UTC) + 60: Monday 2 November 09:30 EST = 14:30 UTC.
    assert ny.add(utc(2026, 10, 30, 20, 30), 60) == utc(2026, 11, 2, 14, 30)
    always = hours("America/New_York", weekly=dict.fromkeys(WEEKDAYS, "00:00-24:00"))
    assert always.business_minutes(utc(2026, 3, 8, 5, 0), utc(2026, 3, 9, 4, 0)) == 23 * 60


@settings(max_examples=200, deadline=None, derandomize=True)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31)),
    minutes=st.integers(min_value=0, max_value=20_000),
    zone=st.sampled_from(["Europe/London", "America/New_York", "Australia/Sydney"]),
)
def test_business_hours_add_and_business_minutes_agree(
    start: datetime, minutes: int, zone: str
) -> None:
    calendar = hours(zone, weekly={**WEEKDAYS_9_TO_5, "sat": "10:00-12:30"})
    begin = start.replace(tzinfo=UTC)
    due = calendar.add(begin, minutes)
    assert due >= begin
    assert calendar.business_minutes(begin, due) == pytest.approx(minutes)
    if minutes:
        assert calendar.is_open(due - timedelta(seconds=1))


def test_business_hours_refuse_naive_times_and_negative_minutes() -> None:
    with pytest.raises(ValueError, match="time zone"):
        LONDON.add(datetime(2026, 11, 3, 10, 0), 5)
    with pytest.raises(ValueError, match="0 or more"):
        LONDON.add(utc(2026, 11, 3, 10, 0), -1)


def test_business_hours_never_open_is_an_error() -> None:
    only_holidays = BusinessHours("h", "Europe/London", ((),) * 7)
    with pytest.raises(RoutingConfigError, match="calendar 'h' has no open hour"):
        only_holidays.add(utc(2026, 11, 3, 10, 0), 5)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"timezone": "Mars/Olympus", "weekly": WEEKDAYS_9_TO_5},
            "unknown time zone 'Mars/Olympus'",
        ),
        ({"weekly": WEEKDAYS_9_TO_5}, "timezone: expected a time zone name"),
        ({"timezone": "UTC", "weekly": {"monday": "09:00-17:00"}}, "unknown weekdays ['monday']"),
        ({"timezone": "UTC", "weekly": {"mon": "9 to 5"}}, "is not a range like 09:00-17:30"),
        ({"timezone": "UTC", "weekly": {"mon": "22:00-06:00"}}, "closes before it opens"),
        ({"timezone": "UTC", "weekly": {"mon": "25:00-26:00"}}, "impossible time"),
        ({"timezone": "UTC", "weekly": {"mon": ["09:00-12:00", "11:00-13:00"]}}, "ranges overlap"),
        ({"timezone": "UTC", "weekly": {"mon": "closed"}}, "no open hour in the whole week"),
        ({"timezone": "UTC", "weekly": WEEKDAYS_9_TO_5, "holidays": ["25/12/2026"]}, "not a date"),
        ({"timezone": "UTC", "weekly": WEEKDAYS_9_TO_5, "hours": 5}, "unknown keys ['hours']"),
    ],
)
def test_business_hours_parse_errors_name_the_calendar(spec: dict, message: str) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        parse_business_hours("test", spec, "routing.yaml: calendars.test")
    assert str(caught.value).startswith("routing.yaml: calendars.test")
    assert message in str(caught.value)


def test_business_hours_24_00_closes_at_midnight() -> None:
    late = hours("UTC", weekly={"fri": "20:00-24:00"})
    assert late.add(utc(2026, 11, 6, 23, 30), 60) == utc(2026, 11, 13, 20, 30)

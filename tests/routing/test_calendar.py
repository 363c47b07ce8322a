"""routing.calendar: SLA due times counted in business hours.

Every expected instant is worked out by hand in the comments. Reference weeks:
- 9-15 November 2026 (Monday to Sunday): London is on GMT (UTC+0), New York on EST (UTC-5),
  Tokyo always on JST (UTC+9).
- London: clocks go forward on Sunday 29 March 2026 (01:00 GMT -> 02:00 BST) and back on
  Sunday 25 October 2026 (02:00 BST -> 01:00 GMT).
- New York: forward on Sunday 8 March 2026 (02:00 EST -> 03:00 EDT), back on Sunday
  1 November 2026 (02:00 EDT -> 01:00 EST).
"""

from __future__ import annotations

import time as clock
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from core.errors import RoutingConfigError
from routing.calendar import WEEKDAYS, BusinessHours, parse_business_hours

NINE_TO_FIVE = {day: "09:00-17:00" for day in WEEKDAYS[:5]}
ALWAYS = dict.fromkeys(WEEKDAYS, "00:00-24:00")
EARLY = dict.fromkeys(WEEKDAYS, "00:30-03:30")
WHERE = "routing.yaml: calendars.test"


def calendar(
    timezone: str = "Europe/London",
    weekly: dict[str, Any] | None = None,
    holidays: tuple[str, ...] = (),
) -> BusinessHours:
    spec = {"timezone": timezone, "weekly": weekly or NINE_TO_FIVE, "holidays": list(holidays)}
    return parse_business_hours("test", spec, WHERE)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


LONDON = calendar()
LUNCH = calendar(weekly={day: ["08:00-12:00", "13:00-17:00"] for day in WEEKDAYS[:5]})


# --- add: ordinary weeks ------------------------------------------------------------------


def test_add_within_hours() -> None:
    # Tuesday 10 November 10:00 GMT + 90 minutes, all inside 09:00-17:00.
    due = LONDON.add(utc(2026, 11, 10, 10, 0), 90)
    assert due == utc(2026, 11, 10, 11, 30)
    assert due.tzinfo is UTC


def test_add_crosses_the_end_of_a_day() -> None:
    # Tuesday 16:15 + 90: 45 minutes until 17:00, the other 45 from Wednesday 09:00.
    assert LONDON.add(utc(2026, 11, 10, 16, 15), 90) == utc(2026, 11, 11, 9, 45)


def test_add_ending_exactly_at_closing_time_is_due_at_closing_time() -> None:
    assert LONDON.add(utc(2026, 11, 10, 16, 0), 60) == utc(2026, 11, 10, 17, 0)
    assert LONDON.add(utc(2026, 11, 10, 16, 0), 61) == utc(2026, 11, 11, 9, 1)


def test_add_friday_afternoon_runs_on_monday_morning() -> None:
    # Friday 13 November 16:00 + 120: 60 on Friday, the weekend is closed, 60 from Monday 16th.
    assert LONDON.add(utc(2026, 11, 13, 16, 0), 120) == utc(2026, 11, 16, 10, 0)


def test_add_whole_working_days_and_weeks() -> None:
    start = utc(2026, 11, 10, 10, 0)  # Tuesday
    assert LONDON.add(start, 8 * 60) == utc(2026, 11, 11, 10, 0)  # one working day
    assert LONDON.add(start, 3 * 8 * 60) == utc(2026, 11, 13, 10, 0)  # Friday
    assert LONDON.add(start, 5 * 8 * 60) == utc(2026, 11, 17, 10, 0)  # next Tuesday


def test_add_seven_days_around_the_clock() -> None:
    always = calendar("UTC", weekly=ALWAYS)
    assert always.add(utc(2026, 11, 10, 10, 0), 7 * 24 * 60) == utc(2026, 11, 17, 10, 0)


def test_add_longer_than_the_search_horizon_is_no_error() -> None:
    # 300 working days = 60 weeks = 420 calendar days (more than the 400-day search for an
    # opening), through both 2027 clock changes, which 09:00-17:00 never straddles:
    # Tuesday 10 November 2026 + 420 days = Tuesday 4 January 2028, 10:00 GMT.
    start = utc(2026, 11, 10, 10, 0)
    begin = clock.perf_counter()
    assert LONDON.add(start, 300 * 8 * 60) == utc(2028, 1, 4, 10, 0)
    assert LONDON.business_minutes(start, utc(2028, 1, 4, 10, 0)) == 300 * 8 * 60
    assert clock.perf_counter() - begin < 2  # day by day, not minute by minute


def test_add_skips_holidays() -> None:
    christmas = calendar(holidays=("2026-12-24", "2026-12-25"))
    # Wednesday 23 December 16:00 + 120: 60 that day, Thursday and Friday are holidays, the
    # weekend is closed: the other 60 from Monday 28 December 09:00.
    assert christmas.add(utc(2026, 12, 23, 16, 0), 120) == utc(2026, 12, 28, 10, 0)
    midweek = calendar(holidays=("2026-11-11",))
    # Tuesday 10 November 16:00 + 120: 60 on Tuesday, Wednesday is a holiday, 60 on Thursday.
    assert midweek.add(utc(2026, 11, 10, 16, 0), 120) == utc(2026, 11, 12, 10, 0)


def test_add_holiday_is_a_local_date() -> None:
    tokyo = calendar("Asia/Tokyo", holidays=("2026-11-11",))
    # Tuesday 10 November 07:30 UTC = 16:30 JST + 60: 30 on Tuesday; Wednesday 11th (JST) is a
    # holiday, although 10 November 15:00 UTC to 11 November 15:00 UTC is no UTC date; the
    # other 30 from Thursday 12th 09:00 JST = 00:00 UTC.
    assert tokyo.add(utc(2026, 11, 10, 7, 30), 60) == utc(2026, 11, 12, 0, 30)


def test_add_split_day_skips_the_lunch_break() -> None:
    # Tuesday 11:30 + 60: 30 before lunch (12:00-13:00 closed), 30 after it.
    assert LUNCH.add(utc(2026, 11, 10, 11, 30), 60) == utc(2026, 11, 10, 13, 30)
    # 11:30 + 270 = 30 + 240: exactly the afternoon, due at 17:00; one more minute: Wednesday.
    assert LUNCH.add(utc(2026, 11, 10, 11, 30), 270) == utc(2026, 11, 10, 17, 0)
    assert LUNCH.add(utc(2026, 11, 10, 11, 30), 271) == utc(2026, 11, 11, 8, 1)
    # Started during lunch, the clock starts at 13:00.
    assert LUNCH.add(utc(2026, 11, 10, 12, 15), 30) == utc(2026, 11, 10, 13, 30)


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (utc(2026, 11, 10, 7, 0), utc(2026, 11, 10, 9, 30)),  # Tuesday before opening
        (utc(2026, 11, 10, 18, 0), utc(2026, 11, 11, 9, 30)),  # Tuesday after closing
        (utc(2026, 11, 10, 17, 0), utc(2026, 11, 11, 9, 30)),  # Tuesday at the closing instant
        (utc(2026, 11, 14, 12, 0), utc(2026, 11, 16, 9, 30)),  # Saturday, closed
        (utc(2026, 11, 15, 23, 59), utc(2026, 11, 16, 9, 30)),  # Sunday night
    ],
)
def test_add_outside_hours_starts_at_the_next_opening(start: datetime, due: datetime) -> None:
    assert LONDON.add(start, 30) == due


def test_add_24_00_closes_at_midnight() -> None:
    friday_night = calendar("UTC", weekly={"fri": "20:00-24:00"})
    # Friday 13 November 23:30 + 60: 30 until midnight, the other 30 next Friday from 20:00.
    assert friday_night.add(utc(2026, 11, 13, 23, 30), 60) == utc(2026, 11, 20, 20, 30)
    into_saturday = calendar("UTC", weekly={"fri": "20:00-24:00", "sat": "00:00-02:00"})
    # Friday's 24:00 is Saturday's 00:00: the clock runs on without a gap.
    assert into_saturday.add(utc(2026, 11, 13, 23, 30), 60) == utc(2026, 11, 14, 0, 30)


def test_add_fractional_minutes() -> None:
    assert LONDON.add(utc(2026, 11, 10, 10, 0), 1.5) == utc(2026, 11, 10, 10, 1, 30)


# --- add: minutes == 0 --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "due"),
    [
        (utc(2026, 11, 10, 10, 0, 5), utc(2026, 11, 10, 10, 0, 5)),  # open: now
        (utc(2026, 11, 10, 9, 0), utc(2026, 11, 10, 9, 0)),  # the opening instant: now
        (utc(2026, 11, 10, 8, 59), utc(2026, 11, 10, 9, 0)),  # before opening
        (utc(2026, 11, 10, 17, 0), utc(2026, 11, 11, 9, 0)),  # the closing instant: tomorrow
        (utc(2026, 11, 13, 17, 30), utc(2026, 11, 16, 9, 0)),  # Friday evening: Monday
    ],
)
def test_add_zero_minutes_is_now_or_the_next_opening(start: datetime, due: datetime) -> None:
    assert LONDON.add(start, 0) == due


# --- time zones ---------------------------------------------------------------------------


def test_add_same_instant_differs_by_time_zone() -> None:
    """Tuesday 10 November 2026 12:00 UTC + 60 on 09:00-17:00 local hours."""
    start = utc(2026, 11, 10, 12, 0)
    # London, 12:00 GMT: open, due 13:00 UTC.
    assert calendar("Europe/London").add(start, 60) == utc(2026, 11, 10, 13, 0)
    # New York, 07:00 EST: opens at 09:00 EST = 14:00 UTC, due 15:00 UTC.
    assert calendar("America/New_York").add(start, 60) == utc(2026, 11, 10, 15, 0)
    # Tokyo, 21:00 JST: closed; Wednesday 09:00 JST = Wednesday 00:00 UTC, due 01:00 UTC.
    assert calendar("Asia/Tokyo").add(start, 60) == utc(2026, 11, 11, 1, 0)


def test_add_accepts_a_start_in_any_zone_and_answers_in_utc() -> None:
    # 07:00 in New York on 10 November is 12:00 UTC: the same answers as above.
    start = datetime(2026, 11, 10, 7, 0, tzinfo=ZoneInfo("America/New_York"))
    assert calendar("Asia/Tokyo").add(start, 60) == utc(2026, 11, 11, 1, 0)
    due = calendar("America/New_York").add(start, 60)
    assert (due, due.tzinfo) == (utc(2026, 11, 10, 15, 0), UTC)
    assert due.utcoffset() == timedelta(0)


# --- daylight-saving changes: London ------------------------------------------------------


def test_add_london_spring_forward_around_the_clock() -> None:
    always = calendar(weekly=ALWAYS)
    # Saturday 28 March 23:00 UTC + 24 real hours, through the skipped hour.
    assert always.add(utc(2026, 3, 28, 23, 0), 24 * 60) == utc(2026, 3, 29, 23, 0)
    sunday = calendar(weekly={"sun": "00:00-24:00"})
    # Sunday 29 March 00:00 GMT (00:00 UTC) to Monday 00:00 BST (Sunday 23:00 UTC): 23 hours.
    assert sunday.business_minutes(utc(2026, 3, 28, 12, 0), utc(2026, 3, 30, 12, 0)) == 23 * 60
    assert sunday.add(utc(2026, 3, 28, 12, 0), 23 * 60) == utc(2026, 3, 29, 23, 0)
    # One minute more runs on the next Sunday, 5 April 00:00 BST = 4 April 23:00 UTC.
    assert sunday.add(utc(2026, 3, 28, 12, 0), 23 * 60 + 1) == utc(2026, 4, 4, 23, 1)


def test_add_london_fall_back_around_the_clock() -> None:
    sunday = calendar(weekly={"sun": "00:00-24:00"})
    # Sunday 25 October 00:00 BST (Saturday 23:00 UTC) to Monday 00:00 GMT (00:00 UTC): 25 h.
    assert sunday.next_open(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 24, 23, 0)
    assert sunday.business_minutes(utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 12, 0)) == 25 * 60
    assert sunday.add(utc(2026, 10, 24, 12, 0), 25 * 60) == utc(2026, 10, 26, 0, 0)
    always = calendar(weekly=ALWAYS)
    # Friday 23 October 12:00 UTC + 7 real days: Friday 30 October 12:00 UTC (13:00 BST
    # before, 12:00 GMT after: the wall clock moved, the elapsed time did not).
    assert always.add(utc(2026, 10, 23, 12, 0), 7 * 24 * 60) == utc(2026, 10, 30, 12, 0)


def test_add_london_spring_forward_early_morning_hours() -> None:
    early = calendar(weekly=EARLY)
    # Saturday 28 March 00:30-03:30 GMT = 00:30-03:30 UTC: 180 minutes.
    # Sunday 29 March 00:30 GMT (00:30 UTC) to 03:30 BST (02:30 UTC): 120 minutes.
    assert early.business_minutes(utc(2026, 3, 28, 12, 0), utc(2026, 3, 29, 12, 0)) == 120
    # Sunday 00:00 UTC + 150: opens 00:30 UTC, 120 until 02:30 UTC, the other 30 from
    # Monday 00:30 BST = Sunday 23:30 UTC.
    assert early.add(utc(2026, 3, 29, 0, 0), 150) == utc(2026, 3, 30, 0, 0)
    # Saturday 03:00 UTC + 60: 30 on Saturday, 30 from Sunday 00:30 UTC.
    assert early.add(utc(2026, 3, 28, 3, 0), 60) == utc(2026, 3, 29, 1, 0)


def test_add_london_fall_back_early_morning_hours() -> None:
    early = calendar(weekly=EARLY)
    # Sunday 25 October 00:30 BST (Saturday 23:30 UTC) to 03:30 GMT (03:30 UTC): 240 minutes.
    assert early.business_minutes(utc(2026, 10, 24, 12, 0), utc(2026, 10, 25, 12, 0)) == 240
    assert early.add(utc(2026, 10, 24, 12, 0), 0) == utc(2026, 10, 24, 23, 30)
    assert early.add(utc(2026, 10, 24, 12, 0), 240) == utc(2026, 10, 25, 3, 30)
    # Monday 26 October 00:30-03:30 GMT = 00:30-03:30 UTC.
    assert early.add(utc(2026, 10, 24, 12, 0), 241) == utc(2026, 10, 26, 0, 31)


def test_add_london_nine_to_five_across_both_changes() -> None:
    # Friday 27 March 16:30 GMT (16:30 UTC) + 60: 30 on Friday, the rest from Monday 30 March
    # 09:00 BST = 08:00 UTC.
    assert LONDON.add(utc(2026, 3, 27, 16, 30), 60) == utc(2026, 3, 30, 8, 30)
    # Friday 23 October 16:30 BST (15:30 UTC) + 60: Monday 26 October 09:30 GMT = 09:30 UTC.
    assert LONDON.add(utc(2026, 10, 23, 15, 30), 60) == utc(2026, 10, 26, 9, 30)
    # A working week either side of the change: 09:00-17:00 is 8 real hours every day.
    assert LONDON.business_minutes(utc(2026, 3, 23, 0, 0), utc(2026, 4, 4, 0, 0)) == 10 * 8 * 60


# --- daylight-saving changes: New York ----------------------------------------------------


def test_add_new_york_spring_forward_around_the_clock() -> None:
    sunday = calendar("America/New_York", weekly={"sun": "00:00-24:00"})
    # Sunday 8 March 00:00 EST (05:00 UTC) to Monday 00:00 EDT (04:00 UTC): 23 hours.
    assert sunday.next_open(utc(2026, 3, 7, 12, 0)) == utc(2026, 3, 8, 5, 0)
    assert sunday.business_minutes(utc(2026, 3, 7, 12, 0), utc(2026, 3, 9, 12, 0)) == 23 * 60
    assert sunday.add(utc(2026, 3, 7, 12, 0), 23 * 60) == utc(2026, 3, 9, 4, 0)


def test_add_new_york_fall_back_around_the_clock() -> None:
    sunday = calendar("America/New_York", weekly={"sun": "00:00-24:00"})
    # Sunday 1 November 00:00 EDT (04:00 UTC) to Monday 00:00 EST (05:00 UTC): 25 hours.
    assert sunday.business_minutes(utc(2026, 10, 31, 12, 0), utc(2026, 11, 2, 12, 0)) == 25 * 60
    assert sunday.add(utc(2026, 10, 31, 12, 0), 25 * 60) == utc(2026, 11, 2, 5, 0)
    always = calendar("America/New_York", weekly=ALWAYS)
    assert always.add(utc(2026, 10, 31, 12, 0), 2 * 24 * 60) == utc(2026, 11, 2, 12, 0)


def test_add_new_york_early_morning_hours_across_both_changes() -> None:
    early = calendar("America/New_York", weekly=EARLY)
    # Sunday 8 March 00:30 EST (05:30 UTC) to 03:30 EDT (07:30 UTC): 120 minutes.
    assert early.business_minutes(utc(2026, 3, 8, 0, 0), utc(2026, 3, 8, 12, 0)) == 120
    assert early.add(utc(2026, 3, 8, 0, 0), 120) == utc(2026, 3, 8, 7, 30)
    # then Monday 9 March 00:30 EDT = 04:30 UTC.
    assert early.add(utc(2026, 3, 8, 0, 0), 121) == utc(2026, 3, 9, 4, 31)
    # Sunday 1 November 00:30 EDT (04:30 UTC) to 03:30 EST (08:30 UTC): 240 minutes.
    assert early.business_minutes(utc(2026, 11, 1, 0, 0), utc(2026, 11, 1, 12, 0)) == 240
    assert early.add(utc(2026, 11, 1, 0, 0), 240) == utc(2026, 11, 1, 8, 30)


def test_add_new_york_nine_to_five_across_both_changes() -> None:
    new_york = calendar("America/New_York")
    # Friday 6 March 16:30 EST (21:30 UTC) + 60: Monday 9 March 09:30 EDT = 13:30 UTC.
    assert new_york.add(utc(2026, 3, 6, 21, 30), 60) == utc(2026, 3, 9, 13, 30)
    # Friday 30 October 16:30 EDT (20:30 UTC) + 60: Monday 2 November 09:30 EST = 14:30 UTC.
    assert new_york.add(utc(2026, 10, 30, 20, 30), 60) == utc(2026, 11, 2, 14, 30)


# --- times that do not exist or exist twice -----------------------------------------------


def test_next_open_in_the_spring_forward_gap_is_the_jump() -> None:
    # 01:30 London on 29 March does not exist: the day opens when the clocks jump, 01:00 UTC,
    # and closes at 03:30 BST = 02:30 UTC: 90 real minutes.
    gap = calendar(weekly={"sun": "01:30-03:30"})
    assert gap.next_open(utc(2026, 3, 29, 0, 0)) == utc(2026, 3, 29, 1, 0)
    assert not gap.is_open(utc(2026, 3, 29, 0, 59))
    assert gap.is_open(utc(2026, 3, 29, 1, 0))
    assert gap.business_minutes(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 12, 0)) == 90
    # 02:30 New York on 8 March does not exist: the jump is 02:00 EST = 07:00 UTC; 04:00 EDT
    # = 08:00 UTC.
    new_york = calendar("America/New_York", weekly={"sun": "02:30-04:00"})
    assert new_york.next_open(utc(2026, 3, 8, 0, 0)) == utc(2026, 3, 8, 7, 0)
    assert new_york.add(utc(2026, 3, 8, 0, 0), 60) == utc(2026, 3, 8, 8, 0)


def test_business_minutes_closing_in_the_gap_closes_at_the_jump() -> None:
    # 00:30-01:30 London on 29 March: 00:30 UTC to the jump at 01:00 UTC, 30 minutes.
    gap = calendar(weekly={"sun": "00:30-01:30"})
    assert gap.business_minutes(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 12, 0)) == 30
    assert gap.add(utc(2026, 3, 29, 0, 0), 30) == utc(2026, 3, 29, 1, 0)


def test_next_open_at_an_ambiguous_time_is_the_first_occurrence() -> None:
    # 01:30 London on 25 October happens twice; the first is 01:30 BST = 00:30 UTC. 03:00 GMT
    # = 03:00 UTC: 150 real minutes, the repeated hour included.
    twice = calendar(weekly={"sun": "01:30-03:00"})
    assert twice.next_open(utc(2026, 10, 24, 12, 0)) == utc(2026, 10, 25, 0, 30)
    assert twice.is_open(utc(2026, 10, 25, 1, 15))  # 01:15 GMT, the second pass
    assert twice.business_minutes(utc(2026, 10, 24, 12, 0), utc(2026, 10, 26, 0, 0)) == 150
    # 01:30 New York on 1 November: first 01:30 EDT = 05:30 UTC.
    new_york = calendar("America/New_York", weekly={"sun": "01:30-03:00"})
    assert new_york.next_open(utc(2026, 10, 31, 12, 0)) == utc(2026, 11, 1, 5, 30)


# --- business_minutes ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        (utc(2026, 11, 10, 10, 0), utc(2026, 11, 10, 11, 30), 90),  # inside one day
        (utc(2026, 11, 10, 10, 0), utc(2026, 11, 11, 10, 0), 480),  # a whole working day
        (utc(2026, 11, 13, 16, 0), utc(2026, 11, 16, 10, 0), 120),  # over a weekend
        (utc(2026, 11, 10, 7, 0), utc(2026, 11, 10, 20, 0), 480),  # both outside, one day
        (utc(2026, 11, 14, 8, 0), utc(2026, 11, 15, 20, 0), 0),  # a weekend
        (utc(2026, 11, 10, 11, 0), utc(2026, 11, 10, 11, 0), 0),  # end == start
        (utc(2026, 11, 10, 12, 0), utc(2026, 11, 10, 11, 0), 0),  # end before start
        (utc(2026, 11, 10, 10, 0), utc(2026, 11, 10, 10, 0, 30), 0.5),  # 30 seconds
    ],
)
def test_business_minutes_counts_only_open_time(
    start: datetime, end: datetime, minutes: float
) -> None:
    assert LONDON.business_minutes(start, end) == minutes


def test_business_minutes_skips_lunch_and_holidays() -> None:
    # Tuesday 11:00 to 14:00 with lunch 12:00-13:00 closed: 60 + 60.
    assert LUNCH.business_minutes(utc(2026, 11, 10, 11, 0), utc(2026, 11, 10, 14, 0)) == 120
    midweek = calendar(holidays=("2026-11-11",))
    # Tuesday 10:00 to Thursday 10:00 with Wednesday a holiday: 420 + 60.
    assert midweek.business_minutes(utc(2026, 11, 10, 10, 0), utc(2026, 11, 12, 10, 0)) == 480


def test_business_minutes_of_a_calendar_that_never_opens_is_zero() -> None:
    never = BusinessHours("never", "UTC", ((),) * 7)
    assert never.business_minutes(utc(2026, 11, 10, 0, 0), utc(2027, 11, 10, 0, 0)) == 0


ZONES = ["Europe/London", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]
WEEKS = [
    {**NINE_TO_FIVE, "sat": "10:00-12:30"},
    {day: ["08:00-12:00", "13:00-17:00"] for day in WEEKDAYS[:5]},
    EARLY,
    ALWAYS,
    {"sun": "01:30-02:30", "wed": ["00:00-01:00", "23:00-24:00"]},
]
HOLIDAYS = ("2026-11-11", "2026-12-25", "2027-01-01")
INSTANTS = st.datetimes(
    min_value=datetime(2026, 1, 1), max_value=datetime(2027, 12, 31), timezones=st.just(UTC)
)


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    start=INSTANTS,
    minutes=st.one_of(st.integers(0, 20_000), st.floats(0, 20_000)),
    zone=st.sampled_from(ZONES),
    week=st.sampled_from(WEEKS),
)
def test_business_minutes_is_the_inverse_of_add(
    start: datetime, minutes: float, zone: str, week: dict[str, Any]
) -> None:
    hours = calendar(zone, weekly=week, holidays=HOLIDAYS)
    due = hours.add(start, minutes)
    assert due >= start
    assert hours.business_minutes(start, due) == pytest.approx(minutes, abs=1e-6)
    # Due inside hours, or at the instant an interval closes.
    assert hours.is_open(due) or hours.is_open(due - timedelta(microseconds=1))


@settings(max_examples=300, deadline=None, derandomize=True)
@given(
    start=INSTANTS,
    end=INSTANTS,
    zone=st.sampled_from(ZONES),
    week=st.sampled_from(WEEKS),
)
def test_add_of_business_minutes_returns_to_an_open_end(
    start: datetime, end: datetime, zone: str, week: dict[str, Any]
) -> None:
    hours = calendar(zone, weekly=week, holidays=HOLIDAYS)
    if end < start:
        start, end = end, start
    # Inside hours: just after an open instant. (At an opening that follows closed time, add
    # answers the equivalent closing instant before it: see
    # test_add_ending_exactly_at_closing_time_is_due_at_closing_time.)
    end = hours.next_open(end) + timedelta(microseconds=1)
    assert hours.add(start, hours.business_minutes(start, end)) == end


# --- is_open and next_open ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (LONDON, utc(2026, 11, 10, 10, 0), True),
        (LONDON, utc(2026, 11, 10, 9, 0), True),  # the opening instant is open
        (LONDON, utc(2026, 11, 10, 8, 59, 59), False),
        (LONDON, utc(2026, 11, 10, 16, 59, 59), True),
        (LONDON, utc(2026, 11, 10, 17, 0), False),  # the closing instant is closed
        (LONDON, utc(2026, 11, 14, 12, 0), False),  # Saturday
        (LUNCH, utc(2026, 11, 10, 12, 30), False),  # lunch
        (LUNCH, utc(2026, 11, 10, 13, 0), True),
        (calendar(holidays=("2026-11-11",)), utc(2026, 11, 11, 12, 0), False),
        # 23:30 UTC on Tuesday 10th is Wednesday 08:30 in Tokyo: closed; 00:30 UTC on 11th is
        # Wednesday 09:30 JST: open.
        (calendar("Asia/Tokyo"), utc(2026, 11, 10, 23, 30), False),
        (calendar("Asia/Tokyo"), utc(2026, 11, 11, 0, 30), True),
        # Friday 13th 23:59 UTC is inside 20:00-24:00; Saturday 00:00 is not.
        (calendar("UTC", weekly={"fri": "20:00-24:00"}), utc(2026, 11, 13, 23, 59), True),
        (calendar("UTC", weekly={"fri": "20:00-24:00"}), utc(2026, 11, 14, 0, 0), False),
    ],
)
def test_is_open(hours: BusinessHours, at: datetime, expected: bool) -> None:
    assert hours.is_open(at) is expected


def test_is_open_reads_any_zone() -> None:
    # 10:00 in New York on Tuesday 10 November is 15:00 UTC: open in London.
    assert LONDON.is_open(datetime(2026, 11, 10, 10, 0, tzinfo=ZoneInfo("America/New_York")))
    # 13:00 in New York is 18:00 UTC: closed in London.
    assert not LONDON.is_open(datetime(2026, 11, 10, 13, 0, tzinfo=ZoneInfo("America/New_York")))


@pytest.mark.parametrize(
    ("hours", "at", "expected"),
    [
        (LONDON, utc(2026, 11, 10, 10, 0), utc(2026, 11, 10, 10, 0)),  # open: itself
        (LONDON, utc(2026, 11, 10, 6, 0), utc(2026, 11, 10, 9, 0)),
        (LONDON, utc(2026, 11, 13, 17, 0), utc(2026, 11, 16, 9, 0)),  # Friday close: Monday
        (LUNCH, utc(2026, 11, 10, 12, 30), utc(2026, 11, 10, 13, 0)),  # after lunch
        (calendar(holidays=("2026-11-16",)), utc(2026, 11, 14, 0, 0), utc(2026, 11, 17, 9, 0)),
        (calendar("Asia/Tokyo"), utc(2026, 11, 10, 12, 0), utc(2026, 11, 11, 0, 0)),
        (calendar("America/New_York"), utc(2026, 11, 10, 12, 0), utc(2026, 11, 10, 14, 0)),
    ],
)
def test_next_open(hours: BusinessHours, at: datetime, expected: datetime) -> None:
    opening = hours.next_open(at)
    assert opening == expected
    assert opening.tzinfo is UTC


def test_next_open_of_one_open_day_a_week() -> None:
    monday = calendar(weekly={"mon": ["08:00-12:00", "13:00-17:00"]})
    # Monday 9 November 17:00: closed until the next Monday 08:00.
    assert monday.next_open(utc(2026, 11, 9, 17, 0)) == utc(2026, 11, 16, 8, 0)


# --- refused arguments and calendars that never open --------------------------------------


def test_add_refuses_naive_datetimes() -> None:
    with pytest.raises(ValueError, match="start must be a datetime with a time zone"):
        LONDON.add(datetime(2026, 11, 10, 10, 0), 5)
    with pytest.raises(ValueError, match="end must be a datetime with a time zone"):
        LONDON.business_minutes(utc(2026, 11, 10, 10, 0), datetime(2026, 11, 10, 11, 0))
    with pytest.raises(ValueError, match="at must be a datetime with a time zone"):
        LONDON.is_open(datetime(2026, 11, 10, 10, 0))
    with pytest.raises(ValueError, match="with a time zone"):
        LONDON.next_open(datetime(2026, 11, 10, 10, 0))


@pytest.mark.parametrize("minutes", [-1, -0.001, float("nan"), float("inf")])
def test_add_refuses_negative_or_infinite_minutes(minutes: float) -> None:
    with pytest.raises(ValueError, match="minutes must be a finite number, 0 or more"):
        LONDON.add(utc(2026, 11, 10, 10, 0), minutes)


def test_add_never_open_calendar_is_a_config_error() -> None:
    never = BusinessHours("never", "Europe/London", ((),) * 7)
    with pytest.raises(RoutingConfigError, match="calendar 'never' has no open hour"):
        never.add(utc(2026, 11, 10, 10, 0), 5)
    with pytest.raises(RoutingConfigError, match="calendar 'never' has no open hour"):
        never.next_open(utc(2026, 11, 10, 10, 0))


def mondays(first: date, count: int) -> frozenset[date]:
    return frozenset(first + timedelta(weeks=n) for n in range(count))


def test_add_gives_up_after_400_closed_days() -> None:
    monday = (((time(9), time(17)),),) + ((),) * 6
    # Every Monday from 16 November 2026 for 60 weeks is a holiday: 420 days closed.
    blocked = BusinessHours("blocked", "UTC", monday, mondays(date(2026, 11, 16), 60))
    with pytest.raises(RoutingConfigError, match="calendar 'blocked' has no open hour in the 400"):
        blocked.add(utc(2026, 11, 10, 10, 0), 30)
    # 50 weeks of holidays (the last on 25 October 2027): Monday 1 November 2027 opens,
    # 356 days after the start.
    late = BusinessHours("late", "UTC", monday, mondays(date(2026, 11, 16), 50))
    assert late.add(utc(2026, 11, 10, 10, 0), 30) == utc(2027, 11, 1, 9, 30)


@pytest.mark.parametrize(
    ("timezone", "weekly", "message"),
    [
        ("Mars/Olympus", ((),) * 7, "calendar 'x': timezone: unknown time zone 'Mars/Olympus'"),
        ("UTC", ((),) * 6, "calendar 'x': weekly has 6 days; expected 7"),
        (
            "UTC",
            (((time(17), time(9)),),) + ((),) * 6,
            "calendar 'x': weekly.mon interval 17:00:00-09:00:00 closes before it opens",
        ),
        (
            "UTC",
            ((),) * 6 + (((time(13), time(17)), (time(9), time(12))),),
            "calendar 'x': weekly.sun intervals are not sorted and disjoint",
        ),
    ],
)
def test_business_hours_refuses_an_invalid_calendar(
    timezone: str, weekly: tuple[tuple[tuple[time, time], ...], ...], message: str
) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        BusinessHours("x", timezone, weekly)
    assert str(caught.value).startswith(message)


# --- parse_business_hours -----------------------------------------------------------------


def test_parse_business_hours_reads_the_yaml_example() -> None:
    spec = yaml.safe_load(
        """
        timezone: Europe/London
        weekly:
          mon: "09:00-17:30"
          tue: ["13:00-17:00", "08:00-12:00"]
          wed: 09:00-12:00
          fri: ["12:00-24:00", "09:00-12:00"]
          sat: closed
        holidays: ["2026-12-25", 2026-12-26]
        """
    )
    assert parse_business_hours("care", spec, WHERE) == BusinessHours(
        name="care",
        timezone="Europe/London",
        weekly=(
            ((time(9), time(17, 30)),),
            ((time(8), time(12)), (time(13), time(17))),  # sorted
            ((time(9), time(12)),),
            (),  # missing: closed
            ((time(9), time(12)), (time(12), time.max)),  # touching ranges; 24:00
            (),  # closed
            (),
        ),
        holidays=frozenset({date(2026, 12, 25), date(2026, 12, 26)}),
    )


def test_parse_business_hours_without_holidays() -> None:
    hours = parse_business_hours(
        "h", {"timezone": "Asia/Tokyo", "weekly": {"sun": "00:00-24:00"}}, WHERE
    )
    assert hours.holidays == frozenset()
    assert hours.weekly[6] == ((time(0), time.max),)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        # unknown time zone, or none
        (
            {"timezone": "Mars/Olympus", "weekly": NINE_TO_FIVE},
            ".timezone: unknown time zone 'Mars/Olympus'",
        ),
        ({"timezone": "America", "weekly": NINE_TO_FIVE}, ".timezone: unknown time zone 'America'"),
        ({"timezone": "../etc/passwd", "weekly": NINE_TO_FIVE}, ".timezone: unknown time zone"),
        ({"timezone": "", "weekly": NINE_TO_FIVE}, ".timezone: unknown time zone ''"),
        ({"weekly": NINE_TO_FIVE}, ".timezone: expected a time zone name like Europe/London"),
        ({"timezone": 5, "weekly": NINE_TO_FIVE}, ".timezone: expected a time zone name"),
        # unknown keys
        ({"timezone": "UTC", "weekly": NINE_TO_FIVE, "hours": 5}, ": unknown keys ['hours']"),
        ({"timezone": "UTC", "weekly": NINE_TO_FIVE, 1: 5}, ": unknown keys ['1']"),
        # unknown weekday
        (
            {"timezone": "UTC", "weekly": {"monday": "09:00-17:00"}},
            ".weekly: unknown weekdays ['monday']",
        ),
        (
            {"timezone": "UTC", "weekly": {"Mon": "09:00-17:00"}},
            ".weekly: unknown weekdays ['Mon']",
        ),
        ({"timezone": "UTC", "weekly": ["09:00-17:00"]}, ".weekly: expected a mapping of weekdays"),
        # malformed ranges
        ({"timezone": "UTC", "weekly": {"mon": "9 to 5"}}, ".weekly.mon: '9 to 5' is not a range"),
        ({"timezone": "UTC", "weekly": {"tue": "09:00"}}, ".weekly.tue: '09:00' is not a range"),
        ({"timezone": "UTC", "weekly": {"wed": "9:0-17:00"}}, ".weekly.wed: '9:0-17:00' is not a"),
        ({"timezone": "UTC", "weekly": {"thu": ["09:00-12:00", "x"]}}, ".weekly.thu: 'x' is not a"),
        ({"timezone": "UTC", "weekly": {"fri": 9}}, '.weekly.fri: expected "HH:MM-HH:MM"'),
        ({"timezone": "UTC", "weekly": {"sat": [9]}}, '.weekly.sat: expected "HH:MM-HH:MM"'),
        (
            {"timezone": "UTC", "weekly": {"mon": "25:00-26:00"}},
            ".weekly.mon: '25:00-26:00' has an impossible time",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": "09:60-10:00"}},
            ".weekly.mon: '09:60-10:00' has an impossible time",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": "24:00-24:00"}},
            ".weekly.mon: '24:00-24:00' has an impossible",
        ),
        # close <= open
        (
            {"timezone": "UTC", "weekly": {"mon": "22:00-06:00"}},
            ".weekly.mon: '22:00-06:00' closes before it opens",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": "09:00-09:00"}},
            ".weekly.mon: '09:00-09:00' closes before it opens",
        ),
        # overlapping ranges
        (
            {"timezone": "UTC", "weekly": {"mon": ["11:00-13:00", "09:00-12:00"]}},
            ".weekly.mon: ranges overlap: '09:00-12:00' and '11:00-13:00'",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": ["09:00-12:00", "09:00-12:00"]}},
            ".weekly.mon: ranges overlap",
        ),
        (
            {"timezone": "UTC", "weekly": {"mon": ["00:00-24:00", "23:00-23:30"]}},
            ".weekly.mon: ranges overlap",
        ),
        # bad holiday dates
        (
            {"timezone": "UTC", "weekly": NINE_TO_FIVE, "holidays": ["25/12/2026"]},
            ".holidays: '25/12/2026' is not a date like 2026-12-25",
        ),
        (
            {"timezone": "UTC", "weekly": NINE_TO_FIVE, "holidays": ["2026-02-30"]},
            ".holidays: '2026-02-30' is not a date",
        ),
        (
            {"timezone": "UTC", "weekly": NINE_TO_FIVE, "holidays": ["20261225"]},
            ".holidays: '20261225' is not a date",
        ),
        (
            {"timezone": "UTC", "weekly": NINE_TO_FIVE, "holidays": [20261225]},
            ".holidays: 20261225 is not a date",
        ),
        (
            {"timezone": "UTC", "weekly": NINE_TO_FIVE, "holidays": [datetime(2026, 12, 25, 9, 0)]},
            ".holidays: datetime.datetime(2026, 12, 25, 9, 0) is not a date",
        ),
        (
            {"timezone": "UTC", "weekly": NINE_TO_FIVE, "holidays": "2026-12-25"},
            ".holidays: expected a list of dates",
        ),
        # no open hour in the whole week
        (
            {"timezone": "UTC", "weekly": {"mon": "closed"}},
            ".weekly: no open hour in the whole week",
        ),
        ({"timezone": "UTC", "weekly": {"mon": [], "sun": None}}, ".weekly: no open hour"),
        ({"timezone": "UTC"}, ".weekly: no open hour in the whole week"),
    ],
)
def test_parse_business_hours_errors_name_where(spec: dict[Any, Any], message: str) -> None:
    with pytest.raises(RoutingConfigError) as caught:
        parse_business_hours("test", spec, WHERE)
    assert str(caught.value).startswith(WHERE)
    assert WHERE + message in str(caught.value)


def test_parse_business_hours_refuses_a_spec_that_is_no_mapping() -> None:
    with pytest.raises(RoutingConfigError, match=f"^{WHERE}: expected a mapping"):
        parse_business_hours("test", ["09:00-17:00"], WHERE)  # type: ignore[arg-type]

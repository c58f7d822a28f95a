"""The pure WorkCalendar: every deadline rule with a chosen clock (instants given as the
estate's wall clock reads them), on the estate's own hours (08:30-12:00, 13:30-17:30,
Monday to Friday) and China's 2025 calendar as chinesecalendar lists it."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.workcal import seed
from hub.workcal.calendar import CalendarInvalid, NoWorkingTime, WorkCalendar, parse_periods
from hub.workcal.models import DayKind
from tests.workcal.conftest import SHANGHAI, at


def china(*years: int) -> WorkCalendar:
    """The estate's calendar with the package's days of ``years``."""
    days = [d for y in years for d in seed.year_days(y)]
    return WorkCalendar.of(SHANGHAI, holidays=[d.day for d in days if d.kind == DayKind.HOLIDAY],
                           workdays=[d.day for d in days if d.kind == DayKind.WORKDAY])


PLAIN = WorkCalendar.of(SHANGHAI)  # no holidays: weekends only


# -- the data the National Day tests stand on ---------------------------------------------

def test_national_day_2025_as_the_package_has_it():
    cal = china(2025)
    off = [date(2025, 10, d) for d in range(1, 9)]
    assert [cal.is_working_day(d) for d in off] == [False] * 8
    assert cal.is_working_day(date(2025, 9, 28)) and date(2025, 9, 28).isoweekday() == 7  # a make-up Sunday
    assert cal.is_working_day(date(2025, 10, 11)) and date(2025, 10, 11).isoweekday() == 6  # a make-up Saturday
    assert cal.is_working_day(date(2025, 10, 9)) and not cal.is_working_day(date(2025, 10, 12))
    assert not PLAIN.is_working_day(date(2025, 10, 11)) and PLAIN.is_working_day(date(2025, 10, 1))


# -- day limits ----------------------------------------------------------------------------

def test_two_working_days_across_a_weekend_end_at_the_close_of_tuesday():
    # Friday 27 November 2026, at 10:00 and after hours at 20:00, and Saturday: Monday is the
    # first working day after, Tuesday the second; due when Tuesday's work ends
    tuesday_close = at(2026, 12, 1, 17, 30)
    assert PLAIN.add_working_days(at(2026, 11, 27, 10), 2) == tuesday_close
    assert PLAIN.add_working_days(at(2026, 11, 27, 20), 2) == tuesday_close
    assert PLAIN.add_working_days(at(2026, 11, 28, 11), 2) == tuesday_close
    # Monday early: its own date is not counted either (Civil Code art. 201)
    assert PLAIN.add_working_days(at(2026, 11, 30, 7), 2) == at(2026, 12, 2, 17, 30)


def test_zero_days_is_the_same_working_day_or_the_next():
    assert PLAIN.add_working_days(at(2026, 11, 27, 10), 0) == at(2026, 11, 27, 17, 30)
    assert PLAIN.add_working_days(at(2026, 11, 27, 18), 0) == at(2026, 11, 30, 17, 30)  # after the close
    assert PLAIN.add_working_days(at(2026, 11, 28, 10), 0) == at(2026, 11, 30, 17, 30)  # a Saturday


def test_days_across_national_day_2025_and_its_make_up_saturday():
    cal = china(2025)
    # made on Tuesday 30 September: Oct 1-8 are off, Thursday 9 is the 1st working day,
    # Friday 10 the 2nd, the make-up Saturday 11 the 3rd
    start = at(2025, 9, 30, 15)
    assert cal.add_working_days(start, 1) == at(2025, 10, 9, 17, 30)
    assert cal.add_working_days(start, 2) == at(2025, 10, 10, 17, 30)
    assert cal.add_working_days(start, 3) == at(2025, 10, 11, 17, 30)
    assert cal.add_working_days(start, 4) == at(2025, 10, 13, 17, 30)  # Sunday 12 is off again
    # without the holidays the same limit is on Thursday 2 October
    assert PLAIN.add_working_days(start, 2) == at(2025, 10, 2, 17, 30)
    # the make-up Sunday before: made on Friday 26 September, the 1st working day is Sunday 28
    assert cal.add_working_days(at(2025, 9, 26, 16), 1) == at(2025, 9, 28, 17, 30)


def test_ten_working_days_for_a_major_complaint_across_national_day():
    cal = china(2025)
    # Sat 27 Sep: 28 (make-up Sun), 29, 30, 9, 10, 11 (make-up Sat), 13, 14, 15, 16
    assert cal.add_working_days(at(2025, 9, 27, 9), 10) == at(2025, 10, 16, 17, 30)


# -- hour limits ---------------------------------------------------------------------------

def test_an_hour_limit_runs_across_lunch_and_night():
    assert PLAIN.add_working_hours(at(2026, 11, 30, 11, 30), 1) == at(2026, 11, 30, 14, 0)  # 30 min, lunch, 30 min
    assert PLAIN.add_working_hours(at(2026, 11, 30, 17), 1) == at(2026, 12, 1, 9, 0)  # 30 min, night, 30 min
    assert PLAIN.add_working_hours(at(2026, 11, 27, 17), 1) == at(2026, 11, 30, 9, 0)  # Friday to Monday
    assert PLAIN.add_working_hours(at(2026, 11, 30, 9), 7.5) == at(2026, 12, 1, 9, 0)  # a whole working day


def test_a_limit_ending_at_a_close_ends_there():
    assert PLAIN.add_working_hours(at(2026, 11, 30, 11), 1) == at(2026, 11, 30, 12, 0)
    assert PLAIN.add_working_hours(at(2026, 11, 30, 16, 30), 1) == at(2026, 11, 30, 17, 30)


def test_a_start_outside_working_hours_starts_the_clock_at_the_next_period():
    assert PLAIN.add_working_hours(at(2026, 11, 30, 6, 15), 1) == at(2026, 11, 30, 9, 30)  # before the day
    assert PLAIN.add_working_hours(at(2026, 11, 30, 12, 40), 1) == at(2026, 11, 30, 14, 30)  # at lunch
    assert PLAIN.add_working_hours(at(2026, 11, 28, 10), 1) == at(2026, 11, 30, 9, 30)  # a Saturday
    assert PLAIN.add_working_hours(at(2026, 11, 27, 23, 50), 1) == at(2026, 11, 30, 9, 30)  # Friday night


def test_hours_across_the_holiday_land_on_the_make_up_saturday():
    cal = china(2025)
    # Friday 10 October 2025, 17:00: 30 min, then the make-up Saturday 11 from 08:30
    assert cal.add_working_hours(at(2025, 10, 10, 17), 1) == at(2025, 10, 11, 9, 0)
    # Tuesday 30 September 17:00: 30 min, then nothing until Thursday 9 October
    assert cal.add_working_hours(at(2025, 9, 30, 17), 1) == at(2025, 10, 9, 9, 0)


def test_results_are_in_the_estate_timezone_and_any_offset_goes_in():
    utc_start = datetime(2026, 11, 30, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai
    out = PLAIN.add_working_hours(utc_start, 1)
    assert out == at(2026, 11, 30, 10, 0) and out.utcoffset() == timedelta(hours=8)
    with pytest.raises(ValueError):
        PLAIN.add_working_hours(datetime(2026, 11, 30, 9), 1)  # no timezone: refused, not guessed


# -- pauses --------------------------------------------------------------------------------

def test_two_pauses_stop_the_clock_for_the_working_time_they_take():
    start = at(2026, 11, 27, 10)  # Friday: due Tuesday 1 December 17:30 without pauses
    pauses = [
        (at(2026, 11, 27, 16), at(2026, 11, 30, 9, 30)),  # Fri 16:00-17:30 and Mon 08:30-09:30: 2.5 h
        (at(2026, 12, 1, 11), at(2026, 12, 1, 14)),  # Tue 11:00-12:00 and 13:30-14:00: 1.5 h
    ]
    # 4 working hours later than Tuesday's close: Wednesday 08:30 + 3.5 h to 12:00, + 0.5 h after lunch
    assert PLAIN.add_working_days(start, 2, pauses) == at(2026, 12, 2, 14, 0)
    assert PLAIN.add_working_hours(start, 8, pauses) == at(2026, 11, 30, 14, 30)  # 4.5 Fri, 2.5 Mon am, 1 pm
    assert PLAIN.working_time(start, at(2026, 12, 1, 17, 30), pauses) == timedelta(hours=21 - 4)
    # the same pauses given in the other order, one overlapping another: the same answer
    overlapping = [pauses[1], pauses[0], (at(2026, 11, 27, 17), at(2026, 11, 28, 12))]
    assert PLAIN.add_working_days(start, 2, overlapping) == at(2026, 12, 2, 14, 0)


def test_a_pause_outside_working_time_changes_nothing():
    start = at(2026, 11, 27, 10)
    weekend = [(at(2026, 11, 28, 9), at(2026, 11, 29, 18))]
    assert PLAIN.add_working_days(start, 2, weekend) == PLAIN.add_working_days(start, 2)
    assert PLAIN.add_working_hours(start, 3, [(at(2026, 11, 27, 12), at(2026, 11, 27, 13, 30))]) == at(2026, 11, 27, 14, 30)


def test_a_pause_still_open_holds_the_deadline():
    start = at(2026, 11, 27, 10)
    open_pause = [(at(2026, 11, 30, 11), None)]
    assert PLAIN.add_working_days(start, 2, open_pause) is None
    assert PLAIN.add_working_hours(start, 9, open_pause) is None  # would be Monday 11:30
    # reached before the pause began: the deadline stands
    assert PLAIN.add_working_hours(start, 8, open_pause) == at(2026, 11, 30, 10, 30)
    # a pause still open since before the start
    assert PLAIN.add_working_hours(start, 1, [(at(2026, 11, 26, 9), None)]) is None
    # the time worked while it is open counts up to the pause only
    assert PLAIN.working_time(start, at(2026, 12, 5, 12), open_pause) == timedelta(hours=6 + 2.5)
    # once it has an end, the deadline comes back, later by the working time it took
    ended = [(at(2026, 11, 30, 11), at(2026, 12, 1, 11))]  # 7.5 working hours
    assert PLAIN.add_working_days(start, 2, ended) == at(2026, 12, 2, 17, 30)


def test_a_pause_ending_before_it_begins_is_refused():
    with pytest.raises(ValueError):
        PLAIN.add_working_hours(at(2026, 11, 30, 9), 1, [(at(2026, 11, 30, 10), at(2026, 11, 30, 9))])


# -- working time --------------------------------------------------------------------------

def test_working_time_between_two_instants():
    assert PLAIN.working_time(at(2026, 11, 27, 10), at(2026, 12, 1, 17, 30)) == timedelta(hours=21)
    assert PLAIN.working_time(at(2026, 11, 28, 0), at(2026, 11, 29, 23, 59)) == timedelta(0)
    assert PLAIN.working_time(at(2026, 12, 1, 17, 30), at(2026, 11, 27, 10)) == -timedelta(hours=21)
    assert china(2025).working_time(at(2025, 9, 30, 17, 30), at(2025, 10, 9, 8, 30)) == timedelta(0)


@settings(max_examples=150, deadline=None)
@given(start=st.datetimes(min_value=datetime(2025, 9, 1), max_value=datetime(2025, 12, 31)),
       minutes=st.integers(min_value=1, max_value=60 * 24 * 12))
def test_adding_working_time_and_measuring_it_agree(start, minutes):
    cal = china(2025, 2026)
    begin = start.replace(tzinfo=SHANGHAI)
    amount = timedelta(minutes=minutes)
    end = cal.add_working(begin, amount)
    assert cal.working_time(begin, end) == amount
    assert cal.is_working_time(end - timedelta(microseconds=1))  # the last moment counted was working time


# -- a calendar that cannot be -------------------------------------------------------------

def test_a_calendar_with_no_working_day_ahead_raises_instead_of_looking_for_ever():
    idle = WorkCalendar(SHANGHAI, parse_periods(["09:00-17:00"]), frozenset(), {date(2026, 12, 5): True})
    assert idle.add_working_hours(at(2026, 12, 1, 9), 8) == at(2026, 12, 5, 17, 0)  # the one make-up day
    with pytest.raises(NoWorkingTime):
        idle.add_working_hours(at(2026, 12, 1, 9), 9)
    with pytest.raises(NoWorkingTime) as err:
        idle.add_working_days(at(2026, 12, 6, 9), 1)
    assert (err.value.status, err.value.rule) == (409, "calendar_no_working_time")  # said to whoever asked
    assert "2026-12-06" in err.value.detail
    assert idle.working_time(at(2026, 12, 6), at(2030, 1, 1)) == timedelta(0)  # a bounded measure answers


@pytest.mark.parametrize("periods", [[], ["09:00-08:00"], ["08:00-12:00", "11:00-13:00"], ["8-12"], ["08:00-24:30"]])
def test_impossible_working_periods_are_refused(periods):
    with pytest.raises(CalendarInvalid):
        parse_periods(periods)


def test_a_day_both_holiday_and_make_up_day_is_refused():
    with pytest.raises(CalendarInvalid):
        WorkCalendar.of(SHANGHAI, holidays=[date(2026, 10, 1)], workdays=[date(2026, 10, 1)])


def test_the_calendar_is_immutable():
    cal = china(2025)
    with pytest.raises(TypeError):
        cal.days[date(2025, 10, 9)] = False  # type: ignore[index]
    with pytest.raises(AttributeError):
        cal.weekdays = frozenset({1})  # type: ignore[misc]
    assert cal == china(2025) and hash(cal) == hash(china(2025))


def test_a_period_to_midnight_and_one_period_a_day():
    late = WorkCalendar.of(SHANGHAI, periods=["18:00-24:00"], weekdays=range(1, 8))
    assert late.add_working_hours(at(2026, 11, 30, 23), 2) == at(2026, 12, 1, 19, 0)
    assert late.day_hours() == timedelta(hours=6)
    assert PLAIN.day_hours() == timedelta(hours=7, minutes=30)
    assert PLAIN.periods == ((time(8, 30), time(12)), (time(13, 30), time(17, 30)))

"""The decision function: every rule, every reason, and the edges of time."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gate_agent.decide import decide, schedule_denial
from protocols.acl import Schedule, TimeWindow
from protocols.cards import STATUS_DENIAL, CardStatus, Decision, Reason
from protocols.messages import Direction
from tests.agent.conftest import entry, utc

IN, OUT = Direction.IN, Direction.OUT
NOW = utc(2026, 11, 24, 12, 0, 0)  # a Tuesday


def test_unknown_card_is_denied():
    assert decide(None, "d", IN, NOW) == (Decision.DENIED, Reason.UNKNOWN_CARD)


def test_active_card_is_granted():
    assert decide(entry("0A0012AB34"), "d", IN, NOW) == (Decision.GRANTED, Reason.VALID_CARD)


@pytest.mark.parametrize("status", [s for s in CardStatus if s != CardStatus.ACTIVE])
def test_every_inactive_status_is_denied_with_its_reason(status):
    assert decide(entry("01", status=status), "d", IN, NOW) == (Decision.DENIED, STATUS_DENIAL[status])


def test_status_is_reported_before_schedule_and_validity():
    e = entry("01", status=CardStatus.REVOKED, valid_until=NOW - timedelta(days=1),
              schedule=Schedule(windows=()))
    assert decide(e, "d", IN, NOW) == (Decision.DENIED, Reason.CARD_REVOKED)


def test_validity_to_the_second():
    start, end = NOW, NOW + timedelta(hours=1)
    e = entry("01", valid_from=start, valid_until=end)
    assert decide(e, "d", IN, start - timedelta(seconds=1))[1] == Reason.NOT_YET_VALID
    assert decide(e, "d", IN, start)[0] == Decision.GRANTED
    assert decide(e, "d", IN, end)[0] == Decision.GRANTED
    assert decide(e, "d", IN, end + timedelta(seconds=1))[1] == Reason.VALIDITY_ENDED


@settings(max_examples=200, deadline=None)
@given(offset=st.integers(min_value=-10**6, max_value=10**6))
def test_validity_holds_exactly_between_the_bounds(offset):
    start, end = NOW, NOW + timedelta(seconds=1000)
    e = entry("01", valid_from=start, valid_until=end)
    at = NOW + timedelta(seconds=offset)
    decision, reason = decide(e, "d", IN, at)
    assert (decision == Decision.GRANTED) == (0 <= offset <= 1000)
    if offset < 0:
        assert reason == Reason.NOT_YET_VALID
    elif offset > 1000:
        assert reason == Reason.VALIDITY_ENDED


def test_validity_in_another_offset_compares_instants():
    # valid until 20:00 in UTC+8 is 12:00 UTC
    e = entry("01", valid_until=datetime(2026, 11, 24, 20, 0, tzinfo=timezone(timedelta(hours=8))))
    assert decide(e, "d", IN, NOW)[0] == Decision.GRANTED
    assert decide(e, "d", IN, NOW + timedelta(seconds=1))[1] == Reason.VALIDITY_ENDED


def test_doors_allowed():
    e = entry("01", doors=("north-in", "north-out"))
    assert decide(e, "north-in", IN, NOW)[0] == Decision.GRANTED
    assert decide(e, "south-in", IN, NOW) == (Decision.DENIED, Reason.DOOR_NOT_ALLOWED)
    assert decide(entry("01", doors=()), "north-in", IN, NOW)[1] == Reason.DOOR_NOT_ALLOWED


def _sched(**kw) -> Schedule:
    return Schedule(**kw)


def test_weekday_window():
    s = _sched(windows=(TimeWindow(days=(0, 1, 2, 3, 4), start=time(7), end=time(19)),))
    e = entry("01", schedule=s)
    assert decide(e, "d", IN, utc(2026, 11, 24, 7, 0))[0] == Decision.GRANTED  # Tuesday 07:00
    assert decide(e, "d", IN, utc(2026, 11, 24, 6, 59, 59))[1] == Reason.OUTSIDE_SCHEDULE
    assert decide(e, "d", IN, utc(2026, 11, 24, 19, 0))[1] == Reason.OUTSIDE_SCHEDULE  # end is exclusive
    assert decide(e, "d", IN, utc(2026, 11, 28, 12, 0))[1] == Reason.OUTSIDE_SCHEDULE  # Saturday


def test_midnight_crossing_window_belongs_to_its_start_day():
    # Friday night shift 22:00-06:00 only
    s = _sched(windows=(TimeWindow(days=(4,), start=time(22), end=time(6)),))
    fri, sat, thu = date(2026, 11, 27), date(2026, 11, 28), date(2026, 11, 26)
    at = lambda d, h, m=0, sec=0: datetime.combine(d, time(h, m, sec), tzinfo=timezone.utc)  # noqa: E731
    assert schedule_denial(s, at(fri, 22)) is None
    assert schedule_denial(s, at(fri, 23, 59, 59)) is None
    assert schedule_denial(s, at(sat, 0)) is None  # the weekday changed, the window did not
    assert schedule_denial(s, at(sat, 5, 59, 59)) is None
    assert schedule_denial(s, at(sat, 6)) == Reason.OUTSIDE_SCHEDULE
    assert schedule_denial(s, at(sat, 22)) == Reason.OUTSIDE_SCHEDULE  # Saturday has no window
    assert schedule_denial(s, at(fri, 3)) == Reason.OUTSIDE_SCHEDULE  # Thursday had none
    assert schedule_denial(s, at(thu, 23)) == Reason.OUTSIDE_SCHEDULE


def test_window_with_end_equal_start_is_a_whole_day():
    s = _sched(windows=(TimeWindow(days=(0,), start=time(8), end=time(8)),))
    mon = date(2026, 11, 23)
    at = lambda d, h: datetime.combine(d, time(h), tzinfo=timezone.utc)  # noqa: E731
    assert schedule_denial(s, at(mon, 8)) is None
    assert schedule_denial(s, at(mon + timedelta(days=1), 7)) is None
    assert schedule_denial(s, at(mon + timedelta(days=1), 8)) == Reason.OUTSIDE_SCHEDULE
    assert schedule_denial(s, at(mon, 7)) == Reason.OUTSIDE_SCHEDULE


def test_schedule_is_in_its_own_timezone():
    # 07:00-19:00 Shanghai is 23:00-11:00 UTC of the day before
    s = _sched(timezone="Asia/Shanghai", windows=(TimeWindow(start=time(7), end=time(19)),))
    assert schedule_denial(s, utc(2026, 11, 24, 0, 0)) is None  # 08:00 in Shanghai
    assert schedule_denial(s, utc(2026, 11, 24, 12, 0)) == Reason.OUTSIDE_SCHEDULE  # 20:00
    assert schedule_denial(s, utc(2026, 11, 23, 23, 0)) is None  # 07:00 next local day


def test_schedule_across_a_dst_change():
    s = _sched(timezone="Europe/London", windows=(TimeWindow(start=time(9), end=time(17)),))
    # 09:00 London is 08:00 UTC in summer and 09:00 UTC in winter
    assert schedule_denial(s, utc(2026, 7, 1, 8, 0)) is None
    assert schedule_denial(s, utc(2026, 12, 1, 8, 0)) == Reason.OUTSIDE_SCHEDULE
    assert schedule_denial(s, utc(2026, 12, 1, 9, 0)) is None


def test_unknown_timezone_fails_closed():
    s = _sched(timezone="Mars/Olympus", windows=(TimeWindow(start=time(0), end=time(0)),))
    assert schedule_denial(s, NOW) == Reason.OUTSIDE_SCHEDULE


def test_holiday_closes_unless_holiday_windows():
    tue = date(2026, 11, 24)
    base = dict(windows=(TimeWindow(start=time(7), end=time(19)),), holidays=(tue,))
    assert decide(entry("01", schedule=_sched(**base)), "d", IN, NOW) == (Decision.DENIED, Reason.HOLIDAY)
    s = _sched(**base, holiday_windows=(TimeWindow(start=time(10), end=time(14)),))
    assert schedule_denial(s, NOW) is None
    assert schedule_denial(s, utc(2026, 11, 24, 9, 0)) == Reason.HOLIDAY
    assert schedule_denial(s, utc(2026, 11, 25, 9, 0)) is None  # the day after is ordinary


def test_night_window_started_on_a_holiday_follows_the_holiday():
    fri = date(2026, 11, 27)
    s = _sched(windows=(TimeWindow(start=time(22), end=time(6)),), holidays=(fri,))
    # Friday is a holiday with no holiday windows: Friday night's window never opened
    assert schedule_denial(s, utc(2026, 11, 28, 2, 0)) == Reason.OUTSIDE_SCHEDULE
    # Thursday's night window still runs into the holiday morning
    assert schedule_denial(s, utc(2026, 11, 27, 2, 0)) is None


@settings(max_examples=300, deadline=None)
@given(minute=st.integers(min_value=0, max_value=7 * 24 * 60 - 1))
def test_schedule_agrees_with_a_minute_by_minute_model(minute):
    # windows: weekdays 07:00-09:00, Friday 22:00-02:00, in Asia/Shanghai
    s = _sched(timezone="Asia/Shanghai", windows=(
        TimeWindow(days=(0, 1, 2, 3, 4), start=time(7), end=time(9)),
        TimeWindow(days=(4,), start=time(22), end=time(2)),
    ))
    monday = datetime(2026, 11, 23, tzinfo=ZoneInfo("Asia/Shanghai"))
    local = monday + timedelta(minutes=minute)
    wd, mins = local.weekday(), local.hour * 60 + local.minute
    expected = (wd < 5 and 7 * 60 <= mins < 9 * 60) or (wd == 4 and mins >= 22 * 60) or (wd == 5 and mins < 120)
    assert (schedule_denial(s, local.astimezone(timezone.utc)) is None) == expected


def test_anti_passback_by_card_flag():
    e = entry("01", anti_passback=True)
    assert decide(e, "d", IN, NOW, None)[0] == Decision.GRANTED  # first use is free
    assert decide(e, "d", IN, NOW, IN) == (Decision.DENIED, Reason.ANTI_PASSBACK)
    assert decide(e, "d", OUT, NOW, IN)[0] == Decision.GRANTED
    assert decide(e, "d", OUT, NOW, OUT) == (Decision.DENIED, Reason.ANTI_PASSBACK)
    assert decide(e, "d", IN, NOW, OUT)[0] == Decision.GRANTED


def test_anti_passback_modes_of_the_door():
    plain, flagged = entry("01"), entry("02", anti_passback=True)
    assert decide(plain, "d", IN, NOW, IN, "card")[0] == Decision.GRANTED
    assert decide(plain, "d", IN, NOW, IN, "always")[1] == Reason.ANTI_PASSBACK
    assert decide(flagged, "d", IN, NOW, IN, "off")[0] == Decision.GRANTED


def test_naive_now_is_refused():
    with pytest.raises(ValueError):
        decide(entry("01"), "d", IN, datetime(2026, 1, 1))

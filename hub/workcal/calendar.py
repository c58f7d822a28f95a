"""The estate's working calendar as a value: pure, immutable, no I/O (hub.workcal.service
loads one from the database; tests build one directly).

Every complaint deadline is counted on it (hub.complaints): an hour limit on working hours,
a day limit on working days, the clock stopped while the complaint waits on the complainant.

What it holds
- ``tz``: the estate's timezone (the one of hub.access.plan.calendar); every date below is
  a date on the estate's wall clock.
- ``periods``: the working periods of a working day, e.g. 08:30-12:00 and 13:30-17:30 (a
  lunch break between them is not working time). They lie within one day, in order, apart.
- ``weekdays``: the working weekdays, ISO numbers (1 Monday ... 7 Sunday).
- ``days``: the exceptions, date -> working or not: a public holiday (法定节假日) is a day
  off even on a weekday; a make-up working day (调休上班) is a Saturday or Sunday worked.

The rules
- Hours: ``add_working_hours(start, h)`` is the instant at which ``h`` hours of working
  time have run since ``start``. A start outside working hours (at night, at lunch, on a
  day off) starts the clock at the next working period. A limit that runs out exactly at
  the end of a period ends there, not at the start of the next one.
- Days: "within N working days" of an instant ends at the end of the last working period of
  the Nth working day after the start's date, the way Chinese law counts a period (Civil
  Code arts. 201 and 203: the day it begins is not counted, and where there are business
  hours the period ends when business ends). So a complaint made on Friday at 10:00 or at
  20:00, or on Saturday, with 2 working days, is due at 17:30 on Tuesday (a working Monday
  and Tuesday); N = 0 is the end of the start's own date when that is a working day and the
  start is before its close, else the end of the next working day.
- Pauses: a sequence of (start, end) aware instants, end None while still paused. Working
  time inside a pause does not count: a deadline moves later by the working time its pauses
  took (a day limit's end of day shifts by exactly that). A pause still open that begins
  before the deadline is reached stops the clock for good: the deadline is None (not
  reached while paused; it is known again once the pause has an end).
- Bounded: every search ends. Past the last exception and the last pause, a calendar with
  no working weekday has no working time ahead: that raises ``NoWorkingTime`` instead of
  looking for ever.

Arithmetic is done in UTC (aware datetimes in one zone subtract as wall clocks, which a
daylight-saving change would make wrong); results come back in the estate's timezone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Iterator, Mapping, Sequence
from zoneinfo import ZoneInfo

from hub.errors import DomainError
from hub.i18n.validation import N_

Pause = tuple[datetime, datetime | None]

#: the estate's working periods unless configured otherwise (its office hours, lunch 12:00-13:30)
DEFAULT_PERIODS = ("08:30-12:00", "13:30-17:30")
#: Monday to Friday (ISO weekday numbers)
DEFAULT_WEEKDAYS = (1, 2, 3, 4, 5)

_PERIOD = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-4]):([0-5]\d)$")
#: however far a search may run (calendar days) before it is certainly wrong: a safety net
#: beneath the exact stop below, for the impossible
_MAX_DAYS = 366 * 200
_ZERO = timedelta(0)


NO_WORKING_DAY = N_("the working calendar has no working day after {day}: give it working weekdays or make-up"
                    " working days")


class NoWorkingTime(DomainError, ValueError):
    """The calendar has no working time ahead of an instant: no working weekday and no
    make-up working day after it. A domain error (409): a deadline asked of such a calendar
    is answered with what to fix, not a fault of the hub."""

    status = 409
    rule = "calendar_no_working_time"


class CalendarInvalid(ValueError):
    """A calendar that cannot be: no working period, periods overlapping or out of a day."""


def parse_period(text: str) -> tuple[time, time]:
    """``"08:30-12:00"`` (24-hour; an end of 24:00 is midnight); ValueError naming what is wrong."""
    m = _PERIOD.match(text.strip())
    if not m:
        raise CalendarInvalid(f"a working period is HH:MM-HH:MM (24-hour), not {text!r}")
    sh, sm, eh, em = (int(g) for g in m.groups())
    if eh == 24 and em != 0:
        raise CalendarInvalid(f"a working period ends at 24:00 at the latest, not {text!r}")
    start = time(sh, sm)
    end = time.max if eh == 24 else time(eh, em)
    if end <= start:
        raise CalendarInvalid(f"the working period {text!r} ends before it starts (a period lies within one day)")
    return start, end


def parse_periods(texts: Sequence[str]) -> tuple[tuple[time, time], ...]:
    """The periods in order; refused when none, or when two overlap."""
    if not texts:
        raise CalendarInvalid("give at least one working period")
    periods = sorted(parse_period(t) for t in texts)
    for (_, a_end), (b_start, _) in zip(periods, periods[1:]):
        if b_start < a_end:
            raise CalendarInvalid(f"the working periods overlap at {b_start:%H:%M}")
    return tuple(periods)


def period_text(period: tuple[time, time]) -> str:
    start, end = period
    return f"{start:%H:%M}-{'24:00' if end == time.max else format(end, '%H:%M')}"


def _utc(at: datetime) -> datetime:
    if at.tzinfo is None:
        raise ValueError("an instant without a timezone")
    return at.astimezone(timezone.utc)


@dataclass(frozen=True)
class WorkCalendar:
    tz: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    periods: tuple[tuple[time, time], ...] = field(default_factory=lambda: parse_periods(DEFAULT_PERIODS))
    weekdays: frozenset[int] = frozenset(DEFAULT_WEEKDAYS)
    #: date -> True (a make-up working day) or False (a holiday, a day off)
    days: Mapping[date, bool] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.periods:
            raise CalendarInvalid("give at least one working period")
        if any(not 1 <= d <= 7 for d in self.weekdays):
            raise CalendarInvalid("working weekdays are 1 (Monday) to 7 (Sunday)")
        object.__setattr__(self, "weekdays", frozenset(self.weekdays))
        # frozen: a copy nobody else holds, read-only from here on
        object.__setattr__(self, "days", _Frozen(self.days))
        object.__setattr__(self, "_last_exception", max(self.days, default=date.min))

    @classmethod
    def of(cls, tz: str | ZoneInfo, periods: Sequence[str] = DEFAULT_PERIODS,
           weekdays: Sequence[int] = DEFAULT_WEEKDAYS, holidays: Sequence[date] = (),
           workdays: Sequence[date] = ()) -> "WorkCalendar":
        """From texts and lists (a day both a holiday and a make-up day is refused)."""
        both = set(holidays) & set(workdays)
        if both:
            raise CalendarInvalid(f"{min(both)} is both a holiday and a make-up working day")
        days = {d: False for d in holidays} | {d: True for d in workdays}
        return cls(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz), parse_periods(periods), frozenset(weekdays), days)

    # -- days -----------------------------------------------------------------------------

    def is_working_day(self, d: date) -> bool:
        """A make-up working day or a working weekday that is not a holiday."""
        marked = self.days.get(d)
        if marked is not None:
            return marked
        return d.isoweekday() in self.weekdays

    def local_date(self, at: datetime) -> date:
        return _utc(at).astimezone(self.tz).date()

    def day_hours(self) -> timedelta:
        """Working time in one working day (of wall-clock periods, no clock change)."""
        day = datetime(2001, 1, 1)
        return sum(((day.combine(day, e) - day.combine(day, s)) + (timedelta(microseconds=1) if e == time.max else _ZERO)
                    for s, e in self.periods), _ZERO)

    def _bounds(self, d: date, p: tuple[time, time]) -> tuple[datetime, datetime]:
        start = datetime.combine(d, p[0], tzinfo=self.tz).astimezone(timezone.utc)
        if p[1] == time.max:
            end = datetime.combine(d + timedelta(days=1), time(0), tzinfo=self.tz).astimezone(timezone.utc)
        else:
            end = datetime.combine(d, p[1], tzinfo=self.tz).astimezone(timezone.utc)
        return start, end

    def _check_ahead(self, d: date, start_day: date) -> None:
        """Stop a search that can find nothing more (see the module's docstring)."""
        if d > self._last_exception and not self.weekdays:
            raise NoWorkingTime(NO_WORKING_DAY, day=max(start_day, self._last_exception).isoformat())
        if (d - start_day).days > _MAX_DAYS:
            raise NoWorkingTime(NO_WORKING_DAY, day=start_day.isoformat())

    def _intervals(self, start: datetime, until: datetime | None = None) -> Iterator[tuple[datetime, datetime]]:
        """The working periods (UTC) from the day of ``start`` on (a period lies within its
        day), clipped to begin at ``start``, in order, up to the date of ``until``; without
        ``until`` endless (``_check_ahead`` raises where there are none ahead)."""
        first = self.local_date(start)
        last = None if until is None else self.local_date(until)
        d = first
        while last is None or d <= last:
            if last is None:
                self._check_ahead(d, first)
            if self.is_working_day(d):
                for p in self.periods:
                    a, b = self._bounds(d, p)
                    if b <= start:
                        continue
                    yield max(a, start), b
            d += timedelta(days=1)

    # -- the clock ------------------------------------------------------------------------

    def add_working_hours(self, start: datetime, hours: float, pauses: Sequence[Pause] = ()) -> datetime | None:
        """The instant ``hours`` working hours after ``start`` (module docstring); None while
        an open pause holds the clock before then."""
        if hours < 0:
            raise ValueError("hours may not be negative")
        return self.add_working(start, timedelta(hours=hours), pauses)

    def add_working(self, start: datetime, amount: timedelta, pauses: Sequence[Pause] = ()) -> datetime | None:
        """As add_working_hours, with the amount as a timedelta (exact)."""
        begin = _utc(start)
        if amount <= _ZERO:
            return begin.astimezone(self.tz)
        stops = _merge(pauses, begin)
        left = amount
        for a, b in self._intervals(begin):
            for x, y in _minus(a, b, stops):
                if y is None:  # an open pause begins inside the working time still to run
                    return None
                if y - x >= left:
                    return (x + left).astimezone(self.tz)
                left -= y - x
        raise AssertionError("unreachable: _intervals is endless or raises")

    def end_of_working_day(self, start: datetime, days: int) -> datetime:
        """The end of the last working period of the ``days``-th working day after the date
        of ``start`` (0: see the module docstring), pauses aside."""
        if days < 0:
            raise ValueError("days may not be negative")
        d = self.local_date(start)
        first = d
        last_period = self.periods[-1]
        if days == 0:
            if self.is_working_day(d) and self._bounds(d, last_period)[1] > _utc(start):
                return self._bounds(d, last_period)[1].astimezone(self.tz)
            days = 1
        counted = 0
        while counted < days:
            d += timedelta(days=1)
            self._check_ahead(d, first)
            if self.is_working_day(d):
                counted += 1
        return self._bounds(d, last_period)[1].astimezone(self.tz)

    def add_working_days(self, start: datetime, days: int, pauses: Sequence[Pause] = ()) -> datetime | None:
        """The deadline of "within ``days`` working days" of ``start`` (module docstring);
        None while an open pause holds the clock before it."""
        end = self.end_of_working_day(start, days)
        if not pauses:
            return end
        return self.add_working(start, self.working_time(start, end), pauses)

    def working_time(self, a: datetime, b: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
        """Working time from ``a`` to ``b`` outside the pauses (an open pause runs to ``b``);
        negative when ``b`` is before ``a``."""
        ua, ub = _utc(a), _utc(b)
        if ub < ua:
            return -self.working_time(b, a, pauses)
        stops = _merge(pauses, ua)
        total = _ZERO
        for x, y in self._intervals(ua, ub):
            if x >= ub:
                break
            for p, q in _minus(x, min(y, ub), stops):
                if q is not None:  # (p, None): paused from p on
                    total += q - p
        return total

    def is_working_time(self, at: datetime) -> bool:
        """Whether the clock runs at ``at`` (no pauses)."""
        u = _utc(at)
        d = self.local_date(u)
        return self.is_working_day(d) and any(a <= u < b for a, b in (self._bounds(d, p) for p in self.periods))


class _Frozen(dict):
    """A dict nobody can change (the calendar's exceptions)."""

    def _refuse(self, *args, **kwargs):
        raise TypeError("a WorkCalendar is immutable")

    __setitem__ = __delitem__ = clear = pop = popitem = setdefault = update = _refuse  # type: ignore[assignment]

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(frozenset(self.items()))


def _merge(pauses: Sequence[Pause], after: datetime) -> list[tuple[datetime, datetime | None]]:
    """The pauses in UTC, in order, overlapping ones joined, those ended by ``after`` dropped;
    an open one (end None) swallows every later one."""
    spans: list[tuple[datetime, datetime | None]] = []
    for s, e in sorted(((_utc(s), None if e is None else _utc(e)) for s, e in pauses),
                       key=lambda p: p[0]):
        if e is not None and e <= s:
            if e < s:
                raise ValueError("a pause ends before it begins")
            continue
        if e is not None and e <= after:
            continue
        if spans and (spans[-1][1] is None or s <= spans[-1][1]):
            ls, le = spans[-1]
            spans[-1] = (ls, None if le is None or e is None else max(le, e))
            continue
        spans.append((s, e))
    return spans


def _minus(a: datetime, b: datetime, stops: list[tuple[datetime, datetime | None]]
           ) -> Iterator[tuple[datetime, datetime | None]]:
    """[a, b) without the pauses, in order; a piece that runs into an open pause is given
    as (its start, its end) and then (the pause's start, None)."""
    at = a
    for s, e in stops:
        if e is not None and e <= at:
            continue
        if s >= b:
            break
        if s > at:
            yield at, s
        if e is None:
            yield max(s, at), None
            return
        at = max(at, e)
        if at >= b:
            return
    if at < b:
        yield at, b

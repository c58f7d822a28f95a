"""Which shift an instant belongs to: pure, over the estate's timezone and the configured shifts.

The estate's staff work overlapping shifts (07-16, 08-17, 08:30-17:30, 09-18, 14-22, 18-02)
while the duty desk covers all 24 hours, so the log cannot follow any one person's hours.
It follows the handovers instead: the log passes to each shift as it begins, and a shift
holds it until the next one begins. So an instant belongs to the shift that began most
recently before it, in the estate's own time: 01:30 belongs to the 18:00 shift that began
the evening before, and so does 05:00 (no shift begins between 18:00 and 07:00; the night
shift's end says when its people go home, not when the desk closes). A shift is named by
the estate date and time it began (``2026-11-29T18:00``): its key in the log and the API.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: the estate's shifts (ESTATE.md)
ESTATE_SHIFTS = ["07:00-16:00", "08:00-17:00", "08:30-17:30", "09:00-18:00", "14:00-22:00", "18:00-02:00"]

_SHIFT = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$")
_KEY = re.compile(r"^(\d{4}-\d{2}-\d{2})T([01]\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class Shift:
    """One configured shift: when its people start and stop work (the end may be after midnight)."""

    start: time
    end: time

    @property
    def label(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


@dataclass(frozen=True)
class Span:
    """One shift on one day: it holds the log from ``starts_at`` until the next shift begins
    (``ends_at``); both aware instants."""

    shift: Shift
    day: date
    starts_at: datetime
    ends_at: datetime

    @property
    def key(self) -> str:
        return f"{self.day.isoformat()}T{self.shift.start:%H:%M}"

    @property
    def label(self) -> str:
        return self.shift.label


def parse_shift(text: str) -> Shift:
    """``"18:00-02:00"``; ValueError naming what is wrong (config validation says it)."""
    m = _SHIFT.match(text.strip())
    if not m:
        raise ValueError(f"a shift is HH:MM-HH:MM (24-hour), not {text!r}")
    start = time(int(m.group(1)), int(m.group(2)))
    end = time(int(m.group(3)), int(m.group(4)))
    if start == end:
        raise ValueError(f"the shift {text!r} ends when it starts")
    return Shift(start, end)


def parse_shifts(texts: list[str]) -> tuple[Shift, ...]:
    """The shifts in order of their start; two shifts may not start at the same time (the log
    could not tell which of them holds it)."""
    if not texts:
        raise ValueError("give at least one shift")
    shifts = sorted((parse_shift(t) for t in texts), key=lambda s: s.start)
    for a, b in zip(shifts, shifts[1:]):
        if a.start == b.start:
            raise ValueError(f"the shifts {a.label} and {b.label} start at the same time")
    return tuple(shifts)


def _begin(day: date, shift: Shift, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, shift.start, tzinfo=tz)


def _next_start(after: datetime, day: date, shifts: tuple[Shift, ...], tz: ZoneInfo) -> datetime:
    return min(b for d in (day, day + timedelta(days=1)) for s in shifts if (b := _begin(d, s, tz)) > after)


def span_of(shifts: tuple[Shift, ...], day: date, shift: Shift, tz: ZoneInfo) -> Span:
    begin = _begin(day, shift, tz)
    return Span(shift, day, begin, _next_start(begin, day, shifts, tz))


def shift_at(at: datetime, shifts: tuple[Shift, ...], tz: str | ZoneInfo) -> Span:
    """The shift that holds the log at ``at`` (an aware instant): the one that began most
    recently, at or before it, in the estate's time."""
    if at.tzinfo is None:
        raise ValueError("an instant without a timezone")
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    today = at.astimezone(zone).date()
    best: tuple[datetime, date, Shift] | None = None
    for day in (today - timedelta(days=1), today):
        for s in shifts:
            begin = _begin(day, s, zone)
            if begin <= at and (best is None or begin > best[0]):
                best = (begin, day, s)
    assert best is not None  # every shift begins once a day: yesterday's last one is before today
    return span_of(shifts, best[1], best[2], zone)


def shift_by_key(key: str, shifts: tuple[Shift, ...], tz: str | ZoneInfo) -> Span | None:
    """The shift named ``2026-11-29T18:00``, or None if no configured shift begins then."""
    m = _KEY.match(key.strip())
    if not m:
        return None
    try:
        day = date.fromisoformat(m.group(1))
    except ValueError:
        return None
    start = time(int(m.group(2)), int(m.group(3)))
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    for s in shifts:
        if s.start == start:
            return span_of(shifts, day, s, zone)
    return None


def shifts_of_day(day: date, shifts: tuple[Shift, ...], tz: str | ZoneInfo) -> list[Span]:
    """The shifts that begin on the estate date ``day``, in order."""
    zone = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
    return [span_of(shifts, day, s, zone) for s in shifts]


def previous(span: Span, shifts: tuple[Shift, ...], tz: str | ZoneInfo) -> Span:
    """The shift that held the log just before ``span`` began: the one that hands over to it."""
    return shift_at(span.starts_at - timedelta(microseconds=1), shifts, tz)

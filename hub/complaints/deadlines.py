"""Each deadline of a complaint, and how far it has escalated: pure, from the complaint's
severity and times, its pauses and extensions, the configured limits and the estate's
WorkCalendar (hub.workcal). No I/O: the service and the ticker check pass ``now``.

The deadlines (``[complaints]``, defaults in brackets):
- forward: to its department within ``forward_hours`` working hours [1] of registration;
- answer (major only): a clear answer within ``major_answer_days`` working days [2];
- resolve: major [10], general [3], minor [2] working days, plus the manager's extensions;
  a minor complaint by the complainant's own date when that is earlier (the end of that
  day); counted from the reopening when a follow-up reopened the work;
- tell: the result told within ``tell_days`` working days [2] of its resolution;
- office_report (joint only): the written report to the company's complaints office the
  same working day (the end of the day of registration, or of the next working day);
- followup: the follow-up visit's own due time (set when it was made).

While the complaint waits on the complainant the clock stops: a still-open pause is taken
as ending ``now``, so a paused complaint's dues read "if the complainant answered now".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Iterator, Protocol, Sequence

Pause = tuple[datetime, datetime | None]


class Calendar(Protocol):
    """What hub.workcal.WorkCalendar gives (its interface, as the brief names it)."""

    tz: Any

    def add_working_hours(self, start: datetime, hours: float, pauses: Sequence[Pause] = ()) -> datetime | None: ...

    def add_working_days(self, start: datetime, days: int, pauses: Sequence[Pause] = ()) -> datetime | None: ...

    def working_time(self, a: datetime, b: datetime, pauses: Sequence[Pause] = ()) -> timedelta: ...

    def is_working_day(self, d: date) -> bool: ...


class DayMemo:
    """A Calendar that remembers "within N working days" (N >= 1, no pauses) by the start's
    date, all that it depends on (hub.workcal.calendar: the end of the Nth working day after
    the start's date): the month report and the time-filtered lists count the deadlines of
    hundreds of complaints made on a few hundred days. One per request (a calendar's edit
    makes a new one)."""

    def __init__(self, cal: Calendar) -> None:
        self.cal = cal
        self.tz = cal.tz
        self._ends: dict[tuple[date, int], datetime | None] = {}

    def add_working_days(self, start: datetime, days: int, pauses: Sequence[Pause] = ()) -> datetime | None:
        if pauses or days < 1:
            return self.cal.add_working_days(start, days, pauses)
        key = (start.astimezone(self.tz).date(), days)
        if key not in self._ends:
            self._ends[key] = self.cal.add_working_days(start, days)
        return self._ends[key]

    def add_working_hours(self, start: datetime, hours: float, pauses: Sequence[Pause] = ()) -> datetime | None:
        return self.cal.add_working_hours(start, hours, pauses)

    def working_time(self, a: datetime, b: datetime, pauses: Sequence[Pause] = ()) -> timedelta:
        return self.cal.working_time(a, b, pauses)

    def is_working_day(self, d: date) -> bool:
        return self.cal.is_working_day(d)


@dataclass(frozen=True)
class Limits:
    forward_hours: float = 1
    major_answer_days: int = 2
    major_resolve_days: int = 10
    general_resolve_days: int = 3
    minor_resolve_days: int = 2
    tell_days: int = 2
    due_soon_hours: float = 2
    escalate_step_hours: float = 1

    @classmethod
    def of(cls, section: Any) -> "Limits":
        """From the ``[complaints]`` config section."""
        return cls(**{k: getattr(section, k) for k in cls.__dataclass_fields__})

    def resolve_days(self, severity: str) -> int:
        return {"major": self.major_resolve_days, "general": self.general_resolve_days,
                "minor": self.minor_resolve_days}[severity]


@dataclass(frozen=True)
class Times:
    """What a complaint's deadlines depend on."""

    severity: str
    registered_at: datetime
    valid: bool = True
    joint: bool = False
    forwarded_at: datetime | None = None
    answered_at: datetime | None = None
    resolved_at: datetime | None = None
    told_at: datetime | None = None
    office_reported_at: datetime | None = None
    closed_at: datetime | None = None
    reopened_at: datetime | None = None
    wanted_by: date | None = None
    pauses: tuple[Pause, ...] = ()
    extension_days: int = 0
    followup_due: datetime | None = None
    followup_done_at: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    kind: str
    due: datetime
    done_at: datetime | None = None
    #: open | due_soon | late | met | missed (at the ``now`` it was worked out for)
    state: str = "open"
    #: pending only: working time left (negative: late by)
    left: timedelta | None = None

    @property
    def pending(self) -> bool:
        return self.done_at is None

    def as_dict(self) -> dict[str, Any]:
        from hub.complaints.models import utc

        return {"due": utc(self.due), "done_at": utc(self.done_at) if self.done_at else None, "state": self.state}


KINDS = ("forward", "answer", "resolve", "tell", "office_report", "followup")


def _closed_pauses(pauses: Sequence[Pause], now: datetime) -> tuple[tuple[datetime, datetime], ...]:
    return tuple((a, b if b is not None else max(a, now)) for a, b in pauses)


def end_of_local_day(d: date, tz: Any) -> datetime:
    """The first instant of the next day in the estate's timezone (a date kept "by" that day)."""
    return datetime.combine(d + timedelta(days=1), time(0), tzinfo=tz)


def office_report_due(registered_at: datetime, cal: Calendar) -> datetime:
    """The same working day: the end of the day of registration when that is a working day,
    else the end of the next working day (a joint complaint made on a Sunday is reported Monday)."""
    d = registered_at.astimezone(cal.tz).date()
    while not cal.is_working_day(d):
        d += timedelta(days=1)
    return end_of_local_day(d, cal.tz)


def dues(t: Times, cal: Calendar, limits: Limits, now: datetime) -> dict[str, tuple[datetime, datetime | None]]:
    """Each deadline that applies: kind -> (due, done at). An invalid complaint has none."""
    return {kind: (due, done) for kind, due, done in each_due(t, cal, limits, now)}


def each_due(t: Times, cal: Calendar, limits: Limits,
             now: datetime) -> Iterator[tuple[str, datetime, datetime | None]]:
    """``dues`` one at a time, in order, each counted only when the caller asks for it:
    on_time stops at the first one missed."""
    if not t.valid:
        return
    pauses = _closed_pauses(t.pauses, now)
    forward = cal.add_working_hours(t.registered_at, limits.forward_hours, pauses)
    if forward is not None:
        yield "forward", forward, t.forwarded_at
    if t.severity == "major":
        answer = cal.add_working_days(t.registered_at, limits.major_answer_days, pauses)
        if answer is not None:
            yield "answer", answer, t.answered_at
    base = t.reopened_at or t.registered_at
    resolve = cal.add_working_days(base, limits.resolve_days(t.severity) + t.extension_days, pauses)
    if resolve is not None and t.severity == "minor" and t.wanted_by is not None:
        resolve = min(resolve, end_of_local_day(t.wanted_by, cal.tz))
    if resolve is not None:
        yield "resolve", resolve, t.resolved_at
    if t.resolved_at is not None:
        tell = cal.add_working_days(t.resolved_at, limits.tell_days, pauses)
        if tell is not None:
            yield "tell", tell, t.told_at
    if t.joint:
        yield "office_report", office_report_due(t.registered_at, cal), t.office_reported_at
    if t.followup_due is not None:
        yield "followup", t.followup_due, t.followup_done_at


def deadlines(t: Times, cal: Calendar, limits: Limits, now: datetime, *,
              late_by: bool = True) -> dict[str, Deadline]:
    """Each deadline that applies, with its state at ``now``. ``late_by=False`` leaves a late
    deadline's ``left`` None: escalation needs how late it is, a view only that it is, and
    counting it walks every working period since the due."""
    pauses = _closed_pauses(t.pauses, now)
    soon = timedelta(hours=limits.due_soon_hours)
    out: dict[str, Deadline] = {}
    for kind, (due, done) in dues(t, cal, limits, now).items():
        if done is not None:
            out[kind] = Deadline(kind, due, done, "met" if done <= due else "missed")
            continue
        if now >= due:
            left = -cal.working_time(due, now, pauses) if late_by else None
            state = "late"
        else:
            left = cal.working_time(now, due, pauses)
            state = "due_soon" if left <= soon else "open"
        out[kind] = Deadline(kind, due, None, state, left)
    return out


def on_time(t: Times, cal: Calendar, limits: Limits, now: datetime) -> bool:
    """Every deadline of the handling (not the follow-up) met, none still late: the states
    ``deadlines`` gives (missed: done after its due; late: pending at or past it), from the
    dues alone, since the working time left, which is dear to count, is not needed here."""
    for kind, due, done in each_due(t, cal, limits, now):
        if kind == "followup":
            continue
        if (done > due) if done is not None else (now >= due):
            return False
    return True


def escalation_level(d: Deadline, limits: Limits) -> int:
    """How far a pending deadline has gone: 0 nobody, 1 the shift leader, 2 the supervisor,
    3 the manager.

    Forwarding is shown once it is late (to the shift leader), a step later to the
    supervisor and another later to the manager; every other deadline is shown to the shift
    leader once due soon, to the supervisor once late, and to the manager a step after that.
    A step is ``escalate_step_hours`` working hours.
    """
    if not d.pending or d.left is None or d.kind == "followup":
        return 0
    step = timedelta(hours=limits.escalate_step_hours)
    late_by = -d.left
    if d.kind == "forward":
        if d.state != "late":
            return 0
        return 3 if late_by >= 2 * step else 2 if late_by >= step else 1
    if d.state == "late":
        return 3 if late_by >= step else 2
    return 1 if d.state == "due_soon" else 0


@dataclass(frozen=True)
class Escalation:
    level: int
    kind: str | None
    due: datetime | None = None
    reasons: dict[str, int] = field(default_factory=dict)


def escalation(t: Times, cal: Calendar, limits: Limits, now: datetime) -> Escalation:
    """The highest level any pending deadline has reached at ``now`` (the earliest due of
    that level names it). A paused complaint, and a closed one, escalate no further."""
    if t.closed_at is not None or any(b is None for _, b in t.pauses):
        return Escalation(0, None)
    best = Escalation(0, None)
    levels: dict[str, int] = {}
    for d in sorted(deadlines(t, cal, limits, now).values(), key=lambda d: d.due):
        level = escalation_level(d, limits)
        levels[d.kind] = level
        if level > best.level:
            best = Escalation(level, d.kind, d.due)
    return Escalation(best.level, best.kind, best.due, levels)

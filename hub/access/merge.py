"""What one card may do at one gate, from the levels that reach it: pure, no I/O.

A card may use a door at a time if ANY of its levels allows that door at that time. A gate
holds one AclEntry per card (one set of doors, one schedule, one anti-passback flag), so the
levels' grants at a gate are merged pairwise, and only where the merge is exact:

- a grant that allows everything another allows (its doors include the other's, its
  schedule is none or the same, and it is no stricter on anti-passback) absorbs it;
- two grants with the same schedule and anti-passback become one with both sets of doors;
- two grants with the same doors and anti-passback whose schedules share a timezone become
  one whose schedule is the union of both (hub.access.merge.union_schedules: exact, since
  every schedule that keeps holidays keeps the one estate calendar).

Whatever cannot be merged exactly (different doors AND different hours, different
timezones, or anti-passback on one and not the other) cannot be said by one entry. Then
the gate gets the merged grant that comes from the card's first-listed level: never a door
or an hour that no level allows, possibly less than the levels together allow. Such gates
are reported as ``inexact`` on the card's access view, so the clerk can see it.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable, Sequence

from protocols.acl import Schedule, TimeWindow

#: a level item for every gate, known now or later
ANY_GATE = "*"


@dataclass(frozen=True)
class LevelRule:
    """A level as the projection needs it: its schedule already resolved against the calendar."""

    name: str
    items: tuple[tuple[str, frozenset[str] | None], ...]  # (gate_id or ANY_GATE, doors or None = all)
    schedule: Schedule | None
    anti_passback: bool


@dataclass(frozen=True)
class Grant:
    doors: frozenset[str] | None  # None: every door of the gate
    schedule: Schedule | None  # None: any time
    anti_passback: bool
    rank: int  # position on the card of the first level this grant comes from


def normal_windows(windows: Iterable[TimeWindow]) -> tuple[TimeWindow, ...]:
    """Windows in one canonical order without repeats, so equal schedules compare (and hash) equal."""
    seen = {TimeWindow(days=tuple(sorted(set(w.days))), start=w.start, end=w.end) for w in windows}
    return tuple(sorted(seen, key=lambda w: (w.days, w.start, w.end)))


def resolve_schedule(
    *, timezone: str, windows: Sequence[TimeWindow], holiday_windows: Sequence[TimeWindow],
    observe_holidays: bool, holidays: Sequence,
) -> Schedule:
    """The Schedule a gate gets: the estate's holidays when the schedule keeps them."""
    if not observe_holidays:
        return Schedule(timezone=timezone, windows=normal_windows(windows))
    return Schedule(
        timezone=timezone,
        windows=normal_windows(windows),
        holidays=tuple(sorted(set(holidays))),
        holiday_windows=normal_windows(holiday_windows),
    )


def union_schedules(a: Schedule, b: Schedule) -> Schedule | None:
    """A schedule open exactly when ``a`` or ``b`` is, or None if one Schedule cannot say so.

    On a holiday a schedule that keeps holidays uses its holiday windows and one that does
    not uses its usual windows; so the union's holiday windows are those of each, chosen
    that way. Needs one timezone and one holiday list (every schedule that keeps holidays
    has the estate's, so they agree).
    """
    if a.timezone != b.timezone:
        return None
    if a.holidays and b.holidays and a.holidays != b.holidays:
        return None
    holidays = a.holidays or b.holidays

    def on_holiday(s: Schedule) -> tuple[TimeWindow, ...]:
        return s.holiday_windows if s.holidays else s.windows

    return Schedule(
        timezone=a.timezone,
        windows=normal_windows(a.windows + b.windows),
        holidays=holidays,
        holiday_windows=normal_windows(on_holiday(a) + on_holiday(b)) if holidays else (),
    )


def grants_at(gate_id: str, levels: Sequence[LevelRule]) -> list[Grant]:
    """One grant per item of each level that names this gate (or every gate), ranked by level order."""
    out: list[Grant] = []
    for rank, level in enumerate(levels):
        for gate, doors in level.items:
            if gate == gate_id or gate == ANY_GATE:
                out.append(Grant(doors, level.schedule, level.anti_passback, rank))
    return out


def _covers(a: Grant, b: Grant) -> bool:
    """Does ``a`` allow every door, time and pass that ``b`` allows?"""
    doors = a.doors is None or (b.doors is not None and b.doors <= a.doors)
    hours = a.schedule is None or a.schedule == b.schedule
    return doors and hours and (not a.anti_passback or b.anti_passback)


def _pair(a: Grant, b: Grant) -> Grant | None:
    """One grant allowing exactly what ``a`` or ``b`` allows, or None if there is none."""
    rank = min(a.rank, b.rank)
    if _covers(a, b):
        return replace(a, rank=rank)
    if _covers(b, a):
        return replace(b, rank=rank)
    if a.anti_passback != b.anti_passback:
        return None
    if a.schedule == b.schedule:
        doors = None if a.doors is None or b.doors is None else a.doors | b.doors
        return Grant(doors, a.schedule, a.anti_passback, rank)
    if a.doors == b.doors and a.schedule is not None and b.schedule is not None:
        union = union_schedules(a.schedule, b.schedule)
        if union is not None:
            return Grant(a.doors, union, a.anti_passback, rank)
    return None


def merge(grants: Iterable[Grant]) -> tuple[Grant | None, bool]:
    """The grant a gate holds, and whether it is exactly what the grants allow together.

    None when no grant reaches the gate (the gate does not list the card).
    """
    items = sorted(grants, key=lambda g: g.rank)
    merged = True
    while merged and len(items) > 1:
        merged = False
        for i in range(len(items)):
            for j in range(i + 1, len(items)):
                m = _pair(items[i], items[j])
                if m is not None:
                    items[i] = m
                    del items[j]
                    merged = True
                    break
            if merged:
                break
    if not items:
        return None, True
    items.sort(key=lambda g: g.rank)
    return items[0], len(items) == 1

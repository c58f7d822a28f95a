"""The merge rule for two levels on one gate, and that the gate's decision follows it."""

from __future__ import annotations

from datetime import datetime, time, timezone

from gate_agent.decide import decide
from hub.access.merge import ANY_GATE, Grant, LevelRule, grants_at, merge, union_schedules
from protocols.acl import AclEntry, Schedule, TimeWindow
from protocols.cards import Decision, Reason

MORNING = Schedule(timezone="UTC", windows=(TimeWindow(days=(0, 1, 2, 3, 4), start=time(8), end=time(12)),),
                   holidays=(), holiday_windows=())
EVENING = Schedule(timezone="UTC", windows=(TimeWindow(days=(0, 1, 2, 3, 4), start=time(18), end=time(22)),))
MONDAY = datetime(2026, 3, 2, tzinfo=timezone.utc)  # a Monday


def at(hour: int) -> datetime:
    return MONDAY.replace(hour=hour)


def level(name, items, schedule=None, apb=False) -> LevelRule:
    return LevelRule(name, tuple((g, None if d is None else frozenset(d)) for g, d in items), schedule, apb)


def entry(grant: Grant) -> AclEntry:
    return AclEntry(uid="AA", status="active", card_type="owner",
                    doors=None if grant.doors is None else tuple(sorted(grant.doors)),
                    schedule=grant.schedule, anti_passback=grant.anti_passback)


def test_a_wider_level_absorbs_a_narrower_one():
    everywhere = level("residents", [(ANY_GATE, None)])
    north_reno = level("north-reno", [("north", ["north-in"])], MORNING)
    grant, exact = merge(grants_at("north", [north_reno, everywhere]))
    assert exact and grant.doors is None and grant.schedule is None
    assert grants_at("south", [north_reno]) == []
    assert merge(grants_at("south", [north_reno])) == (None, True)


def test_same_hours_unite_doors_and_same_doors_unite_hours():
    a = level("a", [("north", ["n1"])], MORNING)
    b = level("b", [("north", ["n2"])], MORNING)
    grant, exact = merge(grants_at("north", [a, b]))
    assert exact and grant.doors == {"n1", "n2"} and grant.schedule == MORNING

    c = level("c", [("north", ["n1"])], EVENING)
    grant, exact = merge(grants_at("north", [a, c]))
    assert exact and grant.doors == {"n1"}
    e = entry(grant)
    assert decide(e, "n1", "in", at(9)) == (Decision.GRANTED, Reason.VALID_CARD)
    assert decide(e, "n1", "in", at(19)) == (Decision.GRANTED, Reason.VALID_CARD)
    assert decide(e, "n1", "in", at(14)) == (Decision.DENIED, Reason.OUTSIDE_SCHEDULE)


def test_what_one_entry_cannot_say_falls_to_the_first_listed_level_and_never_grants_more():
    a = level("a", [("north", ["n1"])], MORNING)
    b = level("b", [("north", ["n2"])], EVENING)
    grant, exact = merge(grants_at("north", [b, a]))
    assert not exact
    assert grant.doors == {"n2"} and grant.schedule == EVENING  # b is listed first
    e = entry(grant)
    # every (door, hour) the entry grants is granted by some level: n2 in the evening
    for door in ("n1", "n2"):
        for hour in range(24):
            if decide(e, door, "in", at(hour))[0] == Decision.GRANTED:
                assert (door == "n1" and 8 <= hour < 12) or (door == "n2" and 18 <= hour < 22)


def test_different_timezones_and_anti_passback_are_not_merged_loosely():
    shanghai = MORNING.model_copy(update={"timezone": "Asia/Shanghai"})
    assert union_schedules(MORNING, shanghai) is None
    a = level("a", [("north", None)], MORNING, apb=True)
    b = level("b", [("north", None)], MORNING, apb=False)
    grant, exact = merge(grants_at("north", [a, b]))
    assert exact and grant.anti_passback is False  # b allows everything a does, passback too
    c = level("c", [("north", ["n1"])], None, apb=False)
    grant, exact = merge(grants_at("north", [a, c]))
    assert not exact and grant.anti_passback is True and grant.doors is None


def test_the_union_keeps_holidays_for_the_schedule_that_keeps_them():
    holiday = MONDAY.date()
    keeps = Schedule(timezone="UTC", windows=MORNING.windows, holidays=(holiday,), holiday_windows=())
    ignores = EVENING
    u = union_schedules(keeps, ignores)
    e = AclEntry(uid="AA", status="active", card_type="owner", schedule=u)
    assert decide(e, "n1", "in", at(9)) == (Decision.DENIED, Reason.HOLIDAY)  # keeps: closed on the holiday
    assert decide(e, "n1", "in", at(19))[0] == Decision.GRANTED  # ignores: open as any Monday
    e2 = AclEntry(uid="AA", status="active", card_type="owner", schedule=u)
    tuesday = at(9).replace(day=3)
    assert decide(e2, "n1", "in", tuesday)[0] == Decision.GRANTED

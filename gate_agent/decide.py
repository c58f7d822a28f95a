"""The one decision a gate makes on a card, as a pure function.

No I/O and no clock: the caller passes ``now`` and the anti-passback memory, so every rule
is testable to the second and the same inputs always give the same answer. The rules are
checked in a fixed order and the first that fails names the reason, so a revoked card
outside its hours is reported as revoked (what the guard needs to know).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from protocols.acl import AclEntry, Schedule, TimeWindow
from protocols.cards import STATUS_DENIAL, CardStatus, Decision, Reason
from protocols.messages import Direction

AntiPassbackMode = Literal["off", "card", "always"]

GRANT = (Decision.GRANTED, Reason.VALID_CARD)


def decide(
    entry: AclEntry | None,
    door_id: str,
    direction: Direction,
    now: datetime,
    last_direction: Direction | None = None,
    anti_passback: AntiPassbackMode = "card",
) -> tuple[Decision, Reason]:
    """Grant or deny one presentation of a card at one door.

    ``last_direction`` is the direction of this card's last granted pass at this gate
    (None: never seen, so the first use is free). ``anti_passback`` is the door's mode.
    Validity bounds are inclusive: a card is good from valid_from to valid_until, both
    to the instant, and denied one microsecond after.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if entry is None:
        return Decision.DENIED, Reason.UNKNOWN_CARD
    if entry.status != CardStatus.ACTIVE:
        return Decision.DENIED, STATUS_DENIAL.get(entry.status, Reason.CARD_NOT_ISSUED)
    if entry.valid_from is not None and now < entry.valid_from:
        return Decision.DENIED, Reason.NOT_YET_VALID
    if entry.valid_until is not None and now > entry.valid_until:
        return Decision.DENIED, Reason.VALIDITY_ENDED
    if entry.doors is not None and door_id not in entry.doors:
        return Decision.DENIED, Reason.DOOR_NOT_ALLOWED
    if entry.schedule is not None:
        reason = schedule_denial(entry.schedule, now)
        if reason is not None:
            return Decision.DENIED, reason
    enforced = anti_passback == "always" or (anti_passback == "card" and entry.anti_passback)
    if enforced and last_direction is not None and last_direction == direction:
        return Decision.DENIED, Reason.ANTI_PASSBACK
    return GRANT


def schedule_denial(schedule: Schedule, now: datetime) -> Reason | None:
    """None if the schedule is open at ``now``; else HOLIDAY or OUTSIDE_SCHEDULE.

    A window that crosses midnight belongs to its start day, so at 02:00 on a Saturday the
    question is also "did a window start on Friday and run past midnight?", and Friday's
    holiday status decides which windows Friday had.
    """
    try:
        tz = ZoneInfo(schedule.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return Reason.OUTSIDE_SCHEDULE  # an unknown zone fails closed
    local = now.astimezone(tz)
    today, t = local.date(), local.time().replace(tzinfo=None)
    yesterday = today - timedelta(days=1)
    if any(_open_from_start_day(w, today, t) for w in _windows_of(schedule, today)):
        return None
    if any(_open_from_previous_day(w, yesterday, t) for w in _windows_of(schedule, yesterday)):
        return None
    return Reason.HOLIDAY if today in schedule.holidays else Reason.OUTSIDE_SCHEDULE


def _windows_of(schedule: Schedule, day: date) -> tuple[TimeWindow, ...]:
    return schedule.holiday_windows if day in schedule.holidays else schedule.windows


def _crosses_midnight(w: TimeWindow) -> bool:
    return w.end <= w.start


def _open_from_start_day(w: TimeWindow, day: date, t: time) -> bool:
    if day.weekday() not in w.days:
        return False
    if _crosses_midnight(w):
        return t >= w.start
    return w.start <= t < w.end


def _open_from_previous_day(w: TimeWindow, start_day: date, t: time) -> bool:
    return start_day.weekday() in w.days and _crosses_midnight(w) and t < w.end

"""How a permit drives its workers' access: through the access levels and the gates'
versioned lists, not beside them.

Each permit with worker cards is one access level in the plan (hub.access.plan.load_plan
adds them with ``add_permit_levels``): named ``permit:<id>:<state>``, reaching the gates the
renovation_worker type's default levels reach (every gate when the estate set none), with
the permit's schedule: its working hours on its working weekdays, in the estate's timezone,
closed on the estate's holidays (hub.workcal, from two days ago to the permit's last day).
A worker card linked to the permit (``permit_cards``) has that level as its only level, and
the plan says the permit's state for the card (``AccessPlan.permits``), which
hub.gates.acl.project turns into the listed status: ``permit_suspended`` while work is
stopped, ``permit_ended`` once the permit has ended, the card's own status otherwise.
The state is in the level's name, so the gates' entry-text shapes (hub.gates.entry_texts)
never reuse an entry made under another state. The permit's period is the cards' own
validity (valid_until, kept to the permit's end by hub.permits.moves on extension).

Make-up working days: protocols.acl.Schedule has no way to open on a day the weekly windows
leave shut, so a make-up Saturday stays closed to workers unless their hours include
Saturdays (and a holiday always closes, since holiday_windows is empty).

Every move that changes what a permit's cards may do re-projects them in its own
transaction (``reproject_permit``: hub.gates.acl.reproject; a permit has a handful of
workers), so the gates hear within a second, as of a revoked card.
"""

from __future__ import annotations

import json
from datetime import date, time
from typing import TYPE_CHECKING, Any, Iterable

import sqlite_utils

from hub.access.merge import ANY_GATE, LevelRule
from protocols.acl import Schedule, TimeWindow

if TYPE_CHECKING:
    from hub.access.plan import AccessPlan

PREFIX = "permit:"


def level_name(permit_id: int, state: str) -> str:
    return f"{PREFIX}{permit_id}:{state}"


def is_permit_level(name: str) -> bool:
    return name.startswith(PREFIX)


def permit_schedule(row: dict[str, Any], tz: str, holidays: Iterable[date], cutoff: str) -> Schedule:
    """The permit's working hours as a gate's Schedule (weekdays 1-7 become 0-6)."""
    days = tuple(sorted(d - 1 for d in json.loads(row["weekdays"])))
    window = TimeWindow(days=days, start=time.fromisoformat(row["hours_start"]),
                        end=time.fromisoformat(row["hours_end"]))
    until = row["period_until"]
    kept = tuple(sorted(d for d in holidays if cutoff <= d.isoformat() <= until))
    return Schedule(timezone=tz, windows=(window,), holidays=kept, holiday_windows=())


def _worker_items(plan: "AccessPlan") -> tuple[tuple[str, frozenset[str] | None], ...]:
    items: list[tuple[str, frozenset[str] | None]] = []
    for name in plan.type_defaults.get("renovation_worker", ()):
        rule = plan.levels.get(name)
        if rule is not None:
            items.extend(rule.items)
    return tuple(dict.fromkeys(items)) or ((ANY_GATE, None),)


def add_permit_levels(db: sqlite_utils.Database, plan: "AccessPlan", uids: Iterable[str] | None,
                      cutoff: str) -> None:
    """Put the permits of these cards (every linked card when None) into ``plan``."""
    if not db["permit_cards"].exists():
        return
    # a card taken back and issued again as another type is no longer the permit's
    sql = ("SELECT c.uid, p.id, p.state, p.weekdays, p.hours_start, p.hours_end, p.period_until"
           " FROM permit_cards c JOIN permits p ON p.id = c.permit_id"
           " JOIN cards k ON k.uid = c.uid AND k.card_type = 'renovation_worker'")
    if uids is None:
        rows = db.execute(sql).fetchall()
    else:
        wanted = sorted(set(uids))
        rows = []
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            rows += db.execute(f"{sql} WHERE c.uid IN ({','.join('?' * len(part))})", part).fetchall()
    if not rows:
        return
    from hub.workcal import load_calendar

    cal = load_calendar(db)
    tz = getattr(cal.tz, "key", str(cal.tz))
    holidays = [d for d, working in cal.days.items() if not working]
    items = _worker_items(plan)
    keys = ("uid", "id", "state", "weekdays", "hours_start", "hours_end", "period_until")
    for raw in rows:
        row = dict(zip(keys, raw))
        name = level_name(row["id"], row["state"])
        if name not in plan.levels:
            plan.levels[name] = LevelRule(name, items, permit_schedule(row, tz, holidays, cutoff), False)
        plan.permit_levels[row["uid"]] = (name,)
        plan.permits[row["uid"]] = row["state"]


def card_uids(db: sqlite_utils.Database, permit_id: int) -> list[str]:
    """The permit's worker cards (linked, and still renovation worker cards)."""
    return [r[0] for r in db.execute(
        "SELECT c.uid FROM permit_cards c JOIN cards k ON k.uid = c.uid AND k.card_type = 'renovation_worker'"
        " WHERE c.permit_id = ? ORDER BY c.uid", [permit_id])]


def reproject_permit(db: sqlite_utils.Database, permit_id: int) -> int:
    """Every card of the permit at every gate, now, inside the move's transaction."""
    from hub.gates import acl

    return acl.reproject(db, card_uids(db, permit_id))


def link_card(db: sqlite_utils.Database, uid: str, permit_id: int, at: str) -> None:
    """The card is the permit's (hub.cards.rules, in the issuing transaction)."""
    db.execute("INSERT INTO permit_cards (uid, permit_id, linked_at) VALUES (?, ?, ?) ON CONFLICT (uid) DO UPDATE"
               " SET permit_id = excluded.permit_id, linked_at = excluded.linked_at", [uid, permit_id, at])


def copy_link(db: sqlite_utils.Database, old_uid: str, new_uid: str, at: str) -> bool:
    """A replacement of a permit's card (lost, damaged) is the permit's too: linked and
    re-projected in the replacing transaction. True if the old card had a permit."""
    row = db.execute("SELECT permit_id FROM permit_cards WHERE uid = ?", [old_uid]).fetchone() \
        if db["permit_cards"].exists() else None
    if row is None:
        return False
    link_card(db, new_uid, row[0], at)
    from hub.gates import acl

    acl.card_changed(db, new_uid)
    return True

"""The access rules as read from the database once per transaction, for the projection.

``load_plan`` reads the calendar, schedules, levels and card-type defaults (a handful of
small tables), and the explicit level lists of the cards asked for (or of every card, for
a gate's whole list). ``AccessPlan.access`` then answers per card and gate without I/O.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

import sqlite_utils

from hub.access.merge import Grant, LevelRule, grants_at, merge, resolve_schedule
from protocols.acl import Schedule, TimeWindow


def _windows(text: str) -> tuple[TimeWindow, ...]:
    return tuple(TimeWindow.model_validate(w) for w in json.loads(text))


def calendar(db: sqlite_utils.Database) -> tuple[str, tuple[str, ...]]:
    """The estate's timezone and its holidays (ISO dates, in order)."""
    tz = list(db.query("SELECT timezone FROM access_calendar WHERE id = 1"))
    days = tuple(r["day"] for r in db.query("SELECT day FROM access_holidays ORDER BY day"))
    return (tz[0]["timezone"] if tz else "UTC"), days


def resolved_schedule(row: dict[str, Any], estate_tz: str, holidays: Sequence[str]) -> Schedule:
    """A schedule row as the gates get it: the estate's timezone unless its own, and the
    estate's holidays if it keeps them."""
    return resolve_schedule(
        timezone=row["timezone"] or estate_tz,
        windows=_windows(row["windows"]),
        holiday_windows=_windows(row["holiday_windows"]),
        observe_holidays=bool(row["observe_holidays"]),
        holidays=holidays,
    )


@dataclass
class AccessPlan:
    levels: dict[str, LevelRule]
    type_defaults: dict[str, tuple[str, ...]]
    explicit: dict[str, tuple[str, ...]] = field(default_factory=dict)
    #: a renovation worker card's permit state, by uid (hub.permits.access: the permit is the
    #: card's one level; hub.gates.acl.project says the state at the gates)
    permits: dict[str, str] = field(default_factory=dict)
    #: the permit's level of each such card, in place of its own or its type's levels
    permit_levels: dict[str, tuple[str, ...]] = field(default_factory=dict)
    _merged: dict[tuple[tuple[str, ...], str], tuple[Grant | None, bool]] = field(default_factory=dict, repr=False)

    def levels_of(self, uid: str, card_type: str | None) -> tuple[str, ...]:
        """The card's renovation permit's level if it has one, else its own levels if it has
        a list, else its type's defaults."""
        if uid in self.permit_levels:
            return self.permit_levels[uid]
        if uid in self.explicit:
            return self.explicit[uid]
        return self.type_defaults.get(card_type or "", ())

    def access(self, uid: str, card_type: str | None, gate_id: str) -> tuple[Grant | None, bool]:
        """The merged grant at ``gate_id`` (None: the gate does not list the card) and whether it is exact."""
        names = self.levels_of(uid, card_type)
        key = (names, gate_id)
        if key not in self._merged:  # thousands of cards share a few lists of levels
            rules = [self.levels[n] for n in names if n in self.levels]
            self._merged[key] = merge(grants_at(gate_id, rules))
        return self._merged[key]


#: holidays further back than this are left out of what the gates hold: no gate decides on
#: those dates again, and otherwise every past year's holidays would ride in every entry
HOLIDAY_KEEP = timedelta(days=2)


def holiday_cutoff(today: date | None = None) -> str:
    """The first holiday date (ISO) the gates still need."""
    return ((today or datetime.now(timezone.utc).date()) - HOLIDAY_KEEP).isoformat()


def load_plan(db: sqlite_utils.Database, uids: Iterable[str] | None = None, today: date | None = None) -> AccessPlan:
    """Everything but the cards' lists; those of ``uids`` only, or of every card when None."""
    tz, holidays = calendar(db)
    cutoff = holiday_cutoff(today)
    holidays = tuple(d for d in holidays if d >= cutoff)
    schedules = {r["name"]: resolved_schedule(r, tz, holidays) for r in db.query("SELECT * FROM access_schedules")}
    levels: dict[str, LevelRule] = {}
    for r in db.query("SELECT * FROM access_levels"):
        items = tuple(
            (i["gate_id"], None if i.get("doors") is None else frozenset(i["doors"])) for i in json.loads(r["items"])
        )
        levels[r["name"]] = LevelRule(r["name"], items, schedules.get(r["schedule"]) if r["schedule"] else None,
                                      bool(r["anti_passback"]))
    defaults: dict[str, list[str]] = {}
    for r in db.query("SELECT card_type, level FROM access_type_defaults ORDER BY card_type, position"):
        defaults.setdefault(r["card_type"], []).append(r["level"])
    plan = AccessPlan(levels, {k: tuple(v) for k, v in defaults.items()})
    if uids is None:
        explicit_sql, args = "SELECT uid FROM access_card_own", []
        lists_sql = "SELECT uid, level FROM access_card_levels ORDER BY uid, position"
    else:
        wanted = sorted(set(uids))
        marks = ",".join("?" * len(wanted))
        explicit_sql, args = f"SELECT uid FROM access_card_own WHERE uid IN ({marks})", wanted
        lists_sql = f"SELECT uid, level FROM access_card_levels WHERE uid IN ({marks}) ORDER BY uid, position"
    if uids is None or args:
        own: dict[str, list[str]] = {r["uid"]: [] for r in db.query(explicit_sql, args)}
        for r in db.query(lists_sql, args):
            if r["uid"] in own:
                own[r["uid"]].append(r["level"])
        plan.explicit = {k: tuple(v) for k, v in own.items()}
    from hub.permits.access import add_permit_levels  # renovation permits are levels of their workers' cards

    add_permit_levels(db, plan, None if uids is None else wanted, cutoff)
    return plan

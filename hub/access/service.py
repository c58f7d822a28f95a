"""Schedules, the estate calendar, access levels, card-type defaults and cards' levels.

Every change is one transaction that checks, writes, records the audit row and calls
hub.gates.acl.schedule_reproject for the cards whose levels it touches, so each gate's list
moves with it (published as deltas after commit): a few cards at once, many in small steps
after commit (hub.gates.projector), so a change reaching every card never holds the store
lock for long. A card's own change (its levels) is re-projected in its transaction. A
refusal raises before anything is kept.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, Iterable

import sqlite_utils

from hub import audit
from hub.access.models import LevelBody, ScheduleBody, window_dicts
from hub.access.plan import calendar, holiday_cutoff, load_plan, resolved_schedule
from hub.db import Store
from hub.errors import BadInput, Conflict, NotFound
from hub.gates import acl
from protocols.cards import CardType
from protocols.uid import InvalidUid, normalise_uid


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def _one(db: sqlite_utils.Database, sql: str, args: list[Any]) -> dict[str, Any] | None:
    rows = list(db.query(sql, args))
    return rows[0] if rows else None


# --- which cards a rule reaches ----------------------------------------------------------


def cards_with_levels(db: sqlite_utils.Database, levels: Iterable[str]) -> set[str]:
    """Cards whose levels (own, or their type's defaults) include any of ``levels``."""
    names = sorted(set(levels))
    if not names:
        return set()
    marks = ",".join("?" * len(names))
    uids = {r["uid"] for r in db.query(
        f"SELECT DISTINCT l.uid FROM access_card_levels l JOIN access_card_own o ON o.uid = l.uid "
        f"WHERE l.level IN ({marks})", names)}
    types = [r["card_type"] for r in db.query(
        f"SELECT DISTINCT card_type FROM access_type_defaults WHERE level IN ({marks})", names)]
    if types:
        tmarks = ",".join("?" * len(types))
        uids |= {r["uid"] for r in db.query(
            f"SELECT uid FROM cards WHERE card_type IN ({tmarks}) AND status != 'in_stock' "
            "AND uid NOT IN (SELECT uid FROM access_card_own)", types)}
    return uids


def _levels_using_schedules(db: sqlite_utils.Database, schedules: Iterable[str]) -> list[str]:
    names = sorted(set(schedules))
    if not names:
        return []
    marks = ",".join("?" * len(names))
    return [r["name"] for r in db.query(f"SELECT name FROM access_levels WHERE schedule IN ({marks})", names)]


def _reproject_levels(db: sqlite_utils.Database, levels: Iterable[str]) -> None:
    names = sorted(set(levels))
    marks = ",".join("?" * len(names))
    if names and db.execute(f"SELECT 1 FROM access_type_defaults WHERE level IN ({marks}) LIMIT 1", names).fetchone():
        # a card type's default reaches thousands of cards: every card is looked at in steps
        # (one unchanged costs a comparison) rather than listing them in the change's transaction
        acl.schedule_reproject(db, None)
        return
    acl.schedule_reproject(db, cards_with_levels(db, names))


# --- views -------------------------------------------------------------------------------


def schedule_view(row: dict[str, Any], estate_tz: str, holidays: tuple[str, ...]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "timezone": row["timezone"],
        "windows": json.loads(row["windows"]),
        "holiday_windows": json.loads(row["holiday_windows"]),
        "observe_holidays": bool(row["observe_holidays"]),
        "updated_at": row["updated_at"],
        "resolved": resolved_schedule(row, estate_tz, holidays).model_dump(mode="json"),
    }


def level_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "name": row["name"],
        "description": row["description"],
        "items": json.loads(row["items"]),
        "schedule": row["schedule"],
        "anti_passback": bool(row["anti_passback"]),
        "builtin": bool(row["builtin"]),
        "updated_at": row["updated_at"],
    }


# --- calendar ----------------------------------------------------------------------------


def get_calendar(store: Store) -> dict[str, Any]:
    with store.read() as db:
        tz, _ = calendar(db)
        holidays = list(db.query("SELECT day AS date, name FROM access_holidays ORDER BY day"))
    return {"timezone": tz, "holidays": holidays}


def _calendar_changed(db: sqlite_utils.Database, *, timezone_changed: bool) -> None:
    """Re-project the cards whose schedules follow the calendar: those that keep holidays,
    and, when the timezone changed, those without a timezone of their own."""
    where = "observe_holidays = 1" + (" OR timezone IS NULL" if timezone_changed else "")
    schedules = [r["name"] for r in db.query(f"SELECT name FROM access_schedules WHERE {where}")]
    _reproject_levels(db, _levels_using_schedules(db, schedules))


def set_timezone(store: Store, who: str, tz: str) -> dict[str, Any]:
    with store.tx() as db:
        before, _ = calendar(db)
        if before != tz:
            db.execute("UPDATE access_calendar SET timezone = ? WHERE id = 1", [tz])
            audit.record(db, who, "update", "access_calendar", "timezone", before=before, after=tz)
            _calendar_changed(db, timezone_changed=True)
    return get_calendar(store)


def set_up_timezone(store: Store, tz: str) -> bool:
    """A new estate takes ``tz`` ([hub] timezone) as its calendar's: only while nobody has set
    one through the API and no card or event is stored yet, so an estate already running keeps
    the day it has. True if it was set."""
    with store.tx() as db:
        before, _ = calendar(db)
        if before == tz or _one(db, "SELECT 1 AS x FROM audit WHERE entity = 'access_calendar' AND entity_id = 'timezone'", []):
            return False
        if any(db[t].exists() and _one(db, f"SELECT 1 AS x FROM {t} LIMIT 1", []) for t in ("cards", "events")):
            return False
        db.execute("UPDATE access_calendar SET timezone = ? WHERE id = 1", [tz])
        audit.record(db, "hub setup", "update", "access_calendar", "timezone", before=before, after=tz)
        _calendar_changed(db, timezone_changed=True)
    return True


def add_holiday(store: Store, who: str, day: date, name: str) -> dict[str, Any]:
    with store.tx() as db:
        if _one(db, "SELECT 1 AS x FROM access_holidays WHERE day = ?", [day.isoformat()]):
            raise Conflict("{day} is already a holiday", rule="holiday_exists", field="date", day=day.isoformat())
        db["access_holidays"].insert({"day": day.isoformat(), "name": name})
        audit.record(db, who, "create", "access_holiday", day.isoformat(), name=name)
        _calendar_changed(db, timezone_changed=False)
    return {"date": day.isoformat(), "name": name}


def remove_holiday(store: Store, who: str, day: str) -> None:
    try:
        iso = date.fromisoformat(day).isoformat()
    except ValueError:
        raise BadInput("date must be YYYY-MM-DD, not {value}", field="date", value=repr(day)) from None
    with store.tx() as db:
        row = _one(db, "SELECT * FROM access_holidays WHERE day = ?", [iso])
        if row is None:
            raise NotFound("{day} is not a holiday", rule="unknown_holiday", field="date", day=iso)
        db.execute("DELETE FROM access_holidays WHERE day = ?", [iso])
        audit.record(db, who, "delete", "access_holiday", iso, name=row["name"])
        _calendar_changed(db, timezone_changed=False)


# --- schedules ---------------------------------------------------------------------------


def _check_schedule(body: ScheduleBody) -> None:
    if not body.windows and not body.holiday_windows:
        raise BadInput("a schedule needs at least one window", field="windows")
    if body.holiday_windows and not body.observe_holidays:
        raise BadInput("holiday_windows need observe_holidays: true", field="holiday_windows")


def _schedule_row(body: ScheduleBody) -> dict[str, Any]:
    return {
        "description": body.description,
        "timezone": body.timezone,
        "windows": json.dumps(window_dicts(body.windows)),
        "holiday_windows": json.dumps(window_dicts(body.holiday_windows)),
        "observe_holidays": int(body.observe_holidays),
        "updated_at": _now(),
    }


def list_schedules(store: Store) -> list[dict[str, Any]]:
    with store.read() as db:
        tz, holidays = calendar(db)
        return [schedule_view(r, tz, holidays) for r in db.query("SELECT * FROM access_schedules ORDER BY name")]


def get_schedule(store: Store, name: str) -> dict[str, Any]:
    with store.read() as db:
        return _schedule_of(db, name)


def _schedule_of(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    row = _one(db, "SELECT * FROM access_schedules WHERE name = ?", [name])
    if row is None:
        raise NotFound("no schedule {name}", rule="unknown_schedule", field="name", name=name)
    tz, holidays = calendar(db)
    return schedule_view(row, tz, holidays)


def create_schedule(store: Store, who: str, name: str, body: ScheduleBody) -> dict[str, Any]:
    _check_schedule(body)
    with store.tx() as db:
        if _one(db, "SELECT 1 AS x FROM access_schedules WHERE name = ?", [name]):
            raise Conflict("schedule {name} exists", rule="schedule_exists", field="name", name=name)
        db["access_schedules"].insert({"name": name, **_schedule_row(body)})
        audit.record(db, who, "create", "access_schedule", name, **body.model_dump(mode="json"))
        return _schedule_of(db, name)


def update_schedule(store: Store, who: str, name: str, body: ScheduleBody) -> dict[str, Any]:
    with store.tx() as db:
        before = _schedule_of(db, name)
        _check_schedule(body)
        db["access_schedules"].update(name, _schedule_row(body))
        audit.record(db, who, "update", "access_schedule", name, before={k: before[k] for k in (
            "description", "timezone", "windows", "holiday_windows", "observe_holidays")},
            after=body.model_dump(mode="json"))
        _reproject_levels(db, _levels_using_schedules(db, [name]))
        return _schedule_of(db, name)


def delete_schedule(store: Store, who: str, name: str) -> None:
    with store.tx() as db:
        _schedule_of(db, name)
        users = _levels_using_schedules(db, [name])
        if users:
            raise Conflict("schedule {name} is used by levels {levels}", rule="schedule_in_use", field="name", name=name,
                           levels=", ".join(users))
        db.execute("DELETE FROM access_schedules WHERE name = ?", [name])
        audit.record(db, who, "delete", "access_schedule", name)


# --- levels ------------------------------------------------------------------------------


def list_levels(store: Store) -> list[dict[str, Any]]:
    with store.read() as db:
        return [level_view(r) for r in db.query("SELECT * FROM access_levels ORDER BY name")]


def _level_of(db: sqlite_utils.Database, name: str) -> dict[str, Any]:
    row = _one(db, "SELECT * FROM access_levels WHERE name = ?", [name])
    if row is None:
        raise NotFound("no access level {name}", rule="unknown_level", field="name", name=name)
    return level_view(row)


def get_level(store: Store, name: str) -> dict[str, Any]:
    with store.read() as db:
        return _level_of(db, name)


def _level_row(db: sqlite_utils.Database, body: LevelBody) -> dict[str, Any]:
    if body.schedule is not None and not _one(db, "SELECT 1 AS x FROM access_schedules WHERE name = ?", [body.schedule]):
        raise NotFound("no schedule {name}", rule="unknown_schedule", field="schedule", name=body.schedule)
    seen: set[str] = set()
    for i, item in enumerate(body.items):
        if item.gate_id in seen:
            raise BadInput("gate {gate} is listed twice in this level", field=f"items.{i}.gate_id", gate=item.gate_id)
        seen.add(item.gate_id)
    return {
        "description": body.description,
        "items": json.dumps([item.model_dump(mode="json") for item in body.items]),
        "schedule": body.schedule,
        "anti_passback": int(body.anti_passback),
        "updated_at": _now(),
    }


def create_level(store: Store, who: str, name: str, body: LevelBody) -> dict[str, Any]:
    with store.tx() as db:
        if _one(db, "SELECT 1 AS x FROM access_levels WHERE name = ?", [name]):
            raise Conflict("access level {name} exists", rule="level_exists", field="name", name=name)
        db["access_levels"].insert({"name": name, "builtin": 0, **_level_row(db, body)})
        audit.record(db, who, "create", "access_level", name, **body.model_dump(mode="json"))
        return _level_of(db, name)


def update_level(store: Store, who: str, name: str, body: LevelBody) -> dict[str, Any]:
    with store.tx() as db:
        before = _level_of(db, name)
        db["access_levels"].update(name, _level_row(db, body))
        audit.record(db, who, "update", "access_level", name,
                     before={k: before[k] for k in ("description", "items", "schedule", "anti_passback")},
                     after=body.model_dump(mode="json"))
        _reproject_levels(db, [name])
        return _level_of(db, name)


def delete_level(store: Store, who: str, name: str) -> None:
    with store.tx() as db:
        level = _level_of(db, name)
        if level["builtin"]:
            raise Conflict("access level {name} is built in", rule="builtin_level", field="name", name=name)
        cards = _one(db, "SELECT COUNT(*) AS n FROM access_card_levels l JOIN access_card_own o ON o.uid = l.uid "
                         "WHERE l.level = ?", [name])["n"]
        types = [r["card_type"] for r in db.query(
            "SELECT card_type FROM access_type_defaults WHERE level = ? ORDER BY card_type", [name])]
        if cards or types:
            if not types:
                raise Conflict("access level {name} is in use: {cards} card(s)", rule="level_in_use", field="name",
                               name=name, cards=cards)
            raise Conflict("access level {name} is in use: {cards} card(s), and as the default of card types {types}",
                           rule="level_in_use", field="name", name=name, cards=cards, types=", ".join(types))
        db.execute("DELETE FROM access_card_levels WHERE level = ?", [name])  # lists of earlier issues only
        db.execute("DELETE FROM access_levels WHERE name = ?", [name])
        audit.record(db, who, "delete", "access_level", name)


def _need_levels(db: sqlite_utils.Database, names: Iterable[str]) -> None:
    for name in names:
        if not _one(db, "SELECT 1 AS x FROM access_levels WHERE name = ?", [name]):
            raise NotFound("no access level {name}", rule="unknown_level", field="levels", name=name)


# --- card-type defaults ------------------------------------------------------------------


def _card_type(value: str) -> str:
    try:
        return CardType(value).value
    except ValueError:
        raise BadInput("card_type must be one of {types}", field="card_type", types=", ".join(t.value for t in CardType)) from None


def type_defaults(store: Store) -> dict[str, list[str]]:
    with store.read() as db:
        plan = load_plan(db, [])
    return {t.value: list(plan.type_defaults.get(t.value, ())) for t in CardType}


def set_type_defaults(store: Store, who: str, card_type: str, levels: tuple[str, ...]) -> dict[str, Any]:
    ctype = _card_type(card_type)
    with store.tx() as db:
        _need_levels(db, levels)
        before = [r["level"] for r in db.query(
            "SELECT level FROM access_type_defaults WHERE card_type = ? ORDER BY position", [ctype])]
        db.execute("DELETE FROM access_type_defaults WHERE card_type = ?", [ctype])
        for pos, name in enumerate(levels):
            db["access_type_defaults"].insert({"card_type": ctype, "level": name, "position": pos})
        audit.record(db, who, "set_defaults", "access_card_type", ctype, before=before, after=list(levels))
        acl.schedule_reproject(db, [r[0] for r in db.execute(
            "SELECT uid FROM cards WHERE card_type = ? AND status != 'in_stock' "
            "AND uid NOT IN (SELECT uid FROM access_card_own)", [ctype])])
    return {"card_type": ctype, "levels": list(levels)}


# --- a card's levels ---------------------------------------------------------------------


def _uid(uid: str) -> str:
    try:
        return normalise_uid(uid)
    except InvalidUid as exc:
        raise BadInput(str(exc), rule="bad_uid", field="uid") from None


def _card_of(db: sqlite_utils.Database, uid: str) -> dict[str, Any]:
    card = _one(db, "SELECT * FROM cards WHERE uid = ?", [uid])
    if card is None:
        raise NotFound("no card {uid}", rule="unknown_card", field="uid", uid=uid)
    return card


def _card_access(db: sqlite_utils.Database, card: dict[str, Any]) -> dict[str, Any]:
    """The card's levels, where they come from, and what each known gate holds for it
    (none while the card is in stock)."""
    uid = card["uid"]
    plan = load_plan(db, [uid])
    gates = [g["gate_id"] for g in db.query("SELECT gate_id FROM gates ORDER BY gate_id")]
    at: dict[str, Any] = {}
    inexact: list[str] = []
    for gate_id, entry in acl.project(db, card, gates, plan).items():
        at[gate_id] = {
            "doors": None if entry.doors is None else list(entry.doors),
            "schedule": None if entry.schedule is None else entry.schedule.model_dump(mode="json"),
            "anti_passback": entry.anti_passback,
        }
        if not plan.access(uid, card["card_type"], gate_id)[1]:
            inexact.append(gate_id)
    return {
        "uid": uid,
        "card_type": card["card_type"],
        "levels": list(plan.levels_of(uid, card["card_type"])),
        "source": "card" if uid in plan.explicit else "card_type",
        "gates": at,
        "inexact": inexact,
    }


def _write_levels(db: sqlite_utils.Database, uid: str, issued_at: str | None, levels: Iterable[str]) -> None:
    db["access_card_explicit"].insert({"uid": uid, "issued_at": issued_at})
    for pos, name in enumerate(levels):
        db["access_card_levels"].insert({"uid": uid, "level": name, "position": pos})


def copy_card_levels(db: sqlite_utils.Database, who: str, from_uid: str, to_uid: str) -> bool:
    """For a replacement card (lost, damaged): inside the transaction that issued ``to_uid``,
    give it ``from_uid``'s own levels, if it had any. True if it did.

    The hook hub.cards.moves calls after writing the replacement; without it the
    replacement starts from its card type's defaults.
    """
    plan = load_plan(db, [from_uid])
    if from_uid not in plan.explicit:
        return False
    card = _card_of(db, to_uid)
    db.execute("DELETE FROM access_card_levels WHERE uid = ?", [to_uid])
    db.execute("DELETE FROM access_card_explicit WHERE uid = ?", [to_uid])
    _write_levels(db, to_uid, card["issued_at"], plan.explicit[from_uid])
    audit.record(db, who, "set_access", "card", to_uid, after=list(plan.explicit[from_uid]), copied_from=from_uid)
    acl.card_changed(db, to_uid)
    return True


def card_access(store: Store, uid: str) -> dict[str, Any]:
    uid = _uid(uid)
    with store.read() as db:
        return _card_access(db, _card_of(db, uid))


def set_card_levels(store: Store, who: str, uid: str, levels: tuple[str, ...] | None) -> dict[str, Any]:
    """Give the card its own list (empty: no gate), or with None go back to its type's defaults."""
    uid = _uid(uid)
    with store.tx() as db:
        card = _card_of(db, uid)
        before = _card_access(db, card)
        if levels is not None:
            _need_levels(db, levels)
        db.execute("DELETE FROM access_card_levels WHERE uid = ?", [uid])
        db.execute("DELETE FROM access_card_explicit WHERE uid = ?", [uid])
        if levels is not None:
            _write_levels(db, uid, card["issued_at"], levels)
        audit.record(db, who, "set_access" if levels is not None else "reset_access", "card", uid,
                     before=before["levels"], before_source=before["source"],
                     after=list(levels) if levels is not None else None)
        acl.card_changed(db, uid)
        return _card_access(db, card)


def drop_passed_holidays(db: sqlite_utils.Database, today: date | None = None) -> int:
    """Re-project the cards whose gate entries still carry a holiday that has passed.

    Called by the hub's housekeeping. It looks only on the days a holiday has just passed
    (the last cutoff it used is kept in access_meta), and then only at the entries that
    mention that date, so an ordinary hour costs one small query. Returns how many cards
    are re-projected (at once, or in steps after commit when many).
    """
    cutoff = holiday_cutoff(today)
    rows = list(db.query("SELECT value FROM access_meta WHERE key = 'holiday_cutoff'"))
    last = rows[0]["value"] if rows else ""
    if cutoff == last:
        return 0
    passed = [r["day"] for r in db.query(
        "SELECT day FROM access_holidays WHERE day >= ? AND day < ? ORDER BY day", [last, cutoff])]
    uids: set[str] = set()
    for day in passed:
        mention = f'%"holidays":[%"{day}"%'
        # entries name their schedule by id (hub.gates.acl); one stored before ids holds it whole
        patterns = [mention] + [f'%"schedule":"{r["id"]}"%' for r in db.query(
            "SELECT id FROM acl_schedules WHERE body LIKE ?", [mention])]
        uids.update(r["uid"] for r in db.query(
            "SELECT DISTINCT uid FROM acl_state WHERE " + " OR ".join(["entry LIKE ?"] * len(patterns)), patterns))
    db.execute("INSERT OR REPLACE INTO access_meta (key, value) VALUES ('holiday_cutoff', ?)", [cutoff])
    if uids:
        acl.schedule_reproject(db, uids)
    return len(uids)

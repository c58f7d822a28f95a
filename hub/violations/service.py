"""Violations: recording one against a unit (and its renovation permit, where there is one),
the measures taken in order, the manager's penalty, the photos, the month's figures and the
copy for finance, and retention (1 year general, 5 major: then purged).

Every change is audited in the same transaction; the unit must be in the units register; a
permit is checked against hub.permits' table when that table exists (it is built beside
this domain), and kept as given either way.
"""

from __future__ import annotations

import json
import logging
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import sqlite_utils

from hub import audit
from hub.access.plan import calendar
from hub.auth import Principal
from hub.db import Store
from hub.errors import BadInput, Conflict, NotFound, RuleViolation
from hub.i18n.validation import N_
from hub.violations import rules
from hub.violations.models import (CATEGORIES, KIND_CATEGORY, KIND_NAMES, LEVEL_NAMES, LEVELS, MAX_PHOTOS, MEASURE_NAMES,
                                   HandledIn, MeasureIn, PenaltyIn, ViolationIn)
from hub.visitors.models import utc
from hub.web.downloads import csv_bytes

log = logging.getLogger(__name__)

MAX_LIST = 500
#: a browser's clock a little ahead of the hub's is not a violation found in the future
CLOCK_SKEW = timedelta(minutes=5)


def _now() -> datetime:
    return datetime.now(timezone.utc)


def zone(db: sqlite_utils.Database) -> ZoneInfo:
    return ZoneInfo(calendar(db)[0])


def check_month(month: str) -> str:
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise BadInput("a month is written YYYY-MM, not {month}", rule="bad_month", field="month", month=month) from None
    return month


# -- reading ---------------------------------------------------------------------------------

def view(db: sqlite_utils.Database, row: dict[str, Any]) -> dict[str, Any]:
    measures = [dict(m) for m in db.execute(
        "SELECT measure, note, deadline, at, by FROM violation_measures WHERE violation_id = ? ORDER BY id",
        [row["id"]])]
    return {
        "id": row["id"], "unit": row["unit"], "permit": row["permit"], "category": row["category"],
        "kind": row["kind"], "what": row["what"], "place": row["place"], "found_at": row["found_at"],
        "found_by": row["found_by"], "level": row["level"], "month": row["month"],
        "photos": json.loads(row["photos"]), "measures": measures,
        "penalty": ({"amount_cents": row["penalty_cents"], "reason": row["penalty_reason"], "by": row["penalty_by"],
                     "at": row["penalty_at"]} if row["penalty_cents"] is not None else None),
        "state": "handled" if row["handled_at"] else "open", "handled_at": row["handled_at"],
        "keep_until": row["keep_until"], "recorded_at": row["recorded_at"], "recorded_by": row["recorded_by"],
    }


def _row(db: sqlite_utils.Database, violation_id: int) -> dict[str, Any]:
    row = db.execute("SELECT * FROM violations WHERE id = ?", [violation_id]).fetchone()
    if row is None:
        raise NotFound("no violation {violation_id}", rule="unknown_violation", field="violation_id",
                       violation_id=violation_id)
    return dict(row)


def get(store: Store, violation_id: int) -> dict[str, Any]:
    with store.read() as db:
        return view(db, _row(db, violation_id))


def listing(store: Store, *, unit: str | None = None, month: str | None = None, level: str | None = None,
            category: str | None = None, state: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    where, args = [], []
    if unit:
        where.append("unit = ?")
        args.append(unit.strip().upper())
    if month:
        where.append("month = ?")
        args.append(check_month(month))
    if level:
        if level not in LEVELS:
            raise BadInput("level must be one of {levels}", rule="bad_level", field="level", levels=", ".join(LEVELS))
        where.append("level = ?")
        args.append(level)
    if category:
        if category not in CATEGORIES:
            raise BadInput("category must be one of {categories}", rule="bad_category", field="category",
                           categories=", ".join(CATEGORIES))
        where.append("category = ?")
        args.append(category)
    if state:
        if state not in ("open", "handled"):
            raise BadInput("state must be open or handled", rule="bad_state", field="state")
        where.append("handled_at IS NULL" if state == "open" else "handled_at IS NOT NULL")
    sql = "SELECT * FROM violations" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY found_at DESC, id DESC LIMIT ?"
    with store.read() as db:
        return [view(db, dict(r)) for r in db.execute(sql, [*args, max(1, min(limit, MAX_LIST))])]


# -- recording -------------------------------------------------------------------------------

def _permit_columns(db: sqlite_utils.Database) -> list[str]:
    """The columns of hub.permits' table that may name a permit (none until that table exists)."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(permits)")}
    return [c for c in ("number", "permit_no", "permit_id", "id") if c in cols]


def check_permit(db: sqlite_utils.Database, permit: str, unit: str) -> None:
    cols = _permit_columns(db)
    if not cols:
        return
    where = " OR ".join(f"CAST({c} AS TEXT) = ?" for c in cols)
    row = db.execute(f"SELECT * FROM permits WHERE {where} LIMIT 1", [permit] * len(cols)).fetchone()
    if row is None:
        raise BadInput("no renovation permit {permit}", rule="unknown_permit", field="permit", permit=permit)
    held = dict(row).get("unit")
    if held is not None and str(held).upper() != unit:
        raise BadInput("renovation permit {permit} is for unit {other}, not {unit}", rule="permit_other_unit",
                       field="permit", permit=permit, other=held, unit=unit)


def record(store: Store, who: Principal, req: ViolationIn, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    if req.found_at > now + CLOCK_SKEW:
        raise BadInput("a violation cannot be found in the future", rule="found_in_future", field="found_at")
    with store.tx() as db:
        if not db.execute("SELECT 1 FROM units WHERE code = ?", [req.unit]).fetchone():
            raise BadInput("unit {unit} is not in the units register", rule="unknown_unit", field="unit",
                           unit=req.unit)
        if req.permit:
            check_permit(db, req.permit, req.unit)
        vid = db["violations"].insert({
            "unit": req.unit, "permit": req.permit, "category": KIND_CATEGORY[req.kind], "kind": req.kind,
            "what": req.what, "place": req.place, "found_at": utc(req.found_at), "found_by": req.found_by,
            "level": req.level, "month": req.found_at.astimezone(zone(db)).strftime("%Y-%m"),
            "keep_until": utc(rules.keep_until(req.found_at, req.level)), "photos": "[]",
            "recorded_at": utc(now), "recorded_by": who.who,
        }).last_pk
        audit.record(db, who.who, "record", "violation", str(vid), unit=req.unit, permit=req.permit, kind=req.kind,
                     level=req.level, found_by=req.found_by)
        return view(db, _row(db, vid))


def _open(row: dict[str, Any]) -> None:
    if row["handled_at"]:
        raise Conflict("violation {violation_id} is handled: it takes no more steps", rule="violation_handled",
                       violation_id=row["id"])


def add_measure(store: Store, who: Principal, violation_id: int, req: MeasureIn,
                now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with store.tx() as db:
        row = _row(db, violation_id)
        _open(row)
        taken = [r[0] for r in db.execute(
            "SELECT measure FROM violation_measures WHERE violation_id = ? ORDER BY id", [violation_id])]
        rules.check_measure(taken, req.measure, req.deadline, now.astimezone(zone(db)).date())
        db["violation_measures"].insert({"violation_id": violation_id, "measure": req.measure, "note": req.note,
                                         "deadline": req.deadline, "at": utc(now), "by": who.who})
        audit.record(db, who.who, "measure", "violation", str(violation_id), reason=req.note or None,
                     measure=req.measure, deadline=req.deadline, unit=row["unit"])
        return view(db, _row(db, violation_id))


def set_penalty(store: Store, who: Principal, violation_id: int, req: PenaltyIn,
                now: datetime | None = None) -> dict[str, Any]:
    rules.check_penaliser(who.role)
    now = now or _now()
    with store.tx() as db:
        row = _row(db, violation_id)
        if row["penalty_cents"] is not None:
            raise Conflict("violation {violation_id} already has its penalty", rule="penalty_already_set",
                           violation_id=violation_id)
        db["violations"].update(violation_id, {"penalty_cents": req.amount_cents, "penalty_reason": req.reason,
                                               "penalty_by": who.who, "penalty_at": utc(now)})
        audit.record(db, who.who, "penalty", "violation", str(violation_id), reason=req.reason,
                     amount_cents=req.amount_cents, unit=row["unit"])
        return view(db, _row(db, violation_id))


def mark_handled(store: Store, who: Principal, violation_id: int, req: HandledIn,
                 now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with store.tx() as db:
        row = _row(db, violation_id)
        _open(row)
        db["violations"].update(violation_id, {"handled_at": utc(now), "handled_by": who.who,
                                               "handled_note": req.note})
        audit.record(db, who.who, "handled", "violation", str(violation_id), reason=req.note or None,
                     unit=row["unit"])
        return view(db, _row(db, violation_id))


def add_photo(store: Store, who: Principal, violation_id: int, photo_id: str) -> dict[str, Any]:
    """A stored photo (hub.photos.store_photo) joins the record; at most MAX_PHOTOS."""
    with store.tx() as db:
        row = _row(db, violation_id)
        held = json.loads(row["photos"])
        if photo_id not in held:
            if len(held) >= MAX_PHOTOS:
                raise RuleViolation("a violation keeps at most {count} photos", rule="too_many_photos",
                                    field="photo", count=MAX_PHOTOS)
            held.append(photo_id)
            db["violations"].update(violation_id, {"photos": json.dumps(held)})
            audit.record(db, who.who, "photo", "violation", str(violation_id), photo_id=photo_id, unit=row["unit"])
        return view(db, _row(db, violation_id))


def photo_of(store: Store, violation_id: int, photo_id: str) -> str:
    with store.read() as db:
        row = _row(db, violation_id)
    if photo_id not in json.loads(row["photos"]):
        raise NotFound("no such photo", rule="no_photo", field="photo_id")
    return photo_id


# -- the month -------------------------------------------------------------------------------

def households(db: sqlite_utils.Database) -> int:
    """Households living on the estate now (those moved in and not out), else the units."""
    n = db.execute("SELECT COUNT(DISTINCT unit_code) FROM households WHERE move_out_date IS NULL").fetchone()[0]
    return n or db.execute("SELECT COUNT(*) FROM units").fetchone()[0]


def figures(db: sqlite_utils.Database, month: str) -> dict[str, Any]:
    """The month's violations: count, rate per households (percent), by level, by kind, handled."""
    check_month(month)
    by_level = {level: 0 for level in LEVELS}
    for level, n in db.execute("SELECT level, COUNT(*) FROM violations WHERE month = ? GROUP BY level", [month]):
        by_level[level] = n
    for level, n in db.execute("SELECT level, purged FROM violation_months WHERE month = ?", [month]):
        by_level[level] = by_level.get(level, 0) + n
    by_kind = {k: n for k, n in db.execute(
        "SELECT kind, COUNT(*) FROM violations WHERE month = ? GROUP BY kind ORDER BY kind", [month])}
    handled = db.execute("SELECT COUNT(*) FROM violations WHERE month = ? AND handled_at IS NOT NULL",
                         [month]).fetchone()[0]
    count = sum(by_level.values())
    homes = households(db)
    return {"month": month, "households": homes, "count": count,
            "rate_percent": round(100.0 * count / homes, 3) if homes else None,
            "by_level": by_level, "by_kind": by_kind, "handled": handled}


FINANCE_COLUMNS = ("id", "unit", "permit", "kind", "level", "found_at", "what", "penalty_yuan", "penalty_reason",
                   "penalty_by", "measures")
FINANCE_HEADINGS = {
    "id": N_("No."), "unit": N_("Unit"), "permit": N_("Permit"), "kind": N_("Kind"), "level": N_("Level"),
    "found_at": N_("Found"), "what": N_("What"), "penalty_yuan": N_("Penalty (yuan)"),
    "penalty_reason": N_("Reason for the penalty"), "penalty_by": N_("Penalised by"), "measures": N_("Measures"),
}


def finance_csv(db: sqlite_utils.Database, month: str, say: Callable[[str], str] = str) -> bytes:
    """The month's copy for finance: violations found in the month or penalised in it."""
    check_month(month)
    tz = zone(db)
    lines: list[list[object]] = []
    rows = [dict(r) for r in db.execute("SELECT * FROM violations ORDER BY found_at, id")]
    for r in rows:
        penalised = r["penalty_at"] and datetime.fromisoformat(r["penalty_at"]).astimezone(tz).strftime("%Y-%m")
        if r["month"] != month and penalised != month:
            continue
        measures = [m[0] for m in db.execute(
            "SELECT measure FROM violation_measures WHERE violation_id = ? ORDER BY id", [r["id"]])]
        lines.append([
            r["id"], r["unit"], r["permit"] or "", say(KIND_NAMES[r["kind"]]), say(LEVEL_NAMES[r["level"]]),
            datetime.fromisoformat(r["found_at"]).astimezone(tz).strftime("%Y-%m-%d %H:%M"), r["what"],
            f"{r['penalty_cents'] / 100:.2f}" if r["penalty_cents"] is not None else "", r["penalty_reason"] or "",
            r["penalty_by"] or "", "; ".join(say(MEASURE_NAMES[m]) for m in measures),
        ])
    return csv_bytes([say(FINANCE_HEADINGS[c]) for c in FINANCE_COLUMNS], lines)


# -- retention -------------------------------------------------------------------------------

def purge(db: sqlite_utils.Database, now: datetime, photo_dir: Path | None = None,
          after_commit: Callable[[Callable[[], None]], None] | None = None) -> int:
    """Violations past their keep_until leave the hub, counted per month and level first so the
    month's figures stay as they were; their photos go too unless something else holds them.
    Inside the caller's transaction (the ticker's); how many went."""
    cutoff = utc(now)
    gone = [dict(r) for r in db.execute("SELECT id, month, level, photos FROM violations WHERE keep_until <= ?",
                                        [cutoff])]
    if not gone:
        return 0
    counts: dict[tuple[str, str], int] = {}
    for r in gone:
        counts[(r["month"], r["level"])] = counts.get((r["month"], r["level"]), 0) + 1
    for (month, level), n in counts.items():
        db.execute("INSERT INTO violation_months (month, level, purged) VALUES (?, ?, ?) ON CONFLICT (month, level)"
                   " DO UPDATE SET purged = purged + excluded.purged", [month, level, n])
    ids = [r["id"] for r in gone]
    marks = ",".join("?" * len(ids))
    db.execute(f"DELETE FROM violation_measures WHERE violation_id IN ({marks})", ids)
    db.execute(f"DELETE FROM violations WHERE id IN ({marks})", ids)
    photos = {p for r in gone for p in json.loads(r["photos"])}
    audit.record(db, "hub", "purge", "violations", cutoff[:10], count=len(ids),
                 general=sum(n for (m, lv), n in counts.items() if lv == "general"),
                 major=sum(n for (m, lv), n in counts.items() if lv == "major"))
    if photo_dir is not None and photos:
        held = {p for r in db.execute("SELECT photos FROM violations") for p in json.loads(r[0])}
        held |= {r[0] for r in db.execute("SELECT photo_id FROM people WHERE photo_id IS NOT NULL")}
        doomed = sorted(photos - held)

        def remove() -> None:  # only once the rows are gone for good
            for photo_id in doomed:
                try:
                    (photo_dir / photo_id).unlink(missing_ok=True)
                except OSError as exc:
                    log.warning("could not remove purged violation photo %s (%s)", photo_id, exc)

        (after_commit or (lambda fn: fn()))(remove)
    log.info("violation retention: %d records purged", len(ids))
    return len(ids)


def today(db: sqlite_utils.Database, now: datetime) -> date:
    return now.astimezone(zone(db)).date()

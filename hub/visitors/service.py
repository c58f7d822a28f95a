"""Visits: the rules of registering, arriving, leaving, and what the gates' visit events mean.

Who registers: a guard or a supervisor at the gatehouse (the visitor is there: the ID
number is required), the desk (clerk) or a resident app's token ahead of time (the token
only for its own unit; the ID number may follow when the guard confirms the arrival). The
host unit must be in the units register (hub.people.registry). A watch-list match refuses
the registration (rule ``watch_list_hit``, 409) and raises an alarm, unless a supervisor
registers the visitor with a reason; either way the hit is counted.

A visit is ``expected`` until the visitor is in (a granted visit event "in" at a gate, or
the guard's arrive), ``inside`` until out (a granted "out", or the guard's leave), then
``left``; a visit ended before arrival is ``cancelled`` (its passes revoked). Every change
is audited, never with an ID number or phone.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from hub import audit
from hub.access.plan import calendar
from hub.auth import Principal, Role
from hub.config import VisitorsSection
from hub.db import Store
from hub.errors import BadInput, Conflict, Forbidden, NotFound
from hub.i18n.validation import N_
from hub.people.names import TRIGRAM, fts_phrase
from hub.visitors import passes, watchlist
from hub.visitors.keys import VisitorKeys
from hub.visitors.models import ArriveIn, LeaveIn, PassIn, VisitIn, masked, phone_digits, utc
from protocols.messages import Decision, Direction, GateEvent

log = logging.getLogger(__name__)

#: roles that register at the gatehouse, with the visitor there
AT_THE_GATE = frozenset({Role.ADMIN, Role.SUPERVISOR, Role.GUARD})
#: roles that may register past a watch-list hit, with a reason
OVERRIDERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
#: a form opened further back than this is not a form opened for this visitor
FORM_AGE = timedelta(hours=12)
#: "registered within 5 minutes" (the estate's target at the gatehouse)
TARGET_S = 300
MAX_LIST = 500


@dataclass
class Visitors:
    """What the visitor rules need of the hub: one per app (``app.state.visitors``)."""

    store: Store
    keys: VisitorKeys
    site: str
    settings: VisitorsSection


def _now() -> datetime:
    return datetime.now(timezone.utc)


def month_of(db: sqlite_utils.Database, at: datetime) -> str:
    """YYYY-MM of ``at`` in the estate's timezone (the access calendar's)."""
    return at.astimezone(ZoneInfo(calendar(db)[0])).strftime("%Y-%m")


def raise_alarm(db: sqlite_utils.Database, kind: str, now: datetime, **kw: Any) -> int | None:
    """hub.alarms.service.raise_alarm, when the alarms are there (built beside this domain)."""
    try:
        from hub.alarms.service import raise_alarm as alarm
    except ImportError:
        log.warning("no hub.alarms: a %s alarm is not raised", kind)
        return None
    return alarm(db, kind, now, **kw)


# -- reading -----------------------------------------------------------------------------

def state_of(row: dict[str, Any]) -> str:
    if row["cancelled_at"]:
        return "cancelled"
    if row["checked_out_at"]:
        return "left"
    if row["checked_in_at"]:
        return "inside"
    return "expected"


def visit_view(db: sqlite_utils.Database, row: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    rows = db.query("SELECT * FROM visit_passes WHERE visit_id = ? ORDER BY created_at", [row["id"]])
    return {
        "visit_id": row["id"],
        "visitor_name": row["visitor_name"],
        "id_type": row["id_type"],
        "id_masked": masked(row["id_last4"], row["id_len"]),
        "phone_masked": masked(row["phone_last4"], row["phone_len"]),
        "host_unit": row["host_unit"],
        "purpose": row["purpose"],
        "party_size": row["party_size"],
        "plate": row["plate"],
        "expected_leave_at": row["expected_leave_at"],
        "state": state_of(row),
        "registered_at": row["registered_at"],
        "registered_by": row["registered_by"],
        "pre_registered": bool(row["pre_registered"]),
        "checked_in_at": row["checked_in_at"],
        "checked_out_at": row["checked_out_at"],
        "overstay": bool(row["overstay_at"]),
        "watch_override": bool(row["watch_override"]),
        "passes": [passes.view(p, now) for p in rows],
    }


def _row(db: sqlite_utils.Database, visit_id: int) -> dict[str, Any]:
    row = db.execute("SELECT * FROM visits WHERE id = ?", [visit_id]).fetchone()
    if row is None:
        raise NotFound("no visit {visit_id}", rule="unknown_visit", field="visit_id", visit_id=visit_id)
    return dict(row)


def _may_see(who: Principal, row: dict[str, Any]) -> None:
    if who.role == Role.RESIDENT_APP and row["host_unit"] != who.unit:
        raise NotFound("no visit {visit_id}", rule="unknown_visit", field="visit_id", visit_id=row["id"])


def get_visit(ctx: Visitors, who: Principal, visit_id: int) -> dict[str, Any]:
    with ctx.store.read() as db:
        row = _row(db, visit_id)
        _may_see(who, row)
        return visit_view(db, row)


STATES = ("expected", "inside", "left", "cancelled")
_STATE_SQL = {
    "expected": "checked_in_at IS NULL AND cancelled_at IS NULL AND checked_out_at IS NULL",
    "inside": "checked_in_at IS NOT NULL AND checked_out_at IS NULL AND cancelled_at IS NULL",
    "left": "checked_out_at IS NOT NULL AND cancelled_at IS NULL",
    "cancelled": "cancelled_at IS NOT NULL",
}


#: a search the trigram index finds more visits for than this walks the newest visits with
#: the search's own condition instead, as it would without the index: so many matches are
#: soon met that way, and fetching and sorting them all would take longer
DENSE = 2000


def _search(text: str) -> tuple[str, list[Any], str | None]:
    """What ``q`` finds: (its condition on visits, the condition's arguments, a MATCH query of
    the trigram index (hub.visitors.models) finding every row the condition does, or None when
    none can: a piece shorter than a trigram, or a plate pattern with LIKE's own characters).

    The condition alone decides what is listed; the index only narrows the rows it is tried on."""
    like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    plate = text.upper().replace(" ", "").replace("-", "")
    condition = "(visitor_name LIKE ? ESCAPE '\\' OR plate LIKE ? ESCAPE '\\' OR host_unit LIKE ? ESCAPE '\\')"
    args: list[Any] = [like, "%" + plate + "%", like.upper()]
    # the unit's pattern is the name's upper-cased: its escapes stay escapes, its text is text.upper()
    pieces = {"visitor_name": text, "plate": plate, "host_unit": text.upper()}
    if any(len(p) < TRIGRAM or "\x00" in p for p in pieces.values()) or any(c in plate for c in "%_\\"):
        return condition, args, None
    return condition, args, " OR ".join(f"{column} : {fts_phrase(p)}" for column, p in pieces.items())


def list_visits(ctx: Visitors, who: Principal, q: str | None = None, state: str | None = None,
                limit: int = 50) -> list[dict[str, Any]]:
    """Newest first; ``q``: part of the visitor's name, the plate or the host unit (the
    guard finding a visit registered ahead)."""
    where, args = [], []
    if state:
        if state not in STATES:
            raise BadInput("state must be one of {states}", rule="bad_state", field="state", states=", ".join(STATES))
        where.append(_STATE_SQL[state])
    match = None
    if q and q.strip():
        condition, search_args, match = _search(q.strip())
        where.append(condition)
        args += search_args
    if who.role == Role.RESIDENT_APP:
        where.append("host_unit = ?")
        args.append(who.unit or "")
    now = _now()
    with ctx.store.read() as db:
        if match is not None and _found(db, match) <= DENSE:
            where.append("id IN (SELECT rowid FROM visits_find WHERE visits_find MATCH ?)")
            args.append(match)
        sql = "SELECT * FROM visits" + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY registered_at DESC, id DESC LIMIT ?"
        return [visit_view(db, dict(r), now) for r in db.query(sql, [*args, max(1, min(limit, MAX_LIST))])]


def _found(db: sqlite_utils.Database, match: str) -> int:
    """How many visits the trigram index finds for ``match``, counted up to DENSE + 1."""
    return db.execute("SELECT COUNT(*) FROM (SELECT rowid FROM visits_find WHERE visits_find MATCH ? LIMIT ?)",
                      [match, DENSE + 1]).fetchone()[0]


def inside(db: sqlite_utils.Database) -> list[dict[str, Any]]:
    """Visits whose visitor is inside now, longest inside first (the shift handover)."""
    now = _now()
    return [visit_view(db, dict(r), now) for r in db.query(
        f"SELECT * FROM visits WHERE {_STATE_SQL['inside']} ORDER BY checked_in_at")]


# -- registering -----------------------------------------------------------------------------

def _check_unit(db: sqlite_utils.Database, unit: str) -> None:
    if not db.execute("SELECT 1 FROM units WHERE code = ?", [unit]).fetchone():
        raise BadInput("unit {unit} is not in the units register", rule="unknown_unit", field="host_unit", unit=unit)


def _watch(db: sqlite_utils.Database, who: Principal, now: datetime, *, name: str, unit: str,
           id_hash: str | None, phone_hash: str | None, plate: str | None,
           override: str | None) -> tuple[list[str], int | None, bool]:
    """A watch-list check of one registration: (what matched, the hit's id, refused?).

    A hit is counted either way. Refused (no override, or an override from someone who may
    not give one): audited and alarmed here, and the caller commits, then refuses. Overridden
    by a supervisor with a reason: the caller records the visit and the override."""
    hit = watchlist.matches(db, id_hash=id_hash, phone_hash=phone_hash, plate=plate)
    if not hit:
        return [], None, False
    overridden = bool(override) and who.role in OVERRIDERS
    hit_id = db["visit_hits"].insert({"at": utc(now), "month": month_of(db, now), "kinds": ",".join(hit),
                                      "host_unit": unit, "who": who.who, "overridden": int(overridden)}).last_pk
    if overridden:
        return hit, hit_id, False
    audit.record(db, who.who, "watch_list_hit", "visit_hit", str(hit_id), matched=",".join(hit), unit=unit,
                 visitor=name)
    raise_alarm(db, "watch_list_hit", now, subject=f"watch_hit:{hit_id}",
                detail={"visitor": name, "host_unit": unit, "matched": ",".join(hit), "by": who.who})
    return hit, hit_id, True


WATCH_REFUSAL = N_("this visitor matches the watch list: only a supervisor may register them, with a reason")


def _hashes(ctx: Visitors, id_number: str | None, phone: str | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if id_number:
        out.update(id_hash=ctx.keys.digest("id", id_number), id_last4=id_number[-4:], id_len=len(id_number))
    if phone:
        digits = phone_digits(phone)
        out.update(phone_hash=ctx.keys.digest("phone", digits), phone_last4=digits[-4:], phone_len=len(digits))
    return out


def register(ctx: Visitors, who: Principal, req: VisitIn, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    if who.role == Role.RESIDENT_APP and (who.unit is None or req.host_unit != who.unit):
        raise Forbidden("this token registers visitors for unit {unit} only", rule="unit_not_allowed",
                        field="host_unit", unit=who.unit or "-")
    at_gate = who.role in AT_THE_GATE
    if at_gate and not req.id_number:
        raise BadInput("the visitor's ID number is required at the gatehouse", rule="id_number_required",
                       field="id_number")
    if req.form_opened_at is not None and not (now - FORM_AGE <= req.form_opened_at <= now + timedelta(minutes=1)):
        raise BadInput("the form's opening time is not within the last 12 hours", rule="bad_form_time",
                       field="form_opened_at")
    if req.expected_leave_at is not None and req.expected_leave_at <= now:
        raise BadInput("the expected leaving time is already past", rule="leave_in_past", field="expected_leave_at")
    hashes = _hashes(ctx, req.id_number, req.phone)
    with ctx.store.tx() as db:
        _check_unit(db, req.host_unit)
        hit, hit_id, refused = _watch(db, who, now, name=req.visitor_name, unit=req.host_unit,
                                      id_hash=hashes.get("id_hash"), phone_hash=hashes.get("phone_hash"),
                                      plate=req.plate, override=req.override_reason)
        if not refused:
            row = {
                "visitor_name": req.visitor_name, "id_type": req.id_type, **hashes, "host_unit": req.host_unit,
                "purpose": req.purpose, "party_size": req.party_size, "plate": req.plate,
                "expected_leave_at": utc(req.expected_leave_at) if req.expected_leave_at else None,
                "form_opened_at": utc(req.form_opened_at) if req.form_opened_at else None,
                "handled_s": (now - req.form_opened_at).total_seconds() if req.form_opened_at else None,
                "pre_registered": int(not at_gate), "registered_at": utc(now), "registered_by": who.who,
                "month": month_of(db, now), "watch_override": None,
            }
            if hit:
                row["watch_override"] = req.override_reason
            visit_id = db["visits"].insert(row).last_pk
            if hit:
                db.execute("UPDATE visit_hits SET visit_id = ? WHERE id = ?", [visit_id, hit_id])
                audit.record(db, who.who, "watch_list_override", "visit", str(visit_id), reason=req.override_reason,
                             matched=",".join(hit), unit=req.host_unit)
            audit.record(db, who.who, "register", "visit", str(visit_id), unit=req.host_unit,
                         visitor=req.visitor_name, id_type=req.id_type, party_size=req.party_size, plate=req.plate,
                         pre_registered=not at_gate)
            view = visit_view(db, _row(db, visit_id), now)
    if refused:
        raise Conflict(WATCH_REFUSAL, rule="watch_list_hit")
    return view


def arrive(ctx: Visitors, who: Principal, visit_id: int, req: ArriveIn, now: datetime | None = None) -> dict[str, Any]:
    """The guard confirms the visitor at the gate (a visit registered ahead: with their ID)."""
    now = now or _now()
    hashes = _hashes(ctx, req.id_number, None)
    with ctx.store.tx() as db:
        row = _row(db, visit_id)
        if state_of(row) != "expected":
            raise Conflict("visit {visit_id} is {state}, not expected", rule="visit_not_expected",
                           visit_id=visit_id, state=state_of(row))
        if not row["id_hash"] and not hashes:
            raise BadInput("the visitor's ID number is required at the gatehouse", rule="id_number_required",
                           field="id_number")
        hit, hit_id, refused = [], None, False
        if hashes:
            hit, hit_id, refused = _watch(db, who, now, name=row["visitor_name"], unit=row["host_unit"],
                                          id_hash=hashes["id_hash"], phone_hash=None, plate=None,
                                          override=req.override_reason)
        if not refused:
            change: dict[str, Any] = {"checked_in_at": utc(now), **hashes}
            if req.id_type and hashes:
                change["id_type"] = req.id_type
            if hit:
                change["watch_override"] = req.override_reason
                db.execute("UPDATE visit_hits SET visit_id = ? WHERE id = ?", [visit_id, hit_id])
            db["visits"].update(visit_id, change)
            audit.record(db, who.who, "arrive", "visit", str(visit_id), unit=row["host_unit"],
                         **({"watch_override": req.override_reason} if change.get("watch_override") else {}))
            view = visit_view(db, _row(db, visit_id), now)
    if refused:
        raise Conflict(WATCH_REFUSAL, rule="watch_list_hit")
    return view


def leave(ctx: Visitors, who: Principal, visit_id: int, req: LeaveIn, now: datetime | None = None) -> dict[str, Any]:
    """The visitor has left (the guard saw them go); a visit that never arrived is cancelled
    and its passes revoked."""
    now = now or _now()
    with ctx.store.tx() as db:
        row = _row(db, visit_id)
        state = state_of(row)
        if state in ("left", "cancelled"):
            raise Conflict("visit {visit_id} has already ended", rule="visit_ended", visit_id=visit_id)
        if state == "inside":
            db["visits"].update(visit_id, {"checked_out_at": utc(now)})
            audit.record(db, who.who, "leave", "visit", str(visit_id), reason=req.note, unit=row["host_unit"])
        else:
            db["visits"].update(visit_id, {"cancelled_at": utc(now)})
            for p in list(db.query("SELECT pass_id FROM visit_passes WHERE visit_id = ? AND revoked_at IS NULL",
                                   [visit_id])):
                passes.revoke(db, ctx, who.who, p["pass_id"], "visit cancelled", now)
            audit.record(db, who.who, "cancel", "visit", str(visit_id), reason=req.note, unit=row["host_unit"])
        return visit_view(db, _row(db, visit_id), now)


def add_pass(ctx: Visitors, who: Principal, visit_id: int, req: PassIn, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with ctx.store.tx() as db:
        row = _row(db, visit_id)
        _may_see(who, row)
        first = not db.execute("SELECT 1 FROM visit_passes WHERE visit_id = ?", [visit_id]).fetchone()
        made = passes.make(db, ctx, who, row, req, now)
        if first and row["form_opened_at"]:  # the pass in hand: the end of the timed registration
            opened = datetime.fromisoformat(row["form_opened_at"])
            db["visits"].update(visit_id, {"handled_s": (now - opened).total_seconds()})
        return passes.view(made, now)


def revoke_pass(ctx: Visitors, who: Principal, pass_id: str, reason: str | None,
                now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with ctx.store.tx() as db:
        return passes.view(passes.revoke(db, ctx, who.who, pass_id.upper(), reason, now), now)


def pass_text(ctx: Visitors, who: Principal, pass_id: str) -> str:
    with ctx.store.read() as db:
        row = db.execute("SELECT p.kind, p.text, v.host_unit, v.id FROM visit_passes p JOIN visits v"
                         " ON v.id = p.visit_id WHERE p.pass_id = ?", [pass_id.upper()]).fetchone()
    if row is None or row[0] != "qr":
        raise NotFound("no QR pass {pass_id}", rule="unknown_pass", field="pass_id", pass_id=pass_id)
    return row[1]


# -- what the gates say ----------------------------------------------------------------------

def on_visit_event(db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
    """A stored visit event (hub.events.reactions): a granted "in" checks the visitor in (the
    first time) and counts an entry across gates; a granted "out" checks them out."""
    if event.pass_id is None or event.decision != Decision.GRANTED:
        return
    row = db.execute("SELECT * FROM visit_passes WHERE pass_id = ?", [event.pass_id]).fetchone()
    if row is None:
        return
    row = dict(row)
    visit = _row(db, row["visit_id"])
    at = utc(event.at)
    who = f"gate:{event.gate_id}"
    if event.direction == Direction.OUT:
        if visit["checked_in_at"] and not visit["checked_out_at"]:
            db["visits"].update(visit["id"], {"checked_out_at": at})
            audit.record(db, who, "check_out", "visit", str(visit["id"]), pass_id=row["pass_id"],
                         unit=visit["host_unit"], event_id=event.event_id)
        return
    change: dict[str, Any] = {}
    if not visit["checked_in_at"]:
        change["checked_in_at"] = at
    elif visit["checked_out_at"] and at > visit["checked_out_at"]:
        change["checked_out_at"] = None  # in again on a pass of several entries
    if change:
        db["visits"].update(visit["id"], change)
        audit.record(db, who, "check_in", "visit", str(visit["id"]), pass_id=row["pass_id"],
                     unit=visit["host_unit"], event_id=event.event_id)
    passes.count_entry(db, row, who)


def check_overstays(grace: timedelta):
    """The ticker's check: an alarm for each visitor still inside ``grace`` past their
    expected leaving time (once per visit)."""

    def check(db: sqlite_utils.Database, now: datetime) -> None:
        due = list(db.query(
            f"SELECT * FROM visits WHERE {_STATE_SQL['inside']} AND overstay_at IS NULL"
            " AND expected_leave_at IS NOT NULL AND expected_leave_at < ?", [utc(now - grace)]))
        for row in due:
            db["visits"].update(row["id"], {"overstay_at": utc(now)})
            audit.record(db, "hub", "overstay", "visit", str(row["id"]), unit=row["host_unit"],
                         expected_leave_at=row["expected_leave_at"])
            raise_alarm(db, "overstay", now, subject=f"visit:{row['id']}",
                        detail={"visitor": row["visitor_name"], "host_unit": row["host_unit"],
                                "expected_leave_at": row["expected_leave_at"]})

    return check


def gates_of(row: dict[str, Any]) -> list[str]:
    return json.loads(row["gates"])

"""Release slips: issuing one (goods leaving, or a household moving out), cancelling it, and
a guard's check at a gate, which uses it up and records the exit.

A move-out is refused while the household's fee position (hub.slips.fees, from the finance
system) owes anything, or while there is none, unless the manager issues it with a reason;
a tenant's needs the owner's confirmation (hub.slips.rules). A slip's QR is a visitor-pass
text signed with the hub's pass key (hub.visitors.keys, protocols.visitpass), valid on its
day at its gates, for one use: gates check it offline (the gate helper's), and what a
signature cannot say (used, cancelled) reaches them as list blocks under its pass_id, as
for a visitor's pass (hub.gates.acl.list_block). See hub/slips/API.md.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from hub import audit
from hub.access.plan import calendar
from hub.auth import Principal
from hub.db import Store
from hub.errors import BadInput, Forbidden, NotFound
from hub.gates import acl
from hub.slips import fees, rules
from hub.slips.models import STATES, CancelIn, CheckIn, SlipIn
from hub.visitors.keys import VisitorKeys
from hub.visitors.models import utc
from protocols import visitpass
from protocols.cards import CardStatus
from protocols.messages import Decision, Direction, GateEvent
from protocols.topics import BadTopic, check_name

MAX_LIST = 500


@dataclass
class Slips:
    """What the slip rules need of the hub: one per app (``app.state.slips``)."""

    store: Store
    keys: VisitorKeys
    site: str


def _now() -> datetime:
    return datetime.now(timezone.utc)


def zone(db: sqlite_utils.Database) -> ZoneInfo:
    return ZoneInfo(calendar(db)[0])


def day_window(day: date, tz: ZoneInfo) -> tuple[datetime, datetime]:
    """The first and last second of ``day`` in the estate's timezone (as the QR says them)."""
    start = datetime.combine(day, time(0, 0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0, 0), tz) - timedelta(seconds=1)
    return start, end


# -- reading ---------------------------------------------------------------------------------

def state_of(row: dict[str, Any], today: date) -> str:
    """A slip's state: the first that holds of cancelled, used, expired (its day past), issued.
    STATE_SQL below says the same rule in SQL, for the listing's filter: change both together
    (tests/slips prove they agree on rows of every state)."""
    if row["cancelled_at"] is not None:
        return "cancelled"
    if row["used_at"] is not None:
        return "used"
    if row["day"] < today.isoformat():
        return "expired"
    return "issued"


#: state_of as a WHERE clause over ``slips``; each ``?`` is the estate's date today (ISO).
STATE_SQL = {
    "cancelled": "cancelled_at IS NOT NULL",
    "used": "cancelled_at IS NULL AND used_at IS NOT NULL",
    "expired": "cancelled_at IS NULL AND used_at IS NULL AND day < ?",
    "issued": "cancelled_at IS NULL AND used_at IS NULL AND day >= ?",
}


def view(row: dict[str, Any], today: date) -> dict[str, Any]:
    has_fees = row["fee_as_of"] is not None
    return {
        "number": row["number"], "pass_id": row["pass_id"], "kind": row["kind"], "unit": row["unit"],
        "applicant": row["applicant"], "standing": row["standing"], "items": json.loads(row["items"]),
        "vehicle": row["vehicle"], "date": row["day"], "gates": json.loads(row["gates"]),
        "owner_confirmation": ({"name": row["owner_name"], "how": row["owner_how"], "at": row["owner_at"],
                                "by": row["owner_by"]} if row["owner_name"] else None),
        "fees": ({"owed_cents": row["fee_owed_cents"], "as_of": row["fee_as_of"],
                  "imported_at": row["fee_imported_at"],
                  "age_days": (today - date.fromisoformat(row["fee_as_of"])).days} if has_fees else None),
        "override": ({"reason": row["override_reason"], "by": row["override_by"], "at": row["override_at"]}
                     if row["override_reason"] else None),
        "state": state_of(row, today), "used_at": row["used_at"], "used_gate": row["used_gate"],
        "used_by": row["used_by"], "cancelled_at": row["cancelled_at"], "cancel_reason": row["cancel_reason"],
        "qr": row["qr"], "created_at": row["created_at"], "created_by": row["created_by"],
    }


def _by_number(db: sqlite_utils.Database, number: str) -> dict[str, Any]:
    row = db.execute("SELECT * FROM slips WHERE number = ?", [number.strip().upper()]).fetchone()
    if row is None:
        raise NotFound("no release slip {number}", rule="unknown_slip", field="number", number=number)
    return dict(row)


def get(ctx: Slips, number: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with ctx.store.read() as db:
        return view(_by_number(db, number), now.astimezone(zone(db)).date())


def listing(ctx: Slips, *, day: str | None = None, unit: str | None = None, state: str | None = None,
            limit: int = 100, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or _now()
    where, args = [], []
    if day:
        try:
            where.append("day = ?")
            args.append(date.fromisoformat(day).isoformat())
        except ValueError:
            raise BadInput("{day} is not a date (YYYY-MM-DD)", rule="bad_date", field="date", day=day) from None
    if unit:
        where.append("unit = ?")
        args.append(unit.strip().upper())
    if state and state not in STATES:
        raise BadInput("state must be one of {states}", rule="bad_state", field="state", states=", ".join(STATES))
    # Issued slips are few (their day is today or later): "+id" lets SQLite find them through
    # slips_day and sort them, where it would otherwise walk every slip newest first.
    order = " ORDER BY +id DESC" if state == "issued" else " ORDER BY id DESC"
    with ctx.store.read() as db:
        today = now.astimezone(zone(db)).date()
        if state:
            where.append(STATE_SQL[state])
            args.extend([today.isoformat()] * STATE_SQL[state].count("?"))
        sql = "SELECT * FROM slips" + (" WHERE " + " AND ".join(where) if where else "") + order + " LIMIT ?"
        return [view(dict(r), today) for r in db.execute(sql, [*args, max(1, min(limit, MAX_LIST))])]


def fee_position(ctx: Slips, unit: str, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with ctx.store.read() as db:
        pos = fees.position(db, unit.strip().upper(), now.astimezone(zone(db)).date())
    if pos is None:
        raise NotFound("unit {unit} has no fee position from finance", rule="no_fee_position", field="unit",
                       unit=unit)
    return pos


# -- issuing ---------------------------------------------------------------------------------

def _gates(db: sqlite_utils.Database, asked: list[str]) -> list[str]:
    gates = sorted(set(asked))
    for gate in gates:
        try:
            check_name("gate_id", gate)
        except BadTopic:
            raise BadInput("{gate} is not a gate's name", rule="bad_gate_id", field="gates", gate=gate) from None
        if not db.execute("SELECT 1 FROM gates WHERE gate_id = ?", [gate]).fetchone():
            raise BadInput("no gate {gate}", rule="unknown_gate", field="gates", gate=gate)
    return gates


def _number(db: sqlite_utils.Database, today: date) -> str:
    prefix = f"RS-{today.strftime('%Y%m%d')}-"
    n = db.execute("SELECT COUNT(*) FROM slips WHERE number LIKE ?", [prefix + "%"]).fetchone()[0]
    while True:
        n += 1
        number = f"{prefix}{n:04d}"
        if not db.execute("SELECT 1 FROM slips WHERE number = ?", [number]).fetchone():
            return number


def make_qr(ctx: Slips, pass_id: str, day: date, gates: list[str], number: str, tz: ZoneInfo) -> str:
    """The slip's QR text: a pass signed with the hub's pass key, ``kind: "slip"``, valid on
    ``day`` (estate-local) at ``gates``, once (protocols.visitpass.slip_claims; hub/slips/API.md)."""
    key_id, key = ctx.keys.pass_key()
    claims = visitpass.slip_claims(site=ctx.site, pass_id=pass_id, day=day, tz=tz.key, gates=tuple(gates),
                                   key_id=key_id, ref=number)
    return visitpass.make_pass(claims, key)


def issue(ctx: Slips, who: Principal, req: SlipIn, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with ctx.store.tx() as db:
        tz = zone(db)
        today = now.astimezone(tz).date()
        rules.check_form(req, today)
        if not db.execute("SELECT 1 FROM units WHERE code = ?", [req.unit]).fetchone():
            raise BadInput("unit {unit} is not in the units register", rule="unknown_unit", field="unit",
                           unit=req.unit)
        gates = _gates(db, req.gates)
        pos = fees.position(db, req.unit, today)
        held = rules.FeePosition(pos["owed_cents"], pos["as_of"], pos["imported_at"]) if pos else None
        overridden = rules.check_move_out(req, who.role, held)
        number = _number(db, today)
        pass_id = secrets.token_hex(16).upper()
        confirm = req.owner_confirmation if req.kind == "move_out" or req.standing != "owner" else None
        row = {
            "number": number, "pass_id": pass_id, "kind": req.kind, "unit": req.unit, "applicant": req.applicant,
            "standing": req.standing, "items": json.dumps([i.model_dump() for i in req.items], ensure_ascii=False),
            "vehicle": req.vehicle, "day": req.date.isoformat(), "gates": json.dumps(gates),
            "owner_name": confirm.name if confirm else None, "owner_how": confirm.how if confirm else None,
            "owner_at": utc(now) if confirm else None, "owner_by": who.who if confirm else None,
            "fee_owed_cents": pos["owed_cents"] if pos else None, "fee_as_of": pos["as_of"] if pos else None,
            "fee_imported_at": pos["imported_at"] if pos else None,
            "override_reason": req.override_reason if overridden else None,
            "override_by": who.who if overridden else None, "override_at": utc(now) if overridden else None,
            "qr": make_qr(ctx, pass_id, req.date, gates, number, tz), "month": req.date.strftime("%Y-%m"),
            "created_at": utc(now), "created_by": who.who,
        }
        slip_id = db["slips"].insert(row).last_pk
        if overridden:
            audit.record(db, who.who, "slip_fee_override", "slip", number, reason=req.override_reason,
                         unit=req.unit, owed_cents=pos["owed_cents"] if pos else None,
                         as_of=pos["as_of"] if pos else None)
        audit.record(db, who.who, "issue", "slip", number, unit=req.unit, kind=req.kind, day=row["day"],
                     gates=gates, items=len(req.items), vehicle=req.vehicle, standing=req.standing,
                     owner_confirmed_by=confirm.name if confirm else None, slip_id=slip_id)
        return view(dict(db.execute("SELECT * FROM slips WHERE id = ?", [slip_id]).fetchone()), today)


def _block(db: sqlite_utils.Database, row: dict[str, Any], status: CardStatus, tz: ZoneInfo) -> None:
    """What a signature cannot say reaches the gates: the slip's pass listed blocked until its day ends."""
    _, end = day_window(date.fromisoformat(row["day"]), tz)
    acl.list_block(db, row["pass_id"], status, end + timedelta(seconds=1), json.loads(row["gates"]))


def cancel(ctx: Slips, who: Principal, number: str, req: CancelIn, now: datetime | None = None) -> dict[str, Any]:
    now = now or _now()
    with ctx.store.tx() as db:
        tz = zone(db)
        row = _by_number(db, number)
        today = now.astimezone(tz).date()
        state = state_of(row, today)
        if state in ("used", "cancelled"):
            rules.check_exit(cancelled=bool(row["cancelled_at"]), used=bool(row["used_at"]), day=row["day"],
                             today=today, gates=[], gate_id="")
        db["slips"].update(row["id"], {"cancelled_at": utc(now), "cancelled_by": who.who, "cancel_reason": req.reason})
        if state == "issued":
            _block(db, row, CardStatus.REVOKED, tz)
        audit.record(db, who.who, "cancel", "slip", row["number"], reason=req.reason, unit=row["unit"])
        return view(_by_number(db, row["number"]), today)


# -- at the gate -----------------------------------------------------------------------------

def _from_qr(ctx: Slips, db: sqlite_utils.Database, text: str) -> dict[str, Any]:
    try:
        claims = visitpass.read_pass(text, visitpass.public_keys(ctx.keys.public_keys()))
    except visitpass.PassRefused as exc:
        raise BadInput("this QR code is not a genuine release slip", rule="slip_qr_invalid", field="qr",
                       why=exc.reason.value) from None
    if claims.site != ctx.site or claims.kind != "slip":
        raise BadInput("this QR code is not a genuine release slip", rule="slip_qr_invalid", field="qr")
    row = db.execute("SELECT * FROM slips WHERE pass_id = ?", [claims.pass_id]).fetchone()
    if row is None:
        raise BadInput("this QR code is not a genuine release slip", rule="slip_qr_invalid", field="qr")
    return dict(row)


def check(ctx: Slips, who: Principal, req: CheckIn, now: datetime | None = None) -> dict[str, Any]:
    """A guard's check at a gate, by number or QR: accepted once, on its day, at its gates;
    accepting uses it up (the exit recorded on it and audited, its pass listed used up at its
    gates). A refusal changes nothing."""
    now = now or _now()
    if bool(req.number) == bool(req.qr):
        raise BadInput("give the slip's number or its QR text, one of them", rule="number_or_qr", field="number")
    if not who.may_use_gate(req.gate_id):
        raise Forbidden("{who} may not check slips at gate {gate}", rule="gate_not_allowed", field="gate_id",
                        who=who.who, gate=req.gate_id)
    with ctx.store.tx() as db:
        tz = zone(db)
        today = now.astimezone(tz).date()
        row = _from_qr(ctx, db, req.qr) if req.qr else _by_number(db, req.number or "")
        rules.check_exit(cancelled=bool(row["cancelled_at"]), used=bool(row["used_at"]), day=row["day"],
                         today=today, gates=json.loads(row["gates"]), gate_id=req.gate_id)
        _use(db, row, req.gate_id, who.who, now, tz, via="qr" if req.qr else "number")
        return {"accepted": True, "slip": view(_by_number(db, row["number"]), today)}


def _use(db: sqlite_utils.Database, row: dict[str, Any], gate_id: str, who: str, at: datetime, tz: ZoneInfo,
         via: str, event_id: str | None = None) -> None:
    db["slips"].update(row["id"], {"used_at": utc(at), "used_gate": gate_id, "used_by": who})
    _block(db, row, CardStatus.EXPIRED, tz)
    audit.record(db, who, "slip_exit", "slip", row["number"], unit=row["unit"], gate=gate_id, via=via,
                 kind=row["kind"], vehicle=row["vehicle"], **({"event_id": event_id} if event_id else {}))


def on_slip_event(db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
    """A stored gate event naming a slip's pass (the gate's own offline check): a granted scan
    out uses the slip up at that gate, if the hub has not already; a second granted use (two
    gates offline at once) keeps the first and is audited. Denied scans change nothing."""
    if event.pass_id is None or event.decision != Decision.GRANTED or event.direction != Direction.OUT:
        return
    row = db.execute("SELECT * FROM slips WHERE pass_id = ?", [event.pass_id]).fetchone()
    if row is None:
        return
    row = dict(row)
    who = f"gate:{event.gate_id}"
    if row["used_at"] or row["cancelled_at"]:
        audit.record(db, who, "slip_exit_again", "slip", row["number"], unit=row["unit"], gate=event.gate_id,
                     event_id=event.event_id, first_gate=row["used_gate"], cancelled=bool(row["cancelled_at"]))
        return
    _use(db, row, event.gate_id, who, event.at, zone(db), via="gate", event_id=event.event_id)

"""The complaints' rules over the database: register, each move, the views, the follow-ups.

Every move runs in one transaction: the complaint is read, the move checked (hub.complaints.
rules: a refusal names its rule and writes nothing), the row changed, a step and an audit
row written. The contact is never put in a step, an audit row or a log; lists show the
phone masked. Reading a closed complaint's personal data (the full view) by someone
outside its department is audited (``read_personal``).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from typing import Any, Callable, Iterable

import sqlite_utils

from hub import audit
from hub.alarms.service import raise_alarm
from hub.auth import Principal, Role
from hub.complaints import rules
from hub.complaints.deadlines import Calendar, DayMemo, Deadline, Limits, Times, deadlines
from hub.complaints.models import (CATEGORIES, CHANNELS, DEADLINE_STATES, DEADLINES, DEPARTMENTS,
                                   ESCALATION_LEVELS, ESCALATION_TO, JOINT_AT, OPEN_STATES, SEVERITIES, STATES,
                                   AcceptIn, AnswerIn, CloseIn, ComplaintIn, ExtendIn, ForwardIn, NoteIn,
                                   OfficeReportIn, PauseIn, ResolveIn, TellIn, ValidityIn, masked_phone, parse, utc)
from hub.db import Store
from hub.errors import BadInput, NotFound, RuleViolation

log = logging.getLogger(__name__)

MAX_LIST = 500
#: the complaints a list reads at a time (with their parts) while it fills its page
LIST_BATCH = 100
#: the same household complaining of the same thing within this many months is a repeat
REPEAT_MONTHS = 3
#: a follow-up visit is due this many months after closing
FOLLOWUP_MONTHS = 1
ALARM_KIND = "complaint_escalated"
HUB = "hub"


def _load_calendar(db: sqlite_utils.Database) -> Calendar:
    from hub.workcal.service import load_calendar

    return load_calendar(db)


@dataclass
class Complaints:
    store: Store
    settings: Any  # hub.config.ComplaintsSection
    calendar: Callable[[sqlite_utils.Database], Calendar] = _load_calendar
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(timezone.utc))

    @property
    def limits(self) -> Limits:
        return Limits.of(self.settings)


# -- small helpers ----------------------------------------------------------------------------

def add_months(d: date, months: int) -> date:
    """The same day ``months`` later (or earlier), the month's last day where it has fewer."""
    m = d.month - 1 + months
    y, m = d.year + m // 12, m % 12 + 1
    for day in (d.day, 30, 29, 28):
        try:
            return date(y, m, min(d.day, day))
        except ValueError:
            continue
    raise AssertionError("unreachable")


def month_of(at: datetime, tz: Any) -> str:
    return at.astimezone(tz).strftime("%Y-%m")


def _row(db: sqlite_utils.Database, complaint_id: int) -> dict[str, Any] | None:
    r = db.execute("SELECT * FROM complaints WHERE id = ?", [complaint_id]).fetchone()
    if r is None:
        return None
    row = dict(r)
    paused = db.execute("SELECT start FROM complaint_pauses WHERE complaint_id = ? AND end IS NULL",
                        [complaint_id]).fetchone()
    row["paused_since"] = paused[0] if paused else None
    return row


def _readable(db: sqlite_utils.Database, who: Principal, complaint_id: int) -> dict[str, Any]:
    """The complaint, if ``who`` may see it (a department only its own: others are unknown to it)."""
    row = _row(db, complaint_id)
    if row is None or not rules.may_read(who, row):
        raise NotFound("no complaint {id}", rule="unknown_complaint", field="complaint_id", id=complaint_id)
    return row


def add_step(db: sqlite_utils.Database, complaint_id: int, at: datetime, who: str, action: str, **detail: Any) -> None:
    db["complaint_steps"].insert({"complaint_id": complaint_id, "at": utc(at), "who": who, "action": action,
                                  "detail": json.dumps(detail, default=str, sort_keys=True, ensure_ascii=False)})


@dataclass
class Parts:
    """What a complaint's deadlines and view read beside its row: its pauses, extensions and
    follow-ups, each in id order."""

    pauses: list[dict[str, Any]] = field(default_factory=list)
    extensions: list[dict[str, Any]] = field(default_factory=list)
    followups: list[dict[str, Any]] = field(default_factory=list)

    @property
    def followup(self) -> dict[str, Any] | None:
        """The latest follow-up (its due is the follow-up deadline)."""
        return self.followups[-1] if self.followups else None

    @property
    def paused_since(self) -> str | None:
        """The start of the pause still open (a complaint has one at most)."""
        return next((p["start"] for p in self.pauses if p["end"] is None), None)

    def times(self, row: dict[str, Any]) -> Times:
        return times_of(row, self.pauses, self.extensions, self.followup)


def load_parts(db: sqlite_utils.Database, ids: Iterable[int]) -> dict[int, Parts]:
    """Each complaint's Parts in three queries, however many complaints: the lists and the
    month report read hundreds at once, and three queries each made them slow. The ids go
    as one JSON array, so there is no limit on how many."""
    ids = list(ids)
    out = {i: Parts() for i in ids}
    if not ids:
        return out
    pick, arg = "complaint_id IN (SELECT value FROM json_each(?))", [json.dumps(ids)]
    for r in db.execute("SELECT complaint_id AS cid_, start, end, reason, paused_by, resumed_by FROM complaint_pauses"
                        f" WHERE {pick} ORDER BY complaint_id, id", arg):
        p = dict(r)
        out[p.pop("cid_")].pauses.append(p)
    for r in db.execute("SELECT complaint_id AS cid_, days, reason, by, at FROM complaint_extensions"
                        f" WHERE {pick} ORDER BY complaint_id, id", arg):
        e = dict(r)
        out[e.pop("cid_")].extensions.append(e)
    for r in db.execute(f"SELECT * FROM complaint_followups WHERE {pick} ORDER BY complaint_id, id", arg):
        out[r["complaint_id"]].followups.append(dict(r))
    return out


#: the columns of a complaint's row that times_of reads
TIMES_COLUMNS = ("severity", "registered_at", "valid", "joint", "forwarded_at", "answered_at", "resolved_at", "told_at",
                 "office_reported_at", "closed_at", "reopened_at", "wanted_by")


def times_of(row: dict[str, Any], pauses: list[dict[str, Any]], extensions: list[dict[str, Any]],
             followup: dict[str, Any] | None) -> Times:
    """What the deadlines of a stored complaint depend on."""
    return Times(
        severity=row["severity"], registered_at=parse(row["registered_at"]), valid=bool(row["valid"]),
        joint=bool(row["joint"]), forwarded_at=parse(row["forwarded_at"]), answered_at=parse(row["answered_at"]),
        resolved_at=parse(row["resolved_at"]), told_at=parse(row["told_at"]),
        office_reported_at=parse(row["office_reported_at"]), closed_at=parse(row["closed_at"]),
        reopened_at=parse(row["reopened_at"]),
        wanted_by=date.fromisoformat(row["wanted_by"]) if row["wanted_by"] else None,
        pauses=tuple((parse(p["start"]), parse(p["end"])) for p in pauses),
        extension_days=sum(e["days"] for e in extensions),
        followup_due=parse(followup["due"]) if followup else None,
        followup_done_at=parse(followup["done_at"]) if followup else None,
    )


def stored_times(db: sqlite_utils.Database, row: dict[str, Any]) -> Times:
    return load_parts(db, [row["id"]])[row["id"]].times(row)


def complaint_no(row: dict[str, Any]) -> str:
    return f"TS{row['month'].replace('-', '')}-{row['id']:04d}"


def _followup_view(f: dict[str, Any], row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "id": f["id"], "complaint_id": f["complaint_id"], "complaint_no": complaint_no(row),
        "severity": row["severity"], "units": json.loads(row["units"]), "department": row["department"],
        "due": f["due"], "state": f["state"], "done_at": f["done_at"], "done_by": f["done_by"],
        "quality": f["quality"], "effect": f["effect"], "satisfaction": f["satisfaction"],
        "shortcomings": f["shortcomings"], "suggestions": f["suggestions"], "score": f["score"],
        "satisfied": None if f["satisfied"] is None else bool(f["satisfied"]), "then": f["then_"],
        "next_visit_on": f["next_visit_on"], "late": f["state"] == "open" and parse(f["due"]) < now,
    }


def flags(dl: dict[str, Deadline]) -> tuple[bool, bool]:
    """(late, due soon): whether a pending deadline of the handling (not the follow-up) is."""
    pending = [d for d in dl.values() if d.pending and d.kind != "followup"]
    return any(d.state == "late" for d in pending), any(d.state == "due_soon" for d in pending)


def view(db: sqlite_utils.Database, ctx: Complaints, row: dict[str, Any], now: datetime, cal: Calendar, *,
         full: bool, parts: Parts | None = None, dl: dict[str, Deadline] | None = None) -> dict[str, Any]:
    """A complaint as the API gives it (API.md): ``full`` for one complaint (contact in the
    clear), else the list's (phone masked, no names, ``what`` cut). A list passes the
    ``parts`` it read in bulk and the deadlines it filtered on, so nothing is read twice."""
    if parts is None:
        parts = load_parts(db, [row["id"]])[row["id"]]
    pauses, extensions, followup = parts.pauses, parts.extensions, parts.followup
    if dl is None:
        dl = deadlines(parts.times(row), cal, ctx.limits, now, late_by=False)
    pending = [d for d in dl.values() if d.pending and d.kind != "followup"]
    late, due_soon = flags(dl)
    level = row["escalation_level"]
    out = {
        "id": row["id"], "no": complaint_no(row), "state": row["state"], "channel": row["channel"],
        "category": row["category"], "severity": row["severity"], "valid": bool(row["valid"]),
        "invalid_reason": row["invalid_reason"], "joint": bool(row["joint"]), "units": json.loads(row["units"]),
        "complainants": json.loads(row["complainants"]) if full else [],
        "what": row["what"] if full else row["what"][:80], "where": row["place"], "happened_at": row["happened_at"],
        "concerns": row["concerns"], "concerns_department": row["concerns_department"], "asks": row["asks"],
        "contact_name": row["contact_name"] if full else None,
        "contact_phone": row["contact_phone"] if full else masked_phone(row["contact_phone"]),
        "reply_wanted": bool(row["reply_wanted"]), "wanted_by": row["wanted_by"], "department": row["department"],
        "sheet": {"task": row["sheet_task"], "note": row["sheet_note"], "sent_at": row["forwarded_at"],
                  "sent_by": row["forwarded_by"], "signed_at": row["signed_at"], "signed_by": row["signed_by"],
                  "sign_note": row["sign_note"]},
        "answer": row["answer"], "answered_at": row["answered_at"], "result": row["result"],
        "resolved_at": row["resolved_at"], "resolved_by": row["resolved_by"], "told_at": row["told_at"],
        "told_how": row["told_how"], "accepted": None if row["accepted"] is None else bool(row["accepted"]),
        "acceptance_how": row["acceptance_how"], "closed_at": row["closed_at"], "close_reason": row["close_reason"],
        "registered_at": row["registered_at"], "registered_by": row["registered_by"],
        "paused": bool(row.get("paused_since")),
        "pauses": [{"start": p["start"], "end": p["end"], "reason": p["reason"]} for p in pauses],
        "extensions": extensions,
        "office_report": {"at": row["office_reported_at"], "reference": row["office_reference"],
                          "by": row["office_reported_by"]},
        "escalation": {"level": level, "to": ESCALATION_TO.get(level), "kind": row["escalation_kind"],
                       "at": row["escalated_at"]},
        "repeat_of": row["repeat_of"], "reopened": row["reopened"],
        "deadlines": {k: (dl[k].as_dict() if k in dl else None) for k in DEADLINES},
        "next_due": utc(min(d.due for d in pending)) if pending else None,
        "late": late,
        "due_soon": due_soon,
        "followup": _followup_view(followup, row, now) if followup else None,
    }
    return out


def meta(ctx: Complaints) -> dict[str, Any]:
    """The code lists and the configured limits, for the pages (names are msgids)."""
    def items(d: dict) -> list[dict[str, Any]]:
        return [{"code": k, "name": v} for k, v in d.items()]

    s = ctx.settings
    return {
        "states": items(STATES), "severities": items(SEVERITIES), "channels": items(CHANNELS),
        "categories": items(CATEGORIES),
        "departments": [{"code": d, "name": DEPARTMENTS.get(d, d)} for d in s.departments],
        "escalation_levels": items(ESCALATION_LEVELS), "tell_ways": items(CHANNELS),
        "deadline_kinds": items(DEADLINES), "deadline_states": items(DEADLINE_STATES),
        "deadlines": {k: getattr(s, k) for k in Limits.__dataclass_fields__},
    }


# -- register ---------------------------------------------------------------------------------

def _repeat_of(db: sqlite_utils.Database, units: list[str], category: str, now: datetime, tz: Any) -> int | None:
    """The latest complaint of the same category from one of these households within
    REPEAT_MONTHS months (estate-local calendar months), if any."""
    since_local = add_months(now.astimezone(tz).date(), -REPEAT_MONTHS)
    since = utc(datetime.combine(since_local, now.astimezone(tz).timetz().replace(tzinfo=None), tzinfo=tz))
    marks = ",".join("?" * len(units))
    r = db.execute(
        f"SELECT complaint_id FROM complaint_units WHERE unit IN ({marks}) AND category = ? AND registered_at >= ?"
        " ORDER BY registered_at DESC LIMIT 1", [*units, category, since]).fetchone()
    return r[0] if r else None


def register(ctx: Complaints, who: Principal, body: ComplaintIn) -> dict[str, Any]:
    if not body.valid and not body.invalid_reason:
        raise BadInput("say why the complaint is not valid (it is explained to the complainant)",
                       rule="invalid_needs_reason", field="invalid_reason")
    if body.concerns_department and body.concerns_department not in ctx.settings.departments:
        raise BadInput("no department {department}", rule="unknown_department", field="concerns_department",
                       department=body.concerns_department)
    for c in body.complainants:
        if c.unit not in body.units:
            raise BadInput("complainant's unit {unit} is not among the complaint's units", rule="complainant_unit",
                           field="complainants", unit=c.unit)
    now = ctx.clock()
    with ctx.store.tx() as db:
        cal = ctx.calendar(db)
        if body.wanted_by is not None and body.wanted_by < now.astimezone(cal.tz).date():
            raise BadInput("the complainant's date {date} has passed", rule="wanted_by_past", field="wanted_by",
                           date=body.wanted_by.isoformat())
        known = {r[0] for r in db.execute(
            f"SELECT code FROM units WHERE code IN ({','.join('?' * len(body.units))})", body.units)}
        for u in body.units:
            if u not in known:
                raise BadInput("unit {unit} is not in the units register", rule="unknown_unit", field="units", unit=u)
        repeat = _repeat_of(db, body.units, body.category, now, cal.tz)
        joint = len(body.units) >= JOINT_AT
        major = body.severity == "major" and body.valid
        table = db["complaints"]
        table.insert({
            "state": "registered", "channel": body.channel, "category": body.category, "severity": body.severity,
            "valid": int(body.valid), "invalid_reason": body.invalid_reason, "joint": int(joint),
            "units": json.dumps(body.units), "complainants": json.dumps(
                [c.model_dump() for c in body.complainants], ensure_ascii=False),
            "what": body.what, "place": body.where, "happened_at": utc(body.happened_at) if body.happened_at else None,
            "concerns": body.concerns, "concerns_department": body.concerns_department, "asks": body.asks,
            "contact_name": body.contact_name, "contact_phone": body.contact_phone,
            "reply_wanted": int(body.reply_wanted), "wanted_by": body.wanted_by.isoformat() if body.wanted_by else None,
            "escalation_level": 3 if major else 0, "escalation_kind": "major" if major else None,
            "escalated_at": utc(now) if major else None, "repeat_of": repeat,
            "form_opened_at": utc(body.form_opened_at) if body.form_opened_at else None,
            "registered_at": utc(now), "registered_by": who.who, "month": month_of(now, cal.tz),
        })
        cid = table.last_pk
        for u in body.units:
            db["complaint_units"].insert({"complaint_id": cid, "unit": u, "category": body.category,
                                          "registered_at": utc(now)})
        add_step(db, cid, now, who.who, "register", severity=body.severity, channel=body.channel, joint=joint,
                 valid=body.valid, repeat_of=repeat)
        audit.record(db, who.who, "register", "complaint", str(cid), severity=body.severity, channel=body.channel,
                     category=body.category, units=body.units, joint=joint, valid=body.valid, repeat_of=repeat)
        if repeat is not None:
            add_step(db, cid, now, HUB, "repeat", repeat_of=repeat)
        if major:  # a major complaint goes to the manager at once
            record_escalation(db, cid, now, 3, "major")
        if joint and body.valid:  # its written report to the complaints office is due today: the desk is told now
            raise_alarm(db, ALARM_KIND, now, subject=f"complaint:{cid}:office_report",
                        detail={"complaint": str(cid), "kind": "office_report", "to": "supervisor"})
        return view(db, ctx, _row(db, cid), now, cal, full=True)


def record_escalation(db: sqlite_utils.Database, cid: int, now: datetime, level: int, kind: str) -> None:
    """Record an escalation (step, audit) and, for the manager, raise an alarm: it must reach someone now."""
    add_step(db, cid, now, HUB, "escalate", level=level, to=ESCALATION_TO[level], kind=kind)
    audit.record(db, HUB, "escalate", "complaint", str(cid), level=level, to=ESCALATION_TO[level], kind=kind)
    if level >= 3:
        raise_alarm(db, ALARM_KIND, now, subject=f"complaint:{cid}:{kind}",
                    detail={"complaint": str(cid), "kind": kind, "to": ESCALATION_TO[level]})


# -- reading ----------------------------------------------------------------------------------

def get(ctx: Complaints, who: Principal, complaint_id: int) -> dict[str, Any]:
    now = ctx.clock()
    with ctx.store.tx() as db:
        row = _readable(db, who, complaint_id)
        outside = row["department"] is None or who.department != row["department"]
        if row["state"] == "closed" and outside and (
                row["contact_name"] or row["contact_phone"] or row["complainants"] != "[]"):
            audit.record(db, who.who, "read_personal", "complaint", str(complaint_id), department=row["department"])
        return view(db, ctx, row, now, ctx.calendar(db), full=True)


def steps(ctx: Complaints, who: Principal, complaint_id: int) -> list[dict[str, Any]]:
    with ctx.store.read() as db:
        _readable(db, who, complaint_id)
        return [{"at": r["at"], "who": r["who"], "action": r["action"], "detail": json.loads(r["detail"])}
                for r in db.execute("SELECT * FROM complaint_steps WHERE complaint_id = ? ORDER BY id", [complaint_id])]


def list_complaints(ctx: Complaints, who: Principal, *, state: str | None = None, department: str | None = None,
                    severity: str | None = None, due: str | None = None, late: bool | None = None,
                    unit: str | None = None, q: str | None = None, escalation: int | None = None,
                    limit: int = 50) -> list[dict[str, Any]]:
    where, args = ["1"], []
    if escalation:  # escalated this far or further (the shift leader 1, the supervisor 2, the manager 3)
        where.append("escalation_level >= ?")
        args.append(escalation)
    if state == "open":
        where.append(f"state IN ({','.join('?' * len(OPEN_STATES))})")
        args += list(OPEN_STATES)
    elif state:
        if state not in STATES:
            raise BadInput("no complaint state {state}", rule="unknown_state", field="state", state=state)
        where.append("state = ?")
        args.append(state)
    if who.role == Role.DEPARTMENT:
        where.append("department = ?")
        args.append(who.department or "")
    elif department:
        where.append("department = ?")
        args.append(department.strip().lower())
    if severity:
        where.append("severity = ?")
        args.append(severity)
    if unit:
        where.append("id IN (SELECT complaint_id FROM complaint_units WHERE unit = ?)")
        args.append(unit.strip().upper())
    if q:
        where.append("(what LIKE ? OR place LIKE ? OR concerns LIKE ?)")
        args += [f"%{q}%"] * 3
    timed = due == "soon" or late
    if timed:  # only open, valid complaints have pending deadlines (deadlines.dues)
        where.append(f"valid = 1 AND state IN ({','.join('?' * len(OPEN_STATES))})")
        args += list(OPEN_STATES)
    cap = min(limit, MAX_LIST)
    now = ctx.clock()
    with ctx.store.read() as db:
        cal = DayMemo(ctx.calendar(db))
        found = db.execute(f"SELECT * FROM complaints WHERE {' AND '.join(where)} ORDER BY id DESC"
                           + ("" if timed else " LIMIT ?"), args + ([] if timed else [cap]))
        out: list[dict[str, Any]] = []
        while len(out) < cap:
            # a batch at a time (a time filter reads every open complaint until the page is
            # full), its parts read together; the deadlines first, and a view only for what is kept
            rows = [dict(r) for r in found.fetchmany(LIST_BATCH)]
            if not rows:
                break
            parts = load_parts(db, [r["id"] for r in rows])
            for row in rows:
                p = parts[row["id"]]
                row["paused_since"] = p.paused_since
                dl = deadlines(p.times(row), cal, ctx.limits, now, late_by=False)
                is_late, is_soon = flags(dl)
                if (due == "soon" and not is_soon) or (late and not is_late):
                    continue
                out.append(view(db, ctx, row, now, cal, full=False, parts=p, dl=dl))
                if len(out) >= cap:
                    break
        return out


# -- the moves --------------------------------------------------------------------------------

def _move(ctx: Complaints, who: Principal, complaint_id: int, move: str,
          apply: Callable[[sqlite_utils.Database, dict[str, Any], datetime, Calendar], dict[str, Any]],
          **detail: Any) -> dict[str, Any]:
    """Check ``move``, then write what ``apply`` returns (changed columns), a step and an audit row."""
    now = ctx.clock()
    with ctx.store.tx() as db:
        row = _readable(db, who, complaint_id)
        rules.check(move, row, who)
        cal = ctx.calendar(db)
        changes = apply(db, row, now, cal)
        to = rules.TO[move]
        if to is not None:
            changes["state"] = to
        if changes:
            db["complaints"].update(complaint_id, changes)
        add_step(db, complaint_id, now, who.who, move, **detail)
        audit.record(db, who.who, move, "complaint", str(complaint_id), **detail)
        return view(db, ctx, _row(db, complaint_id), now, cal, full=True)


def forward(ctx: Complaints, who: Principal, cid: int, body: ForwardIn) -> dict[str, Any]:
    if body.department not in ctx.settings.departments:
        raise BadInput("no department {department}", rule="unknown_department", field="department",
                       department=body.department)

    def apply(db, row, now, cal):
        return {"department": body.department, "sheet_task": body.task, "sheet_note": body.note or None,
                "forwarded_at": utc(now), "forwarded_by": who.who}
    return _move(ctx, who, cid, "forward", apply, department=body.department)


def sign(ctx: Complaints, who: Principal, cid: int, body: NoteIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        return {"signed_at": utc(now), "signed_by": who.who, "sign_note": body.note or None}
    return _move(ctx, who, cid, "sign", apply)


def answer(ctx: Complaints, who: Principal, cid: int, body: AnswerIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        return {"answer": body.answer, "answered_at": utc(now), "answered_by": who.who}
    return _move(ctx, who, cid, "answer", apply)


def validity(ctx: Complaints, who: Principal, cid: int, body: ValidityIn) -> dict[str, Any]:
    if not body.valid and not body.invalid_reason:
        raise BadInput("say why the complaint is not valid (it is explained to the complainant)",
                       rule="invalid_needs_reason", field="invalid_reason")

    def apply(db, row, now, cal):
        changes = {"valid": int(body.valid), "invalid_reason": None if body.valid else body.invalid_reason}
        if not body.valid:  # no deadlines any more: nothing to escalate
            changes.update({"escalation_level": 0, "escalation_kind": None, "escalated_at": None})
        return changes
    return _move(ctx, who, cid, "validity", apply, valid=body.valid)


def pause(ctx: Complaints, who: Principal, cid: int, body: PauseIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        db["complaint_pauses"].insert({"complaint_id": cid, "start": utc(now), "end": None, "reason": body.reason,
                                       "paused_by": who.who})
        return {}
    return _move(ctx, who, cid, "pause", apply, reason=body.reason)


def resume(ctx: Complaints, who: Principal, cid: int) -> dict[str, Any]:
    def apply(db, row, now, cal):
        db.execute("UPDATE complaint_pauses SET end = ?, resumed_by = ? WHERE complaint_id = ? AND end IS NULL",
                   [utc(now), who.who, cid])
        return {}
    return _move(ctx, who, cid, "resume", apply)


def extend(ctx: Complaints, who: Principal, cid: int, body: ExtendIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        db["complaint_extensions"].insert({"complaint_id": cid, "days": body.days, "reason": body.reason,
                                           "by": who.who, "at": utc(now)})
        return {}
    return _move(ctx, who, cid, "extend", apply, days=body.days, reason=body.reason)


def resolve(ctx: Complaints, who: Principal, cid: int, body: ResolveIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        return {"result": body.result, "resolved_at": utc(now), "resolved_by": who.who}
    return _move(ctx, who, cid, "resolve", apply)


def tell(ctx: Complaints, who: Principal, cid: int, body: TellIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        return {"told_at": utc(now), "told_how": body.how, "told_note": body.note or None}
    return _move(ctx, who, cid, "tell", apply, how=body.how)


def accept(ctx: Complaints, who: Principal, cid: int, body: AcceptIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        return {"accepted": int(body.accepted), "acceptance_how": body.how, "acceptance_note": body.note or None,
                "accepted_at": utc(now)}
    return _move(ctx, who, cid, "accept", apply, accepted=body.accepted, how=body.how)


def close(ctx: Complaints, who: Principal, cid: int, body: CloseIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        if row["state"] == "told" and not row["accepted"] and not body.reason:
            raise RuleViolation("the complainant did not accept the result: say why it is closed",
                                rule="close_needs_reason", field="reason")
        if row["valid"] and row["severity"] in ("major", "general"):
            from hub.complaints.followups import due_after_closing

            due = due_after_closing(now, cal.tz)
            db["complaint_followups"].insert({"complaint_id": cid, "due": utc(due), "created_at": utc(now)})
            add_step(db, cid, now, HUB, "followup_due", due=utc(due))
        return {"closed_at": utc(now), "closed_by": who.who, "close_reason": body.reason or None}
    return _move(ctx, who, cid, "close", apply, reason=body.reason or None)


def office_report(ctx: Complaints, who: Principal, cid: int, body: OfficeReportIn) -> dict[str, Any]:
    def apply(db, row, now, cal):
        return {"office_reported_at": utc(now), "office_reference": body.reference, "office_reported_by": who.who}
    return _move(ctx, who, cid, "office_report", apply, reference=body.reference)

"""The duty log's rules: writing entries into their shift, closing open items, reporting an
incident up, the handover view and its acceptance, and the check that raises an alarm for an
incident not reported up in time.

Every change is audited in its own transaction (entity ``duty_entry`` or ``duty_handover``).
Each refusal names its rule and changes nothing. The shift an entry belongs to is worked
out from the estate calendar's timezone (hub.access.plan.calendar) and the configured
shifts (hub.dutylog.shifts), once, when it is written.

The alarms (hub.alarms.service) and visitors (hub.visitors.service) are other domains,
looked up when used: the log works without them, and shows what they give once they are
there.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Any, Callable
from zoneinfo import ZoneInfo

import sqlite_utils

from hub import audit
from hub.access.plan import calendar
from hub.auth import Principal
from hub.db import Store
from hub.dutylog import shifts as shift_rules
from hub.dutylog.models import EntryKind, IncidentKind, NewEntry
from hub.dutylog.shifts import Shift, Span
from hub.errors import BadInput, Conflict, NotFound, RuleViolation

log = logging.getLogger(__name__)

#: the alarm kind an incident not reported up in time raises (hub.alarms)
OVERDUE_ALARM = "incident_overdue"
#: a report's time may be this far ahead of the hub's clock (a phone's clock a little fast)
CLOCK_SLACK = timedelta(minutes=1)
#: rows a list returns at most (a shift's log is tens of entries)
MAX_ROWS = 1000


@dataclass(frozen=True)
class Settings:
    """The [duty] section, parsed."""

    shifts: tuple[Shift, ...]
    report_within: timedelta

    @classmethod
    def of(cls, section: Any) -> "Settings":
        return cls(shift_rules.parse_shifts(section.shifts), timedelta(minutes=section.report_within_minutes))


def utc_iso(at: datetime) -> str:
    """One text form for instants, so SQLite compares them as strings (as hub.stock.ledger)."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _now(now: datetime | None) -> datetime:
    return now or datetime.now(timezone.utc)


def estate_zone(db: sqlite_utils.Database) -> ZoneInfo:
    return ZoneInfo(calendar(db)[0])


def _name(who: str | None, names: dict[str, str] | None = None) -> str | None:
    """``guard:zhang`` as a person reads it: the account's name (hub.users), else the login
    (a token's name)."""
    if not who:
        return None
    return (names or {}).get(who) or who.partition(":")[2] or who


def _names(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> dict[str, str]:
    """The account names of everyone ``rows`` name (who wrote, closed, reported, accepted)."""
    whos = {r[k] for r in rows for k in ("written_by", "closed_by", "reported_by", "accepted_by") if r.get(k)}
    names: dict[str, str] = {}
    for who in whos:
        role, _, login = who.partition(":")
        found = list(db.query("SELECT name FROM users WHERE username = ? AND role = ?", [login, role]))
        if found:
            names[who] = found[0]["name"]
    return names


def _views(db: sqlite_utils.Database, rows: Any, now: datetime, within: timedelta) -> list[dict[str, Any]]:
    rows = [dict(r) for r in rows]
    names = _names(db, rows)
    return [entry_view(r, now, within, names) for r in rows]


def span_view(span: Span) -> dict[str, Any]:
    return {"key": span.key, "label": span.label, "day": span.day.isoformat(),
            "starts_at": span.starts_at.isoformat(), "ends_at": span.ends_at.isoformat()}


def entry_view(row: dict[str, Any], now: datetime, within: timedelta,
               names: dict[str, str] | None = None) -> dict[str, Any]:
    kind = row["kind"]
    due = None
    overdue = False
    if kind == EntryKind.INCIDENT:
        due_at = datetime.fromisoformat(row["at"]) + within
        due = due_at.isoformat()
        overdue = row["reported_at"] is None and now >= due_at
    return {
        "id": row["id"], "kind": kind, "incident_kind": row["incident_kind"], "text": row["text"], "at": row["at"],
        "shift": row["shift"], "by": _name(row["written_by"], names),
        "state": "note" if kind == EntryKind.NOTE else ("closed" if row["closed_at"] else "open"),
        "closed_at": row["closed_at"], "closed_by": _name(row["closed_by"], names), "closed_note": row["closed_note"],
        "reported_to": row["reported_to"], "reported_at": row["reported_at"], "reported_by": _name(row["reported_by"], names),
        "report_due_at": due, "overdue": overdue, "alarm_raised_at": row["overdue_at"],
    }


def _entry(db: sqlite_utils.Database, entry_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM duty_entries WHERE id = ?", [entry_id]))
    if not rows:
        raise NotFound("no duty log entry {entry_id}", rule="unknown_duty_entry", field="entry_id", entry_id=entry_id)
    return rows[0]


def _span(db: sqlite_utils.Database, settings: Settings, key: str) -> Span:
    span = shift_rules.shift_by_key(key, settings.shifts, estate_zone(db))
    if span is None:
        raise BadInput("no shift begins at {shift}: a shift is named by its day and start, e.g. {example}",
                       rule="unknown_shift", field="shift", shift=key,
                       example=f"2026-11-29T{settings.shifts[-1].start:%H:%M}")
    return span


def current_shift(db: sqlite_utils.Database, settings: Settings, now: datetime) -> Span:
    return shift_rules.shift_at(now, settings.shifts, estate_zone(db))


# --- writing ------------------------------------------------------------------------------


def write_entry(store: Store, settings: Settings, who: Principal, body: NewEntry,
                now: datetime | None = None) -> dict[str, Any]:
    """A new entry, in the shift that holds the log now."""
    now = _now(now)
    text = body.text.strip()
    if not text:
        raise BadInput("the entry says nothing: write what happened", rule="empty_entry", field="text")
    if body.kind == EntryKind.INCIDENT and body.incident_kind is None:
        raise BadInput("say what kind of incident it is", rule="incident_kind_missing", field="incident_kind")
    if body.kind != EntryKind.INCIDENT and body.incident_kind is not None:
        raise BadInput("only a special incident has an incident kind", rule="incident_kind_not_wanted",
                       field="incident_kind")
    with store.tx() as db:
        span = current_shift(db, settings, now)
        table = db["duty_entries"]
        table.insert({
            "kind": body.kind.value, "incident_kind": body.incident_kind.value if body.incident_kind else None,
            "text": text, "at": utc_iso(now), "shift": span.key, "shift_day": span.day.isoformat(),
            "written_by": who.who,
        })
        entry_id = table.last_pk
        audit.record(db, who.who, "write", "duty_entry", str(entry_id), kind=body.kind.value,
                     incident_kind=body.incident_kind.value if body.incident_kind else None, shift=span.key)
        return _views(db, [_entry(db, entry_id)], now, settings.report_within)[0]


def close_entry(store: Store, settings: Settings, who: Principal, entry_id: int, note: str,
                now: datetime | None = None) -> dict[str, Any]:
    """A handover item or incident closed with what was done; it is handed over no more."""
    now = _now(now)
    note = note.strip()
    if not note:
        raise BadInput("say what was done", rule="empty_close_note", field="note")
    with store.tx() as db:
        row = _entry(db, entry_id)
        if row["kind"] == EntryKind.NOTE:
            raise RuleViolation("a note is not an open item: only handover items and incidents are closed",
                                rule="note_not_closable", field="entry_id")
        if row["closed_at"]:
            raise Conflict("entry {entry_id} was closed already", rule="duty_entry_closed", entry_id=entry_id)
        if row["kind"] == EntryKind.INCIDENT and not row["reported_at"]:
            raise RuleViolation("a special incident is reported up before it is closed: say to whom first",
                                rule="incident_not_reported", field="entry_id")
        db["duty_entries"].update(entry_id, {"closed_at": utc_iso(now), "closed_by": who.who, "closed_note": note})
        audit.record(db, who.who, "close", "duty_entry", str(entry_id), kind=row["kind"], note=note)
        return _views(db, [_entry(db, entry_id)], now, settings.report_within)[0]


def report_incident(store: Store, settings: Settings, who: Principal, entry_id: int, to: str,
                    at: datetime | None = None, now: datetime | None = None) -> dict[str, Any]:
    """Who an incident was reported up to, and when (default now): its timer stops. An
    overdue alarm it raised already stays until a guard acknowledges it (hub.alarms: a guard
    must have seen it)."""
    now = _now(now)
    to = to.strip()
    if not to:
        raise BadInput("say who it was reported to", rule="empty_reported_to", field="to")
    if at is not None and at.tzinfo is None:
        raise BadInput("a time without a timezone is ambiguous", field="at")
    when = at or now
    with store.tx() as db:
        row = _entry(db, entry_id)
        if row["kind"] != EntryKind.INCIDENT:
            raise RuleViolation("only a special incident is reported up", rule="not_an_incident", field="entry_id")
        if row["reported_at"]:
            raise Conflict("incident {entry_id} was reported already", rule="incident_already_reported",
                           entry_id=entry_id)
        if when < datetime.fromisoformat(row["at"]):
            raise BadInput("an incident cannot be reported before it was written down", rule="report_before_incident",
                           field="at")
        if when > now + CLOCK_SLACK:
            raise BadInput("the report's time is in the future", rule="report_in_future", field="at")
        db["duty_entries"].update(entry_id, {"reported_to": to, "reported_at": utc_iso(when), "reported_by": who.who})
        late = when - datetime.fromisoformat(row["at"]) > settings.report_within
        audit.record(db, who.who, "report", "duty_entry", str(entry_id), reported_to=to, reported_at=utc_iso(when),
                     late=late)
        return _views(db, [_entry(db, entry_id)], now, settings.report_within)[0]


# --- reading ------------------------------------------------------------------------------


def list_entries(store: Store, settings: Settings, *, shift: str | None = None, day: date | None = None,
                 open_only: bool = False, now: datetime | None = None) -> dict[str, Any]:
    """A shift's entries (default the current shift's), a day's (the shifts that began on that
    estate date), or the items open now; oldest first."""
    now = _now(now)
    if sum(x is not None and x is not False for x in (shift, day, open_only or None)) > 1:
        raise BadInput("ask for one of shift, date or open", rule="one_filter", field="shift")
    with store.read() as db:
        out: dict[str, Any] = {"now": now.isoformat(), "report_within_s": int(settings.report_within.total_seconds()),
                               "current": span_view(current_shift(db, settings, now))}
        if open_only:
            rows = db.query("SELECT * FROM duty_entries WHERE kind != 'note' AND closed_at IS NULL"
                            " ORDER BY at, id LIMIT ?", [MAX_ROWS])
        elif day is not None:
            out["date"] = day.isoformat()
            out["shifts"] = [span_view(s) for s in shift_rules.shifts_of_day(day, settings.shifts, estate_zone(db))]
            rows = db.query("SELECT * FROM duty_entries WHERE shift_day = ? ORDER BY at, id LIMIT ?",
                            [day.isoformat(), MAX_ROWS])
        else:
            span = _span(db, settings, shift) if shift is not None else current_shift(db, settings, now)
            out["shift"] = span_view(span)
            rows = _of_shift(db, span)
        out["items"] = _views(db, rows, now, settings.report_within)
    return out


def _of_shift(db: sqlite_utils.Database, span: Span) -> Any:
    return db.query("SELECT * FROM duty_entries WHERE shift = ? ORDER BY at, id LIMIT ?", [span.key, MAX_ROWS])


def _open_at_end(db: sqlite_utils.Database, span: Span) -> list[dict[str, Any]]:
    """The handover items and incidents written before ``span`` ended and still open when it
    did (still open now, for the shift holding the log): what it hands over."""
    end = utc_iso(span.ends_at)
    return [dict(r) for r in db.query(
        "SELECT * FROM duty_entries WHERE kind != 'note' AND at < ? AND (closed_at IS NULL OR closed_at >= ?)"
        " ORDER BY at, id LIMIT ?", [end, end, MAX_ROWS])]


def handover(store: Store, settings: Settings, who: Principal, shift: str | None = None,
             now: datetime | None = None) -> dict[str, Any]:
    """What a shift hands over (default the shift before the current one: the incoming guard's
    view): its entries, the open items it carries (from it and from earlier shifts, until
    closed), the open alarms of the gates ``who`` may see and the visitors still inside
    (each None where that domain is not there), and whether it has been accepted."""
    now = _now(now)
    with store.read() as db:
        current = current_shift(db, settings, now)
        span = _span(db, settings, shift) if shift is not None else shift_rules.previous(
            current, settings.shifts, estate_zone(db))
        accepted = list(db.query("SELECT * FROM duty_handovers WHERE shift = ?", [span.key]))
        view = {
            "now": now.isoformat(), "report_within_s": int(settings.report_within.total_seconds()),
            "shift": span_view(span), "current": span_view(current),
            "entries": _views(db, _of_shift(db, span), now, settings.report_within),
            "open_items": _views(db, _open_at_end(db, span), now, settings.report_within),
            "alarms": _open_alarms(db, who.gates),
            "visitors_inside": _inside(db),
            "accepted": None,
        }
        if accepted:
            a = accepted[0]
            view["accepted"] = {"by": _name(a["accepted_by"], _names(db, [dict(a)])), "at": a["accepted_at"],
                                "note": a["note"],
                                "open_items": json.loads(a["open_items"])}
    return view


def accept_handover(store: Store, settings: Settings, who: Principal, shift: str | None = None,
                    note: str | None = None, now: datetime | None = None) -> dict[str, Any]:
    """The incoming guard takes a shift's handover (default the shift before the current one),
    once: recorded with the open items handed over at that moment."""
    now = _now(now)
    note = (note or "").strip() or None
    with store.tx() as db:
        current = current_shift(db, settings, now)
        span = _span(db, settings, shift) if shift is not None else shift_rules.previous(
            current, settings.shifts, estate_zone(db))
        if span.starts_at > now:
            raise RuleViolation("the shift {shift} has not begun: there is nothing to hand over yet",
                                rule="shift_not_begun", field="shift", shift=span.key)
        if list(db.query("SELECT 1 AS x FROM duty_handovers WHERE shift = ?", [span.key])):
            raise Conflict("the handover of shift {shift} was accepted already", rule="handover_accepted",
                           shift=span.key)
        items = [r["id"] for r in _open_at_end(db, span) if not r["closed_at"]]
        db["duty_handovers"].insert({"shift": span.key, "accepted_by": who.who, "accepted_at": utc_iso(now),
                                     "note": note, "open_items": json.dumps(items)})
        audit.record(db, who.who, "accept", "duty_handover", span.key, note=note, open_items=items)
    return handover(store, settings, who, span.key, now)


# --- the other domains, when they are there -------------------------------------------------


def _other(module: str, name: str) -> Callable[..., Any] | None:
    """``module.name`` if that domain is built into this hub, else None."""
    try:
        found = __import__(module, fromlist=[name])
    except ImportError:
        return None
    return getattr(found, name, None)


def _open_alarms(db: sqlite_utils.Database, gates: frozenset[str]) -> list[dict[str, Any]] | None:
    open_alarms = _other("hub.alarms.service", "open_alarms")
    return None if open_alarms is None else list(open_alarms(db, gates))


#: what the handover shows of a visit inside (never an ID number or a phone)
VISIT_FIELDS = ("visit_id", "visitor_name", "host_unit", "party_size", "plate", "checked_in_at", "expected_leave_at")


def _inside(db: sqlite_utils.Database) -> list[dict[str, Any]] | None:
    inside = _other("hub.visitors.service", "inside")
    if inside is None:
        return None
    return [{k: v.get(k) for k in VISIT_FIELDS} for v in inside(db)]


def overdue_subject(entry_id: int) -> str:
    return f"duty_entry:{entry_id}"


# --- the ticker's check --------------------------------------------------------------------


def check_overdue(db: sqlite_utils.Database, now: datetime, *, within: timedelta) -> list[int]:
    """Raise ``incident_overdue`` once for each incident not reported up ``within`` after it
    was written; returns the entries it raised for. Without the alarms domain it raises
    nothing and marks nothing, so the alarm comes once that domain is there."""
    raise_alarm = _other("hub.alarms.service", "raise_alarm")
    if raise_alarm is None:
        return []
    due = list(db.query(
        "SELECT id, at, incident_kind, shift FROM duty_entries WHERE kind = 'incident' AND reported_at IS NULL"
        " AND overdue_at IS NULL AND at <= ? ORDER BY at, id", [utc_iso(now - within)]))
    raised = []
    for row in due:
        alarm_id = raise_alarm(db, OVERDUE_ALARM, now, subject=overdue_subject(row["id"]),
                               detail={"entry_id": str(row["id"]), "incident_kind": row["incident_kind"] or "",
                                       "shift": row["shift"], "written_at": row["at"]})
        db["duty_entries"].update(row["id"], {"overdue_at": utc_iso(now)})
        audit.record(db, "hub", "overdue", "duty_entry", str(row["id"]), alarm_id=alarm_id,
                     minutes=int(within.total_seconds() // 60))
        raised.append(row["id"])
    return raised

"""Alarms: raised by the hub's reactions and checks, acknowledged by a person with a note,
escalated to the supervisor when nobody has acknowledged them in time.

Every function here takes the database of a transaction (``store.tx()``) or a read: the
reactions and ticker checks call them inside their own transactions, the views inside one
of theirs. Every alarm, escalation and acknowledgement is in the audit log with the change.

Consoles learn of a change through the event bus (hub.events.bus): ``wake_on_change``
registers, for a store, what to call after a transaction that changed an alarm commits.
"""

from __future__ import annotations

import json
import weakref
from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import sqlite_utils

from hub import audit
from hub.auth import Principal
from hub.db import Store
from hub.errors import BadInput, Conflict, Forbidden, NotFound

#: who raises alarms in the audit log
HUB = "hub"
MAX_NOTE = 500
MAX_LIST = 500

#: per store (its writer's Database), what to call inside a transaction that changed alarms
_wakers: "weakref.WeakKeyDictionary[sqlite_utils.Database, Callable[[], None]]" = weakref.WeakKeyDictionary()


def wake_on_change(store: Store, wake: Callable[[], None]) -> None:
    """After every committed transaction of ``store`` that changed an alarm, call ``wake``
    (once per transaction, however many alarms it changed)."""
    _wakers[store.db] = lambda: store.after_commit(wake, once=True)


def _changed(db: sqlite_utils.Database) -> None:
    hook = _wakers.get(db)
    if hook is not None:
        hook()


def _iso(at: datetime) -> str:
    """One fixed form (microseconds always), so the stored times also sort as text."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _next_version(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COALESCE(MAX(version), 0) + 1 FROM alarms").fetchone()[0]


def raise_alarm(db: sqlite_utils.Database, kind: str, now: datetime, *, gate_id: str | None = None,
                door_id: str | None = None, subject: str | None = None, detail: dict[str, str] | None = None,
                source_seq: int | None = None) -> int | None:
    """A new open alarm; its id, or None when one of the same kind, gate, door and subject is
    open already (a flapping door, a gate dropping again: the guard has one to answer)."""
    cur = db.execute(
        """INSERT OR IGNORE INTO alarms (kind, gate_id, door_id, subject, detail, raised_at, state, source_seq, version)
           VALUES (?, ?, ?, ?, ?, ?, 'open', ?, ?)""",
        [kind, gate_id, door_id, subject, json.dumps(detail or {}, sort_keys=True), _iso(now), source_seq,
         _next_version(db)],
    )
    if cur.rowcount != 1:
        return None
    alarm_id = cur.lastrowid
    audit.record(db, HUB, "raise", "alarm", str(alarm_id), kind=kind, gate_id=gate_id, door_id=door_id,
                 subject=subject, source_seq=source_seq)
    _changed(db)
    return alarm_id


_COLUMNS = ("id, kind, gate_id, door_id, subject, detail, raised_at, state, escalated_at, acked_at, acked_by, note,"
            " source_seq, version")


def _visible(gate_ids: frozenset[str]) -> tuple[str, list[str]]:
    """A guard limited to gates sees their alarms, and those of no gate (the estate's)."""
    if not gate_ids:
        return "1", []
    return f"(gate_id IS NULL OR gate_id IN ({','.join('?' * len(gate_ids))}))", sorted(gate_ids)


def alarm_view(row: dict[str, Any], names: dict[str, str] | None = None) -> dict[str, Any]:
    acked_by = row["acked_by"]
    return {
        "id": row["id"],
        "seq": row["version"],  # the stream's event id
        "kind": row["kind"],
        "gate_id": row["gate_id"],
        "door_id": row["door_id"],
        "subject": row["subject"],
        "detail": json.loads(row["detail"] or "{}"),
        "raised_at": row["raised_at"],
        "state": row["state"],
        "escalated": row["escalated_at"] is not None,
        "escalated_at": row["escalated_at"],
        "acked_at": row["acked_at"],
        "acked_by": acked_by,
        "acked_by_name": (names or {}).get(acked_by, acked_by) if acked_by else None,
        "note": row["note"],
        "source_seq": row["source_seq"],
    }


def person_names(db: sqlite_utils.Database, whos: set[str]) -> dict[str, str]:
    """``role:login`` (how the audit log and commands name a person) to the name a person
    reads: the account's name (hub.users), else the login (a token's name)."""
    names: dict[str, str] = {}
    for who in whos:
        role, _, login = who.partition(":")
        found = list(db.query("SELECT name FROM users WHERE username = ? AND role = ?", [login, role])) if login else []
        names[who] = found[0]["name"] if found else (login or who)
    return names


def _views(db: sqlite_utils.Database, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = person_names(db, {r["acked_by"] for r in rows if r["acked_by"]})
    return [alarm_view(r, names) for r in rows]


def open_alarms(db: sqlite_utils.Database, gate_ids: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """The open alarms of these gates (empty: every gate), oldest first."""
    where, args = _visible(gate_ids)
    rows = list(db.query(f"SELECT {_COLUMNS} FROM alarms WHERE state = 'open' AND {where} ORDER BY raised_at, id", args))
    return _views(db, rows)


def list_alarms(db: sqlite_utils.Database, state: str, gate_ids: frozenset[str] = frozenset(),
                limit: int = 100) -> list[dict[str, Any]]:
    """``open``: every open one, oldest first; ``all``: the newest ``limit`` of any state."""
    if state == "open":
        return open_alarms(db, gate_ids)
    where, args = _visible(gate_ids)
    rows = list(db.query(f"SELECT {_COLUMNS} FROM alarms WHERE {where} ORDER BY id DESC LIMIT ?",
                         [*args, max(1, min(limit, MAX_LIST))]))
    return _views(db, rows)


def changed_after(db: sqlite_utils.Database, version: int, gate_ids: frozenset[str] = frozenset(),
                  limit: int = 200) -> list[dict[str, Any]]:
    """Alarms changed after ``version``, in the order of their changes: what a console missed."""
    where, args = _visible(gate_ids)
    rows = list(db.query(f"SELECT {_COLUMNS} FROM alarms WHERE version > ? AND {where} ORDER BY version LIMIT ?",
                         [version, *args, limit]))
    return _views(db, rows)


def last_version(db: sqlite_utils.Database) -> int:
    return db.execute("SELECT COALESCE(MAX(version), 0) FROM alarms").fetchone()[0]


def _one(db: sqlite_utils.Database, alarm_id: int) -> dict[str, Any]:
    rows = list(db.query(f"SELECT {_COLUMNS} FROM alarms WHERE id = ?", [alarm_id]))
    if not rows:
        raise NotFound("no alarm {alarm_id}", rule="unknown_alarm", field="alarm_id", alarm_id=alarm_id)
    return rows[0]


def get_alarm(db: sqlite_utils.Database, who: Principal, alarm_id: int) -> dict[str, Any]:
    row = _one(db, alarm_id)
    if row["gate_id"] is not None and not who.may_use_gate(row["gate_id"]):
        raise NotFound("no alarm {alarm_id}", rule="unknown_alarm", field="alarm_id", alarm_id=alarm_id)
    return _views(db, [row])[0]


def acknowledge(db: sqlite_utils.Database, who: Principal, alarm_id: int, note: str, now: datetime) -> dict[str, Any]:
    """Close an open alarm with what the person found or did; the note is required."""
    note = (note or "").strip()
    row = _one(db, alarm_id)
    if row["gate_id"] is not None and not who.may_use_gate(row["gate_id"]):
        raise Forbidden("{who} may not answer alarms of gate {gate}", rule="gate_not_allowed", who=who.who,
                        gate=row["gate_id"])
    if not note:
        raise BadInput("an alarm is acknowledged with a note of what was found or done", rule="note_required",
                       field="note")
    if len(note) > MAX_NOTE:
        raise BadInput("the note is longer than {max} characters", rule="note_too_long", field="note", max=MAX_NOTE)
    if row["state"] != "open":
        raise Conflict("alarm {alarm_id} was acknowledged already", rule="alarm_already_acknowledged",
                       alarm_id=alarm_id)
    db.execute("UPDATE alarms SET state = 'acknowledged', acked_at = ?, acked_by = ?, note = ?, version = ? WHERE id = ?",
               [_iso(now), who.who, note, _next_version(db), alarm_id])
    audit.record(db, who.who, "acknowledge", "alarm", str(alarm_id), note, kind=row["kind"], gate_id=row["gate_id"],
                 door_id=row["door_id"], subject=row["subject"])
    _changed(db)
    return _views(db, [_one(db, alarm_id)])[0]


def escalate_due(db: sqlite_utils.Database, now: datetime, after_s: float) -> list[int]:
    """Mark the alarms open longer than ``after_s`` and not yet escalated: the supervisor's now."""
    due = _iso(now - timedelta(seconds=after_s))
    ids = [r["id"] for r in db.query(
        "SELECT id FROM alarms WHERE state = 'open' AND escalated_at IS NULL AND raised_at <= ? ORDER BY id", [due])]
    for alarm_id in ids:
        db.execute("UPDATE alarms SET escalated_at = ?, version = ? WHERE id = ?", [_iso(now), _next_version(db), alarm_id])
        audit.record(db, HUB, "escalate", "alarm", str(alarm_id), after_s=after_s)
    if ids:
        _changed(db)
    return ids

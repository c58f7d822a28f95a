"""The events table: each gate event stored once, in the order the hub received it.

``seq`` is the hub's own ingest sequence: the id of each server-sent event on the live page,
so a browser that reconnects with Last-Event-ID gets exactly what it missed. ``event_id`` is
the gate's id for the event and is UNIQUE: a re-delivered event (the agent's outbox resends
until acknowledged) is ignored.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlite_utils

from protocols.messages import GateEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    gate_id TEXT NOT NULL,
    door_id TEXT,
    reader TEXT,
    direction TEXT,
    kind TEXT NOT NULL,
    uid TEXT,
    decision TEXT,
    reason TEXT,
    at TEXT NOT NULL,
    at_utc TEXT NOT NULL,
    acl_rev INTEGER NOT NULL,
    detail TEXT NOT NULL,
    received_at TEXT NOT NULL,
    flag TEXT,
    pass_id TEXT  -- a visit event's visitor pass (hub.visitors), once the gate checked its signature
);
CREATE INDEX IF NOT EXISTS events_at ON events (at_utc);
CREATE INDEX IF NOT EXISTS events_uid ON events (uid);
-- a guard's gates, newest first (with the rowid, seq, as its last column): without it a
-- quiet gate's list walks the whole time index
CREATE INDEX IF NOT EXISTS events_gate_at ON events (gate_id, at_utc);
"""

MAX_LIMIT = 1000

#: an event dated further ahead than this of its arrival (by the gate's own clock) is flagged
FUTURE_TOLERANCE = timedelta(minutes=5)
_ZERO = timedelta(0)
FUTURE_DATED = "future_dated"


def migrate(db: sqlite_utils.Database) -> None:
    have = {r["name"] for r in db.query("PRAGMA table_info(events)")}
    if "flag" not in have:
        db.execute("ALTER TABLE events ADD COLUMN flag TEXT")
    if "pass_id" not in have:
        db.execute("ALTER TABLE events ADD COLUMN pass_id TEXT")
    # the visit events alone (a partial index: a card's pass event adds nothing to it), for
    # the visitors' retention (hub.visitors.report.purge)
    db.execute("CREATE INDEX IF NOT EXISTS events_visits ON events (at_utc) WHERE kind = 'visit'")


def date_flag(at: datetime, received: datetime, clock_offset_s: float | None) -> str | None:
    """``future_dated`` when ``at`` is ahead of when the event arrived, read on the gate's clock.

    ``clock_offset_s`` is how far the gate's clock is behind the hub's (from its status
    messages); the gate's clock at arrival was ``received - offset``. Events from the past
    are normal (an outbox emptied after an outage) and are not flagged.
    """
    gate_now = received - timedelta(seconds=clock_offset_s or 0.0)
    return FUTURE_DATED if at - gate_now > FUTURE_TOLERANCE else None

_SELECT = """
SELECT e.seq, e.event_id, e.gate_id, e.door_id, e.reader, e.direction, e.kind, e.uid,
       e.decision, e.reason, e.at, e.received_at, e.flag, e.pass_id, c.holder_name, c.holder_unit, c.card_type
FROM events e LEFT JOIN cards c ON c.uid = COALESCE(
    -- a read in another form of the card (a Wiegand reader's bytes: hub.gates.acl, acl_derived)
    (SELECT d.card_uid FROM acl_derived d WHERE d.gate_id = e.gate_id AND d.key = e.uid), e.uid)
"""


def store_event(
    db: sqlite_utils.Database, event: GateEvent, received: datetime, flag: str | None = None
) -> int | None:
    """Insert ``event`` unless its event_id is already stored; its seq, or None if a repeat.

    A flagged (future-dated) event is kept as the gate said it, but sorts by when it
    arrived (``at_utc`` is the ordering time), so it never sits above genuine newer events.
    """
    at = event.at.isoformat()
    if flag == FUTURE_DATED:
        order_at = received.astimezone(timezone.utc).isoformat()
    elif event.at.utcoffset() == _ZERO:  # as gates send it: the same text (isoformat was a tenth of the insert)
        order_at = at
    else:
        order_at = event.at.astimezone(timezone.utc).isoformat()
    cur = db.execute(
        """INSERT OR IGNORE INTO events (event_id, gate_id, door_id, reader, direction, kind, uid,
               decision, reason, at, at_utc, acl_rev, detail, received_at, flag, pass_id)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
        [
            event.event_id,
            event.gate_id,
            event.door_id,
            event.reader,
            event.direction.value if event.direction else None,
            event.kind.value,
            event.uid,
            event.decision.value if event.decision else None,
            str(event.reason) if event.reason is not None else None,
            at,
            order_at,
            event.acl_rev,
            json.dumps(event.detail, sort_keys=True) if event.detail else "{}",  # most carry none: 2.5 us a call
            received.astimezone(timezone.utc).isoformat(),
            flag,
            event.pass_id,
        ],
    )
    return cur.lastrowid if cur.rowcount == 1 else None


def event_view(row: dict[str, Any]) -> dict[str, Any]:
    holder = None
    if row["holder_name"]:
        holder = {"name": row["holder_name"], "unit": row["holder_unit"]}
    return {
        "seq": row["seq"],
        "event_id": row["event_id"],
        "gate_id": row["gate_id"],
        "door_id": row["door_id"],
        "reader": row["reader"],
        "direction": row["direction"],
        "kind": row["kind"],
        "uid": row["uid"],
        "decision": row["decision"],
        "reason": row["reason"],
        "at": row["at"],
        "received_at": row["received_at"],
        "flag": row["flag"],
        "holder": holder,
        "card_type": row["card_type"],
        "pass_id": row["pass_id"],
    }


def _with_visitors(db: sqlite_utils.Database, views: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A visit event's view names the visitor and the unit visited ({"name", "host_unit"}), by
    its pass (hub.visitors); a second query for the visit events among ``views`` only, so a
    page of card passes costs nothing more."""
    passes = {v["pass_id"] for v in views if v["kind"] == "visit" and v["pass_id"]}
    found: dict[str, dict[str, str]] = {}
    if passes:
        found = {r["pass_id"]: {"name": r["visitor_name"], "host_unit": r["host_unit"]} for r in db.query(
            "SELECT p.pass_id, v.visitor_name, v.host_unit FROM visit_passes p JOIN visits v ON v.id = p.visit_id"
            f" WHERE p.pass_id IN ({','.join('?' * len(passes))})", sorted(passes))}
    for v in views:
        if v["kind"] == "visit":
            v["visitor"] = found.get(v["pass_id"] or "")
    return views


def newest(db: sqlite_utils.Database, limit: int, gate_ids: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Newest first by the time the gate gave (a replayed outbox sorts where it happened)."""
    limit = max(1, min(limit, MAX_LIMIT))
    if not gate_ids:
        rows = db.query(f"{_SELECT} ORDER BY e.at_utc DESC, e.seq DESC LIMIT ?", [limit])
        return _with_visitors(db, [event_view(r) for r in rows])
    # each gate's newest through its own index range (one IN over several gates would sort
    # all their events), then the newest of those
    keys: list[tuple[str, int]] = []
    for gate_id in sorted(gate_ids):
        keys += [(r["at_utc"], r["seq"]) for r in db.query(_GATE_NEWEST, [gate_id, limit])]
    seqs = [seq for _, seq in sorted(keys, reverse=True)[:limit]]
    if not seqs:
        return []
    rows = db.query(f"{_SELECT} WHERE e.seq IN ({','.join('?' * len(seqs))}) ORDER BY e.at_utc DESC, e.seq DESC", seqs)
    return _with_visitors(db, [event_view(r) for r in rows])


#: one gate's newest, served from events_gate_at alone
_GATE_NEWEST = "SELECT at_utc, seq FROM events WHERE gate_id = ? ORDER BY at_utc DESC, seq DESC LIMIT ?"


def after(db: sqlite_utils.Database, seq: int, limit: int = 200, gate_ids: frozenset[str] = frozenset()) -> list[dict[str, Any]]:
    """Events received after ``seq``, oldest first: what a live page missed."""
    where, args = "WHERE e.seq > ?", [seq]
    if gate_ids:
        # "+" keeps the gate index out: a live page asks for the few rows after a recent seq,
        # which the primary key finds at once; the gate index would fetch and sort all of a
        # busy gate's events
        where += f" AND +e.gate_id IN ({','.join('?' * len(gate_ids))})"
        args += sorted(gate_ids)
    rows = db.query(f"{_SELECT} {where} ORDER BY e.seq LIMIT ?", [*args, limit])
    return _with_visitors(db, [event_view(r) for r in rows])


def last_seq(db: sqlite_utils.Database) -> int:
    return list(db.query("SELECT COALESCE(MAX(seq), 0) AS m FROM events"))[0]["m"]

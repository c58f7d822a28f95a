"""Desk presentations: kept apart from gate events, each once, only while fresh.

A PRESENTED event is a card on the clerk's desk, not someone at a door, so it never enters
the events table (the guards' list, the live feed, the reports). ``seq`` is the id of each
server-sent event of a station's stream, so a page that reconnects with Last-Event-ID gets
what it missed, if still fresh. Rows are kept a day, for "which card did I tap at 10:02".
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Callable

import sqlite_utils

from hub.enroll.standing import is_fresh, standing
from protocols.messages import GateEvent

SCHEMA = """
CREATE TABLE IF NOT EXISTS enroll_presentations (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    gate_id TEXT NOT NULL,
    door_id TEXT,
    reader TEXT,
    uid TEXT NOT NULL,
    at TEXT NOT NULL,
    received_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS enroll_presentations_gate ON enroll_presentations (gate_id, seq);
CREATE INDEX IF NOT EXISTS enroll_presentations_received ON enroll_presentations (received_at);
"""

KEEP = timedelta(days=1)


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def _clock_offset(db: sqlite_utils.Database, gate_id: str) -> float | None:
    rows = list(db.query("SELECT clock_offset_s FROM gates WHERE gate_id = ?", [gate_id]))
    return rows[0]["clock_offset_s"] if rows else None


def record(db: sqlite_utils.Database, event: GateEvent, received: datetime) -> int | None:
    """Keep a fresh presentation; its seq, or None if stale or already kept."""
    if event.uid is None or not is_fresh(event.at, received, _clock_offset(db, event.gate_id)):
        return None
    db.execute("DELETE FROM enroll_presentations WHERE received_at < ?", [_iso(received - KEEP)])
    cur = db.execute(
        """INSERT OR IGNORE INTO enroll_presentations (event_id, gate_id, door_id, reader, uid, at, received_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)""",
        [event.event_id, event.gate_id, event.door_id, event.reader, event.uid, event.at.isoformat(),
         _iso(received)],
    )
    return cur.lastrowid if cur.rowcount == 1 else None


def last_seq(db: sqlite_utils.Database, gate_id: str) -> int:
    rows = db.query("SELECT COALESCE(MAX(seq), 0) AS m FROM enroll_presentations WHERE gate_id = ?", [gate_id])
    return list(rows)[0]["m"]


def card_row(db: sqlite_utils.Database, uid: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM cards WHERE uid = ?", [uid]))
    return dict(rows[0]) if rows else None


def after(db: sqlite_utils.Database, gate_id: str, seq: int, limit: int = 50,
          say: Callable[[str], str] | None = None) -> list[dict[str, Any]]:
    """Presentations at ``gate_id`` kept after ``seq``, oldest first, each with the UID's standing
    now (its text through ``say``, the reader's gettext)."""
    rows = db.query(
        "SELECT * FROM enroll_presentations WHERE gate_id = ? AND seq > ? ORDER BY seq LIMIT ?", [gate_id, seq, limit]
    )
    return [
        {
            "seq": r["seq"],
            "event_id": r["event_id"],
            "gate_id": r["gate_id"],
            "door_id": r["door_id"],
            "reader": r["reader"],
            "uid": r["uid"],
            "at": r["at"],
            "received_at": r["received_at"],
            "standing": standing(r["uid"], card_row(db, r["uid"]), *([say] if say else [])),
        }
        for r in list(rows)
    ]

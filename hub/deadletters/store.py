"""The dead_letters table: gate messages whose handler kept failing, kept and shown instead
of holding up every message behind them.

Which failures make a dead letter (``storage_failed`` says which do not): a message whose
handler raises is tried again at once, up to hub.mqtt.POISON_TRIES times; if it still fails
for a reason of its own (a value the hub cannot store, a bug its content reaches), it is
kept here and acknowledged to the broker. A failure of the storage itself (disk full,
database locked, I/O error) is no fault of the message: it is never dead-lettered but held
unacknowledged and retried until the store works again, so a full disk loses nothing.

One row per topic and payload (``digest``): the broker delivering the same poison again (a
retained status on every resubscribe, a queued copy after a hub restart) only counts it.
Payloads are kept up to KEEP_BYTES, as text when they are UTF-8, else base64. The table
keeps at most MAX_ROWS rows (the oldest by last delivery go first), so a gate sending
endless distinct poison cannot fill the hub's disk through it.
"""

from __future__ import annotations

import base64
import hashlib
import sqlite3
from datetime import datetime, timezone
from typing import Any, Callable

import sqlite_utils

from hub.db import Store
from protocols.topics import BadTopic, parse_gate_topic

SCHEMA = """
CREATE TABLE IF NOT EXISTS dead_letters (
    id INTEGER PRIMARY KEY,
    digest TEXT NOT NULL UNIQUE,
    topic TEXT NOT NULL,
    gate_id TEXT,
    channel TEXT,
    error TEXT NOT NULL,
    payload TEXT NOT NULL,
    payload_encoding TEXT NOT NULL,
    payload_bytes INTEGER NOT NULL,
    payload_truncated INTEGER NOT NULL,
    first_seen TEXT NOT NULL,
    last_seen TEXT NOT NULL,
    count INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS dead_letters_last_seen ON dead_letters (last_seen);
"""

KEEP_BYTES = 8 * 1024
MAX_ERROR = 1000
MAX_TOPIC = 300
MAX_ROWS = 10_000
MAX_LIMIT = 1000

#: SQLite's primary result codes that mean the storage failed, not the statement's data
_STORAGE_CODES = frozenset({
    sqlite3.SQLITE_PERM, sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_NOMEM,
    sqlite3.SQLITE_READONLY, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_FULL,
    sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PROTOCOL, sqlite3.SQLITE_NOLFS, sqlite3.SQLITE_NOTADB,
})


def storage_failed(exc: BaseException) -> bool:
    """Whether ``exc`` (or what it was raised from) is the store failing, not the message.

    Every sqlite3.OperationalError counts (disk full, locked, I/O, and SQL the hub itself got
    wrong: none is the message's fault, and retrying keeps the message until it is fixed),
    as do other SQLite errors with a storage result code, OSError and MemoryError.
    """
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, (sqlite3.OperationalError, OSError, MemoryError)):
            return True
        if isinstance(current, sqlite3.DatabaseError):
            code = getattr(current, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _STORAGE_CODES:
                return True
        current = current.__cause__ or current.__context__
    return False


def error_text(exc: BaseException) -> str:
    """What went wrong, for a supervisor: the exception's class and message, bounded."""
    text = f"{type(exc).__name__}: {exc}"
    return text if len(text) <= MAX_ERROR else text[: MAX_ERROR - 1] + "…"


def digest(topic: str, payload: bytes) -> str:
    return hashlib.sha256(topic.encode("utf-8", "replace") + b"\x00" + payload).hexdigest()


def kept_payload(payload: bytes) -> tuple[str, str, bool]:
    """(text, encoding, truncated): the first KEEP_BYTES as text if UTF-8, else as base64."""
    head = payload[:KEEP_BYTES]
    truncated = len(payload) > KEEP_BYTES
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if not (truncated and exc.start >= len(head) - 3 and exc.reason == "unexpected end of data"):
            return base64.b64encode(head).decode("ascii"), "base64", truncated
        text = head[: exc.start].decode("utf-8")  # cut inside a character: keep the whole ones
    return text, "utf-8", truncated


def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def keep(db: sqlite_utils.Database, topic: str, payload: bytes, error: str, now: datetime) -> bool:
    """Keep one dead letter, or count one more delivery of it; True if it is new."""
    key = digest(topic, payload)
    cur = db.execute(
        "UPDATE dead_letters SET count = count + 1, last_seen = ?, error = ? WHERE digest = ?",
        [_iso(now), error[:MAX_ERROR], key],
    )
    if cur.rowcount:
        return False
    try:
        where = parse_gate_topic(topic)
        gate_id, channel = where.gate_id, where.channel
    except BadTopic:
        gate_id = channel = None
    text, encoding, truncated = kept_payload(payload)
    db.execute(
        """INSERT INTO dead_letters (digest, topic, gate_id, channel, error, payload, payload_encoding,
               payload_bytes, payload_truncated, first_seen, last_seen, count)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)""",
        [key, topic[:MAX_TOPIC], gate_id, channel, error[:MAX_ERROR], text, encoding, len(payload),
         int(truncated), _iso(now), _iso(now)],
    )
    over = db.execute("SELECT COUNT(*) FROM dead_letters").fetchone()[0] - MAX_ROWS
    if over > 0:
        db.execute(
            "DELETE FROM dead_letters WHERE id IN (SELECT id FROM dead_letters ORDER BY last_seen, id LIMIT ?)",
            [over],
        )
    return True


def view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "gate_id": row["gate_id"],
        "channel": row["channel"],
        "topic": row["topic"],
        "error": row["error"],
        "first_seen": row["first_seen"],
        "last_seen": row["last_seen"],
        "count": row["count"],
        "payload": row["payload"],
        "payload_encoding": row["payload_encoding"],
        "payload_bytes": row["payload_bytes"],
        "payload_truncated": bool(row["payload_truncated"]),
    }


def newest(db: sqlite_utils.Database, limit: int, gate_id: str | None = None) -> list[dict[str, Any]]:
    """Most recently delivered first."""
    limit = max(1, min(limit, MAX_LIMIT))
    where, args = ("WHERE gate_id = ?", [gate_id]) if gate_id else ("", [])
    rows = db.query(f"SELECT * FROM dead_letters {where} ORDER BY last_seen DESC, id DESC LIMIT ?", [*args, limit])
    return [view(r) for r in rows]


def summary(db: sqlite_utils.Database) -> dict[str, Any]:
    """How many kept, how many deliveries of them, and the latest: for /api/v1/health/mqtt."""
    row = db.execute("SELECT COUNT(*), COALESCE(SUM(count), 0), MAX(last_seen) FROM dead_letters").fetchone()
    return {"kept": row[0], "deliveries": row[1], "last_seen": row[2]}


class DeadLetters:
    """What hub.mqtt.HubMqtt calls when a message has failed every try; counts this run's."""

    def __init__(self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.store = store
        self.clock = clock
        self.kept = 0
        self.repeats = 0

    def keep(self, topic: str, payload: bytes, exc: BaseException) -> bool:
        """Keep it (True) or count a repeat (False); raises if the store fails (the caller retries)."""
        with self.store.tx() as db:
            new = keep(db, topic, payload, error_text(exc), self.clock())
            # counted once kept: inside a batch of messages (hub.mqtt) that may yet roll back
            self.store.after_commit(self._count_kept if new else self._count_repeat)
        return new

    def _count_kept(self) -> None:
        self.kept += 1

    def _count_repeat(self) -> None:
        self.repeats += 1

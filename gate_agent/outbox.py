"""Store and forward of gate events.

Each event is committed (and so fsynced: WAL, synchronous=FULL) before anyone publishes it,
and leaves the file only when the broker has acknowledged it. A crash between the two
means the event is sent again after restart; the hub stores each event_id once, so a
duplicate costs nothing and a loss is impossible.

When the disk is full the gate must still open for residents: the event that could not
be written is kept in memory and still sent, the error is reported in the gate's status,
and nothing already on disk is touched.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections import OrderedDict, deque
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Sequence

from gate_agent.acl_store import connect
from protocols.messages import GateEvent

log = logging.getLogger(__name__)

#: at most this many events are held in memory while the disk refuses them
VOLATILE_MAX = 10_000
#: acknowledged events are deleted in batches by the sender thread: a lost delete only
#: means a harmless resend

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    payload BLOB NOT NULL
);
"""


_INSERT = "INSERT OR IGNORE INTO outbox (event_id, payload) VALUES (?, ?)"


@dataclass(frozen=True)
class Pending:
    seq: int  # order on disk; 0 for an event held in memory only
    event_id: str
    payload: bytes


class Outbox:
    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "outbox.db"
        self._c = connect(self.path, _SCHEMA)
        self._lock = threading.RLock()
        self._incoming: deque[str] = deque()  # acknowledgements not yet taken (lock-free)
        self._acked: set[str] = set()
        self._volatile: OrderedDict[str, bytes] = OrderedDict()
        self.error: str | None = None
        self.dropped = 0  # events lost because memory overflowed too (disk full for long)
        (self._disk_depth,) = self._c.execute("SELECT COUNT(*) FROM outbox").fetchone()
        self._last_depth = self._disk_depth

    def close(self) -> None:
        with self._lock:
            self.flush_acks()
            self._c.close()

    def put(self, event: GateEvent) -> bool:
        """Keep ``event`` until acknowledged; True if it is on disk, False if only in memory."""
        payload = event.to_bytes()
        with self._lock:
            try:
                cur = self._c.execute(_INSERT, (event.event_id, payload))
            except sqlite3.Error as exc:
                self._disk_failed(exc)
                if len(self._volatile) >= VOLATILE_MAX:
                    self._volatile.popitem(last=False)
                    self.dropped += 1
                self._volatile[event.event_id] = payload
                return False
            self._disk_depth += cur.rowcount
            self._disk_works()
            return True

    def put_many(self, events: Sequence[GateEvent]) -> int:
        """Keep every event until acknowledged, all in one transaction (one fsync: the event
        writer's group commit); how many are on disk. If the disk refuses the transaction,
        each event is kept as ``put`` keeps it (in memory while the disk is full)."""
        if len(events) == 1:
            return int(self.put(events[0]))
        rows = [(e.event_id, e.to_bytes()) for e in events]
        with self._lock:
            try:
                self._c.execute("BEGIN IMMEDIATE")
                added = 0
                for row in rows:
                    added += self._c.execute(_INSERT, row).rowcount
                self._c.execute("COMMIT")
            except sqlite3.Error:
                try:
                    if self._c.in_transaction:
                        self._c.execute("ROLLBACK")
                except sqlite3.Error:
                    pass  # SQLite has rolled back itself (a full disk or an I/O error does)
                return sum(self.put(e) for e in events)
            self._disk_depth += added
            self._disk_works()
            return len(rows)

    def _disk_works(self) -> None:
        """A write went through: if the disk had failed, say so and move held events to it."""
        if self.error is not None:
            log.warning("outbox writes again after: %s", self.error)
            self.error = None
            self._rescue_volatile()

    def _disk_failed(self, exc: sqlite3.Error) -> None:
        text = str(exc)
        if self.error != text:
            log.error("outbox cannot write to %s: %s (events kept in memory)", self.path, text)
        self.error = text

    def _rescue_volatile(self) -> None:
        """Move events held in memory to disk now that the disk takes writes again."""
        while self._volatile:
            event_id, payload = next(iter(self._volatile.items()))
            try:
                cur = self._c.execute(_INSERT, (event_id, payload))
            except sqlite3.Error as exc:
                self._disk_failed(exc)
                return
            self._volatile.pop(event_id)
            self._disk_depth += cur.rowcount

    def resign(self, sign: Callable[[bytes], bytes]) -> int:
        """Replace every pending payload by ``sign(payload)`` (a new gate key): one transaction.

        The caller holds the sender back meanwhile (MqttLink.paused), so nothing signed with
        the old key is published after the first message signed with the new one.
        """
        with self._lock:
            self._take_acks()
            for event_id, payload in list(self._volatile.items()):
                self._volatile[event_id] = sign(payload)
            try:
                rows = self._c.execute("SELECT seq, payload FROM outbox").fetchall()
                self._c.execute("BEGIN")
                self._c.executemany("UPDATE outbox SET payload = ? WHERE seq = ?",
                                    [(sign(bytes(p)), seq) for seq, p in rows])
                self._c.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._c.in_transaction:
                    self._c.execute("ROLLBACK")
                log.error("outbox could not re-sign its events with the new key: %s", exc)
                return 0
            return len(rows)

    def ack(self, event_id: str) -> None:
        """The broker has the event: forget it, later, in a batch (see flush_acks).

        Called on paho's network thread, so it takes no lock and touches no disk: waiting
        here for a commit would stop paho reading the next acknowledgements.
        """
        self._incoming.append(event_id)

    def _take_acks(self) -> None:
        """Move acknowledgements from the lock-free queue into the set (lock held)."""
        while self._incoming:
            event_id = self._incoming.popleft()
            if self._volatile.pop(event_id, None) is None:
                self._acked.add(event_id)

    def flush_acks(self) -> None:
        """Delete acknowledged events (the sender thread calls this after each round)."""
        with self._lock:
            self._take_acks()
            if not self._acked:
                return
            ids = list(self._acked)
            try:
                self._c.execute("BEGIN")
                cur = self._c.executemany("DELETE FROM outbox WHERE event_id = ?", ((i,) for i in ids))
                self._c.execute("COMMIT")
            except sqlite3.Error as exc:
                if self._c.in_transaction:
                    self._c.execute("ROLLBACK")
                log.warning("outbox could not forget %d delivered events (they may be sent again): %s", len(ids), exc)
                return
            self._disk_depth = max(0, self._disk_depth - cur.rowcount)
            self._acked.clear()

    def after(self, seq: int, limit: int) -> list[Pending]:
        """Events on disk after ``seq``, oldest first, not yet acknowledged."""
        with self._lock:
            self._take_acks()
            rows = self._c.execute(
                "SELECT seq, event_id, payload FROM outbox WHERE seq > ? ORDER BY seq LIMIT ?", (seq, limit)
            ).fetchall()
            return [Pending(s, e, bytes(p)) for s, e, p in rows if e not in self._acked]

    def volatile(self) -> list[Pending]:
        with self._lock:
            self._take_acks()
            return [Pending(0, e, p) for e, p in self._volatile.items()]

    @property
    def depth(self) -> int:
        """Events not yet acknowledged by the broker."""
        with self._lock:
            self._take_acks()
            self._last_depth = max(0, self._disk_depth - len(self._acked)) + len(self._volatile)
            return self._last_depth

    def depth_now(self) -> int:
        """``depth`` if the outbox is free this instant, else the last one counted: for the
        gate's status, told from the decision loop, which must never wait for a commit."""
        if not self._lock.acquire(blocking=False):
            return self._last_depth
        try:
            return self.depth
        finally:
            self._lock.release()

"""The gate's own copy of the access list, and the small memories a gate keeps.

The list lives in SQLite (WAL, synchronous=FULL) under data_dir so that a gate that
restarts with the hub unreachable still decides from the last list it had. Every change
is one transaction: a delta applies only on top of exactly its base revision and only if
the resulting checksum is the hub's; a snapshot is staged chunk by chunk and swapped in,
whole, in one transaction when every chunk is there and the staged set has the hub's
checksum. Decisions read through their own connection and so only ever see a committed
list, never half of one (and a SIGKILL mid-apply leaves the old list, whole).
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Iterator

from pydantic import TypeAdapter

from protocols.acl import EMPTY_CHECKSUM, AclEntry, canonical_json, checksum_of, checksum_of_texts, checksum_update
from protocols.messages import AclUpdate, Direction

log = logging.getLogger(__name__)

_ENTRY_LIST = TypeAdapter(list[AclEntry])

#: staged chunks of a snapshot that never completed are dropped after this long
STAGE_TTL_S = 600.0


class StoreError(Exception):
    """The local store cannot be opened or used."""


class Applied(StrEnum):
    """What ``AclStore.apply`` did with an update, and so what the caller should do next."""

    APPLIED = "applied"  # the list moved to update.rev
    DUPLICATE = "duplicate"  # at or below the rev held: nothing to do
    STAGED = "staged"  # a snapshot chunk kept; more to come
    GAP = "gap"  # a delta not on top of the rev held: resync from what is held
    MISMATCH = "mismatch"  # the result would not have the hub's checksum: ask for a snapshot (rev 0)
    WRONG_GATE = "wrong_gate"  # for another gate: ignored
    STALE = "stale"  # a snapshot at or below the rev held, not asked for: ignored


def connect(path: Path, schema: str = "") -> sqlite3.Connection:
    """A connection with the durability every file of the agent needs, its tables made;
    StoreError (naming the file) if the file cannot be opened."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=FULL")
        if schema:
            conn.executescript(schema)
    except (sqlite3.Error, OSError) as exc:
        raise StoreError(f"cannot open {path}: {exc}") from exc
    return conn


_ACL_SCHEMA = """
CREATE TABLE IF NOT EXISTS entries (uid TEXT PRIMARY KEY, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS staged (
    snapshot_id TEXT NOT NULL, chunk INTEGER NOT NULL, chunks INTEGER NOT NULL,
    rev INTEGER NOT NULL, checksum TEXT NOT NULL, body TEXT NOT NULL, staged_at REAL NOT NULL,
    PRIMARY KEY (snapshot_id, chunk)
);
"""


@dataclass(frozen=True)
class AclState:
    rev: int
    checksum: str
    count: int


class AclStore:
    """The cached ACL. One writer (the MQTT thread), any number of readers (the decision loop)."""

    def __init__(self, data_dir: str | Path, gate_id: str) -> None:
        self.path = Path(data_dir) / "acl.db"
        self.gate_id = gate_id
        self._w = connect(self.path, _ACL_SCHEMA)
        self._r = connect(self.path)
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._state = self._read_state()

    def close(self) -> None:
        with self._wlock, self._rlock:
            self._w.close()
            self._r.close()

    # -- reading -------------------------------------------------------------------------

    def get(self, uid: str) -> AclEntry | None:
        with self._rlock:
            row = self._r.execute("SELECT body FROM entries WHERE uid = ?", (uid,)).fetchone()
        return AclEntry.model_validate_json(row[0]) if row else None

    @property
    def rev(self) -> int:
        return self._state.rev

    @property
    def checksum(self) -> str:
        return self._state.checksum

    @property
    def state(self) -> AclState:
        return self._state

    def entries(self) -> Iterator[AclEntry]:
        with self._rlock:
            rows = self._r.execute("SELECT body FROM entries").fetchall()
        for (body,) in rows:
            yield AclEntry.model_validate_json(body)

    def verify(self) -> bool:
        """True if the stored entries hash to the stored checksum (a full rehash: startup only)."""
        return checksum_of(self.entries()) == self.checksum

    def _read_state(self) -> AclState:
        with self._rlock:
            meta = dict(self._r.execute("SELECT key, value FROM meta").fetchall())
            (count,) = self._r.execute("SELECT COUNT(*) FROM entries").fetchone()
        return AclState(int(meta.get("rev", 0)), meta.get("checksum", EMPTY_CHECKSUM), count)

    # -- writing -------------------------------------------------------------------------

    def apply(self, update: AclUpdate, whole_wanted: bool = False) -> Applied:
        """Apply one delta or one snapshot chunk; see Applied for what to do next.

        A snapshot at or below the rev held is refused (an old one replayed must not
        un-revoke a card) unless ``whole_wanted``: the gate asked for a whole list because
        its own is bad. The caller has checked the signature.
        """
        if update.gate_id != self.gate_id:
            return Applied.WRONG_GATE
        with self._wlock:
            if update.kind == "delta":
                return self._apply_delta(update)
            return self._stage_chunk(update, whole_wanted)

    def _apply_delta(self, u: AclUpdate) -> Applied:
        held = self._state
        if u.rev <= held.rev:
            return Applied.DUPLICATE
        if u.base_rev != held.rev:
            log.info("acl delta %s->%s is not on top of rev %s: resync", u.base_rev, u.rev, held.rev)
            return Applied.GAP
        checksum = held.checksum
        count = held.count
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            for uid in u.removes:
                old = self._old(uid)
                if old is not None:
                    w.execute("DELETE FROM entries WHERE uid = ?", (uid,))
                    checksum = checksum_update(checksum, old, None)
                    count -= 1
            for entry in u.upserts:
                old = self._old(entry.uid)
                w.execute(
                    "INSERT OR REPLACE INTO entries (uid, body) VALUES (?, ?)",
                    (entry.uid, canonical_json(entry).decode()),
                )
                checksum = checksum_update(checksum, old, entry)
                count += old is None
            if checksum != u.checksum:
                w.execute("ROLLBACK")
                log.warning("acl delta to rev %s gives checksum %s, hub says %s: full snapshot needed",
                            u.rev, checksum[:12], u.checksum[:12])
                return Applied.MISMATCH
            self._set_meta(u.rev, checksum)
            w.execute("COMMIT")
        except BaseException:
            if w.in_transaction:
                w.execute("ROLLBACK")
            raise
        self._state = AclState(u.rev, checksum, count)
        return Applied.APPLIED

    def _old(self, uid: str) -> AclEntry | None:
        row = self._w.execute("SELECT body FROM entries WHERE uid = ?", (uid,)).fetchone()
        return AclEntry.model_validate_json(row[0]) if row else None

    def _set_meta(self, rev: int, checksum: str) -> None:
        self._w.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [("rev", str(rev)), ("checksum", checksum)]
        )

    def _stage_chunk(self, u: AclUpdate, whole_wanted: bool = False) -> Applied:
        held = self._state
        if u.rev == held.rev and u.checksum == held.checksum:
            return Applied.DUPLICATE
        if u.rev <= held.rev and not (whole_wanted or held.rev == 0):
            log.warning("acl snapshot at rev %s refused: this gate holds rev %s", u.rev, held.rev)
            return Applied.STALE
        body = "[" + ",".join(canonical_json(e).decode() for e in u.upserts) + "]"
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.execute("DELETE FROM staged WHERE staged_at < ? OR rev < ?", (time.time() - STAGE_TTL_S, held.rev))
            w.execute(
                "INSERT OR REPLACE INTO staged (snapshot_id, chunk, chunks, rev, checksum, body, staged_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (u.snapshot_id, u.chunk, u.chunks, u.rev, u.checksum, body, time.time()),
            )
            w.execute("COMMIT")
        except BaseException:
            if w.in_transaction:
                w.execute("ROLLBACK")
            raise
        rows = w.execute(
            "SELECT chunk, chunks, rev, checksum, body FROM staged WHERE snapshot_id = ? ORDER BY chunk",
            (u.snapshot_id,),
        ).fetchall()
        if len(rows) < u.chunks:
            return Applied.STAGED
        return self._apply_snapshot(u, rows)

    def _apply_snapshot(self, u: AclUpdate, rows: list[tuple]) -> Applied:
        w = self._w
        consistent = {(r[1], r[2], r[3]) for r in rows} == {(u.chunks, u.rev, u.checksum)}
        entries: dict[str, AclEntry] = {}
        if consistent and [r[0] for r in rows] == list(range(u.chunks)):
            for r in rows:
                for e in _ENTRY_LIST.validate_json(r[4]):
                    entries[e.uid] = e
        texts = {uid: canonical_json(e).decode() for uid, e in entries.items()}  # serialised once
        checksum = checksum_of_texts(t.encode() for t in texts.values())
        if not consistent or checksum != u.checksum:
            w.execute("DELETE FROM staged WHERE snapshot_id = ?", (u.snapshot_id,))
            log.warning("acl snapshot %s at rev %s does not have the hub's checksum: discarded", u.snapshot_id, u.rev)
            return Applied.MISMATCH
        w.execute("BEGIN IMMEDIATE")
        try:
            w.execute("DELETE FROM entries")
            w.executemany("INSERT INTO entries (uid, body) VALUES (?, ?)", texts.items())
            self._set_meta(u.rev, checksum)
            w.execute("DELETE FROM staged WHERE snapshot_id = ? OR rev <= ?", (u.snapshot_id, u.rev))
            w.execute("COMMIT")
        except BaseException:
            if w.in_transaction:
                w.execute("ROLLBACK")
            raise
        self._state = AclState(u.rev, checksum, len(entries))
        log.info("acl snapshot %s applied: rev %s, %s cards", u.snapshot_id, u.rev, len(entries))
        return Applied.APPLIED


_STATE_SCHEMA = """
CREATE TABLE IF NOT EXISTS passback (uid TEXT PRIMARY KEY, direction TEXT NOT NULL, at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS nonces (nonce TEXT PRIMARY KEY, expires_at REAL NOT NULL);
"""


class LocalState:
    """Anti-passback memory and remote-open nonces: small, durable, in their own file.

    Their own file so that a long snapshot apply on the ACL never holds up the decision
    loop's writes.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / "state.db"
        self._c = connect(self.path, _STATE_SCHEMA)
        self._lock = threading.Lock()

    def close(self) -> None:
        with self._lock:
            self._c.close()

    def last_direction(self, uid: str) -> Direction | None:
        with self._lock:
            row = self._c.execute("SELECT direction FROM passback WHERE uid = ?", (uid,)).fetchone()
        return Direction(row[0]) if row else None

    def record_pass(self, uid: str, direction: Direction, at: datetime) -> None:
        with self._lock:
            self._c.execute(
                "INSERT OR REPLACE INTO passback (uid, direction, at) VALUES (?, ?, ?)",
                (uid, direction.value, at.isoformat()),
            )

    def claim_nonce(self, nonce: str, expires_at: datetime, now: datetime) -> bool:
        """True the first time a nonce is seen; False ever after, until it has expired.

        Kept past expiry by the clock skew a command may have, and then forgotten (an
        expired command is refused on its own).
        """
        with self._lock:
            self._c.execute("DELETE FROM nonces WHERE expires_at < ?", (now.timestamp() - 120.0,))
            try:
                self._c.execute(
                    "INSERT INTO nonces (nonce, expires_at) VALUES (?, ?)", (nonce, expires_at.timestamp())
                )
            except sqlite3.IntegrityError:
                return False
        return True

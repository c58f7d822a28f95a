"""The gate's own copy of the access list, and the small memories a gate keeps.

The list lives in SQLite (WAL, synchronous=FULL) under data_dir so that a gate that
restarts with the hub unreachable still decides from the last list it had. Every change
is one transaction: a delta applies only on top of exactly its base revision and only if
the resulting checksum is the hub's; a snapshot is staged chunk by chunk and swapped in,
whole, in one transaction when every chunk is there and the staged set has the hub's
checksum. Decisions read through their own connection and so only ever see a committed
list, never half of one (and a SIGKILL mid-apply leaves the old list, whole).

A snapshot is staged on disk, never in memory: each verified chunk goes into a staging
table in work of its own size, with a running count and XOR checksum beside it, so the
last chunk is known to complete the list without reading the others back; the swap is
then one INSERT ... SELECT inside SQLite. A 100,000-card list thus costs the gate a chunk
of memory, not the list.

Each entry is serialised to its canonical JSON once: the agent makes the texts to check the
chunk's signature over them (protocols.signing.verify's ``listed``) and hands them to
``apply``, which stores and hashes those texts; an entry already held is hashed as stored.

Entries name their schedules by id (protocols.acl.schedule_id) and each message carries the
schedules its entries name. A carried schedule that does not hash to its id refuses the whole
message (FORGED); an entry naming an id neither carried nor held refuses it too (MISMATCH: a
snapshot is asked for). Schedules live in their own table, staged with a snapshot and swapped
in with it, ids no entry names dropped then. ``get`` puts the schedule back in the entry (a
small cache of parsed schedules: they are content-addressed, so a cached one is never stale),
so the decision rule sees whole entries; an entry stored whole before ids still decides.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from pathlib import Path
from typing import Iterator, Sequence

from protocols.acl import (
    EMPTY_CHECKSUM, AclEntry, Schedule, canonical_json, canonical_texts, checksum_of_texts, checksum_update_texts,
    schedule_id,
)
from protocols.messages import AclUpdate, Direction

log = logging.getLogger(__name__)

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
    FORGED = "forged"  # a carried schedule does not hash to its id: refused whole, nothing changed


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
DROP TABLE IF EXISTS staged;
CREATE TABLE IF NOT EXISTS staging (
    id INTEGER PRIMARY KEY, snapshot_id TEXT NOT NULL UNIQUE, rev INTEGER NOT NULL,
    checksum TEXT NOT NULL, chunks INTEGER NOT NULL, received INTEGER NOT NULL,
    acc TEXT NOT NULL, touched_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS staged_chunks (staging INTEGER NOT NULL, chunk INTEGER NOT NULL, PRIMARY KEY (staging, chunk))
    WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS staged_entries (
    staging INTEGER NOT NULL, uid TEXT NOT NULL, body TEXT NOT NULL, PRIMARY KEY (staging, uid)
) WITHOUT ROWID;
-- schedules the entries name, by id (protocols.acl.schedule_id): body is the canonical JSON
CREATE TABLE IF NOT EXISTS schedules (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
-- ids a staged snapshot's entries name; body NULL: held in schedules when its chunk came
CREATE TABLE IF NOT EXISTS staged_schedules (
    staging INTEGER NOT NULL, id TEXT NOT NULL, body TEXT, PRIMARY KEY (staging, id)
) WITHOUT ROWID;
"""

#: what an entry naming a schedule the gate cannot find gets: no window, so it fails closed
_CLOSED = Schedule()

#: rows read per page when the whole list is walked (startup check, tests): bounded memory
_PAGE = 1000


def _texts_of(u: AclUpdate, texts: Sequence[bytes] | None) -> Sequence[bytes]:
    """The canonical JSON of ``u``'s upserts: ``texts`` as the caller made them, or made here
    when there are none (or they cannot be the upserts', by count)."""
    if texts is None or len(texts) != len(u.upserts):
        return canonical_texts(u.upserts)
    return texts


@dataclass(frozen=True)
class AclState:
    rev: int
    checksum: str
    count: int


@dataclass(frozen=True)
class _Staging:
    """One snapshot being staged: what its first chunk promised, and how far it has got."""

    id: int
    rev: int
    checksum: str
    chunks: int
    received: int
    acc: int  # XOR of the SHA-256 of every staged entry (protocols.acl's checksum, kept as it grows)


def _named(u: AclUpdate) -> set[str]:
    """The schedule ids ``u``'s upserts name."""
    return {e.schedule for e in u.upserts if isinstance(e.schedule, str)}


def forged_schedule(u: AclUpdate) -> str | None:
    """The id of a schedule ``u`` carries whose content does not hash to it, if any."""
    for sid, schedule in u.schedules.items():
        if schedule_id(schedule) != sid:
            return sid
    return None


def _digest(texts: Sequence[bytes]) -> int:
    """protocols.acl's checksum of some entries as a number, to XOR into a running one."""
    return int(checksum_of_texts(texts), 16)


class AclStore:
    """The cached ACL. One writer (the MQTT thread), any number of readers (the decision loop)."""

    def __init__(self, data_dir: str | Path, gate_id: str) -> None:
        self.path = Path(data_dir) / "acl.db"
        self.gate_id = gate_id
        self._w = connect(self.path, _ACL_SCHEMA)
        self._r = connect(self.path)
        self._wlock = threading.Lock()
        self._rlock = threading.Lock()
        self._schedules: dict[str, Schedule] = {}  # parsed, by id; dropped at each swap
        self._state = self._read_state()

    def close(self) -> None:
        with self._wlock, self._rlock:
            self._w.close()
            self._r.close()

    # -- reading -------------------------------------------------------------------------

    def get(self, uid: str) -> AclEntry | None:
        """The card's entry with its schedule in place (decide.py's whole entry)."""
        with self._rlock:
            row = self._r.execute("SELECT body FROM entries WHERE uid = ?", (uid,)).fetchone()
        if row is None:
            return None
        entry = AclEntry.model_validate_json(row[0])
        if not isinstance(entry.schedule, str) or entry.schedule in self._schedules:
            return self._resolved(entry, None)
        # not parsed yet: entry and schedule read again in one read transaction, so a swap in
        # between (which drops the schedules the new list does not name) cannot split them
        with self._rlock:
            self._r.execute("BEGIN")
            try:
                row = self._r.execute("SELECT body FROM entries WHERE uid = ?", (uid,)).fetchone()
                entry = AclEntry.model_validate_json(row[0]) if row else None
                held = self._r.execute("SELECT body FROM schedules WHERE id = ?",
                                       (entry.schedule,)).fetchone() if entry else None
            finally:
                self._r.execute("COMMIT")
        return self._resolved(entry, held[0] if held else None) if entry else None

    def _resolved(self, entry: AclEntry, held: str | None) -> AclEntry:
        """``entry`` with the schedule it names: the parsed one kept, else ``held`` (its stored
        text, or None: read it now)."""
        sid = entry.schedule
        if not isinstance(sid, str):
            return entry  # none, or stored whole before ids
        schedule = self._schedules.get(sid)
        if schedule is None:
            if held is None:
                with self._rlock:
                    row = self._r.execute("SELECT body FROM schedules WHERE id = ?", (sid,)).fetchone()
                held = row[0] if row else None
            if held is None:  # never stored without it (apply checks): a damaged file
                log.error("card %s names schedule %s, which this gate does not hold: denied", entry.uid, sid)
                schedule = _CLOSED
            else:
                schedule = self._schedules[sid] = Schedule.model_validate_json(held)
        return entry.model_copy(update={"schedule": schedule})

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
        """Every entry of one committed list, a page at a time (never the whole list in memory)."""
        for _checksum, bodies in self._walk():
            for body in bodies:
                yield self._resolved(AclEntry.model_validate_json(body), None)

    def verify(self) -> bool:
        """True if the stored entries hash to the stored checksum (a full rehash: startup only).

        Hashes the stored canonical text as it is: that text is what the checksum was made
        of, so there is nothing to gain from parsing and serialising 100,000 entries again.
        """
        acc, stored = 0, EMPTY_CHECKSUM
        for stored, bodies in self._walk():
            acc ^= _digest([b.encode() for b in bodies])
        return f"{acc:064x}" == stored

    def _walk(self) -> Iterator[tuple[str, list[str]]]:
        """(stored checksum, a page of bodies) through one read transaction on a connection of
        its own, so a swap meanwhile is seen whole or not at all and decisions never wait."""
        conn = sqlite3.connect(str(self.path), isolation_level=None, check_same_thread=False, timeout=30)
        try:
            conn.execute("BEGIN")
            row = conn.execute("SELECT value FROM meta WHERE key = 'checksum'").fetchone()
            stored = row[0] if row else EMPTY_CHECKSUM
            cur = conn.execute("SELECT body FROM entries")
            yielded = False
            while page := cur.fetchmany(_PAGE):
                yielded = True
                yield stored, [b for (b,) in page]
            if not yielded:
                yield stored, []
            conn.execute("COMMIT")
        finally:
            conn.close()

    def _read_state(self) -> AclState:
        with self._rlock:
            meta = dict(self._r.execute("SELECT key, value FROM meta").fetchall())
            (count,) = self._r.execute("SELECT COUNT(*) FROM entries").fetchone()
        return AclState(int(meta.get("rev", 0)), meta.get("checksum", EMPTY_CHECKSUM), count)

    # -- writing -------------------------------------------------------------------------

    def apply(self, update: AclUpdate, whole_wanted: bool = False, texts: Sequence[bytes] | None = None) -> Applied:
        """Apply one delta or one snapshot chunk; see Applied for what to do next.

        A snapshot at or below the rev held is refused (an old one replayed must not
        un-revoke a card) unless ``whole_wanted``: the gate asked for a whole list because
        its own is bad. The caller has checked the signature. ``texts``, when given, are
        ``canonical_texts(update.upserts)``, made already to check that signature
        (protocols.signing.verify's ``listed``): the entries are stored and hashed as those
        texts rather than serialised a second time.
        """
        if update.gate_id != self.gate_id:
            return Applied.WRONG_GATE
        forged = forged_schedule(update)
        if forged is not None:
            log.warning("acl %s to rev %s refused: schedule %s does not match its id", update.kind, update.rev, forged)
            return Applied.FORGED
        with self._wlock:
            if update.kind == "delta":
                return self._apply_delta(update, texts)
            return self._stage_chunk(update, whole_wanted, texts)

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        """One write transaction on the writer: committed when the block ends, however it
        returns; rolled back on an exception."""
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            yield w
            w.execute("COMMIT")
        except BaseException:
            if w.in_transaction:
                w.execute("ROLLBACK")
            raise

    def _apply_delta(self, u: AclUpdate, texts: Sequence[bytes] | None = None) -> Applied:
        held = self._state
        if u.rev <= held.rev:
            return Applied.DUPLICATE
        if u.base_rev != held.rev:
            log.info("acl delta %s->%s is not on top of rev %s: resync", u.base_rev, u.rev, held.rev)
            return Applied.GAP
        unknown = self._unknown_schedules(u, _named(u))
        if unknown:
            log.warning("acl delta to rev %s names schedules this gate lacks (%s): snapshot needed",
                        u.rev, ", ".join(sorted(unknown)[:3]))
            return Applied.MISMATCH
        texts = _texts_of(u, texts)
        checksum = held.checksum
        count = held.count
        w = self._w
        w.execute("BEGIN IMMEDIATE")
        try:
            w.executemany("INSERT OR IGNORE INTO schedules (id, body) VALUES (?, ?)",
                          [(sid, canonical_json(u.schedules[sid]).decode()) for sid in _named(u) if sid in u.schedules])
            for uid in u.removes:
                old = self._old_text(uid)
                if old is not None:
                    w.execute("DELETE FROM entries WHERE uid = ?", (uid,))
                    checksum = checksum_update_texts(checksum, old, None)
                    count -= 1
            for entry, text in zip(u.upserts, texts):
                old = self._old_text(entry.uid)
                w.execute("INSERT OR REPLACE INTO entries (uid, body) VALUES (?, ?)", (entry.uid, text.decode()))
                checksum = checksum_update_texts(checksum, old, text)
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

    def _unknown_schedules(self, u: AclUpdate, named: set[str], staging: int | None = None) -> set[str]:
        """Ids of ``named`` that ``u`` does not carry and the gate does not hold (nor has
        staged for ``staging``, the snapshot ``u`` belongs to)."""
        unknown = set()
        for sid in named - u.schedules.keys():
            if self._w.execute("SELECT 1 FROM schedules WHERE id = ?", (sid,)).fetchone():
                continue
            if staging is not None and self._w.execute(
                    "SELECT 1 FROM staged_schedules WHERE staging = ? AND id = ? AND body IS NOT NULL",
                    (staging, sid)).fetchone():
                continue
            unknown.add(sid)
        return unknown

    def _old_text(self, uid: str) -> bytes | None:
        """The entry held for ``uid`` as stored: its canonical JSON, what the checksum is made of
        (see ``verify``), so it is hashed as it is, never parsed and serialised again."""
        row = self._w.execute("SELECT body FROM entries WHERE uid = ?", (uid,)).fetchone()
        return row[0].encode() if row else None

    def _set_meta(self, rev: int, checksum: str) -> None:
        self._w.executemany(
            "INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", [("rev", str(rev)), ("checksum", checksum)]
        )

    # -- snapshots: staged on disk chunk by chunk, swapped in whole ----------------------------

    def _stage_chunk(self, u: AclUpdate, whole_wanted: bool = False, texts: Sequence[bytes] | None = None) -> Applied:
        """Keep one verified chunk on disk in work proportional to the chunk; swap the list in
        when the last one arrives. Each chunk is its own transaction (its entries, its mark
        and the running count and checksum together), so a kill at any point leaves staging
        that a later chunk or the same chunk sent again carries on from."""
        held = self._state
        if u.rev == held.rev and u.checksum == held.checksum:
            return Applied.DUPLICATE
        if u.rev <= held.rev and not (whole_wanted or held.rev == 0):
            log.warning("acl snapshot at rev %s refused: this gate holds rev %s", u.rev, held.rev)
            return Applied.STALE
        texts = _texts_of(u, texts)  # once per entry: staged, hashed and swapped in as they are
        self._durability(swap_possible=self._received(u.snapshot_id) + 1 >= u.chunks)
        try:
            return self._stage_in_tx(u, held, texts)
        finally:
            self._durability(swap_possible=True)

    def _received(self, snapshot_id: str | None) -> int:
        row = self._w.execute("SELECT received FROM staging WHERE snapshot_id = ?", (snapshot_id,)).fetchone()
        return row[0] if row else 0

    def _durability(self, swap_possible: bool) -> None:
        """Every commit that can change the list is fsync'd (synchronous=FULL). One that only
        stages a chunk is not (NORMAL: still atomic, and a kill loses nothing; a power cut
        may lose the last chunks staged, which the gate then asks for again): 200 fsyncs
        per 100,000 cards cost seconds on an SD card. SQLite takes this only between
        transactions, so it is chosen before the chunk's, from the count already staged."""
        self._w.execute(f"PRAGMA synchronous={'FULL' if swap_possible else 'NORMAL'}")

    def _stage_in_tx(self, u: AclUpdate, held: AclState, texts: Sequence[bytes]) -> Applied:
        named = _named(u)
        row = self._w.execute("SELECT id FROM staging WHERE snapshot_id = ?", (u.snapshot_id,)).fetchone()
        unknown = self._unknown_schedules(u, named, row[0] if row else None)
        if unknown:  # before any write: the store is left as it was
            log.warning("acl snapshot %s: chunk %s names schedules this gate lacks (%s): snapshot needed",
                        u.snapshot_id, u.chunk, ", ".join(sorted(unknown)[:3]))
            return Applied.MISMATCH
        with self._tx() as w:
            self._drop_abandoned(held.rev)
            st = self._staging(u)
            if st is None:
                log.warning("acl snapshot %s: chunk %s disagrees with the chunks before it: discarded",
                            u.snapshot_id, u.chunk)
                return Applied.MISMATCH
            if w.execute("INSERT OR IGNORE INTO staged_chunks (staging, chunk) VALUES (?, ?)",
                         (st.id, u.chunk)).rowcount == 0:
                return Applied.STAGED  # sent again: already staged
            w.executemany(
                "INSERT INTO staged_schedules (staging, id, body) VALUES (?, ?, ?) ON CONFLICT (staging, id)"
                " DO UPDATE SET body = COALESCE(staged_schedules.body, excluded.body)",
                [(st.id, sid, canonical_json(u.schedules[sid]).decode() if sid in u.schedules else None)
                 for sid in named],
            )
            added = w.executemany(
                "INSERT OR IGNORE INTO staged_entries (staging, uid, body) VALUES (?, ?, ?)",
                [(st.id, e.uid, t.decode()) for e, t in zip(u.upserts, texts)],
            ).rowcount if texts else 0
            if added == len(texts):
                acc = st.acc ^ _digest(texts)
            else:  # a card listed twice in one snapshot: the first stays; count what is staged
                acc = self._staged_acc(st.id)
            received = st.received + 1
            w.execute("UPDATE staging SET received = ?, acc = ?, touched_at = ? WHERE id = ?",
                      (received, f"{acc:064x}", time.time(), st.id))
            if received < st.chunks:
                return Applied.STAGED
            if f"{acc:064x}" != u.checksum:
                self._drop_staging(st.id)
                log.warning("acl snapshot %s at rev %s does not have the hub's checksum: discarded",
                            u.snapshot_id, u.rev)
                return Applied.MISMATCH
            count = self._swap_in(st.id, u.rev, u.checksum)
            if count is None:
                log.warning("acl snapshot %s names schedules this gate no longer holds: discarded", u.snapshot_id)
                return Applied.MISMATCH
        self._schedules = {}  # only what the new list names is parsed again
        self._state = AclState(u.rev, u.checksum, count)
        log.info("acl snapshot %s applied: rev %s, %s cards", u.snapshot_id, u.rev, count)
        return Applied.APPLIED

    def _staging(self, u: AclUpdate) -> _Staging | None:
        """The staging of ``u``'s snapshot, begun by this chunk if it is the first to arrive;
        None (and the staging dropped) if ``u`` does not agree with the chunks before it."""
        w = self._w
        row = w.execute("SELECT id, rev, checksum, chunks, received, acc FROM staging WHERE snapshot_id = ?",
                        (u.snapshot_id,)).fetchone()
        if row is None:
            cur = w.execute(
                "INSERT INTO staging (snapshot_id, rev, checksum, chunks, received, acc, touched_at)"
                " VALUES (?, ?, ?, ?, 0, ?, ?)",
                (u.snapshot_id, u.rev, u.checksum, u.chunks, EMPTY_CHECKSUM, time.time()),
            )
            return _Staging(cur.lastrowid, u.rev, u.checksum, u.chunks, 0, 0)
        st = _Staging(row[0], row[1], row[2], row[3], row[4], int(row[5], 16))
        if (st.rev, st.checksum, st.chunks) != (u.rev, u.checksum, u.chunks):
            self._drop_staging(st.id)
            return None
        return st

    def _staged_acc(self, staging: int) -> int:
        acc = 0
        cur = self._w.execute("SELECT body FROM staged_entries WHERE staging = ?", (staging,))
        while page := cur.fetchmany(_PAGE):
            acc ^= _digest([b.encode() for (b,) in page])
        return acc

    def _drop_abandoned(self, held_rev: int) -> None:
        """Forget snapshots that stopped arriving long ago or that the list has moved past."""
        for (sid,) in self._w.execute("SELECT id FROM staging WHERE touched_at < ? OR rev < ?",
                                      (time.time() - STAGE_TTL_S, held_rev)).fetchall():
            self._drop_staging(sid)

    def _drop_staging(self, staging: int) -> None:
        w = self._w
        w.execute("DELETE FROM staging WHERE id = ?", (staging,))
        if w.execute("SELECT 1 FROM staging LIMIT 1").fetchone() is None:
            w.execute("DELETE FROM staged_entries")  # nothing else staged: SQLite empties the table whole
            w.execute("DELETE FROM staged_chunks")
            w.execute("DELETE FROM staged_schedules")
        else:
            w.execute("DELETE FROM staged_entries WHERE staging = ?", (staging,))
            w.execute("DELETE FROM staged_chunks WHERE staging = ?", (staging,))
            w.execute("DELETE FROM staged_schedules WHERE staging = ?", (staging,))

    def _swap_in(self, staging: int, rev: int, checksum: str) -> int | None:
        """The staged list becomes the list, inside the caller's transaction: SQLite copies the
        rows from table to table, so no entry passes through Python. Returns the count; None
        (staging dropped, nothing else changed) if a schedule it names, held when its chunk
        came, is held no more (a swap of another snapshot in between dropped it).

        The schedules become exactly those the new list names: the staged ones added, held
        ones it still names kept, the rest dropped."""
        w = self._w
        if w.execute("SELECT 1 FROM staged_schedules WHERE staging = ? AND body IS NULL"
                     " AND id NOT IN (SELECT id FROM schedules) LIMIT 1", (staging,)).fetchone():
            self._drop_staging(staging)
            return None
        w.execute("INSERT OR IGNORE INTO schedules (id, body) SELECT id, body FROM staged_schedules"
                  " WHERE staging = ? AND body IS NOT NULL", (staging,))
        w.execute("DELETE FROM schedules WHERE id NOT IN (SELECT id FROM staged_schedules WHERE staging = ?)",
                  (staging,))
        w.execute("DELETE FROM entries")
        count = w.execute("INSERT INTO entries (uid, body) SELECT uid, body FROM staged_entries WHERE staging = ?",
                          (staging,)).rowcount
        self._set_meta(rev, checksum)
        for (sid,) in w.execute("SELECT id FROM staging WHERE rev <= ?", (rev,)).fetchall():
            self._drop_staging(sid)
        return count


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

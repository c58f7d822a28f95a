"""Each gate's access list: projection, versioned log, and answers to SyncRequests.

THE RULE FOR ANY CODE THAT CHANGES A CARD (issue, revoke, lost, return, scrap, edits):
inside the same ``store.tx()`` that writes the ``cards`` row, call

    hub.gates.acl.card_changed(db, uid)

It re-projects that one card for every known gate, and for each gate whose entry changes it
appends one row to ``acl_log`` (gate_id, rev = previous + 1, uid, entry JSON or NULL for a
removal, checksum after), updates ``acl_state`` (what the gate should hold now) and the
gate's head in ``acl_head``. Rolled back with the card change, committed with it.

Publication after commit: ``card_changed`` also wakes hub.gates.publisher. Its thread then
takes the store lock, which the writing transaction holds until it commits or rolls back,
so it only ever sees committed rows; it publishes every new log row as AclUpdate deltas
(QoS 1, never retained) on each gate's acl topic, coalesced per gate into consecutive
ranges of at most CHUNK revisions. Callers do nothing else. A gate that misses a delta sees
a gap (base_rev is not what it holds) and sends a SyncRequest.

What a gate holds is ``project(db, card, gates)``: a card that is not in stock is listed at
the gates its access levels reach (hub.access: the card's own levels, else its card type's
defaults), with the doors, schedule and anti-passback flag its levels give there (merged
by hub.access.merge when two levels reach one gate); revoked, lost, ... cards stay listed
there so the gate can say why it denies. A card whose levels reach no gate is listed at
none (a gate that listed it gets a removal). A renovation worker's card linked to a permit
(hub.permits.access) has the permit as its level (the permit's hours its schedule) and is
listed as ``permit_suspended`` or ``permit_ended`` while the permit is not approved. Access rules belong in ``project`` and
nowhere else. A gate whose readers report cards in another form (a Wiegand 26 reader sends
3 bytes of a MIFARE UID: protocols.cardformats; the gate's status says which forms) also
holds, for each card it lists, a copy of the card's entry under each such key
(``_set_derived``, remembered in ``acl_derived``), so the same rules decide a read of it.

A change to a level, schedule, card-type default or the estate calendar calls
``schedule_reproject(db, uids)`` (None: every card) in the transaction of the change. A few
cards are re-projected there and then; more become a durable job (``acl_pending``: cards,
``acl_sweeps``: every card, in uid order, with its position), committed with the change
and done after commit by hub.gates.projector in steps that each hold the store lock about
25 ms, so a holiday reaching 100,000 cards never stops taps, events or revocations. Jobs
coalesce (a card is pending once; a second sweep restarts the first). Each step projects
its cards from their rows as they are then, so it can never undo a card's own change made
since (``card_changed`` stays synchronous: a revocation reaches the gates at once). The
gates' lists are right for a card once its step is done; until then they hold its entry
under the old rule, as they would have while the change was being made.

A new gate's list (``ensure_gate``) is built the same way when it has many cards (a
``build`` sweep, not sent to the gate until done), from entry texts made per shape of
card (hub.gates.entry_texts) and inserted a slice per statement.

Stored texts are the LISTED form (protocols.acl.listed): an entry names its schedule by id,
and ``acl_schedules`` keeps each schedule once by id for every gate (content-addressed:
insert-or-ignore, in the transaction of the texts that name it: ``_store_schedules``). Every
message to a gate carries the schedules its entries name (``snapshot_parts``, ``coalesce``).
A hub file from before ids is re-projected once, in steps, at its upgrade (``migrate``).

Answering a SyncRequest (``decide_sync``; ``answer_sync`` with the snapshot as models):
- rev 0, a rev above the hub's, a rev the hub has no log row for, or a checksum that differs
  from the log's checksum at that rev: a snapshot of the whole list at the hub's head, in
  chunks of at most CHUNK entries and CHUNK_BYTES sharing one snapshot_id (for a gate ahead of the hub, restored
  from a backup, or at the hub's rev with another list, the head is first renumbered past the gate's rev:
  ``_jump_head``, since a gate refuses a snapshot at or below the rev it holds unless it asked for one);
- otherwise a delta from the gate's rev to the head, coalesced to the latest state per uid
  (or a snapshot when more than CHUNK uids changed, to keep messages small);
- already at the head with the same checksum: no answer at all (an empty delta cannot be
  expressed: a delta needs base_rev < rev).
A gate the hub has never seen has its list built (``ensure_gate``) before the answer.
Heartbeats are checked the same way (``needs_repair``), so a gate that never reconnects still
gets repaired. A whole list is not built in the deciding transaction: hub.gates.snapshots
sends it from one read of the stored entry texts (``snapshot_parts``), off the MQTT thread.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

import sqlite_utils

from hub.access.plan import AccessPlan, load_plan
from hub.gates.entry_texts import EntryTexts, listed_text, named_ids, remember, schedule_of
from protocols.acl import (
    EMPTY_CHECKSUM, AclEntry, Schedule, canonical_json, checksum_of_texts, checksum_update_texts, text_digest,
)
from protocols.cardformats import UidForm, derived_uids
from protocols.cards import CardStatus, CardType
from protocols.messages import MAX_PAYLOAD, AclUpdate

log = logging.getLogger(__name__)

CHUNK = 500
#: entries' JSON per message at most: half of what a gate accepts (protocols.messages
#: MAX_PAYLOAD), since an entry with a schedule and the estate's holidays can be 500+ bytes
CHUNK_BYTES = MAX_PAYLOAD // 2


def _split(texts: Iterable[str], count: int = CHUNK, size: int = CHUNK_BYTES) -> list[list[str]]:
    """Consecutive groups of at most ``count`` texts and ``size`` bytes (one oversized text alone)."""
    groups: list[list[str]] = []
    group: list[str] = []
    used = 0
    for text in texts:
        if group and (len(group) >= count or used + len(text) > size):
            groups.append(group)
            group, used = [], 0
        group.append(text)
        used += len(text) + 1
    return [*groups, group] if group else groups

SCHEMA = """
CREATE TABLE IF NOT EXISTS gates (
    gate_id TEXT PRIMARY KEY,
    key_hex TEXT,  -- no longer written: keys are sealed in keys_sealed (hub.gates.keys)
    keys_sealed TEXT,
    key_gen INTEGER NOT NULL DEFAULT 0,
    registered_at TEXT,
    first_seen_at TEXT NOT NULL,
    online INTEGER NOT NULL DEFAULT 0,
    status_at TEXT,
    status_received_at TEXT,
    status_json TEXT,
    reported_rev INTEGER,
    reported_checksum TEXT,
    outbox_depth INTEGER,
    clock_offset_s REAL
);
CREATE TABLE IF NOT EXISTS acl_head (
    gate_id TEXT PRIMARY KEY REFERENCES gates (gate_id),
    rev INTEGER NOT NULL,
    checksum TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS acl_state (
    gate_id TEXT NOT NULL,
    uid TEXT NOT NULL,
    entry TEXT NOT NULL,
    PRIMARY KEY (gate_id, uid)
);
CREATE TABLE IF NOT EXISTS gate_uid_forms (
    gate_id TEXT PRIMARY KEY,
    forms TEXT NOT NULL  -- JSON list of protocols.cardformats.UidForm values the gate's readers report
);
CREATE TABLE IF NOT EXISTS acl_derived (
    gate_id TEXT NOT NULL,
    key TEXT NOT NULL,  -- the UID a reader of the gate reports for the card (an acl_state uid)
    card_uid TEXT NOT NULL,
    form TEXT NOT NULL,
    PRIMARY KEY (gate_id, key)
);
CREATE INDEX IF NOT EXISTS acl_derived_card ON acl_derived (gate_id, card_uid);
CREATE TABLE IF NOT EXISTS acl_log (
    id INTEGER PRIMARY KEY,
    gate_id TEXT NOT NULL,
    rev INTEGER NOT NULL,
    uid TEXT NOT NULL,
    entry TEXT,
    checksum TEXT NOT NULL,
    bulk INTEGER NOT NULL DEFAULT 0,
    UNIQUE (gate_id, rev)
);
-- re-projection jobs (schedule_reproject), written in the transaction of the change that
-- needs them and done after commit in small steps by hub.gates.projector
CREATE TABLE IF NOT EXISTS acl_pending (
    uid TEXT PRIMARY KEY  -- a card to re-project at every gate
);
CREATE TABLE IF NOT EXISTS acl_sweeps (
    gate_id TEXT PRIMARY KEY,  -- '' = every gate
    after_uid TEXT NOT NULL,   -- cards up to this uid are done ('' = none yet)
    build INTEGER NOT NULL DEFAULT 0  -- 1: a new gate's first list (ensure_gate), not sent until done
);
-- every schedule a stored entry names, by protocols.acl.schedule_id; body: its canonical JSON
CREATE TABLE IF NOT EXISTS acl_schedules (id TEXT PRIMARY KEY, body TEXT NOT NULL) WITHOUT ROWID;
-- the form of the stored entry texts: 2 = schedules named by id (absent: an older hub file)
CREATE TABLE IF NOT EXISTS acl_format (id INTEGER PRIMARY KEY CHECK (id = 1), version INTEGER NOT NULL);
-- blocked visitor passes (list_block): listed under the pass id beside the cards, never a card
CREATE TABLE IF NOT EXISTS acl_blocks (
    uid TEXT PRIMARY KEY,   -- the pass id (protocols.visitpass: a canonical UID)
    entry TEXT NOT NULL,    -- its listed text
    gates TEXT NOT NULL,    -- JSON list of the gates it is listed at; [] = every gate
    until TEXT NOT NULL     -- the pass's end (UTC, ISO): unlisted after it (unlist_blocks_until)
);
"""

#: acl_format.version of this code: entries name their schedules by id
LISTED_FORMAT = 2

def migrate(db: sqlite_utils.Database) -> None:
    """Columns an older hub.db lacks (the gate keys themselves are sealed by hub.gates.keys)."""
    have = {r["name"] for r in db.query("PRAGMA table_info(gates)")}
    for name, kind in (("keys_sealed", "TEXT"), ("key_gen", "INTEGER NOT NULL DEFAULT 0")):
        if name not in have:
            db.execute(f"ALTER TABLE gates ADD COLUMN {name} {kind}")
    _upgrade_texts(db)


def _upgrade_texts(db: sqlite_utils.Database) -> None:
    """A hub file whose stored entries carry schedules whole gets every gate's list
    re-projected once (in steps, after commit: ``schedule_reproject``), so its texts become
    the listed form; gates then converge through the ordinary deltas and snapshots."""
    if db.execute("SELECT 1 FROM acl_format WHERE version >= ?", [LISTED_FORMAT]).fetchone():
        return
    if db.execute("SELECT 1 FROM acl_state LIMIT 1").fetchone():
        log.info("stored gate lists name schedules whole: re-projecting them to name schedules by id")
        schedule_reproject(db, None)
    db.execute("INSERT OR REPLACE INTO acl_format (id, version) VALUES (1, ?)", [LISTED_FORMAT])


_wakers: set[threading.Event] = set()
_wakers_lock = threading.Lock()


def add_waker(event: threading.Event) -> None:
    with _wakers_lock:
        _wakers.add(event)


def remove_waker(event: threading.Event) -> None:
    with _wakers_lock:
        _wakers.discard(event)


def _wake() -> None:
    with _wakers_lock:
        for ev in _wakers:
            ev.set()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def base_entry(card: dict[str, Any]) -> AclEntry | None:
    """The card's entry before access levels (any door, any time), or None when no gate lists it."""
    status = CardStatus(card["status"])
    if status == CardStatus.IN_STOCK or not card.get("card_type"):
        return None
    return AclEntry(
        uid=card["uid"],
        status=status,
        card_type=CardType(card["card_type"]),
        valid_from=card.get("valid_from"),
        valid_until=card.get("valid_until"),
    )


def project(
    db: sqlite_utils.Database, card: dict[str, Any], gate_ids: Iterable[str], plan: AccessPlan | None = None
) -> dict[str, AclEntry]:
    """The entry each of ``gate_ids`` holds for this card row; a gate left out does not list it.

    ``plan`` (hub.access.plan.load_plan) is read once by callers projecting many cards.
    """
    base = base_entry(card)
    if base is None:
        return {}
    plan = plan or load_plan(db, [card["uid"]])
    # a renovation worker's card works only while its permit is approved (hub.permits.access:
    # the permit is the card's level, its hours the schedule); a card's own denial comes first,
    # but for a card that expired with its permit: the permit's end is the reason
    status = base.status
    permit = plan.permits.get(card["uid"])
    if permit == "suspended" and status == CardStatus.ACTIVE:
        status = CardStatus.PERMIT_SUSPENDED
    elif permit in ("ended", "applied") and status in (CardStatus.ACTIVE, CardStatus.EXPIRED):
        status = CardStatus.PERMIT_ENDED
    out: dict[str, AclEntry] = {}
    for gate_id in gate_ids:
        grant, _exact = plan.access(card["uid"], card["card_type"], gate_id)
        if grant is not None:
            out[gate_id] = AclEntry(
                uid=base.uid, status=status, card_type=base.card_type,
                valid_from=base.valid_from, valid_until=base.valid_until,
                doors=None if grant.doors is None else tuple(sorted(grant.doors)),
                schedule=grant.schedule, anti_passback=grant.anti_passback,
            )
    return out


def _entry_texts(db: sqlite_utils.Database, plan: AccessPlan, gates: list[str]) -> EntryTexts:
    """Cards' entry texts at ``gates``, exactly as ``project`` and ``canonical_json`` give them."""
    return EntryTexts(plan, gates, lambda card, gate_ids, p: project(db, card, gate_ids, p))


def _gate_ids(db: sqlite_utils.Database) -> list[str]:
    return [g["gate_id"] for g in db.query("SELECT gate_id FROM gates ORDER BY gate_id")]


def _entry_text(entry: AclEntry | None) -> str | None:
    return None if entry is None else listed_text(entry)


def _store_schedules(db: sqlite_utils.Database, texts: Iterable[str]) -> None:
    """Keep every schedule ``texts`` name in ``acl_schedules``, inside the transaction that
    stores the texts (so no stored entry names a schedule the hub cannot send)."""
    for sid in named_ids(texts):
        schedule = schedule_of(sid)
        if schedule is None:  # not listed by this process: held already if it was read from the table
            if db.execute("SELECT 1 FROM acl_schedules WHERE id = ?", [sid]).fetchone():
                continue
            raise LookupError(f"an entry names schedule {sid}, which this hub never listed")
        db.execute("INSERT OR IGNORE INTO acl_schedules (id, body) VALUES (?, ?)",
                   [sid, canonical_json(schedule).decode()])


def schedules_named(db: sqlite_utils.Database, texts: Iterable[str]) -> dict[str, Schedule]:
    """The schedules ``texts`` name, by id (remembered, else read from ``acl_schedules``)."""
    out: dict[str, Schedule] = {}
    for sid in named_ids(texts):
        schedule = schedule_of(sid)
        if schedule is None:
            row = db.execute("SELECT body FROM acl_schedules WHERE id = ?", [sid]).fetchone()
            if row is None:
                raise LookupError(f"an entry names schedule {sid}, which this hub does not hold")
            schedule = Schedule.model_validate_json(row[0])
            remember(sid, schedule)
        out[sid] = schedule
    return out


def head(db: sqlite_utils.Database, gate_id: str) -> tuple[int, str]:
    rows = list(db.query("SELECT rev, checksum FROM acl_head WHERE gate_id = ?", [gate_id]))
    return (rows[0]["rev"], rows[0]["checksum"]) if rows else (0, EMPTY_CHECKSUM)


_ASK = object()  # _set_entry: the old text is not known yet, read it


def _set_entry(db: sqlite_utils.Database, gate_id: str, uid: str, new: AclEntry | None, bulk: bool = False,
               old_text: Any = _ASK) -> bool:
    """Make ``gate_id`` hold ``new`` for ``uid``; log it and move the head. False if unchanged.

    ``old_text`` is what the gate holds now when the caller has read it already (None: nothing).
    """
    return _set_text(db, gate_id, uid, _entry_text(new), bulk, old_text)


def _set_text(db: sqlite_utils.Database, gate_id: str, uid: str, new_text: str | None, bulk: bool = False,
              old_text: Any = _ASK) -> bool:
    """``_set_entry`` with the new entry's canonical text."""
    if old_text is _ASK:
        old_rows = list(db.query("SELECT entry FROM acl_state WHERE gate_id = ? AND uid = ?", [gate_id, uid]))
        old_text = old_rows[0]["entry"] if old_rows else None
    if old_text == new_text:
        return False
    rev, checksum = head(db, gate_id)
    rev += 1
    # the stored texts are canonical JSON: hashed as they are, never parsed again
    checksum = checksum_update_texts(checksum, None if old_text is None else old_text.encode(),
                                     None if new_text is None else new_text.encode())
    if new_text is None:
        db.execute("DELETE FROM acl_state WHERE gate_id = ? AND uid = ?", [gate_id, uid])
    else:
        _store_schedules(db, [new_text])
        db.execute(
            "INSERT INTO acl_state (gate_id, uid, entry) VALUES (?, ?, ?) "
            "ON CONFLICT (gate_id, uid) DO UPDATE SET entry = excluded.entry",
            [gate_id, uid, new_text],
        )
    db.execute(
        "INSERT INTO acl_log (gate_id, rev, uid, entry, checksum, bulk) VALUES (?, ?, ?, ?, ?, ?)",
        [gate_id, rev, uid, new_text, checksum, int(bulk)],
    )
    db.execute(
        "INSERT INTO acl_head (gate_id, rev, checksum) VALUES (?, ?, ?) "
        "ON CONFLICT (gate_id) DO UPDATE SET rev = excluded.rev, checksum = excluded.checksum",
        [gate_id, rev, checksum],
    )
    return True


# --- one card, every reader: the forms a gate's readers report ----------------------------


def gate_forms(db: sqlite_utils.Database) -> dict[str, tuple[str, ...]]:
    """Per gate, the UID forms its readers report besides the whole UID (its last status)."""
    return {r["gate_id"]: tuple(json.loads(r["forms"])) for r in db.query("SELECT gate_id, forms FROM gate_uid_forms")}


def set_gate_forms(db: sqlite_utils.Database, gate_id: str, forms: Iterable[str]) -> bool:
    """Record the forms ``gate_id`` reports (from its status); on a change, list every card
    under the new forms at that gate (inside the caller's transaction). True if they changed."""
    wanted = sorted({UidForm(f).value for f in forms} - {UidForm.FULL.value})
    rows = list(db.query("SELECT forms FROM gate_uid_forms WHERE gate_id = ?", [gate_id]))
    if (json.loads(rows[0]["forms"]) if rows else []) == wanted:
        return False
    db.execute("INSERT INTO gate_uid_forms (gate_id, forms) VALUES (?, ?) "
               "ON CONFLICT (gate_id) DO UPDATE SET forms = excluded.forms", [gate_id, json.dumps(wanted)])
    if list(db.query("SELECT 1 FROM gates WHERE gate_id = ?", [gate_id])):
        log.info("gate %s reports UID forms %s: re-listing its cards", gate_id, wanted or ["full"])
        uids = [r["uid"] for r in db.query("SELECT uid FROM cards ORDER BY uid LIMIT ?", [INLINE_PAIRS + 1])]
        if len(uids) <= INLINE_PAIRS:
            reproject_cards(db, uids, [gate_id])
        else:  # every card at one gate: in steps (hub.gates.projector)
            _schedule_sweep(db, gate_id)
    return True


def _derived_owner(db: sqlite_utils.Database, gate_id: str, key: str) -> str | None:
    rows = list(db.query("SELECT card_uid FROM acl_derived WHERE gate_id = ? AND key = ?", [gate_id, key]))
    return rows[0]["card_uid"] if rows else None


def _card_exists(db: sqlite_utils.Database, uid: str) -> bool:
    return bool(list(db.query("SELECT 1 FROM cards WHERE uid = ?", [uid])))


def _set_derived(db: sqlite_utils.Database, gate_id: str, card_uid: str, entry: AclEntry | None,
                 forms: tuple[str, ...], bulk: bool = False) -> int:
    """List ``entry`` at ``gate_id`` under each key its readers' ``forms`` give the card too.

    A key is the same card's entry with the key as its uid, so the gate decides a read of
    it exactly as a read of the card (status, validity, doors, schedule). A key that is
    another card's own UID, or already another card's key at this gate, is not listed
    (logged): a reader reporting it cannot tell the two cards apart.
    """
    wanted = derived_uids(card_uid, forms) if entry is not None else {}
    old = {r["key"] for r in db.query(
        "SELECT key FROM acl_derived WHERE gate_id = ? AND card_uid = ?", [gate_id, card_uid])}
    changed = 0
    for key, form in wanted.items():
        owner = _derived_owner(db, gate_id, key)
        if (owner is not None and owner != card_uid) or _card_exists(db, key):
            log.warning("gate %s: card %s reads as %s (%s), which is %s: not listed under it", gate_id, card_uid,
                        key, form, f"card {owner}'s too" if owner else "another card's own UID")
            continue
        if owner is None:
            db.execute("INSERT INTO acl_derived (gate_id, key, card_uid, form) VALUES (?, ?, ?, ?)",
                       [gate_id, key, card_uid, form])
        assert entry is not None
        changed += _set_entry(db, gate_id, key, entry.model_copy(update={"uid": key}), bulk=bulk)
        old.discard(key)
    for key in old:
        db.execute("DELETE FROM acl_derived WHERE gate_id = ? AND key = ?", [gate_id, key])
        changed += _set_entry(db, gate_id, key, None, bulk=bulk)
    return changed


def card_changed(db: sqlite_utils.Database, uid: str) -> int:
    """Call inside the transaction that changed card ``uid``; returns how many gates changed."""
    return reproject(db, [uid])


def reproject(db: sqlite_utils.Database, uids: Iterable[str], only_gates: Iterable[str] | None = None) -> int:
    """Re-project cards at once, inside the caller's transaction: one card's change
    (``card_changed``), or a few. A change that touches many cards calls
    ``schedule_reproject`` instead, so the store lock is not held for all of them at once.

    Reads the rules once; returns how many log rows (gate, card) it wrote. The publisher
    coalesces them into deltas per gate as usual. Each card is listed under its own UID and
    under the keys its gate's readers report it by (``_set_derived``); a card's own UID
    wins over another card's derived key.
    """
    wanted = sorted(set(uids))
    if not wanted:
        return 0
    gates = _gate_ids(db) if only_gates is None else sorted(set(only_gates) & set(_gate_ids(db)))
    return reproject_cards(db, wanted, gates)[1]


def reproject_cards(db: sqlite_utils.Database, uids: list[str], gates: list[str],
                    deadline: float | None = None, consecutive: bool = False) -> tuple[int, int]:
    """Re-project ``uids`` (sorted, distinct) at ``gates`` from the rows as they are now, in
    order, stopping after the card during which ``perf_counter`` passes ``deadline``.
    ``consecutive``: they are every card between the first and the last (a sweep).

    (cards done, log rows written). Projecting from the current rows is what makes a step
    of a job always right, whatever changed since the job was scheduled.
    """
    if not uids or not gates:
        return len(uids), 0
    # the level lists of these cards, or of every card in one query when they are most
    plan = load_plan(db, uids if len(uids) <= PLAN_BY_UIDS else None)
    forms = gate_forms(db)
    # gates with no forms and no derived keys left (most estates: every reader reports whole
    # UIDs) skip the per-card lookups of derived keys, and have what they hold read in one go
    derived_at = {r["gate_id"] for r in db.query("SELECT DISTINCT gate_id FROM acl_derived")} | {
        g for g, f in forms.items() if f}
    cards = _rows_of(db, uids, consecutive)
    held: dict[str, dict[str, str]] = {}
    if len(uids) > 1:
        for gate_id in gates:
            if gate_id not in derived_at:
                held[gate_id] = _held(db, gate_id, uids, consecutive)
    texts = _entry_texts(db, plan, gates)
    deriving = [g for g in gates if g in derived_at]
    batched: dict[str, list[tuple[str, str | None, str | None]]] = {}
    changed = 0
    done = 0
    for uid in uids:
        row = cards.get(uid)
        listed = texts.of(row) if row else {}
        entries = project(db, row, deriving, plan) if row and deriving else {}
        for gate_id in gates:
            derives = gate_id in derived_at
            owner = _derived_owner(db, gate_id, uid) if derives else None
            if owner is not None and owner != uid:
                if not row:
                    continue  # no card of this UID: the row there is another card's key
                db.execute("DELETE FROM acl_derived WHERE gate_id = ? AND key = ?", [gate_id, uid])
            if gate_id in held:  # written together after the loop
                old, new = held[gate_id].get(uid), listed.get(gate_id)
                if old != new:
                    batched.setdefault(gate_id, []).append((uid, old, new))
                    changed += 1
            elif _set_text(db, gate_id, uid, listed.get(gate_id)):
                changed += 1
            if derives:
                changed += _set_derived(db, gate_id, uid, entries.get(gate_id), forms.get(gate_id, ()))
        done += 1
        if deadline is not None and time.perf_counter() >= deadline:
            break
    for gate_id, changes in batched.items():
        _write_changes(db, gate_id, changes)
    if changed:
        _wake()
    return done, changed


def _write_changes(db: sqlite_utils.Database, gate_id: str, changes: list[tuple[str, str | None, str | None]]) -> None:
    """``_set_text`` for many (uid, old text, new text) changes of one gate, in order: a rev
    and log row each, as one at a time would give, written with a statement per table."""
    rev, checksum = head(db, gate_id)
    acc = int(checksum, 16)
    upserts: list[tuple[str, str, str]] = []
    removes: list[tuple[str, str]] = []
    logs: list[tuple[str, int, str, str | None, str]] = []
    for uid, old, new in changes:
        rev += 1
        if old is not None:
            acc ^= text_digest(old.encode())
        if new is not None:
            acc ^= text_digest(new.encode())
            upserts.append((gate_id, uid, new))
        else:
            removes.append((gate_id, uid))
        logs.append((gate_id, rev, uid, new, f"{acc:064x}"))
    _store_schedules(db, (text for _, _, text in upserts))
    db.conn.executemany("INSERT INTO acl_state (gate_id, uid, entry) VALUES (?, ?, ?) "
                        "ON CONFLICT (gate_id, uid) DO UPDATE SET entry = excluded.entry", upserts)
    db.conn.executemany("DELETE FROM acl_state WHERE gate_id = ? AND uid = ?", removes)
    db.conn.executemany("INSERT INTO acl_log (gate_id, rev, uid, entry, checksum, bulk) VALUES (?, ?, ?, ?, ?, 0)",
                        logs)
    db.execute("INSERT INTO acl_head (gate_id, rev, checksum) VALUES (?, ?, ?) "
               "ON CONFLICT (gate_id) DO UPDATE SET rev = excluded.rev, checksum = excluded.checksum",
               [gate_id, rev, f"{acc:064x}"])


def _held(db: sqlite_utils.Database, gate_id: str, uids: list[str], consecutive: bool) -> dict[str, str]:
    """What the gate holds for these cards: one range read for consecutive cards (a sweep:
    neighbouring pages), else by name (scattered cards, a level's, span the whole list)."""
    if consecutive:
        return dict(db.execute("SELECT uid, entry FROM acl_state WHERE gate_id = ? AND uid BETWEEN ? AND ?",
                               [gate_id, uids[0], uids[-1]]).fetchall())
    out: dict[str, str] = {}
    for i in range(0, len(uids), 500):
        part = uids[i:i + 500]
        out.update(db.execute(f"SELECT uid, entry FROM acl_state WHERE gate_id = ? AND uid IN ({','.join('?' * len(part))})",
                              [gate_id, *part]).fetchall())
    return out


_CARD_FIELDS = ("uid", "status", "card_type", "valid_from", "valid_until")  # what an entry depends on


def _rows_of(db: sqlite_utils.Database, uids: list[str], consecutive: bool) -> dict[str, dict[str, Any]]:
    select = f"SELECT {', '.join(_CARD_FIELDS)} FROM cards"
    if consecutive:
        rows = db.execute(f"{select} WHERE uid BETWEEN ? AND ?", [uids[0], uids[-1]]).fetchall()
    else:
        rows = []
        for i in range(0, len(uids), 500):
            part = uids[i:i + 500]
            rows += db.execute(f"{select} WHERE uid IN ({','.join('?' * len(part))})", part).fetchall()
    return {r[0]: dict(zip(_CARD_FIELDS, r)) for r in rows}


# --- re-projection in steps: jobs ---------------------------------------------------------

#: a change reaching at most this many (card, gate) pairs is re-projected in its own
#: transaction (a few milliseconds); more is left to the projector's small steps
INLINE_PAIRS = 2_000


def schedule_reproject(db: sqlite_utils.Database, uids: Iterable[str] | None) -> None:
    """Call inside the transaction of a change that touches many cards (None: every card).

    A small change is re-projected at once; a bigger one becomes a durable job, committed
    (or rolled back) with the change and done after commit by hub.gates.projector in steps
    that each hold the store lock briefly. Jobs coalesce: a card waits in ``acl_pending``
    once however often it is scheduled, and a sweep of every card restarts from the first
    card rather than running twice. A single card's change (``card_changed``) stays
    synchronous: a revocation must reach the gates at once, and a step projects each card
    from its row as it is then, so it never undoes such a change.
    """
    gates = _gate_ids(db)
    if not gates:
        return  # no gate holds anything yet; a gate's list is built from the rows as they are
    if uids is None:
        few = db.execute("SELECT uid FROM cards ORDER BY uid LIMIT ?", [INLINE_PAIRS // len(gates) + 1]).fetchall()
        if len(few) * len(gates) <= INLINE_PAIRS:
            reproject_cards(db, [r[0] for r in few], gates)
        else:
            _schedule_sweep(db, "")
        return
    distinct = set(uids)
    if len(distinct) * len(gates) <= INLINE_PAIRS:
        reproject_cards(db, sorted(distinct), gates)
        return
    if len(distinct) * 4 >= db.execute("SELECT COUNT(*) FROM cards").fetchone()[0]:
        _schedule_sweep(db, "")  # most cards: walking them all costs less than listing them
        return
    wanted = sorted(distinct)
    db.conn.executemany("INSERT OR IGNORE INTO acl_pending (uid) VALUES (?)", [(u,) for u in wanted])
    _wake()


def _schedule_sweep(db: sqlite_utils.Database, gate_id: str) -> None:
    """Every card at ``gate_id`` ('' every gate), from the first card again if one is under way."""
    db.execute("INSERT INTO acl_sweeps (gate_id, after_uid) VALUES (?, '') "
               "ON CONFLICT (gate_id) DO UPDATE SET after_uid = ''", [gate_id])
    _wake()


def pending_work(db: sqlite_utils.Database) -> bool:
    """Is any re-projection job left?"""
    return bool(list(db.query("SELECT 1 FROM acl_sweeps UNION ALL SELECT 1 FROM acl_pending LIMIT 1")))


def job_counts(db: sqlite_utils.Database) -> dict[str, int]:
    """Re-projection work left: named cards waiting, and whole-list sweeps (a new gate's build
    among them) under way; for the supervisor's health view."""
    pending = db.execute("SELECT COUNT(*) FROM acl_pending").fetchone()[0]
    sweeps = db.execute("SELECT COUNT(*) FROM acl_sweeps").fetchone()[0]
    return {"pending_cards": pending, "sweeps": sweeps}


def reproject_step(db: sqlite_utils.Database, batch: int, deadline: float) -> int:
    """One step of the oldest job, inside the caller's transaction: up to ``batch`` cards,
    stopping once ``deadline`` (perf_counter) has passed; the job's progress is written in
    the same transaction, so a hub killed between steps resumes where it was. Cards done.
    A new gate's list is built first: the gate waits for it."""
    sweeps = list(db.query("SELECT gate_id, after_uid, build FROM acl_sweeps ORDER BY build DESC, gate_id LIMIT 1"))
    if sweeps:
        gate_id, after, build = sweeps[0]["gate_id"], sweeps[0]["after_uid"], sweeps[0]["build"]
        rows = db.execute("SELECT uid, status, card_type, valid_from, valid_until FROM cards WHERE uid > ? "
                          "ORDER BY uid LIMIT ?", [after, batch]).fetchall()
        if not rows:
            db.execute("DELETE FROM acl_sweeps WHERE gate_id = ?", [gate_id])
            return 0
        if build:
            done = _build_slice(db, gate_id, rows, deadline)
        else:
            gates = _gate_ids(db) if gate_id == "" else [g for g in _gate_ids(db) if g == gate_id]
            done, _ = reproject_cards(db, [r[0] for r in rows], gates, deadline, consecutive=True)
        db.execute("UPDATE acl_sweeps SET after_uid = ? WHERE gate_id = ?", [rows[done - 1][0], gate_id])
        return done
    uids = [r["uid"] for r in db.query("SELECT uid FROM acl_pending ORDER BY uid LIMIT ?", [batch])]
    if not uids:
        return 0
    done, _ = reproject_cards(db, uids, _gate_ids(db), deadline)
    db.execute("DELETE FROM acl_pending WHERE uid BETWEEN ? AND ?", [uids[0], uids[done - 1]])
    return done


#: a new gate's list of at most this many cards is built in the transaction that registers
#: it (about 10 microseconds a card); a bigger one in steps by hub.gates.projector
BUILD_INLINE = 5_000
#: a plan reads the level lists of the cards asked for, or of every card beyond this many
PLAN_BY_UIDS = 20_000


def building(db: sqlite_utils.Database, gate_id: str) -> bool:
    """Is the gate's first list still being built (not to be sent yet)?"""
    return bool(list(db.query("SELECT 1 FROM acl_sweeps WHERE gate_id = ? AND build = 1", [gate_id])))


def _build_slice(db: sqlite_utils.Database, gate_id: str, rows: list[Any], deadline: float | None) -> int:
    """List the cards of ``rows`` (uid, status, card_type, valid_from, valid_until; in uid
    order) at a gate whose list is being built, stopping after the card during which
    ``deadline`` passes; how many rows were done.

    Costs about what inserting the rows costs: entry texts from one plan (``EntryTexts``),
    one statement for the rows, the checksum moved by their digests. No log rows: the gate
    gets its list as a snapshot once built. A card the gate already holds was projected by a
    change since the build began (``card_changed``), from its row then: it is left alone.
    """
    uids = [r[0] for r in rows]
    plan = load_plan(db, uids if len(uids) <= PLAN_BY_UIDS else None)
    texts = _entry_texts(db, plan, [gate_id])
    held = {r[0] for r in db.execute("SELECT uid FROM acl_state WHERE gate_id = ? AND uid BETWEEN ? AND ?",
                                     [gate_id, uids[0], uids[-1]])}
    out: list[tuple[str, str, str]] = []
    done = 0
    for fields in rows:
        done += 1
        if fields[0] not in held:
            text = texts.of_fields(*fields).get(gate_id)
            if text is not None:
                out.append((gate_id, fields[0], text))
        if deadline is not None and time.perf_counter() >= deadline:
            break
    if out:
        _store_schedules(db, (text for _, _, text in out))
        db.conn.executemany("INSERT INTO acl_state (gate_id, uid, entry) VALUES (?, ?, ?)", out)
        rev, checksum = head(db, gate_id)
        acc = int(checksum, 16) ^ int(checksum_of_texts(text.encode() for _, _, text in out), 16)
        db.execute("UPDATE acl_head SET rev = ?, checksum = ? WHERE gate_id = ?",
                   [rev + len(out), f"{acc:064x}", gate_id])
    return done


def ensure_gate(db: sqlite_utils.Database, gate_id: str) -> bool:
    """Register a gate seen for the first time and build its list. True if it was new.

    A list of up to BUILD_INLINE cards is built at once; a bigger one is a job for
    hub.gates.projector (``building`` until done, and sent to the gate only then), so the
    store lock is never held for the whole of it. Either way the build costs about what
    inserting its rows costs (``_build_slice``) and writes no log rows: the head is moved
    past the entries, the new gate (at rev 0) asks with a SyncRequest and gets a snapshot,
    and a gate claiming a rev in between has no log row to match and gets the snapshot too.
    """
    if list(db.query("SELECT 1 FROM gates WHERE gate_id = ?", [gate_id])):
        return False
    db.execute("INSERT INTO gates (gate_id, first_seen_at) VALUES (?, ?)", [gate_id, _now()])
    db.execute("INSERT INTO acl_head (gate_id, rev, checksum) VALUES (?, 0, ?)", [gate_id, EMPTY_CHECKSUM])
    _list_blocks_at(db, gate_id)  # the visitor passes blocked now (they are not cards: no build lists them)
    forms = gate_forms(db).get(gate_id, ())
    if forms:  # readers reporting other forms (rare): each card's keys checked one by one
        plan = load_plan(db)
        for card in list(db.query("SELECT * FROM cards ORDER BY uid")):
            entry = project(db, card, [gate_id], plan).get(gate_id)
            if entry is not None:
                _set_entry(db, gate_id, card["uid"], entry, bulk=True)
                _set_derived(db, gate_id, card["uid"], entry, forms, bulk=True)
        return True
    many = db.execute("SELECT COUNT(*) FROM (SELECT 1 FROM cards WHERE status != 'in_stock' LIMIT ?)",
                      [BUILD_INLINE + 1]).fetchone()[0] > BUILD_INLINE
    if many:
        db.execute("INSERT INTO acl_sweeps (gate_id, after_uid, build) VALUES (?, '', 1) "
                   "ON CONFLICT (gate_id) DO UPDATE SET after_uid = '', build = 1", [gate_id])
        _wake()
        return True
    rows = db.execute("SELECT uid, status, card_type, valid_from, valid_until FROM cards "
                      "WHERE status != 'in_stock' ORDER BY uid").fetchall()
    if rows:
        _build_slice(db, gate_id, rows, None)
    return True


def snapshot_parts(db: sqlite_utils.Database, gate_id: str,
                   chunk_size: int = CHUNK) -> list[tuple[AclUpdate, list[str]]]:
    """The gate's whole list at its head as snapshot chunks: each chunk's message without
    its entries, and the entries' stored canonical texts, as they are (never parsed), for
    protocols.signing.signed_with_texts. Each chunk carries the schedules its own entries
    name, so a gate can check every chunk alone. Call inside one read (``store.read()``):
    the head and the rows are then one consistent state. (Not while the list is ``building``.)"""
    rev, checksum = head(db, gate_id)
    texts = [r[0] for r in db.execute("SELECT entry FROM acl_state WHERE gate_id = ? ORDER BY uid", [gate_id])]
    groups = _split(texts, chunk_size) or [[]]
    sid = uuid.uuid4().hex
    return [
        (AclUpdate(gate_id=gate_id, kind="snapshot", rev=rev, checksum=checksum, snapshot_id=sid, chunk=i,
                   chunks=len(groups), schedules=schedules_named(db, group)), group)
        for i, group in enumerate(groups)
    ]


def snapshot(db: sqlite_utils.Database, gate_id: str, chunk_size: int = CHUNK) -> list[AclUpdate]:
    """``snapshot_parts`` as whole models (tests, tools; the hub sends the texts)."""
    return [update.model_copy(update={"upserts": tuple(AclEntry.model_validate_json(t) for t in texts)})
            for update, texts in snapshot_parts(db, gate_id, chunk_size)]


@dataclass(frozen=True)
class LogRow:
    gate_id: str
    rev: int
    uid: str
    entry: str | None
    checksum: str


def coalesce(gate_id: str, rows: Iterable[LogRow]) -> AclUpdate:
    """One delta from the rev before the first row to the last row: latest state per uid,
    carrying the schedules its upserts name.

    ``rows`` are one gate's consecutive log rows in rev order, whose schedules are remembered
    (``log_after`` and ``decide_sync`` read them with the rows; LookupError otherwise).
    """
    rows = list(rows)
    latest: dict[str, str | None] = {}
    for r in rows:
        latest[r.uid] = r.entry
    texts = [e for e in latest.values() if e is not None]
    upserts = tuple(AclEntry.model_validate_json(e) for e in texts)
    removes = tuple(u for u, e in latest.items() if e is None)
    schedules: dict[str, Schedule] = {}
    for sid in named_ids(texts):
        schedule = schedule_of(sid)
        if schedule is None:
            raise LookupError(f"a delta names schedule {sid}, not read with its rows")
        schedules[sid] = schedule
    return AclUpdate(
        gate_id=gate_id, kind="delta", rev=rows[-1].rev, checksum=rows[-1].checksum,
        base_rev=rows[0].rev - 1, upserts=upserts, removes=removes, schedules=schedules,
    )


def _jump_head(db: sqlite_utils.Database, gate_id: str, past: int) -> None:
    """Number the gate's list above ``past``.

    A gate ahead of the hub means the hub's database was restored from a backup. The gate
    rightly ignores anything numbered at or below what it holds (an old snapshot arriving
    late must not un-revoke a card), so the hub's numbering jumps past the gate's instead.
    Revisions skipped this way have no log rows: a gate claiming one gets a snapshot.
    """
    db.execute("UPDATE acl_head SET rev = ? WHERE gate_id = ?", [past + 1, gate_id])


def _consistent(db: sqlite_utils.Database, gate_id: str, rev: int, checksum: str) -> bool:
    """Could a gate holding ``rev`` with ``checksum`` have got there from this hub's log?"""
    hrev, hsum = head(db, gate_id)
    if rev > hrev:
        return False
    if rev == hrev:
        return checksum == hsum
    at = list(db.query("SELECT checksum FROM acl_log WHERE gate_id = ? AND rev = ?", [gate_id, rev]))
    return bool(at) and at[0]["checksum"] == checksum


#: what ``decide_sync`` answers when the gate needs its whole list (``snapshot_parts``)
WHOLE_LIST = "whole list"


def needs_repair(db: sqlite_utils.Database, gate_id: str, rev: int, checksum: str) -> bool:
    """Heartbeat check: does a gate reporting ``rev`` and ``checksum`` need its whole list?

    A gate behind the head with a consistent checksum is only waiting for deltas in flight;
    a gate ahead of the hub, or with a list that differs, would otherwise stay wrong until
    its next reconnect, since a gate that never lost the broker never asks. A gate at rev 0
    is left alone: it has just asked for its whole list, and a second one would cross it.
    When it does, the head is first numbered past the gate's rev (``_jump_head``).
    """
    if rev == 0 or building(db, gate_id) or _consistent(db, gate_id, rev, checksum):
        return False
    if rev >= head(db, gate_id)[0]:  # the gate refuses a snapshot at or below what it holds
        _jump_head(db, gate_id, rev)
    return True


def reconcile(db: sqlite_utils.Database, gate_id: str, rev: int, checksum: str) -> list[AclUpdate]:
    """``needs_repair``, with the snapshot as models (or nothing)."""
    return snapshot(db, gate_id) if needs_repair(db, gate_id, rev, checksum) else []


def decide_sync(db: sqlite_utils.Database, gate_id: str, rev: int, checksum: str) -> list[AclUpdate] | str:
    """The answer to a gate that says it holds ``rev`` with ``checksum`` (module docstring):
    nothing, one delta, or WHOLE_LIST (built from a read after this transaction commits)."""
    ensure_gate(db, gate_id)
    hrev, hsum = head(db, gate_id)
    if rev == hrev and checksum == hsum and rev != 0:
        return []
    if rev == 0 or building(db, gate_id) or not _consistent(db, gate_id, rev, checksum):  # rev 0: a whole list
        if rev >= hrev and rev != 0:  # the gate refuses a snapshot at or below what it holds
            _jump_head(db, gate_id, rev)
        return WHOLE_LIST
    changed = list(db.query(
        "SELECT COUNT(DISTINCT uid) AS n, COALESCE(SUM(LENGTH(entry)), 0) AS bytes FROM acl_log"
        " WHERE gate_id = ? AND rev > ?", [gate_id, rev]
    ))[0]
    if changed["n"] > CHUNK or changed["bytes"] > CHUNK_BYTES:  # too big for one delta
        return WHOLE_LIST
    rows = [LogRow(gate_id, r["rev"], r["uid"], r["entry"], r["checksum"]) for r in db.query(
        "SELECT rev, uid, entry, checksum FROM acl_log WHERE gate_id = ? AND rev > ? ORDER BY rev", [gate_id, rev]
    )]
    schedules_named(db, (r.entry for r in rows if r.entry))  # remembered for coalesce
    return [coalesce(gate_id, rows)]


def answer_sync(db: sqlite_utils.Database, gate_id: str, rev: int, checksum: str) -> list[AclUpdate]:
    """``decide_sync`` with a whole list as snapshot models (a list still being built: the
    part built so far; the hub itself waits, hub.gates.snapshots)."""
    answer = decide_sync(db, gate_id, rev, checksum)
    return snapshot(db, gate_id) if answer == WHOLE_LIST else answer  # type: ignore[return-value]


def trim_log(db: sqlite_utils.Database, keep_revs: int) -> int:
    """Drop each gate's log rows older than its last ``keep_revs`` revisions; how many went."""
    cur = db.execute(
        "DELETE FROM acl_log WHERE rev <= (SELECT h.rev FROM acl_head h WHERE h.gate_id = acl_log.gate_id) - ?",
        [keep_revs],
    )
    return cur.rowcount


def log_after(db: sqlite_utils.Database, after_id: int) -> tuple[int, dict[str, list[LogRow]]]:
    """Non-bulk log rows with id > after_id, per gate in rev order, and the highest id seen."""
    last = after_id
    per_gate: dict[str, list[LogRow]] = {}
    for r in db.query(
        "SELECT id, gate_id, rev, uid, entry, checksum, bulk FROM acl_log WHERE id > ? ORDER BY id", [after_id]
    ):
        last = r["id"]
        if not r["bulk"]:
            per_gate.setdefault(r["gate_id"], []).append(LogRow(r["gate_id"], r["rev"], r["uid"], r["entry"], r["checksum"]))
    schedules_named(db, (r.entry for rows in per_gate.values() for r in rows if r.entry))  # for coalesce, after this read
    return last, per_gate


def max_log_id(db: sqlite_utils.Database) -> int:
    return list(db.query("SELECT COALESCE(MAX(id), 0) AS m FROM acl_log"))[0]["m"]


def deltas(gate_id: str, rows: list[LogRow], chunk: int = CHUNK) -> list[AclUpdate]:
    """Rows of one gate as deltas of at most ``chunk`` consecutive revs and CHUNK_BYTES each."""
    out: list[AclUpdate] = []
    run: list[LogRow] = []
    used = 0
    for r in rows:
        size = len(r.entry or r.uid) + 1
        if run and (r.rev != run[-1].rev + 1 or len(run) >= chunk or used + size > CHUNK_BYTES):
            out.append(coalesce(gate_id, run))
            run, used = [], 0
        run.append(r)
        used += size
    if run:
        out.append(coalesce(gate_id, run))
    return out


# --- blocked visitor passes ---------------------------------------------------------------
#
# A visitor's QR pass is checked by its signature (protocols.visitpass); what a signature
# cannot say (revoked by the hub, used up at other gates) a gate reads from its ordinary list:
# the pass id listed as a temporary card that is not active, its status saying why
# (protocols.cards.PASS_BLOCKS). A block is no card: it is kept in ``acl_blocks``, listed and
# unlisted only here (each change a log row, a rev and a checksum move, as any entry), added
# to a new gate's list when it is made (``ensure_gate``), and never touched by a card's
# projection or a sweep, which only ever write the UIDs of cards.


def _block_gates(db: sqlite_utils.Database, gates: list[str]) -> list[str]:
    known = _gate_ids(db)
    return known if not gates else [g for g in known if g in set(gates)]


def list_block(db: sqlite_utils.Database, pass_id: str, status: CardStatus, until: datetime,
               gates: Iterable[str] = ()) -> int:
    """List visitor pass ``pass_id`` as blocked (``status``: REVOKED or EXPIRED, see
    protocols.cards.PASS_BLOCKS) at ``gates`` (empty: every gate) until ``until``, inside the
    caller's transaction; how many gates' lists changed. Listing it again with another
    status replaces the entry."""
    wanted = sorted(set(gates))
    text = listed_text(AclEntry(uid=pass_id, status=status, card_type=CardType.TEMPORARY))
    if until.tzinfo is None:
        raise ValueError("until must be timezone-aware")
    db.execute("INSERT INTO acl_blocks (uid, entry, gates, until) VALUES (?, ?, ?, ?) ON CONFLICT (uid) DO UPDATE"
               " SET entry = excluded.entry, gates = excluded.gates, until = excluded.until",
               [pass_id, text, json.dumps(wanted), until.astimezone(timezone.utc).isoformat()])
    if _card_exists(db, pass_id):  # 128 random bits will not meet a card's UID; if they ever do, the card wins
        log.warning("pass %s has a card's UID: not listed as blocked", pass_id)
        return 0
    changed = sum(_set_text(db, gate_id, pass_id, text) for gate_id in _block_gates(db, wanted))
    if changed:
        _wake()
    return changed


def unlist_block(db: sqlite_utils.Database, pass_id: str) -> int:
    """Take a blocked pass off every list that holds it; how many gates' lists changed."""
    row = db.execute("SELECT gates FROM acl_blocks WHERE uid = ?", [pass_id]).fetchone()
    if row is None:
        return 0
    db.execute("DELETE FROM acl_blocks WHERE uid = ?", [pass_id])
    changed = 0
    for gate_id in _block_gates(db, json.loads(row[0])):
        held = db.execute("SELECT entry FROM acl_state WHERE gate_id = ? AND uid = ?", [gate_id, pass_id]).fetchone()
        if held is not None and not _card_exists(db, pass_id):
            changed += _set_text(db, gate_id, pass_id, None, old_text=held[0])
    if changed:
        _wake()
    return changed


def unlist_blocks_until(db: sqlite_utils.Database, now: datetime) -> int:
    """Unlist the blocks of passes that ended before ``now`` (a gate refuses them by date);
    how many blocks went."""
    ended = [r[0] for r in db.execute("SELECT uid FROM acl_blocks WHERE until < ?",
                                      [now.astimezone(timezone.utc).isoformat()])]
    for pass_id in ended:
        unlist_block(db, pass_id)
    return len(ended)


def _list_blocks_at(db: sqlite_utils.Database, gate_id: str) -> None:
    """A new gate's list starts with the blocks meant for it (bulk rows: the gate gets its
    whole list as a snapshot)."""
    for uid, text, gates in db.execute("SELECT uid, entry, gates FROM acl_blocks ORDER BY uid").fetchall():
        wanted = json.loads(gates)
        if not wanted or gate_id in wanted:
            _set_text(db, gate_id, uid, text, bulk=True)


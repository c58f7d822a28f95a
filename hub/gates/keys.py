"""Each gate's keys: sealed at rest, looked up (cached) for every message, rotated safely.

A gate has a list of keys, oldest first. The first is the key the gate was last seen to
use; the hub signs what it sends the gate with it. ``gate-hub gate add GATE --rotate-key``
appends a new key. The hub accepts a message from the gate signed with any key of the
list (protocols.signing.verify says which) and then:

- signed with the newest: the rotation is done, every older key is forgotten;
- signed with an older one: the keys before it are forgotten, and the newest is pushed to
  the gate (hub.gates.keys.KeyPusher), wrapped and signed with the key it used. A gate
  that was offline gets it with its first message back (its status on connect).

So an old key stops working the moment the gate is heard using the new one, and a gate
that never got the push keeps working with the key it has until it does. Keys never
leave the hub except wrapped for the gate; they are stored as one AES-GCM sealed list per
gate (hub.sealing), so a copied hub.db opens none of them.

Lookups are cached against one epoch for all gates (``gate_keys_epoch``): a trigger sets
it to a new random number whenever any gate's ``key_gen`` moves, which every change does in
its own transaction, so a rotation made by the CLI in another process is seen at the next
message. Inside one write transaction (a batch of events: hub.mqtt) the epoch is read once:
no other process can write meanwhile, and this process's own changes (``register``,
``retire``, ``used``) drop the cache. A random epoch, not a count, because a change rolled
back must never be mistaken for a later, different one. A gate in mid-rotation (two keys or
more) is not cached: ``used`` may settle it at any message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from hub import audit
from hub.db import Store
from hub.errors import BadInput, Conflict
from hub.gates import acl
from hub.sealing import Sealer, default_secret_file
from protocols.commands import make_key_update
from protocols.signing import key_id, new_key
from protocols.topics import BadTopic, check_name, gate_topic

log = logging.getLogger(__name__)

#: rotations made while a gate is away pile up; beyond this the middle ones are dropped
MAX_KEYS = 8
#: a gate that keeps using an old key is sent its new one at most this often
PUSH_EVERY_S = 5.0

_COLUMNS = {"keys_sealed": "TEXT", "key_gen": "INTEGER NOT NULL DEFAULT 0"}


def migrate(db: sqlite_utils.Database, sealer: Sealer) -> None:
    """Give an older hub.db the sealed key columns, and seal any plain ``key_hex`` left in it.

    Plain keys are overwritten with secure_delete on, so their bytes leave the file.
    """
    have = {r["name"] for r in db.query("PRAGMA table_info(gates)")}
    for name, kind in _COLUMNS.items():
        if name not in have:
            db.execute(f"ALTER TABLE gates ADD COLUMN {name} {kind}")
    db.execute("CREATE TABLE IF NOT EXISTS gate_keys_epoch (one INTEGER PRIMARY KEY CHECK (one = 1), n INTEGER NOT NULL)")
    db.execute("INSERT OR IGNORE INTO gate_keys_epoch (one, n) VALUES (1, abs(random()))")
    db.execute("CREATE TRIGGER IF NOT EXISTS gate_keys_changed AFTER UPDATE OF key_gen ON gates"
               " BEGIN UPDATE gate_keys_epoch SET n = abs(random()); END")
    plain = list(db.query("SELECT gate_id, key_hex FROM gates WHERE key_hex IS NOT NULL"))
    if not plain:
        return
    db.execute("PRAGMA secure_delete = ON")
    for row in plain:
        db.execute(
            "UPDATE gates SET keys_sealed = ?, key_hex = NULL, key_gen = key_gen + 1 WHERE gate_id = ?",
            [_seal(sealer, row["gate_id"], [row["key_hex"]]), row["gate_id"]],
        )
    log.warning("sealed the plain gate keys of %d gates", len(plain))


def _seal(sealer: Sealer, gate_id: str, keys: list[str]) -> str:
    return sealer.seal(json.dumps(keys).encode(), f"gate-keys|{gate_id}")


def _open(sealer: Sealer, gate_id: str, sealed: str | None) -> list[str]:
    return json.loads(sealer.open(sealed, f"gate-keys|{gate_id}")) if sealed else []


class GateKeys:
    """Keys of every gate of one hub.db; thread-safe; one per process is enough."""

    def __init__(self, store: Store, secret_file: Path | None = None) -> None:
        self.store = store
        self.sealer = Sealer.from_file(secret_file or default_secret_file(store.path))
        self._lock = threading.Lock()
        self._epoch: int | None = None  # what _by_gate was read at
        self._by_gate: dict[str, list[str]] = {}
        self._in_tx: tuple[int, int] | None = None  # (Store.tx_serial, the epoch read in that transaction)
        with store.tx() as db:
            migrate(db, self.sealer)

    # -- reading ---------------------------------------------------------------------------
    def keys(self, gate_id: str) -> list[str]:
        """The gate's keys, oldest (the one it is known to hold) first; [] for an unknown gate."""
        epoch = self._epoch_in_tx()  # inside a transaction that read it already: no read needed
        hit = self._cached(gate_id, epoch) if epoch is not None else None
        if hit is not None:
            return hit
        with self.store.read() as db:
            epoch = self._epoch_now(db)
            hit = self._cached(gate_id, epoch)
            if hit is not None:
                return hit
            rows = db.execute("SELECT keys_sealed FROM gates WHERE gate_id = ?", [gate_id]).fetchall()
        keys = _open(self.sealer, gate_id, rows[0][0]) if rows else []
        with self._lock:
            if epoch != self._epoch:
                self._epoch, self._by_gate = epoch, {}
            if len(keys) <= 1:
                self._by_gate[gate_id] = keys
        return list(keys)

    def _cached(self, gate_id: str, epoch: int) -> list[str] | None:
        with self._lock:
            hit = self._by_gate.get(gate_id) if epoch == self._epoch else None
        return list(hit) if hit is not None else None

    def _epoch_in_tx(self) -> int | None:
        """The epoch read earlier in this thread's transaction, or None (none read, or not in
        one): no writer can change it until that transaction ends."""
        serial = self.store.tx_serial
        held = self._in_tx
        return held[1] if serial is not None and held is not None and held[0] == serial else None

    def _epoch_now(self, db: sqlite_utils.Database) -> int:
        epoch = self._epoch_in_tx()
        if epoch is not None:
            return epoch
        epoch = db.execute("SELECT n FROM gate_keys_epoch").fetchone()[0]
        serial = self.store.tx_serial
        if serial is not None:  # only the thread in that transaction has this serial
            self._in_tx = (serial, epoch)
        return epoch

    def _forget(self) -> None:
        """This process changed a key: nothing cached holds from here on."""
        with self._lock:
            self._epoch, self._by_gate, self._in_tx = None, {}, None

    def signing_key(self, gate_id: str) -> str | None:
        """The key to sign what the hub sends this gate: the one it is known to hold."""
        keys = self.keys(gate_id)
        return keys[0] if keys else None

    # -- changing --------------------------------------------------------------------------
    def register(self, gate_id: str, who: str, rotate: bool = False) -> str:
        """Register ``gate_id`` with a new key, or add a new key with ``rotate``; returns it, hex."""
        try:
            check_name("gate_id", gate_id)
        except BadTopic as exc:
            raise BadInput(str(exc), rule="bad_gate_id", field="gate_id") from None
        key = new_key()
        with self.store.tx() as db:
            acl.ensure_gate(db, gate_id)
            row = list(db.query("SELECT keys_sealed FROM gates WHERE gate_id = ?", [gate_id]))[0]
            keys = _open(self.sealer, gate_id, row["keys_sealed"])
            if keys and not rotate:
                raise Conflict("gate {gate} already has a key; use --rotate-key to replace it", rule="gate_has_key", gate=gate_id)
            keys = [*keys, key]
            if len(keys) > MAX_KEYS:
                keys = [keys[0], *keys[-(MAX_KEYS - 1):]]
            db.execute(
                "UPDATE gates SET keys_sealed = ?, key_gen = key_gen + 1, registered_at = COALESCE(registered_at, ?)"
                " WHERE gate_id = ?",
                [_seal(self.sealer, gate_id, keys), datetime.now(timezone.utc).isoformat(), gate_id],
            )
            audit.record(db, who, "rotate_key" if len(keys) > 1 else "register", "gate", gate_id, key_id=key_id(key))
            self._forget()
        return key

    def retire(self, gate_id: str, who: str) -> bool:
        """Forget every key of ``gate_id``: from now on the hub believes nothing it signs.

        Its card list and events stay (the gate may come back with ``gate add``).
        """
        with self.store.tx() as db:
            cur = db.execute(
                "UPDATE gates SET keys_sealed = NULL, key_gen = key_gen + 1 WHERE gate_id = ? AND keys_sealed IS NOT NULL",
                [gate_id],
            )
            if cur.rowcount:
                audit.record(db, who, "retire_keys", "gate", gate_id)
            self._forget()
        return bool(cur.rowcount)

    def used(self, gate_id: str, index: int) -> tuple[str, str] | None:
        """The gate signed a genuine message with its key number ``index``: forget older keys.

        Returns (held, newest) when the gate still has to be sent its newest key, else None.
        Re-reads the list inside the transaction, so a rotation made meanwhile is kept.
        """
        keys = self.keys(gate_id)
        if index >= len(keys) or len(keys) == 1:
            return None
        held = keys[index]
        if index == 0:
            return (held, keys[-1])
        with self.store.tx() as db:
            rows = list(db.query("SELECT keys_sealed FROM gates WHERE gate_id = ?", [gate_id]))
            fresh = _open(self.sealer, gate_id, rows[0]["keys_sealed"]) if rows else []
            if held not in fresh:
                return None
            keep = fresh[fresh.index(held):]
            db.execute("UPDATE gates SET keys_sealed = ?, key_gen = key_gen + 1 WHERE gate_id = ?",
                       [_seal(self.sealer, gate_id, keep), gate_id])
            audit.record(db, "hub", "key_confirmed" if len(keep) == 1 else "key_in_use", "gate", gate_id,
                         key_id=key_id(held))
            self._forget()
        log.info("gate %s uses key %s; older keys forgotten", gate_id, key_id(held))
        return None if len(keep) == 1 else (held, keep[-1])


class KeyPusher:
    """Sends a gate its newest key when it is heard using an older one (at most every PUSH_EVERY_S)."""

    def __init__(self, keys: GateKeys, publish, site: str) -> None:
        self.keys = keys
        self.publish = publish  # (topic, payload) -> None; may raise hub.mqtt.HubUnavailable
        self.site = site
        self.pushed = 0
        self._last: dict[str, float] = {}

    def __call__(self, gate_id: str, index: int) -> None:
        pending = self.keys.used(gate_id, index)
        if pending is None:
            return
        now = time.monotonic()
        if now - self._last.get(gate_id, -PUSH_EVERY_S) < PUSH_EVERY_S:
            return
        self._last[gate_id] = now
        held, newest = pending
        update = make_key_update(gate_id, newest, held, datetime.now(timezone.utc), site=self.site)
        try:
            self.publish(gate_topic(self.site, gate_id, "cmd"), update.to_bytes())
        except Exception as exc:  # noqa: BLE001 - sent again on the gate's next message
            log.warning("could not send gate %s its new key now (%s); will retry", gate_id, exc)
            self._last.pop(gate_id, None)
            return
        self.pushed += 1
        log.info("sent gate %s its new key %s", gate_id, key_id(newest))

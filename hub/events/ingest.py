"""Gate events off MQTT into the store: each once, nothing malformed, nothing misaddressed.

A payload that does not parse, whose gate_id is not the gate in its topic (a gate may
only speak for itself: the broker ACL pins each gate login to its own topics), or that is
not signed with the gate's key, is dropped, counted in hub.mqtt.Drops and logged; the hub
goes on with the next message. An event dated more than five minutes ahead of its arrival
(on the gate's own clock) is stored but flagged ``future_dated`` and sorted by arrival.

A PRESENTED event (a card on an enrolment desk's reader) is not a pass: it goes to the
desk's own table (hub.enroll.store), never to the events that guards and reports see.

``handle`` runs inside a transaction the intake worker shares among many events (hub.mqtt,
``batch``), so what follows a stored event (waking the live pages, the counters, the log
line of a flagged one) is registered with ``Store.after_commit``: it happens once the event
is committed, and never for one rolled back. The gate's bookkeeping is the one lookup the
event needs anyway (its clock offset), read for every gate in one query once per batch (its
keys: once per gate per batch): a gate with no row yet is registered in the same transaction
(hub.gates.acl.ensure_gate); a known gate costs nothing more. Gate rows are never deleted
(``gate retire`` forgets the keys, so hub.mqtt.Drops refuses what it sends), and what is
remembered lives for one transaction, during which nothing else can write, so there is
nothing to invalidate.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from functools import partial

import sqlite_utils

from hub.db import Store
from hub.enroll import store as desk
from hub.events import store as events
from hub.events.bus import EventBus
from hub.events.reactions import Reactions
from hub.gates import acl
from hub.mqtt import Drops
from protocols.messages import EventKind, GateEvent

log = logging.getLogger(__name__)

_CLOCKS = "clocks"  # the memo's key for every gate's clock offset


class EventIngest:
    def __init__(self, store: Store, bus: EventBus, drops: Drops, reactions: Reactions | None = None) -> None:
        self.store = store
        #: what other domains do with a stored event (visits, alarms, remote opens)
        self.reactions = reactions or Reactions(store)
        self.bus = bus
        self.drops = drops
        self.stored = 0
        self.repeats = 0
        self.flagged = 0
        self.presented = 0
        self.presented_ignored = 0  # stale or repeated desk taps
        self._memo_in: int | None = None  # the transaction _memo holds lookups of
        self._memo: dict[object, object] = {}

    def handle(self, topic: str, payload: bytes) -> int | None:
        """Store one event message; its seq, or None if dropped or already stored."""
        event = self.drops.from_gate("event", topic, payload, GateEvent, keys=self._keys)
        if event is None:
            return None
        if event.kind == EventKind.PRESENTED:
            return self._presented(event)
        received = datetime.now(timezone.utc)
        if self.store.tx_serial is not None:  # the intake's batch: joined without a context of its own
            return self._store(self.store.db, event, received)
        with self.store.tx() as db:
            return self._store(db, event, received)

    def _store(self, db: sqlite_utils.Database, event: GateEvent, received: datetime) -> int | None:
        flag = events.date_flag(event.at, received, self._clock(db, event.gate_id))
        seq = events.store_event(db, event, received, flag)
        if seq is not None and self.reactions.wants(event.kind):
            self.reactions.event_stored(db, event, seq)
        self.store.after_commit(partial(self._stored, event, seq, flag))
        if seq is not None:
            self.store.after_commit(self.bus.notify, once=True)
        return seq

    def _lookups(self) -> dict[object, object] | None:
        """What this transaction has looked up about gates (None outside one).

        Events of one batch share one transaction (hub.mqtt), and during it nothing else can
        change a gate's keys or clock offset (hub.db.Store.tx_serial; a status, which sets
        the offset, is never batched), so each gate is looked up once per batch."""
        serial = self.store.tx_serial
        if serial is None:
            return None
        if serial != self._memo_in:
            self._memo_in, self._memo = serial, {}
        return self._memo

    def _keys(self, gate_id: str) -> list[str]:
        lookup = self.drops.keys
        if lookup is None:
            return []
        memo = self._lookups()
        held = memo.get(("keys", gate_id)) if memo is not None else None
        if held is None:
            held = list(lookup(gate_id))
            if memo is not None and len(held) == 1:  # more: a rotation under way, which this batch may settle
                memo[("keys", gate_id)] = held
        return held  # type: ignore[return-value]

    def _clock(self, db: sqlite_utils.Database, gate_id: str) -> float | None:
        """The gate's clock offset. Every gate's is read in one query, once a transaction: a
        batch holds events of most gates (100 gates, batches of a few hundred), and a query
        per gate was a tenth of the worker's time."""
        memo = self._lookups()
        clocks = memo.get(_CLOCKS) if memo is not None else None
        if clocks is None:
            clocks = dict(db.execute("SELECT gate_id, clock_offset_s FROM gates").fetchall())
            if memo is not None:
                memo[_CLOCKS] = clocks
        if gate_id in clocks:  # type: ignore[operator]
            return clocks[gate_id]  # type: ignore[index]
        # a gate not seen before: registered (not remembered: its step may roll back)
        acl.ensure_gate(db, gate_id)
        return None

    def _stored(self, event: GateEvent, seq: int | None, flag: str | None) -> None:
        if seq is None:
            self.repeats += 1
            return
        self.stored += 1
        if flag:
            self.flagged += 1
            log.warning("event %s from gate %s is dated %s, ahead of its arrival: stored, flagged %s",
                        event.event_id, event.gate_id, event.at.isoformat(), flag)

    def _presented(self, event: GateEvent) -> int | None:
        """Keep a desk tap for the clerk's page; a stale or repeated one is only counted."""
        with self.store.tx() as db:
            seq = desk.record(db, event, datetime.now(timezone.utc))
            self.store.after_commit(partial(self._desk_tap, seq))
            if seq is not None:
                self.store.after_commit(self.bus.notify, once=True)
        return seq

    def _desk_tap(self, seq: int | None) -> None:
        if seq is None:
            self.presented_ignored += 1
        else:
            self.presented += 1

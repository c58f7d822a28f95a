"""Gate events off MQTT into the store: each once, nothing malformed, nothing misaddressed.

A payload that does not parse, whose gate_id is not the gate in its topic (a gate may
only speak for itself: the broker ACL pins each gate login to its own topics), or that is
not signed with the gate's key, is dropped, counted in hub.mqtt.Drops and logged; the hub
goes on with the next message. An event dated more than five minutes ahead of its arrival
(on the gate's own clock) is stored but flagged ``future_dated`` and sorted by arrival.

A PRESENTED event (a card on an enrolment desk's reader) is not a pass: it goes to the
desk's own table (hub.enroll.store), never to the events that guards and reports see.
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone

import sqlite_utils

from hub.db import Store
from hub.enroll import store as desk
from hub.events import store as events
from hub.events.bus import EventBus
from hub.gates import acl
from hub.mqtt import Drops
from protocols.messages import EventKind, GateEvent

log = logging.getLogger(__name__)


def _clock_offset(db: sqlite_utils.Database, gate_id: str) -> float | None:
    rows = list(db.query("SELECT clock_offset_s FROM gates WHERE gate_id = ?", [gate_id]))
    return rows[0]["clock_offset_s"] if rows else None


class EventIngest:
    def __init__(self, store: Store, bus: EventBus, drops: Drops) -> None:
        self.store = store
        self.bus = bus
        self.drops = drops
        self.stored = 0
        self.repeats = 0
        self.flagged = 0
        self.presented = 0
        self.presented_ignored = 0  # stale or repeated desk taps

    def handle(self, topic: str, payload: bytes) -> int | None:
        """Store one event message; its seq, or None if dropped or already stored."""
        event = self.drops.from_gate("event", topic, payload, GateEvent)
        if event is None:
            return None
        if event.kind == EventKind.PRESENTED:
            return self._presented(event)
        received = datetime.now(timezone.utc)
        with self.store.tx() as db:
            acl.ensure_gate(db, event.gate_id)
            flag = events.date_flag(event.at, received, _clock_offset(db, event.gate_id))
            seq = events.store_event(db, event, received, flag)
        if seq is None:
            self.repeats += 1
            return None
        self.stored += 1
        if flag:
            self.flagged += 1
            log.warning("event %s from gate %s is dated %s, ahead of its arrival: stored, flagged %s",
                        event.event_id, event.gate_id, event.at.isoformat(), flag)
        self.bus.notify()
        return seq

    def _presented(self, event: GateEvent) -> int | None:
        """Keep a desk tap for the clerk's page; a stale or repeated one is only counted."""
        with self.store.tx() as db:
            seq = desk.record(db, event, datetime.now(timezone.utc))
        if seq is None:
            self.presented_ignored += 1
            return None
        self.presented += 1
        self.bus.notify()
        return seq

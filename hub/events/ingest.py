"""Gate events off MQTT into the store: each once, nothing malformed, nothing misaddressed.

A payload that does not parse, or whose gate_id is not the gate in its topic (a gate may
only speak for itself: the broker ACL pins each gate login to its own topics), is dropped,
counted in hub.mqtt.Drops and logged; the hub goes on with the next message.
"""

from __future__ import annotations

from datetime import datetime, timezone

from hub.db import Store
from hub.events import store as events
from hub.events.bus import EventBus
from hub.gates import acl
from hub.mqtt import Drops
from protocols.messages import BadMessage, GateEvent, parse
from protocols.topics import BadTopic, parse_gate_topic


class EventIngest:
    def __init__(self, store: Store, bus: EventBus, drops: Drops) -> None:
        self.store = store
        self.bus = bus
        self.drops = drops
        self.stored = 0
        self.repeats = 0

    def handle(self, topic: str, payload: bytes) -> int | None:
        """Store one event message; its seq, or None if dropped or already stored."""
        try:
            where = parse_gate_topic(topic)
            event = parse(GateEvent, payload)
        except (BadTopic, BadMessage) as exc:
            self.drops.drop("event", topic, str(exc))
            return None
        if event.gate_id != where.gate_id:
            self.drops.drop("event", topic, f"gate_id {event.gate_id!r} is not the topic's gate {where.gate_id!r}")
            return None
        with self.store.tx() as db:
            acl.ensure_gate(db, where.gate_id)
            seq = events.store_event(db, event, datetime.now(timezone.utc))
        if seq is None:
            self.repeats += 1
            return None
        self.stored += 1
        self.bus.notify()
        return seq

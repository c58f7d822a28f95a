"""The hub's disk full: events it cannot store are not acknowledged to the broker, so none is
lost; they are stored, once each, when there is room again."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from protocols.messages import GateEvent
from protocols.topics import gate_topic
from tests.rigs import stack
from tests.rigs.wait import wait_for

N = 60


def test_events_wait_unacknowledged_while_the_hubs_disk_is_full(tmp_path, broker) -> None:
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "supervisor")
    key = stack.register(hub, "north")
    try:
        with hub.store.writer() as db:  # SQLite answers "database or disk is full" from here on
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")
        gate = paho.Client(CallbackAPIVersion.VERSION2, client_id="gate-" + uuid.uuid4().hex[:6])
        gate.connect(broker.host, broker.port)
        gate.loop_start()
        now = datetime.now(timezone.utc)
        for i in range(N):
            ev = GateEvent(event_id=f"full-{i:04d}", gate_id="north", door_id="north-in", uid="0A0012AB34",
                           decision="denied", reason="unknown_card", at=now)
            gate.publish(gate_topic(hub.site, "north", "event"), stack.signed(hub.site, key, ev, "event"),
                         qos=1).wait_for_publish(5)
        gate.loop_stop()
        health = wait_for(lambda: (h := api.get("/api/v1/health/mqtt").json())["retrying"] > 0 and h,
                          what="the hub holding the events it could not store")
        stored_while_full = len(stack.passes(api))  # some fit in the file's partly filled pages
        assert stored_while_full < N and health["retrying"] >= 1

        with hub.store.writer() as db:
            db.execute("PRAGMA max_page_count = 1073741823")  # room again
        events = wait_for(lambda: (lambda p: p if len(p) == N else None)(stack.passes(api)), timeout=20,
                          what=f"all {N} events stored once there is room")
        assert len({e["event_id"] for e in events}) == N, f"{stored_while_full} stored while full, then the rest"
        wait_for(lambda: api.get("/api/v1/health/mqtt").json()["retrying"] == 0, what="nothing left to retry")
    finally:
        hub.stop()

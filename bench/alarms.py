"""A forced door on every guard's console: publish to alarm drawn, against the event row.

A real hub (uvicorn, a SQLite file) on a private mosquitto, 20 guard consoles each holding
two server-sent streams, the alarms (/api/v1/alarms/stream) and the events
(/api/v1/events/stream), as the live page does. A gate publishes signed door_forced events
(each on its own door, so each raises its own alarm rather than joining an open one); each
is timed from the publish to its arrival on each console, on both streams.

The events stream is the baseline: what any stored event costs to reach a console (intake,
commit, the stream's read). The alarm is raised by a reaction in the same transaction
(hub.events.reactions) and read by the alarms stream from its own table, so the ratio is
what the alarm adds. The issue's bound is 2 s to every console; it is measured here, not
asserted in a test.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from datetime import datetime, timezone
from pathlib import Path

import httpx
import paho.mqtt.client as paho

from bench import fixtures
from bench.common import Result, median, percentile, ratio
from hub.app import start_hub
from hub.auth import create_token
from hub.config import HubConfig
from hub.gates.service import register_gate
from protocols.messages import DoorStatus, EventKind, GateEvent, GateStatus
from protocols.signing import sign
from protocols.topics import gate_topic
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

NAME = "alarms"
TITLE = "Door forced: publish to every guard console, alarm stream against event stream (same events)"

CONSOLES = 20
EVENTS = 100
GAP_S = 0.05
GATE = "north"


class _Console(threading.Thread):
    """One stream of one console: when each door's message arrived (perf_counter)."""

    def __init__(self, url: str, token: str, field: str) -> None:
        super().__init__(daemon=True)
        self.url, self.token, self.field = url, token, field
        self.seen: dict[str, float] = {}
        self.ready = threading.Event()
        self.stop = threading.Event()

    def run(self) -> None:
        try:
            self._read()
        except httpx.HTTPError:
            if not self.stop.is_set():  # the hub going away at the end is not a failure
                raise

    def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "text/event-stream"}
        with httpx.Client(timeout=httpx.Timeout(5, read=None)) as client:
            with client.stream("GET", self.url, headers=headers) as r:
                r.raise_for_status()
                self.ready.set()
                for line in r.iter_lines():
                    if self.stop.is_set():
                        return
                    if line.startswith("data:"):
                        row = json.loads(line[5:])
                        door = row.get("door_id")
                        if door and door not in self.seen and row.get(self.field) == "door_forced":
                            self.seen[door] = time.perf_counter()


def run(workdir: Path) -> Result:
    broker = fixtures.broker(workdir / "mosquitto")
    site = fixtures.site_name()
    config = HubConfig.model_validate({
        "hub": {"site": site, "db_path": str(workdir / "hub.db"), "http_host": "127.0.0.1", "http_port": free_port(),
                "language": "en", "timezone": "UTC"},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5},
        "alarms": {"escalate_after_s": 3600},
    })
    hub = start_hub(config)
    gate = paho.Client(paho.CallbackAPIVersion.VERSION2, client_id="bench-gate-" + uuid.uuid4().hex[:6])
    consoles: list[_Console] = []
    try:
        key = register_gate(hub.store, GATE, "bench", secret_file=config.hub.secret_path)
        gate.connect(broker.host, broker.port)
        gate.loop_start()
        status = GateStatus(gate_id=GATE, online=True, at=datetime.now(timezone.utc), doors={"door-0": DoorStatus()})
        gate.publish(gate_topic(site, GATE, "status"), sign(status, key, site, "status").to_bytes(), qos=1,
                     retain=True).wait_for_publish(5)
        for i in range(CONSOLES):
            token = create_token(hub.store, "guard", f"guard{i}")
            consoles.append(_Console(f"{hub.url}/api/v1/alarms/stream", token, "kind"))
            consoles.append(_Console(f"{hub.url}/api/v1/events/stream", token, "kind"))
        for c in consoles:
            c.start()
        for c in consoles:
            if not c.ready.wait(20):
                raise AssertionError("a console's stream did not open")

        def forced(door: str) -> float:
            event = GateEvent(event_id="bf-" + uuid.uuid4().hex, gate_id=GATE, door_id=door, kind=EventKind.DOOR_FORCED,
                              at=datetime.now(timezone.utc))
            payload = sign(event, key, site, "event").to_bytes()
            t0 = time.perf_counter()
            gate.publish(gate_topic(site, GATE, "event"), payload, qos=1)
            return t0

        for i in range(5):  # warm up: the first reads, pydantic builds
            forced(f"warm-{i}")
            time.sleep(GAP_S)
        sent: dict[str, float] = {}
        for i in range(EVENTS):
            door = f"door-{i}"
            sent[door] = forced(door)
            time.sleep(GAP_S)
        wait_for(lambda: all(len([d for d in c.seen if d in sent]) == EVENTS for c in consoles), timeout=60,
                 what="every door_forced on every console's two streams")
    finally:
        for c in consoles:
            c.stop.set()
        gate.loop_stop()
        gate.disconnect()
        hub.stop()
        broker.stop()
    alarm_c = [c for c in consoles if c.url.endswith("/alarms/stream")]
    event_c = [c for c in consoles if c.url.endswith("/events/stream")]

    def each(cs: list[_Console]) -> list[float]:
        return [(c.seen[d] - t0) * 1000 for c in cs for d, t0 in sent.items()]

    def slowest(cs: list[_Console]) -> list[float]:
        return [max(c.seen[d] for c in cs) * 1000 - t0 * 1000 for d, t0 in sent.items()]

    ev, al = each(event_c), each(alarm_c)
    ev_all, al_all = slowest(event_c), slowest(alarm_c)
    res = Result(NAME, TITLE, ["what", "n", "p50 ms", "p99 ms", "max ms", "p99 vs event row"])
    res.add("event row on a console (baseline)", len(ev), median(ev), percentile(ev, 99), max(ev), "1.00x")
    res.add("alarm on a console", len(al), median(al), percentile(al, 99), max(al),
            ratio(percentile(al, 99), percentile(ev, 99)))
    res.add("event row on the last of 20 consoles (baseline)", len(ev_all), median(ev_all), percentile(ev_all, 99),
            max(ev_all), "1.00x")
    res.add("alarm on the last of 20 consoles", len(al_all), median(al_all), percentile(al_all, 99), max(al_all),
            ratio(percentile(al_all, 99), percentile(ev_all, 99)))
    res.key = max(al_all)
    res.key_label = "alarm on every console, worst ms"
    res.notes.append(f"{EVENTS} door_forced events {GAP_S * 1000:.0f} ms apart, each on its own door; "
                     f"{CONSOLES} guard consoles with both streams open. The issue's bound: 2,000 ms to every console.")
    return res

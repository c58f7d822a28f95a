"""Hub ingest: gate events published to mosquitto, parsed and stored once by a running hub.

N pass events from 30 gates are published QoS 1 as fast as one paho client can (what the
hub sees when every gate drains its outbox at once after a broker outage); the clock stops
when the hub's EventIngest has stored all N (each a transaction with an fsync, on the MQTT
network thread), and the count is then checked in the hub's SQLite file and through
GET /api/v1/events. Baseline: the same payloads from a raw paho publisher to a raw paho
subscriber (QoS 1) on the same broker in the same run.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench import fixtures
from bench.common import Result, ratio
from bench.outbox import events
from protocols.signing import new_key, sign
from protocols.topics import gate_topic
from tests.rigs import stack

NAME = "ingest"
TITLE = "Hub ingest of gate events through mosquitto"

N = 5_000
GATES = 30
INFLIGHT = 100


def _publisher(broker, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{fixtures.site_name()}")
    c.max_inflight_messages_set(INFLIGHT)
    c.connect(broker.host, broker.port, keepalive=30)
    c.loop_start()
    return c


def _batch(site: str, n: int, keys: dict[str, str]) -> list[tuple[str, bytes]]:
    """Events from GATES gates, each signed with its gate's key (as its outbox holds them)."""
    per_gate = {g: events(n // GATES + 1, gate_id=f"gate{g:02d}") for g in range(GATES)}
    out = []
    for i in range(n):
        g = i % GATES
        name = f"gate{g:02d}"
        out.append((gate_topic(site, name, "event"), sign(per_gate[g][i // GATES], keys[name], site, "event").to_bytes()))
    return out


def _raw(broker, msgs: list[tuple[str, bytes]], site: str) -> float:
    got = 0
    done = threading.Event()
    subscribed = threading.Event()
    lock = threading.Lock()

    def on_message(client, userdata, msg) -> None:
        nonlocal got
        with lock:
            got += 1
            if got == len(msgs):
                done.set()

    sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-sub-{site}", clean_session=False)
    sub.max_inflight_messages_set(INFLIGHT)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(broker.host, broker.port, keepalive=30)
    sub.loop_start()
    sub.subscribe(f"gatehouse/v1/{site}/gate/+/event", qos=1)
    if not subscribed.wait(5):
        raise AssertionError("raw subscriber not subscribed")
    pub = _publisher(broker, "raw")
    t0 = time.perf_counter()
    for topic, payload in msgs:
        pub.publish(topic, payload, qos=1)
    if not done.wait(120):
        raise AssertionError(f"raw subscriber got {got} of {len(msgs)}")
    s = time.perf_counter() - t0
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return len(msgs) / s


def run(workdir: Path) -> Result:
    broker = fixtures.broker(workdir / "mosquitto")
    try:
        raw_site = fixtures.site_name()
        raw = _raw(broker, _batch(raw_site, N, {f"gate{g:02d}": new_key() for g in range(GATES)}), raw_site)

        hub = stack.start(workdir / "hub", broker)
        try:
            ingest = hub.app.state.event_ingest
            pub = _publisher(broker, "gates")
            keys = {f"gate{g:02d}": stack.register(hub, f"gate{g:02d}") for g in range(GATES)}
            # one event per gate first (not timed)
            warm = _batch(hub.site, GATES, keys)
            for topic, payload in warm:
                pub.publish(topic, payload, qos=1)
            deadline = time.monotonic() + 30
            while ingest.stored < GATES:
                if time.monotonic() > deadline:
                    raise AssertionError(f"warm-up: hub stored {ingest.stored} of {GATES}")
                time.sleep(0.005)
            msgs = _batch(hub.site, N, keys)
            t0 = time.perf_counter()
            for topic, payload in msgs:
                pub.publish(topic, payload, qos=1)
            t_pub = time.perf_counter() - t0
            deadline = time.monotonic() + 180
            while ingest.stored < GATES + N:
                if time.monotonic() > deadline:
                    raise AssertionError(f"hub stored {ingest.stored - GATES} of {N} in 180 s")
                time.sleep(0.005)
            s = time.perf_counter() - t0
            pub.disconnect()
            pub.loop_stop()
            with hub.store.read() as db:
                (stored,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
            api = stack.client(hub, "guard")
            listed = stack.passes(api, limit=1000)
            api.close()
            if stored != GATES + N or len(listed) != 1000:
                raise AssertionError(f"{stored} events in the store, {len(listed)} listed")
            drops = hub.app.state.drops.snapshot()["total"]
        finally:
            hub.stop()
    finally:
        broker.stop()
    rate = N / s
    r = Result(NAME, TITLE, ["path", "events", "events/s", "ms per event", "ratio vs raw"])
    r.add("baseline: raw paho publisher -> subscriber, QoS 1", N, raw, 1000 / raw, "1.00x")
    r.add("hub: publish -> parsed and stored (EventIngest)", N, rate, 1000 / rate, ratio(rate, raw))
    r.key = rate
    r.key_label = "hub events/s"
    r.notes.append(f"{GATES} gates; publisher done in {t_pub:.2f} s; {drops} dropped by the hub; "
                   f"estate peak ~{GATES} gates x 1 tap/s = {GATES} events/s")
    return r

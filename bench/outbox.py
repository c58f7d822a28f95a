"""The gate's outbox: how fast events go in with its durability, and how fast a backlog drains.

Append: Outbox.put of pass events, each its own commit in WAL with synchronous=FULL (an
fsync per event, so a power cut loses none). Baseline: the same payloads inserted into the
same table with synchronous=OFF (no fsync). A plain synchronous=FULL insert is shown too, to
tell the outbox's own overhead from the disk's.

Drain: 10,000 events buffered on disk (a gate that was offline for a while), then the
agent's MqttLink connects to a real mosquitto and sends them QoS 1 until every one is
acknowledged and deleted. Baseline: one raw paho client publishing the same payloads QoS 1
with the same in-flight window (100) until every PUBACK is in.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench import fixtures
from bench.common import Result, median, percentile, ratio
from gate_agent.agent import new_event_id
from gate_agent.config import AgentSection, MqttSection
from gate_agent.mqtt_link import MqttLink
from gate_agent.outbox import Outbox
from protocols.acl import EMPTY_CHECKSUM
from protocols.cards import Decision, Reason
from protocols.messages import Direction, GateEvent, GateStatus, SyncRequest, utcnow
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for

NAME = "outbox"
TITLE = "Outbox: durable appends and draining a backlog"

APPENDS = 1_000
DRAIN = 10_000
INFLIGHT = 100  # MqttLink's default max_inflight


def events(n: int, gate_id: str = fixtures.GATE) -> list[GateEvent]:
    at = datetime.now(timezone.utc)
    out = []
    for i in range(n):
        granted = i % 2 == 0
        out.append(GateEvent(
            event_id=new_event_id(), gate_id=gate_id, door_id=fixtures.DOOR, reader=f"{fixtures.DOOR}/0",
            direction=Direction.IN, uid=fixtures.uid_of(i),
            decision=Decision.GRANTED if granted else Decision.DENIED,
            reason=Reason.VALID_CARD if granted else Reason.UNKNOWN_CARD, at=at, acl_rev=1,
        ))
    return out


def _plain_insert(path: Path, evs: list[GateEvent], synchronous: str) -> list[float]:
    """Seconds per bare autocommit INSERT, one per event, into the outbox's table shape."""
    c = sqlite3.connect(str(path), isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute(f"PRAGMA synchronous={synchronous}")
    c.execute("CREATE TABLE IF NOT EXISTS outbox (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
              " event_id TEXT NOT NULL UNIQUE, payload BLOB NOT NULL)")
    out = []
    pc = time.perf_counter
    for e in evs:
        t0 = pc()
        c.execute("INSERT OR IGNORE INTO outbox (event_id, payload) VALUES (?, ?)", (e.event_id, e.to_bytes()))
        out.append(pc() - t0)
    c.close()
    return out


def _outbox_put(data_dir: Path, evs: list[GateEvent]) -> list[float]:
    box = Outbox(data_dir)
    out = []
    pc = time.perf_counter
    for e in evs:
        t0 = pc()
        if not box.put(e):
            raise AssertionError(f"outbox refused a write: {box.error}")
        out.append(pc() - t0)
    if box.depth != len(evs):
        raise AssertionError(f"outbox depth {box.depth}, expected {len(evs)}")
    box.close()
    return out


def _prefill(data_dir: Path, evs: list[GateEvent]) -> None:
    """A backlog on disk, written in one transaction (10,000 fsyncs would only measure the disk)."""
    Outbox(data_dir).close()
    c = sqlite3.connect(str(data_dir / "outbox.db"), isolation_level=None)
    c.execute("BEGIN")
    c.executemany("INSERT INTO outbox (event_id, payload) VALUES (?, ?)", [(e.event_id, e.to_bytes()) for e in evs])
    c.execute("COMMIT")
    c.close()


def _drain(data_dir: Path, broker, evs: list[GateEvent]) -> tuple[float, float]:
    """(events/s from connected to every event acknowledged and forgotten, connect s)."""
    _prefill(data_dir, evs)
    box = Outbox(data_dir)
    if box.depth != len(evs):
        raise AssertionError(f"backlog of {box.depth}, expected {len(evs)}")
    site = fixtures.site_name()
    agent = AgentSection(gate_id=fixtures.GATE, site=site, data_dir=data_dir, heartbeat_s=30)
    link = MqttLink(
        agent, MqttSection(host=broker.host, port=broker.port, keepalive_s=5), box,
        status=lambda online: GateStatus(gate_id=fixtures.GATE, online=online, at=utcnow()),
        sync=lambda: SyncRequest(gate_id=fixtures.GATE, rev=0, checksum=EMPTY_CHECKSUM, at=utcnow()),
        on_acl=lambda payload: None, on_cmd=lambda payload: None,
    )
    t0 = time.perf_counter()
    link.start()
    try:
        while not link.connected.is_set():
            if time.perf_counter() - t0 > 10:
                raise AssertionError("MqttLink did not connect")
            time.sleep(0.0005)
        t_conn = time.perf_counter()
        while box.depth:
            if time.perf_counter() - t_conn > 120:
                raise AssertionError(f"outbox still holds {box.depth} after 120 s")
            time.sleep(0.002)
        t_end = time.perf_counter()
        wait_for(lambda: not box.after(0, 1), timeout=5, what="acknowledged events deleted from disk")
    finally:
        link.stop()
        box.close()
    return len(evs) / (t_end - t_conn), t_conn - t0


def _raw_paho(broker, payloads: list[bytes]) -> float:
    """events/s of one paho client publishing QoS 1 until every PUBACK is in."""
    done = threading.Event()
    acked = 0
    lock = threading.Lock()

    def on_publish(client, userdata, mid, reason_code, properties) -> None:
        nonlocal acked
        with lock:
            acked += 1
            if acked == len(payloads):
                done.set()

    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-raw-{fixtures.site_name()}")
    c.max_inflight_messages_set(INFLIGHT)
    c.on_publish = on_publish
    c.connect(broker.host, broker.port, keepalive=30)
    c.loop_start()
    topic = gate_topic(fixtures.site_name(), fixtures.GATE, "event")
    t0 = time.perf_counter()
    for p in payloads:
        c.publish(topic, p, qos=1)
    if not done.wait(120):
        raise AssertionError(f"only {acked} of {len(payloads)} PUBACKs in 120 s")
    s = time.perf_counter() - t0
    c.disconnect()
    c.loop_stop()
    return len(payloads) / s


def run(workdir: Path) -> Result:
    evs = events(APPENDS)
    base = _plain_insert(workdir / "plain-off.db", evs, "OFF")
    full = _plain_insert(workdir / "plain-full.db", events(APPENDS), "FULL")
    put = _outbox_put(workdir / "append", events(APPENDS))

    broker = fixtures.broker(workdir / "mosquitto")
    try:
        backlog = events(DRAIN)
        raw = _raw_paho(broker, [e.to_bytes() for e in backlog])
        drain, connect_s = _drain(workdir / "drain", broker, backlog)
    finally:
        broker.stop()

    r = Result(NAME, TITLE, ["what", "events", "events/s", "µs per event (mean)", "p50 µs", "p99 µs", "max µs",
                             "ratio (events/s) vs its baseline"])
    b_rate = len(base) / sum(base)

    def appended(label: str, times: list[float]) -> float:
        rate = len(times) / sum(times)
        us = [t * 1e6 for t in times]
        r.add(label, len(times), rate, 1e6 / rate, median(us), percentile(us, 99), max(us), ratio(rate, b_rate))
        return rate

    appended("append baseline: INSERT, synchronous=OFF", base)
    appended("append: INSERT, synchronous=FULL (bare)", full)
    put_rate = appended("append: Outbox.put (synchronous=FULL)", put)
    r.add("drain baseline: raw paho QoS 1, 100 in flight", DRAIN, raw, 1e6 / raw, "-", "-", "-", "1.00x")
    r.add("drain: MqttLink from the outbox to mosquitto", DRAIN, drain, 1e6 / drain, "-", "-", "-", ratio(drain, raw))
    r.key = put_rate
    r.key_label = "Outbox.put events/s"
    r.notes.append(f"payload {len(evs[0].to_bytes())} bytes; drain timed from connected "
                   f"(connect took {connect_s * 1000:.0f} ms) to outbox depth 0")
    return r

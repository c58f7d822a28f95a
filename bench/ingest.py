"""Hub ingest: gate events published to mosquitto, verified, parsed and stored once by a running hub.

Burst: N pass events from 30 and from 100 gates are published QoS 1 as fast as one paho
client can (what the hub sees when every gate drains its outbox at once after a broker
outage); the clock stops when the hub's EventIngest has committed all N (group commit:
hub.mqtt batches them, one transaction and one fsync per batch), and the count is then
checked in the hub's SQLite file and through GET /api/v1/events. Baseline, same broker,
same run: a no-op subscriber, a paho client with manual acknowledgement (as the hub's) that
only acknowledges each message, receiving the same 100 gates' payloads (paho's own client:
the baseline; the same no-op on the hub's read-ahead client, protocols.mqtt_readahead, is
shown beside it, so what the client alone gains is visible). The 100-gate
burst is run again with hub.mqtt.MAX_BATCH set to 1 (one event, one commit: the cost
group commit removes; still off paho's thread).

The machine is shared, and one phase can land on someone else's test run (the no-op rate
moved 2x between two phases of one run at load 10), so the no-op subscriber and the hub's
100-gate burst are taken in turn, PAIRS times, in the same process with the hub up (idle
while the no-op runs); the key is the median of the pairs' ratios, and the table shows that
pair. The 30-gate and one-event-a-transaction bursts are compared with that pair's no-op.
The intake worker's CPU per event is given too: other work on the machine moves it far
less than it moves wall time.

Backlog: one gate's outbox holding BACKLOG events (a gate offline for a long time) drained
by the agent's own MqttLink, in a process of its own (as on its own Pi), to the broker
while the hub stores them; the figures are when the outbox was empty (drained to the
broker) and when the hub had stored the last one, both from the gate's start.
BENCH_INGEST_BACKLOG sets BACKLOG (0 skips it).
"""

from __future__ import annotations

import multiprocessing
import os
import sqlite3
import threading
import time
from pathlib import Path

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from bench import fixtures
from bench.common import Result, ratio
from bench.outbox import events
from gate_agent.config import AgentSection, MqttSection
from gate_agent.mqtt_link import MqttLink
from gate_agent.outbox import Outbox
from hub import mqtt as hub_mqtt
from protocols.acl import EMPTY_CHECKSUM
from protocols.mqtt_readahead import ReadAheadClient
from protocols.messages import GateStatus, SyncRequest, utcnow
from protocols.signing import new_key, signed_bytes
from protocols.topics import gate_topic
from tests.rigs import stack

NAME = "ingest"
TITLE = "Hub ingest of gate events through mosquitto"

N = 5_000
GATES = (30, 100)
PAIRS = 3
INFLIGHT = 100  # the publisher's window (MqttLink's default)
BACKLOG = int(os.environ.get("BENCH_INGEST_BACKLOG", "300000"))
BROKER_CONF = "allow_anonymous true\nmax_queued_messages 0\nmax_queued_bytes 0\n"


def _gate(g: int) -> str:
    return f"gate{g:03d}"


def _publisher(broker, name: str) -> mqtt.Client:
    c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{name}-{fixtures.site_name()}")
    c.max_inflight_messages_set(INFLIGHT)
    c.connect(broker.host, broker.port, keepalive=30)
    c.loop_start()
    return c


def _batch(site: str, n: int, gates: int, keys: dict[str, str]) -> list[tuple[str, bytes]]:
    """Events from ``gates`` gates in turn, each signed with its gate's key (as its outbox holds them)."""
    per_gate = {g: events(n // gates + 1, gate_id=_gate(g)) for g in range(gates)}
    out = []
    for i in range(n):
        g = i % gates
        out.append((gate_topic(site, _gate(g), "event"), signed_bytes(per_gate[g][i // gates], keys[_gate(g)], site, "event")))
    return out


def _wait(what: str, done, timeout: float) -> float:
    """Poll ``done()`` every 2 ms; time.monotonic() when it held (comparable across processes)."""
    deadline = time.monotonic() + timeout
    while not done():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not done in {timeout:.0f} s")
        time.sleep(0.002)
    return time.monotonic()


def _noop(broker, gates: int, client: type[mqtt.Client] = mqtt.Client) -> float:
    """events/s of a subscriber that only acknowledges (manual ack, as the hub), same payloads;
    ``client``: paho's own (the baseline), or the hub's read-ahead client (shown beside it)."""
    site = fixtures.site_name()
    msgs = _batch(site, N, gates, {_gate(g): new_key() for g in range(gates)})
    got = 0
    done = threading.Event()
    subscribed = threading.Event()

    def on_message(client, _userdata, msg) -> None:
        nonlocal got
        client.ack(msg.mid, msg.qos)
        got += 1  # paho's one network thread calls this
        if got == len(msgs):
            done.set()

    sub = client(CallbackAPIVersion.VERSION2, client_id=f"bench-noop-{site}", clean_session=False, manual_ack=True)
    sub.on_message = on_message
    sub.on_subscribe = lambda *a: subscribed.set()
    sub.connect(broker.host, broker.port, keepalive=30)
    sub.loop_start()
    sub.subscribe(f"gatehouse/v1/{site}/gate/+/event", qos=1)
    if not subscribed.wait(5):
        raise AssertionError("no-op subscriber not subscribed")
    pub = _publisher(broker, "noop")
    t0 = time.perf_counter()
    for topic, payload in msgs:
        pub.publish(topic, payload, qos=1)
    if not done.wait(120):
        raise AssertionError(f"no-op subscriber got {got} of {len(msgs)}")
    s = time.perf_counter() - t0
    for c in (pub, sub):
        c.disconnect()
        c.loop_stop()
    return len(msgs) / s


def _stored(hub) -> int:
    return hub.app.state.event_ingest.stored


def _thread_cpu(name: str) -> float:
    """CPU seconds so far of this process's thread ``name`` (0 if none): the intake worker's own
    cost per event, which other work on the machine moves far less than it moves wall time."""
    for t in threading.enumerate():
        if t.name == name and t.ident is not None:
            return time.clock_gettime(time.pthread_getcpuclockid(t.ident))
    return 0.0


def _burst(hub, broker, gates: int, keys: dict[str, str]) -> tuple[float, float, float]:
    """(events/s from first publish to the last committed, publisher seconds, the intake
    worker's CPU microseconds per event) for N events."""
    pub = _publisher(broker, f"gates{gates}")
    try:
        before = _stored(hub)
        for topic, payload in _batch(hub.site, gates, gates, keys):  # one per gate first (not timed)
            pub.publish(topic, payload, qos=1)
        _wait("warm-up", lambda: _stored(hub) >= before + gates, 30)
        msgs = _batch(hub.site, N, gates, keys)
        start = _stored(hub)
        cpu0 = _thread_cpu("mqtt-intake")
        t0 = time.monotonic()
        for topic, payload in msgs:
            pub.publish(topic, payload, qos=1)
        t_pub = time.monotonic() - t0
        t_end = _wait(f"hub storing {N} events from {gates} gates", lambda: _stored(hub) >= start + N, 300)
        intake_us = (_thread_cpu("mqtt-intake") - cpu0) / N * 1e6
    finally:
        pub.disconnect()
        pub.loop_stop()
    return N / (t_end - t0), t_pub, intake_us


Burst = tuple[float, float, float]  # events/s, publisher seconds, intake CPU us per event


def _burst_hub(workdir: Path, broker) -> tuple[list[tuple[float, Burst]], dict[int, Burst], float, list[float]]:
    """(PAIRS of (no-op events/s, the hub's burst from the most gates) taken in turn, bursts
    from the other GATES, the most gates' burst with one event to a transaction, the no-op
    on the read-ahead client once per pair)."""
    hub = stack.start(workdir, broker)
    try:
        keys = {_gate(g): stack.register(hub, _gate(g)) for g in range(max(GATES))}
        pairs, readahead = [], []
        for _ in range(PAIRS):
            pairs.append((_noop(broker, max(GATES)), _burst(hub, broker, max(GATES), keys)))
            readahead.append(_noop(broker, max(GATES), ReadAheadClient))
        out = {gates: _burst(hub, broker, gates, keys) for gates in GATES if gates != max(GATES)}
        grouped, hub_mqtt.MAX_BATCH = hub_mqtt.MAX_BATCH, 1
        try:
            alone = _burst(hub, broker, max(GATES), keys)[0]
        finally:
            hub_mqtt.MAX_BATCH = grouped
        expected = sum(gates + N for gates in (*[max(GATES)] * PAIRS, *out, max(GATES)))
        with hub.store.read() as db:
            (stored,) = db.execute("SELECT COUNT(*) FROM events").fetchone()
        api = stack.client(hub, "guard")
        listed = stack.passes(api, limit=1000)
        api.close()
        if stored != expected or len(listed) != 1000:
            raise AssertionError(f"{stored} events in the store (expected {expected}), {len(listed)} listed")
        drops = hub.app.state.drops.snapshot()["total"]
        if drops:
            raise AssertionError(f"the hub dropped {drops} messages")
    finally:
        hub.stop()
    return pairs, out, alone, readahead


def _prefill(data_dir: Path, site: str, gate_id: str, key: str, n: int) -> None:
    """An outbox holding ``n`` signed events, written in one transaction."""
    Outbox(data_dir).close()
    c = sqlite3.connect(str(data_dir / "outbox.db"), isolation_level=None)
    c.execute("BEGIN")
    step = 20_000
    for start in range(0, n, step):
        evs = events(min(step, n - start), gate_id=gate_id)
        c.executemany("INSERT INTO outbox (event_id, payload) VALUES (?, ?)",
                      [(e.event_id, signed_bytes(e, key, site, "event")) for e in evs])
    c.execute("COMMIT")
    c.close()


def _gate_process(data_dir: Path, site: str, gate_id: str, key: str, n: int, host: str, port: int, conn) -> None:
    """A gate in its own process (as on its own Pi): fill its outbox, then, told to, drain it.

    Sends ("ready",), then ("drained", monotonic seconds when the outbox was empty)."""
    _prefill(data_dir, site, gate_id, key, n)
    box = Outbox(data_dir)
    agent = AgentSection(gate_id=gate_id, site=site, data_dir=data_dir, heartbeat_s=30, gate_key=key)
    link = MqttLink(
        agent, MqttSection(host=host, port=port, keepalive_s=5), box,
        status=lambda online: GateStatus(gate_id=gate_id, online=online, at=utcnow()),
        sync=lambda: SyncRequest(gate_id=gate_id, rev=0, checksum=EMPTY_CHECKSUM, at=utcnow()),
        on_acl=lambda payload: None, on_cmd=lambda payload: None,
    )
    conn.send(("ready",))
    conn.recv()
    link.start()
    try:
        _wait("the outbox drained", lambda: box.depth == 0, 900)
        conn.send(("drained", time.monotonic()))
    finally:
        link.stop()
        box.close()


def _backlog(workdir: Path, broker, n: int) -> tuple[float, float]:
    """(seconds to drain a gate's outbox of ``n`` to the broker, seconds until the hub stored them all),
    both from the gate's start; the gate runs in its own process."""
    hub = stack.start(workdir / "hub", broker)
    try:
        gate_id = "backlog"
        key = stack.register(hub, gate_id)
        data_dir = workdir / "gate"
        data_dir.mkdir(parents=True)
        ctx = multiprocessing.get_context("spawn")  # no fork of a process with the hub's threads
        ours, theirs = ctx.Pipe()
        gate = ctx.Process(target=_gate_process, args=(data_dir, hub.site, gate_id, key, n, broker.host, broker.port,
                                                       theirs), daemon=True)
        gate.start()
        try:
            if not ours.poll(900) or ours.recv() != ("ready",):
                raise AssertionError("the gate process did not fill its outbox")
            start = _stored(hub)
            t0 = time.monotonic()
            ours.send("go")
            t_stored = _wait("the hub storing the backlog", lambda: _stored(hub) >= start + n, 900)
            if not ours.poll(900):
                raise AssertionError("the gate never drained")
            _, t_drained = ours.recv()
        finally:
            gate.join(30)
            if gate.is_alive():
                gate.kill()
    finally:
        hub.stop()
    return t_drained - t0, t_stored - t0


def run(workdir: Path) -> Result:
    broker = fixtures.broker(workdir / "mosquitto", extra_conf=BROKER_CONF)
    try:
        pairs, hub, alone, readahead = _burst_hub(workdir / "hub", broker)
        backlog = _backlog(workdir / "backlog", broker, BACKLOG) if BACKLOG else None
    finally:
        broker.stop()
    noop, median = sorted(pairs, key=lambda p: p[1][0] / p[0])[len(pairs) // 2]
    hub[max(GATES)] = median
    r = Result(NAME, TITLE, ["path", "events", "events/s", "ms per event", "ratio vs no-op"])
    r.add(f"baseline: no-op subscriber (manual ack, only acks), {max(GATES)} gates", N, noop, 1000 / noop, "1.00x")
    ra = sorted(readahead)[len(readahead) // 2]
    r.add("no-op subscriber on the hub's read-ahead client (median of the pairs' turns)", N, ra, 1000 / ra,
          ratio(ra, noop))
    for gates, (rate, _, _) in sorted(hub.items()):
        r.add(f"hub: {gates} gates -> verified, parsed, stored (group commit)", N, rate, 1000 / rate, ratio(rate, noop))
    r.add(f"hub: {max(GATES)} gates, one event to a transaction (MAX_BATCH 1, as before)", N, alone, 1000 / alone,
          ratio(alone, noop))
    r.key = median[0] / noop
    r.key_label = f"hub/no-op ratio, {max(GATES)} gates"
    r.notes.append(f"{PAIRS} pairs of (no-op, hub from {max(GATES)} gates) taken in turn, the median shown: "
                   + "; ".join(f"{n:,.0f}/s and {b[0]:,.0f}/s, {b[0] / n:.2f}x" for n, b in pairs))
    r.notes.append("publisher done in " + ", ".join(f"{t:.2f} s ({g} gates)" for g, (_, t, _) in sorted(hub.items())))
    r.notes.append("the hub's mqtt-intake worker, CPU per event (parse, verify, store; less moved by load than "
                   "wall time): " + ", ".join(f"{us:.0f} us ({g} gates)" for g, (_, _, us) in sorted(hub.items()))
                   + f"; {max(GATES)} gates, each pair: " + ", ".join(f"{b[2]:.0f} us" for _, b in pairs))
    if backlog is not None:
        drained, stored = backlog
        r.add("baseline: a gate's backlog drained to the broker (MqttLink)", BACKLOG, BACKLOG / drained,
              1000 * drained / BACKLOG, "1.00x")
        r.add("hub: that backlog stored", BACKLOG, BACKLOG / stored, 1000 * stored / BACKLOG, ratio(drained, stored))
        r.notes.append(f"backlog of {BACKLOG:,} events from one gate: drained to the broker in {drained:.1f} s, "
                       f"all stored at the hub {stored:.1f} s after the gate started")
    r.notes.append("estate peak ~100 gates x 1 tap/s = 100 events/s")
    return r

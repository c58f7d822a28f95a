"""A new gate with 100,000 cards: `gate add`, its list built, and the gate online through a
real hub, mosquitto and a real agent process with an empty cache; and another gate's events
meanwhile.

The hub (in this process, on a copy of an estate file: 100,000 cards of the bench mix,
listed at gate west) registers gate north as `gate-hub gate add` does, timed; its list is
then built by the hub's projector in steps (hub.gates.acl.ensure_gate), timed until done.
A gate agent is started in a fresh process (`python -m gate_agent.cli run`, a simulated
door, an empty data folder) and timed from its start until its acl.db holds the hub's
revision and checksum; its peak RSS (VmHWM) is read then. Baseline, same run: bench.sync's
copy cost in a fresh process (json.loads, SHA-256 of every entry and a bare SQLite insert
of the rows, the least a gate that stages on disk must do).

Meanwhile gate west publishes a signed event every 10 ms, each stamped with its publish
time; the delay of each is the hub's received time minus that stamp (the event is stored
in the transaction that follows at once). Baseline, same run: the same for 3 s with no
sync running.
"""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from bench import fixtures
from bench.common import ROOT, Result, percentile, ratio
from bench.reproject import copy_db, estate_db
from bench.sync import BIG, apply_in_child, big_wire
from hub.app import start_hub
from hub.gates import acl
from protocols.messages import GateEvent
from protocols.signing import signed_bytes
from protocols.topics import gate_topic
from tests.rigs import stack

NAME = "newgate"
TITLE = "A new 100,000-card gate online, and another gate's events meanwhile"

N = 100_000
NEW = "north"
OTHER = "west"
EVENT_EVERY_S = 0.01


class EventStream:
    """Gate ``OTHER`` publishing signed events at a steady pace, each stamped when sent."""

    def __init__(self, broker, site: str, key: str, prefix: str) -> None:
        self.site, self.key, self.prefix = site, key, prefix
        self.sent = 0
        self._stop = threading.Event()
        self._client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"bench-{prefix}")
        self._client.connect(broker.host, broker.port)
        self._client.loop_start()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "EventStream":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        self._client.loop_stop()
        self._client.disconnect()

    def _run(self) -> None:
        topic = gate_topic(self.site, OTHER, "event")
        next_at = time.monotonic()
        while not self._stop.is_set():
            ev = GateEvent(event_id=f"{self.prefix}-{self.sent:06d}", gate_id=OTHER, door_id="west-in",
                           uid=fixtures.uid_of(self.sent % 1000), decision="granted", reason="valid_card",
                           at=datetime.now(timezone.utc))
            self._client.publish(topic, signed_bytes(ev, self.key, self.site, "event"), qos=1)
            self.sent += 1
            next_at += EVENT_EVERY_S
            self._stop.wait(max(0.0, next_at - time.monotonic()))


def _delays(store, prefix: str, expected: int) -> list[float]:
    def stored() -> list[tuple[str, str]]:
        with store.read() as db:
            return db.execute("SELECT at, received_at FROM events WHERE event_id LIKE ?", [f"{prefix}-%"]).fetchall()

    deadline = time.monotonic() + 60
    rows = stored()
    while len(rows) < expected and time.monotonic() < deadline:
        time.sleep(0.1)
        rows = stored()
    if len(rows) < expected:
        raise AssertionError(f"{len(rows)} of {expected} {prefix} events stored")
    return [(datetime.fromisoformat(rec) - datetime.fromisoformat(at)).total_seconds() for at, rec in rows]


def _agent_toml(path: Path, site: str, data_dir: Path, broker, key: str) -> None:
    path.write_text(f"""[agent]
gate_id = "{NEW}"
site = "{site}"
data_dir = "{data_dir}"
gate_key = "{key}"
heartbeat_s = 30

[mqtt]
host = "{broker.host}"
port = {broker.port}
keepalive_s = 5
reconnect_max_s = 1

[[doors]]
id = "{NEW}-in"
[doors.relay]
kind = "sim"
pulse_ms = 200
[[doors.readers]]
kind = "sim"
direction = "in"
""")


def _agent_holds(data_dir: Path) -> tuple[int, str] | None:
    path = data_dir / "acl.db"
    if not path.exists():
        return None
    try:
        c = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.05)
        try:
            meta = dict(c.execute("SELECT key, value FROM meta").fetchall())
        finally:
            c.close()
    except sqlite3.Error:
        return None
    return (int(meta["rev"]), meta["checksum"]) if "rev" in meta else None


def _vm(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return 0.0


def run(workdir: Path) -> Result:
    src, built_s = estate_db(N, (OTHER,))
    db_path = copy_db(src, workdir / "hub" / "hub.db")
    wire = workdir / "big.jsonl"
    big_wire(wire)
    base = apply_in_child("baseline", wire, workdir / "base")

    broker = fixtures.broker(workdir / "mosquitto")
    try:
        cfg = stack.hub_config(workdir / "hub", broker)
        cfg.hub.db_path = db_path
        hub = start_hub(cfg)
        site = cfg.hub.site
        try:
            west_key = stack.register(hub, OTHER)
            with EventStream(broker, site, west_key, "idle") as idle:
                time.sleep(3.0)
            idle_delays = _delays(hub.store, "idle", idle.sent)

            t0 = time.perf_counter()
            key = stack.register(hub, NEW)  # as `gate-hub gate add north`
            add_s = time.perf_counter() - t0
            while True:
                with hub.store.read() as db:
                    if not acl.building(db, NEW):
                        break
                time.sleep(0.01)
            build_s = time.perf_counter() - t0
            with hub.store.read() as db:
                head = acl.head(db, NEW)
                listed = db.execute("SELECT COUNT(*) FROM acl_state WHERE gate_id = ?", [NEW]).fetchone()[0]

            data_dir = workdir / "gate"
            data_dir.mkdir()
            config = workdir / "agent.toml"
            _agent_toml(config, site, data_dir, broker, key)
            env = {**os.environ, "PYTHONPATH": str(ROOT)}
            with EventStream(broker, site, west_key, "sync") as during:
                t0 = time.perf_counter()
                agent = subprocess.Popen([sys.executable, "-m", "gate_agent.cli", "--log-level", "WARNING", "run",
                                          "--config", str(config)], cwd=ROOT, env=env,
                                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                try:
                    deadline = time.monotonic() + 120
                    while _agent_holds(data_dir) != head:
                        if agent.poll() is not None or time.monotonic() > deadline:
                            raise AssertionError(f"the agent never held {head}: {agent.stderr.read()[-2000:]!r}")
                        time.sleep(0.02)
                    online_s = time.perf_counter() - t0
                    peak_mb, rss_mb = _vm(agent.pid, "VmHWM"), _vm(agent.pid, "VmRSS")
                    time.sleep(0.5)
                finally:
                    agent.terminate()
                    agent.wait(10)
            sync_delays = _delays(hub.store, "sync", during.sent)
        finally:
            hub.stop()
    finally:
        broker.stop()
    if listed != BIG:
        raise AssertionError(f"the new gate lists {listed} cards, not {BIG}")

    r = Result(NAME, TITLE, ["what", "value", "ratio vs baseline"])
    r.add("baseline: copy cost, fresh process (json.loads + SHA-256 + bare insert), s", base["seconds"], "1.00x")
    r.add("`gate add` (register; the list becomes a job), s", add_s, "")
    r.add("the new gate's list built by the projector's steps, s", build_s, ratio(build_s, base["seconds"]))
    r.add("agent start to the hub's rev and checksum, empty cache, s", online_s, ratio(online_s, base["seconds"]))
    r.add("agent peak RSS (VmHWM), MB", peak_mb, ratio(peak_mb, base["peak_mb"]))
    r.add("baseline: west's event delay at the hub, no sync: p99 ms", percentile(idle_delays, 99) * 1000, "1.00x")
    r.add("west's event delay while north syncs: p50 ms", percentile(sync_delays, 50) * 1000, "")
    r.add("west's event delay while north syncs: p99 ms", percentile(sync_delays, 99) * 1000,
          ratio(percentile(sync_delays, 99), percentile(idle_delays, 99)))
    r.add("west's event delay while north syncs: max ms", max(sync_delays) * 1000, "")
    r.key = online_s
    r.key_label = "new gate online s"
    r.notes.append(f"{listed:,} cards at the new gate (rev {head[0]:,}); the agent's RSS when in step "
                   f"{rss_mb:.0f} MB; the baseline's peak {base['peak_mb']:.0f} MB")
    r.notes.append(f"west sent {idle.sent} events in the idle baseline and {during.sent} during the sync, "
                   f"one every {EVENT_EVERY_S * 1000:.0f} ms")
    if built_s:
        r.notes.append(f"estate file built in {built_s:.1f} s (cached)")
    return r

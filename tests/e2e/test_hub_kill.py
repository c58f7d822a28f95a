"""The hub killed with SIGKILL while events stream in loses none and stores none twice: it
acknowledges an event to the broker only after the transaction holding it has committed (many
events to a transaction: group commit, hub.mqtt), and its persistent session keeps the rest
at the broker until it is back. A batch cut short by the kill was never committed, so the
broker sends all of it again; an event committed but not yet acknowledged comes again and is
ignored (event_id is unique)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import uuid
from datetime import datetime, timezone

import httpx
import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.auth import create_token
from hub.db import Store
from hub.gates.service import register_gate
from protocols.messages import GateEvent
from protocols.signing import sign
from protocols.topics import gate_topic
from tests.conftest import ROOT
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

GATES = ["north", "south", "east", "west", "gate5"]
PER_GATE = 800
N = len(GATES) * PER_GATE


def _serve(config: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", config, "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _event_id(gate_id: str, i: int) -> str:
    return f"kill-{gate_id}-{i:05d}"


def test_sigkill_during_group_commit_loses_no_event_and_stores_none_twice(tmp_path, broker) -> None:
    site, port = "k" + uuid.uuid4().hex[:8], free_port()
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsite = "{site}"\ndb_path = "{tmp_path / "hub.db"}"\nhttp_host = "127.0.0.1"\n'
                      f'http_port = {port}\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    store = Store.open(tmp_path / "hub.db")
    token = create_token(store, "supervisor", "kill-test")
    keys = {g: register_gate(store, g, "test") for g in GATES}  # hub.key beside hub.db, as the hub's default
    store.close()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})

    def stored() -> int:
        with Store(tmp_path / "hub.db").read() as db:
            return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    hub = _serve(str(config))
    gates: list[paho.Client] = []
    try:
        wait_for(lambda: _up(api), timeout=15, what="the hub up and connected")
        now = datetime.now(timezone.utc)
        signed = {g: [sign(GateEvent(event_id=_event_id(g, i), gate_id=g, door_id=f"{g}-in", uid="0A0012AB34",
                                     decision="granted", reason="valid_card", at=now), keys[g], site, "event").to_bytes()
                      for i in range(PER_GATE)] for g in GATES}
        published: dict[str, list] = {}

        def stream(gate_id: str, client: paho.Client) -> None:
            topic = gate_topic(site, gate_id, "event")
            published[gate_id] = [client.publish(topic, payload, qos=1) for payload in signed[gate_id]]

        for g in GATES:
            c = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{g}-" + uuid.uuid4().hex[:6])
            c.max_inflight_messages_set(100)
            c.connect(broker.host, broker.port)
            c.loop_start()
            gates.append(c)
        streams = [threading.Thread(target=stream, args=(g, c)) for g, c in zip(GATES, gates)]
        for t in streams:
            t.start()
        wait_for(lambda: stored() >= N // 5, timeout=30, what="the hub storing events from every gate before the kill")
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)
        for t in streams:
            t.join(30)
        for g in GATES:
            for info in published[g]:
                info.wait_for_publish(10)  # the broker has every event: the gate would forget them now
        partial = stored()
        assert partial < N, "the kill came too late to test anything"

        hub = _serve(str(config))
        wait_for(lambda: stored() == N, timeout=60, what=f"all {N} events stored after the restart (had {partial})")
        with Store(tmp_path / "hub.db").read() as db:
            ids = [r[0] for r in db.execute("SELECT event_id FROM events")]
        assert len(ids) == len(set(ids)) == N, "an event stored twice"
        assert set(ids) == {_event_id(g, i) for g in GATES for i in range(PER_GATE)}
    finally:
        for c in gates:
            c.disconnect()
            c.loop_stop()
        if hub.poll() is None:
            hub.terminate()
            hub.wait(10)


def _up(api: httpx.Client) -> bool:
    try:
        return api.get("/api/v1/health/mqtt").json().get("connected") is True
    except httpx.TransportError:
        return False

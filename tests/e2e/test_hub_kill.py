"""The hub killed with SIGKILL while events stream in loses none: it acknowledges an event to
the broker only after the event's transaction has committed, and its persistent session keeps
the rest at the broker until it is back."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
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

N = 3000


def _serve(config: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", config, "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_sigkill_during_ingest_loses_no_event(tmp_path, broker) -> None:
    site, port = "k" + uuid.uuid4().hex[:8], free_port()
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsite = "{site}"\ndb_path = "{tmp_path / "hub.db"}"\nhttp_host = "127.0.0.1"\n'
                      f'http_port = {port}\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    store = Store.open(tmp_path / "hub.db")
    token = create_token(store, "supervisor", "kill-test")
    key = register_gate(store, "north", "test")  # hub.key beside hub.db, as the hub's default
    store.close()
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"})

    def stored() -> int:
        with Store(tmp_path / "hub.db").read() as db:
            return db.execute("SELECT COUNT(*) FROM events").fetchone()[0]

    hub = _serve(str(config))
    try:
        wait_for(lambda: _up(api), timeout=15, what="the hub up and connected")
        gate = paho.Client(CallbackAPIVersion.VERSION2, client_id="gate-" + uuid.uuid4().hex[:6])
        gate.max_inflight_messages_set(200)
        gate.connect(broker.host, broker.port)
        gate.loop_start()
        topic = gate_topic(site, "north", "event")
        now = datetime.now(timezone.utc)
        infos = []
        for i in range(N):
            ev = GateEvent(event_id=f"kill-{i:06d}", gate_id="north", door_id="north-in", uid="0A0012AB34",
                           decision="granted", reason="valid_card", at=now)
            infos.append(gate.publish(topic, sign(ev, key, site, "event").to_bytes(), qos=1))
            if i == N // 3:
                wait_for(lambda: stored() > 0, timeout=10, what="the hub storing events before the kill")
                hub.send_signal(signal.SIGKILL)
                hub.wait(10)
        for info in infos:
            info.wait_for_publish(10)  # the broker has every event: the gate would forget them now
        gate.loop_stop()
        partial = stored()
        assert partial < N, "the kill came too late to test anything"

        hub = _serve(str(config))
        wait_for(lambda: stored() == N, timeout=60, what=f"all {N} events stored after the restart (had {partial})")
        with Store(tmp_path / "hub.db").read() as db:
            assert db.execute("SELECT COUNT(DISTINCT event_id) FROM events").fetchone()[0] == N
    finally:
        if hub.poll() is None:
            hub.terminate()
            hub.wait(10)


def _up(api: httpx.Client) -> bool:
    try:
        return api.get("/api/v1/health/mqtt").json().get("connected") is True
    except httpx.TransportError:
        return False

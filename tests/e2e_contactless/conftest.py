"""Contactless end to end: a real hub on the session broker, gate agents with real PC/SC and
OSDP readers, LCUS relays on ptys. pcscd is the session's one (tests/conftest.py); the gate
taps on "Virtual PCD 00 00", the clerk's desk on "Virtual PCD 00 01"."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from gate_agent.agent import GateAgent
from gate_agent.config import AgentConfig
from hub.app import start_hub
from hub.auth import create_token
from tests.hub.conftest import make_config
from tests.rigs import stack
from tests.rigs.vcard import VPCD_PORT, VirtualCard
from tests.rigs.wait import wait_for

GATE_READER = "Virtual PCD 00 00"
DESK_READER = "Virtual PCD 00 01"


@pytest.fixture
def hub(tmp_path, broker):
    """A hub served by uvicorn on a free port, on the session broker, with its own site."""
    config = make_config(tmp_path, broker)
    running = start_hub(config)
    assert running.mqtt is not None and running.mqtt.connected, "hub did not connect to the broker"
    running.site = config.hub.site
    clients: list[httpx.Client] = []

    def client(role: str) -> httpx.Client:
        c = httpx.Client(base_url=running.url, timeout=10,
                         headers={"Authorization": "Bearer " + create_token(running.store, role, role)})
        clients.append(c)
        return c

    running.client = client
    yield running
    for c in clients:
        c.close()
    running.stop()


@pytest.fixture
def make_agent(hub, broker, tmp_path):
    """Start a GateAgent of ``hub``'s site with the given doors; all stopped after the test."""
    made: list[GateAgent] = []

    keys = hub.__dict__.setdefault("gate_keys", {})  # gate id -> key, for tests that sign as a gate

    def make(gate_id: str, doors: list[dict[str, Any]], role: str = "gate", **kw: Any) -> GateAgent:
        if gate_id not in keys:
            keys[gate_id] = stack.register(hub, gate_id)
        cfg = AgentConfig.model_validate({
            "agent": {"gate_id": gate_id, "site": hub.site, "data_dir": str(tmp_path / f"agent-{gate_id}"),
                      "heartbeat_s": 0.5, "role": role, "gate_key": keys[gate_id]},
            "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5, "reconnect_max_s": 1},
            "doors": doors,
        })
        agent = GateAgent(cfg, **kw)
        agent.start()
        made.append(agent)
        assert agent.wait_online(10), f"agent {gate_id} did not connect to the broker"
        return agent

    yield make
    for agent in made:
        agent.stop()


@pytest.fixture
def gate_card(pcscd) -> VirtualCard:
    """A card to tap on the gate's reader (Virtual PCD 00 00)."""
    card = VirtualCard(port=VPCD_PORT)
    yield card
    card.remove()


@pytest.fixture
def desk_card(pcscd) -> VirtualCard:
    """A card to tap on the clerk's desk reader (Virtual PCD 00 01)."""
    card = VirtualCard(port=VPCD_PORT + 1)
    yield card
    card.remove()


def gate_view(client: httpx.Client, gate_id: str) -> dict | None:
    r = client.get(f"/api/v1/gates/{gate_id}")
    return r.json() if r.status_code == 200 else None


def door_state(client: httpx.Client, gate_id: str, door_id: str, state: str, timeout: float = 20.0,
               problem: str = "") -> dict:
    """Wait until the hub shows ``door_id`` of ``gate_id`` online and in ``state`` (with a
    problem containing ``problem``, if given); the door's view."""
    def check():
        g = gate_view(client, gate_id)
        door = g["doors"].get(door_id, {}) if g and g["online"] else {}
        if door.get("state") == state and (not problem or any(problem in p for p in door.get("problems", []))):
            return door
        return None

    return wait_for(check, timeout, f"gate {gate_id} door {door_id} {state} {problem} at the hub")


def issue(client: httpx.Client, uid: str, name: str = "Wang Fang", unit: str = "A-12-03") -> dict:
    r = client.post("/api/v1/cards", json={"uid": uid, "card_type": "owner", "holder": {"name": name, "unit": unit}})
    assert r.status_code == 201, r.text
    return r.json()


def passes(client: httpx.Client, uid: str) -> list[dict]:
    return [e for e in client.get("/api/v1/events?limit=100").json() if e["kind"] == "pass" and e["uid"] == uid]

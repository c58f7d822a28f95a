"""Hub test rigs: a hub on a real SQLite file, served for real, against the session broker.

Each test gets its own site name, so retained messages on the shared broker never leak from
one test to another.
"""

from __future__ import annotations

import queue
import uuid
from dataclasses import dataclass, field
from typing import Callable

import paho.mqtt.client as paho
import pytest
from fastapi.testclient import TestClient
from paho.mqtt.enums import CallbackAPIVersion

from hub.app import create_app, start_hub
from hub.auth import create_token
from hub.config import HubConfig
from hub.db import Store
from hub.gates.service import register_gate
from protocols.signing import sign
from tests.rigs.broker import free_port


def make_config(tmp_path, broker=None, **hub) -> HubConfig:
    data = {
        "hub": {
            "site": "t" + uuid.uuid4().hex[:8],
            "db_path": str(tmp_path / "hub.db"),
            "http_host": "127.0.0.1",
            "http_port": free_port(),
            "language": "en",  # the rigs' estate reads English; tests/i18n walks all three languages
            "timezone": "UTC",  # and keeps UTC days, which the tests' dates assume
            **hub,
        }
    }
    if broker is not None:
        data["mqtt"] = {"host": broker.host, "port": broker.port, "keepalive_s": 5}
    return HubConfig.model_validate(data)


@pytest.fixture
def api(tmp_path):
    """A hub app with no broker, driven in-process by TestClient; ``api.token(role)`` makes tokens."""
    config = make_config(tmp_path)
    store = Store.open(config.hub.db_path)
    app = create_app(config, store, connect_mqtt=False)
    with TestClient(app) as client:
        client.token = lambda role, name="t", gates=(): create_token(store, role, name, gates)
        client.h = lambda role, gates=(): {"Authorization": "Bearer " + create_token(store, role, "t", gates)}
        client.store = store
        yield client
    store.close()


@pytest.fixture
def hub(tmp_path, broker):
    """A hub served by uvicorn on a free port, connected to the session broker."""
    config = make_config(tmp_path, broker)
    running = start_hub(config)
    assert running.mqtt is not None and running.mqtt.connected, "hub did not connect to the broker"
    running.config = config
    running.site = config.hub.site
    running.h = lambda role, gates=(): {"Authorization": "Bearer " + create_token(running.store, role, "t", gates)}
    keys: dict[str, str] = {}

    def key(gate_id: str) -> str:
        """The gate's key, registered at the hub on first use (as `gate-hub gate add`)."""
        if gate_id not in keys:
            keys[gate_id] = register_gate(running.store, gate_id, "test", secret_file=config.hub.secret_path)
        return keys[gate_id]

    running.key = key
    #: a message as that gate signs it (registering the gate), ready to publish
    running.signed = lambda gate_id, msg, channel: sign(msg, key(gate_id), config.hub.site, channel).to_bytes()
    yield running
    running.stop()


@dataclass
class Peer:
    """A plain MQTT client standing in for a gate agent or an observer."""

    client: paho.Client
    messages: "queue.Queue[tuple[str, bytes]]" = field(default_factory=queue.Queue)

    def subscribe(self, topic: str) -> None:
        done = queue.Queue()
        self.client.on_subscribe = lambda *a: done.put(True)
        self.client.subscribe(topic, qos=1)
        done.get(timeout=5)

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def next(self, timeout: float = 5.0, what: str = "a message") -> tuple[str, bytes]:
        try:
            return self.messages.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no MQTT message within {timeout} s: expected {what}") from None

    def nothing(self, within: float = 0.5) -> None:
        try:
            topic, payload = self.messages.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError(f"expected no message, got {topic}: {payload[:200]!r}")


@pytest.fixture
def peer(broker) -> Callable[..., Peer]:
    made: list[paho.Client] = []

    def make(will: tuple[str, bytes] | None = None, client_id: str | None = None, on=None) -> Peer:
        """A connected client, on the session broker unless ``on`` names another."""
        b = on or broker
        c = paho.Client(CallbackAPIVersion.VERSION2, client_id=client_id or "test-" + uuid.uuid4().hex[:8])
        p = Peer(c)
        c.on_message = lambda _c, _u, msg: p.messages.put((msg.topic, msg.payload))
        if will:
            c.will_set(will[0], will[1], qos=1, retain=True)
        connected = queue.Queue()
        c.on_connect = lambda *a: connected.put(True)
        c.connect(b.host, b.port, keepalive=5)
        c.loop_start()
        connected.get(timeout=5)
        made.append(c)
        return p

    yield make
    for c in made:
        c.disconnect()
        c.loop_stop()

"""The hub's MQTT client: announces itself, and comes back after the broker does."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timezone

import httpx

from hub.app import start_hub
from hub.auth import create_token
from hub.gates.service import register_gate
from protocols.messages import GateEvent
from protocols.signing import sign
from protocols.topics import gate_topic, hub_status_topic
from tests.hub.conftest import make_config
from tests.rigs.wait import wait_for


def test_hub_status_is_retained_online(hub, peer):
    watcher = peer()
    watcher.subscribe(hub_status_topic(hub.site))
    topic, payload = watcher.next(what="the hub's retained status")
    assert json.loads(payload)["online"] is True


def test_resubscribes_after_the_broker_restarts(tmp_path, own_broker, peer):
    config = make_config(tmp_path, own_broker)
    with start_hub(config) as hub:
        assert hub.mqtt.connected
        key = register_gate(hub.store, "north", "test")
        own_broker.stop()
        wait_for(lambda: not hub.mqtt.connected, what="the hub to notice the broker is gone")
        own_broker.start()
        wait_for(lambda: hub.mqtt.connected and hub.mqtt.connects == 2, timeout=20, what="the hub to reconnect")
        gate = peer(on=own_broker)
        event = GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id="north", door_id="d", uid="01",
                          decision="denied", reason="unknown_card", at=datetime.now(timezone.utc))
        gate.publish(gate_topic(config.hub.site, "north", "event"), sign(event, key, config.hub.site, "event").to_bytes())
        h = {"Authorization": "Bearer " + create_token(hub.store, "guard", "g")}
        got = wait_for(lambda: httpx.get(hub.url + "/api/v1/events", headers=h).json(), what="the event after reconnect")
        assert got[0]["event_id"] == event.event_id


def test_hub_last_will_says_offline(broker, peer):
    from hub.config import MqttSection
    from hub.mqtt import HubMqtt

    site = "w" + uuid.uuid4().hex[:8]
    watcher = peer()
    watcher.subscribe(hub_status_topic(site))
    client = HubMqtt(MqttSection(host=broker.host, port=broker.port, keepalive_s=5), site)
    client.start()
    try:
        assert client.wait_connected(5)
        assert json.loads(watcher.next(what="online")[1])["online"] is True
        client.client.socket().close()  # the hub vanishes without a goodbye
        assert json.loads(watcher.next(what="the last will")[1])["online"] is False
        assert json.loads(watcher.next(timeout=10, what="online again after reconnecting")[1])["online"] is True
    finally:
        client.stop()
    assert json.loads(watcher.next(what="offline on a clean stop")[1])["online"] is False

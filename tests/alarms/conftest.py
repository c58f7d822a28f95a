"""Alarm rigs: a real hub (uvicorn, SQLite file) on the session's mosquitto, with the alarms'
times short enough for a test (``alarm_hub(escalate_after_s=..., ack_timeout_s=...)``), and
a stand-in gate that publishes signed messages as an agent does."""

from __future__ import annotations

from datetime import datetime, timezone
import json
import queue
from typing import Callable

import httpx
import pytest

from hub.app import RunningHub, start_hub
from hub.auth import COOKIE, create_token
from hub.gates.service import register_gate
from protocols.commands import command_action
from protocols.messages import DoorStatus, GateEvent, GateStatus
from protocols.signing import sign
from protocols.topics import gate_topic
from tests.hub.conftest import Peer, make_config, peer  # noqa: F401 - the peer fixture, shared
from tests.rigs.wait import wait_for


class Gate:
    """A gate as the hub hears it: signed status and events on its topics (no agent code)."""

    def __init__(self, hub: RunningHub, gate_id: str, link: Peer) -> None:
        self.hub, self.gate_id, self.link = hub, gate_id, link
        self.key = register_gate(hub.store, gate_id, "test", secret_file=hub.config.hub.secret_path)

    def _send(self, channel: str, msg) -> None:
        payload = sign(msg, self.key, self.hub.site, channel).to_bytes()
        self.link.publish(gate_topic(self.hub.site, self.gate_id, channel), payload)

    def status(self, online: bool = True, doors: tuple[str, ...] = ("in",)) -> None:
        self._send("status", GateStatus(gate_id=self.gate_id, online=online, at=datetime.now(timezone.utc),
                                        doors={f"{self.gate_id}-{d}": DoorStatus() for d in doors}))

    def event(self, event_id: str, kind: str, door: str = "in", **fields) -> None:
        self._send("event", GateEvent(event_id=event_id, gate_id=self.gate_id, door_id=f"{self.gate_id}-{door}",
                                      kind=kind, at=datetime.now(timezone.utc), **fields))


@pytest.fixture
def alarm_hub(tmp_path, broker) -> Callable[..., RunningHub]:
    made: list[RunningHub] = []

    def make(**alarms) -> RunningHub:
        config = make_config(tmp_path, broker)
        config = config.model_validate(config.model_dump(mode="json") | {"alarms": alarms})
        running = start_hub(config)
        assert running.mqtt is not None and running.mqtt.connected, "hub did not connect to the broker"
        running.config = config
        running.site = config.hub.site
        made.append(running)
        return running

    yield make
    for running in made:
        running.stop()


@pytest.fixture
def gate(peer) -> Callable[[RunningHub, str], Gate]:
    def make(hub: RunningHub, gate_id: str) -> Gate:
        return Gate(hub, gate_id, peer())
    return make


def open_command(link: Peer, what: str = "the open command") -> bytes:
    """The next open command on a gate's cmd topic (the hub sends others there too: keys)."""
    while True:
        _, payload = link.next(timeout=15, what=what)
        if command_action(json.loads(payload)) == "open":
            return payload


def no_open_command(link: Peer, within: float = 0.5) -> None:
    """No open command arrives on the gate's cmd topic within ``within`` seconds."""
    while True:
        try:
            _, payload = link.messages.get(timeout=within)
        except queue.Empty:
            return
        assert command_action(json.loads(payload)) != "open", "an open command was sent"


def api(hub: RunningHub, role: str, gates: tuple[str, ...] = ()) -> httpx.Client:
    token = create_token(hub.store, role, f"{role}-api", gates)
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def console(browser, hub: RunningHub, role: str, name: str, gates: tuple[str, ...] = (), width: int = 1200):
    """A signed-in live page (/live) in its own browser context, its stream open."""
    login = httpx.post(hub.url + "/login", data={"token": create_token(hub.store, role, name, gates)})
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.add_cookies([{"name": COOKIE, "value": login.cookies[COOKIE], "url": hub.url}])
    page = context.new_page()
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(hub.url + "/live")
    page.wait_for_selector("#stream-state.live", timeout=15000)
    page.wait_for_selector("#alarm-panel[data-stream=open]", timeout=15000)
    return page


def open_alarms(client: httpx.Client) -> list[dict]:
    r = client.get("/api/v1/alarms")
    r.raise_for_status()
    return r.json()


def one_alarm(client: httpx.Client, kind: str, what: str) -> dict:
    found = wait_for(lambda: [a for a in open_alarms(client) if a["kind"] == kind], timeout=10, what=what)
    assert len(found) == 1, found
    return found[0]

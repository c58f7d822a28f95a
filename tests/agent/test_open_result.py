"""What a remote open became: OPEN_RESULT from the door's contact (pure, then through a real broker).

The pure part (OpenResults) is tested with made-up monotonic times. The agent part runs a
real agent with a real mosquitto; its contact is a GPIO pin on gpiozero's MockFactory (the
Modbus contact on a pty is in test_door_contacts.py).
"""

from __future__ import annotations

import json
import time

import pytest

from gate_agent.inputs import Awaited, OpenResults
from protocols.commands import sign_command
from protocols.messages import utcnow
from tests.agent.conftest import DOOR, GATE, SITE, agent_config, topic
from tests.rigs.wait import wait_for

NONCE_A, NONCE_B = "a" * 32, "b" * 32


# -- the pure bookkeeping -------------------------------------------------------------------

def test_an_opening_within_the_window_settles_it_once():
    r = OpenResults()
    r.expect(DOOR, NONCE_A, until=12.0)
    assert r.opened(DOOR, 11.0) == [Awaited(DOOR, NONCE_A, 12.0)]
    assert r.opened(DOOR, 11.5) == [] and r.expired(99.0) == [] and r.waiting == ()


def test_a_window_that_ends_shut_is_no():
    r = OpenResults()
    r.expect(DOOR, NONCE_A, until=12.0)
    assert r.expired(12.0) == []  # the window's last instant still counts
    assert r.opened(DOOR, 12.5) == []  # too late: that opening is someone else's (forced)
    assert r.expired(12.5) == [Awaited(DOOR, NONCE_A, 12.0)]
    assert r.waiting == ()


def test_doors_are_apart_and_one_opening_answers_every_open_waiting_there():
    r = OpenResults()
    r.expect(DOOR, NONCE_A, until=12.0)
    r.expect(DOOR, NONCE_B, until=13.0)
    r.expect("side", "c" * 32, until=12.0)
    assert r.opened("other", 11.0) == []
    assert [a.nonce for a in r.opened(DOOR, 11.0)] == [NONCE_A, NONCE_B]
    assert [a.door_id for a in r.expired(20.0)] == ["side"]


# -- through the agent ------------------------------------------------------------------------

@pytest.fixture
def pins():
    from gpiozero.pins.mock import MockFactory

    f = MockFactory()
    yield f
    f.reset()


def _rig(tmp_path, broker, agent_factory, peer_factory, gate_key, pins, contact=True):
    door = {"relay": {"kind": "sim", "pulse_ms": 200}, "held_open_s": 60}
    if contact:
        door["contact"] = {"pin": 17}  # a GPIO contact, as older configs write it: no kind
    agent = agent_factory(agent_config(tmp_path / "gate", broker, gate_key=gate_key, door=door), pin_factory=pins)
    peer = peer_factory(broker, topic("event"))
    assert agent.wait_online(5)
    return agent, peer


def _next(peer, kind: str, timeout: float = 5.0) -> dict:
    return json.loads(peer.next(topic("event"), timeout, where=lambda m: json.loads(m.payload)["kind"] == kind).payload)


def _until_marker(agent, peer) -> list[dict]:
    """Every event up to two exit-button markers: the loop checks its timers after each item,
    so whatever was due when the first marker was handled has been said before the second."""
    agent.exit_pressed(DOOR)
    agent.exit_pressed(DOOR)
    seen, markers = [], 0
    while markers < 2:
        ev = json.loads(peer.next(topic("event")).payload)
        seen.append(ev)
        markers += ev["kind"] == "exit_button"
    return seen


def _open(agent, peer, key):
    cmd = sign_command(GATE, DOOR, "guard-1", key, utcnow(), site=SITE)
    peer.publish(topic("cmd"), cmd.to_bytes())
    ev = _next(peer, "remote_open")
    assert ev["decision"] == "granted" and ev["detail"]["nonce"] == cmd.nonce
    return cmd


def test_contact_opening_in_the_window_is_yes(tmp_path, broker, agent_factory, peer_factory, gate_key, pins):
    agent, peer = _rig(tmp_path, broker, agent_factory, peer_factory, gate_key, pins)
    cmd = _open(agent, peer, gate_key)
    pins.pin(17).drive_low()  # pulled up, switch to ground: the door opens
    ev = _next(peer, "open_result")
    assert (ev["door_id"], ev["decision"], ev["reason"]) == (DOOR, None, None)
    assert ev["detail"] == {"nonce": cmd.nonce, "opened": "yes"}
    pins.pin(17).drive_high()
    assert "door_forced" not in [e["kind"] for e in _until_marker(agent, peer)]


def test_contact_left_shut_is_no_when_the_window_ends(tmp_path, broker, agent_factory, peer_factory, gate_key, pins):
    agent, peer = _rig(tmp_path, broker, agent_factory, peer_factory, gate_key, pins)
    cmd = _open(agent, peer, gate_key)
    ev = _next(peer, "open_result", timeout=10)  # 0.2 s pulse + the grace after it
    assert ev["detail"] == {"nonce": cmd.nonce, "opened": "no"}
    assert agent.counters["open_result_no"] == 1 and agent.counters["open_result_yes"] == 0


def test_a_door_already_open_says_yes_at_once(tmp_path, broker, agent_factory, peer_factory, gate_key, pins):
    agent, peer = _rig(tmp_path, broker, agent_factory, peer_factory, gate_key, pins)
    pins.pin(17).drive_low()
    _next(peer, "door_forced")
    cmd = _open(agent, peer, gate_key)
    assert _next(peer, "open_result")["detail"] == {"nonce": cmd.nonce, "opened": "yes", "already": "open"}


def test_no_contact_no_result(tmp_path, broker, agent_factory, peer_factory, gate_key, pins):
    agent, peer = _rig(tmp_path, broker, agent_factory, peer_factory, gate_key, pins, contact=False)
    _open(agent, peer, gate_key)
    door = agent.doors[DOOR]
    wait_for(lambda: time.monotonic() > door.authorised_until + 0.5, timeout=10, what="the window to end")
    assert "open_result" not in [e["kind"] for e in _until_marker(agent, peer)]
    assert agent.counters["open_result_no"] == agent.counters["open_result_yes"] == 0

"""Signed remote open through a real mosquitto: good ones open, every other kind opens nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from protocols.commands import GateCommand, new_key, sign_command
from protocols.messages import utcnow
from gate_agent.config import AgentConfig
from tests.agent.conftest import DOOR, GATE, SITE, agent_config, topic


@pytest.fixture
def rig(tmp_path, broker, agent_factory, peer_factory, gate_key):
    agent = agent_factory(agent_config(tmp_path / "gate", broker, gate_key=gate_key))
    peer = peer_factory(broker, topic("event"))
    assert agent.link.ready.wait(5)
    return agent, peer, gate_key


def _send(peer, cmd: GateCommand | bytes) -> dict:
    """Publish a command; return the gate's event about it (the gate has finished with it then)."""
    payload = cmd if isinstance(cmd, bytes) else cmd.to_bytes()
    peer.publish(topic("cmd"), payload)
    msg = peer.next(topic("event"), where=lambda m: json.loads(m.payload)["kind"] == "remote_open")
    return json.loads(msg.payload)


def _opens(agent) -> int:
    return agent.relay(DOOR).history.count(True)


def test_good_command_opens_the_named_door(rig):
    agent, peer, key = rig
    before = _opens(agent)
    ev = _send(peer, sign_command(GATE, DOOR, "guard-1", key, utcnow(), site=SITE))
    assert (ev["decision"], ev["reason"], ev["door_id"]) == ("granted", "remote_open", DOOR)
    assert ev["detail"]["by"] == "guard-1"
    assert _opens(agent) == before + 1


def test_replayed_command_opens_nothing(rig):
    agent, peer, key = rig
    cmd = sign_command(GATE, DOOR, "guard-1", key, utcnow(), site=SITE)
    assert _send(peer, cmd)["decision"] == "granted"
    before = _opens(agent)
    ev = _send(peer, cmd)
    assert (ev["decision"], ev["reason"]) == ("denied", "command_rejected")
    assert "replay" in ev["detail"]["why"]
    assert _opens(agent) == before


def test_expired_command_opens_nothing(rig):
    agent, peer, key = rig
    before = _opens(agent)
    ev = _send(peer, sign_command(GATE, DOOR, "guard-1", key, utcnow() - timedelta(seconds=120), site=SITE))
    assert (ev["reason"], ev["detail"]["why"]) == ("command_rejected", "command has expired")
    assert _opens(agent) == before


def test_forged_command_opens_nothing(rig):
    agent, peer, key = rig
    before = _opens(agent)
    ev = _send(peer, sign_command(GATE, DOOR, "guard-1", new_key(), utcnow(), site=SITE))
    assert (ev["reason"], ev["detail"]["why"]) == ("command_rejected", "bad signature")
    tampered = sign_command(GATE, DOOR, "guard-1", key, utcnow(), site=SITE).model_copy(update={"by": "someone-else"})
    assert _send(peer, tampered)["reason"] == "command_rejected"
    assert _opens(agent) == before


def test_command_for_another_gate_opens_nothing(rig):
    agent, peer, key = rig
    before = _opens(agent)
    # signed with this gate's key but naming another gate, delivered on this gate's topic
    ev = _send(peer, sign_command("south", DOOR, "guard-1", key, utcnow(), site=SITE))
    assert ev["reason"] == "command_rejected" and "south" in ev["detail"]["why"]
    ev = _send(peer, sign_command(GATE, "no-such-door", "guard-1", key, utcnow(), site=SITE))
    assert ev["reason"] == "command_rejected"
    assert _opens(agent) == before


def test_malformed_command_is_counted_and_ignored(rig):
    agent, peer, key = rig
    before = _opens(agent)
    peer.publish(topic("cmd"), b"{not json")
    peer.publish(topic("cmd"), json.dumps({"v": 1, "gate_id": GATE}).encode())
    # a good one after them still works, and proves the bad ones were handled first
    assert _send(peer, sign_command(GATE, DOOR, "guard-1", key, utcnow(), site=SITE))["decision"] == "granted"
    assert agent.counters["bad_cmd"] == 2
    assert _opens(agent) == before + 1


def test_a_gate_without_a_key_is_a_config_error_naming_it(tmp_path):
    from pydantic import ValidationError

    cfg = agent_config(tmp_path / "gate").model_dump(mode="json")
    del cfg["agent"]["gate_key"]
    with pytest.raises(ValidationError) as err:
        AgentConfig.model_validate(cfg)
    assert [e["loc"] for e in err.value.errors()] == [("agent", "gate_key")]
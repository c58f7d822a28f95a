"""ACL sync through the real hub and real agents on a real broker (issue 3's promises)."""

from __future__ import annotations

import time

from gate_agent.agent import GateAgent
from protocols.cards import CardStatus
from tests.rigs import stack
from tests.rigs.wait import wait_for

CARD = {"card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


def _key(hub, gate_id: str) -> str:
    """The gate's key: registered once per hub, the same key on every later call."""
    keys = hub.__dict__.setdefault("test_keys", {})
    if gate_id not in keys:
        keys[gate_id] = stack.register(hub, gate_id)
    return keys[gate_id]


def _agent(hub, tmp_path, broker, gate_id: str) -> GateAgent:
    agent = GateAgent(stack.agent_config(hub.site, gate_id, tmp_path / gate_id, broker, [stack.sim_door(f"{gate_id}-in")],
                                         gate_key=_key(hub, gate_id)))
    agent.start()
    assert agent.wait_online(10), f"{gate_id} did not come online"
    return agent


def test_a_revoked_card_is_denied_at_ten_gates_within_a_second(tmp_path, broker) -> None:
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "clerk")
    agents = [_agent(hub, tmp_path, broker, f"gate{i:02d}") for i in range(10)]
    try:
        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A0012AB34"}).status_code == 201
        for a in agents:
            stack.in_step(hub, a, timeout=10, what=f"{a.gate_id} holding the new card")

        r = api.post("/api/v1/cards/0A0012AB34/revoke")
        answered = time.monotonic()
        assert r.status_code == 200
        wait_for(lambda: all(a.acl.get("0A0012AB34").status == CardStatus.REVOKED for a in agents), timeout=15.0,
                 what="the revocation at all ten gates")
        spread = time.monotonic() - answered
        for a in agents:
            a.reader(f"{a.gate_id}-in/0").tap("0A0012AB34")
        denied = wait_for(lambda: (lambda p: p if len(p) == 10 else None)(stack.passes(api)), timeout=10,
                          what="ten denied passes at the hub")
        assert {(e["decision"], e["reason"]) for e in denied} == {("denied", "card_revoked")}
        assert sorted(e["gate_id"] for e in denied) == sorted(a.gate_id for a in agents)
        print(f"revocation reached 10 gates {spread * 1000:.0f} ms after the API answered")
    finally:
        for a in agents:
            a.stop()
        hub.stop()


def test_a_gate_offline_through_1000_changes_catches_up_exactly(tmp_path, broker) -> None:
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "clerk")
    try:
        agent = _agent(hub, tmp_path, broker, "north")
        for i in range(20):
            assert api.post("/api/v1/cards", json={**CARD, "uid": f"0C{i:08X}"}).status_code == 201
        before = stack.in_step(hub, agent)
        agent.stop()

        # 1,000 changes while the gate is away: 700 new cards, 300 revocations
        for i in range(700):
            assert api.post("/api/v1/cards", json={**CARD, "uid": f"0D{i:08X}"}).status_code == 201
        for i in range(300):
            assert api.post(f"/api/v1/cards/0D{i:08X}/revoke").status_code == 200

        agent = _agent(hub, tmp_path, broker, "north")
        rev, checksum = stack.in_step(hub, agent, timeout=20, what="the gate at the hub's exact revision and checksum")
        assert rev == before[0] + 1000
        assert agent.acl.get("0D00000000").status == CardStatus.REVOKED
        assert agent.acl.get("0D000002BB").status == CardStatus.ACTIVE
        assert agent.acl.state.count == 720
        agent.stop()
    finally:
        hub.stop()


def test_a_gate_whose_cache_is_deleted_rebuilds_from_a_snapshot(tmp_path, broker) -> None:
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "clerk")
    try:
        agent = _agent(hub, tmp_path, broker, "north")
        for i in range(30):
            assert api.post("/api/v1/cards", json={**CARD, "uid": f"0E{i:08X}"}).status_code == 201
        assert api.post("/api/v1/cards/0E00000003/revoke").status_code == 200
        head = stack.in_step(hub, agent)
        agent.stop()
        cache = list((tmp_path / "north").glob("acl.db*"))
        assert cache, "the agent keeps its list in acl.db"
        for f in cache:
            f.unlink()

        agent = _agent(hub, tmp_path, broker, "north")
        assert stack.in_step(hub, agent, timeout=10, what="the list rebuilt from a snapshot") == head
        agent.reader("north-in/0").tap("0E00000007")
        agent.reader("north-in/0").tap("0E00000003")
        got = wait_for(lambda: (lambda p: p if len(p) == 2 else None)(stack.passes(api)), what="two passes")
        assert {(e["uid"], e["decision"], e["reason"]) for e in got} == {
            ("0E00000007", "granted", "valid_card"), ("0E00000003", "denied", "card_revoked")}
        agent.stop()
    finally:
        hub.stop()

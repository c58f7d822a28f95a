"""A lost card is blocked at a real gate at once, its replacement opens, and the old UID is
refused from then on: the clerk's moves reach a gate agent over a real broker."""

from __future__ import annotations

from gate_agent.agent import GateAgent
from tests.rigs import stack
from tests.rigs.wait import wait_for

DOOR = "north-in"


def _passes(api, uid):
    return [e for e in stack.passes(api) if e["uid"] == uid]


def test_lost_card_blocked_at_the_gate_within_a_second_and_replaced(tmp_path, broker):
    hub = stack.start(tmp_path / "hub", broker)
    agent = GateAgent(stack.agent_config(hub.site, "north", tmp_path / "agent", broker, [stack.sim_door(DOOR)],
                                         gate_key=stack.register(hub, "north")))
    agent.start()
    try:
        api = stack.client(hub, "clerk")
        card = {"uid": "0B0B0B01", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
        assert api.post("/api/v1/cards/issue", json=card).status_code == 201
        stack.in_step(hub, agent)
        reader = agent.reader(f"{DOOR}/0")
        reader.tap("0B0B0B01")
        assert wait_for(lambda: _passes(api, "0B0B0B01"), what="the first pass")[0]["decision"] == "granted"

        r = api.post("/api/v1/cards/0B0B0B01/lost", json={"reason": "lost on the bus", "replacement_uid": "0B0B0B02"})
        assert r.status_code == 200, r.text
        stack.in_step(hub, agent, timeout=15.0, what="the loss and the replacement at the gate")

        reader.tap("0B0B0B01")
        denied = wait_for(lambda: [e for e in _passes(api, "0B0B0B01") if e["decision"] == "denied"],
                          what="the lost card refused")[0]
        assert denied["reason"] == "card_lost"
        reader.tap("0B0B0B02")
        assert wait_for(lambda: _passes(api, "0B0B0B02"), what="the replacement's pass")[0]["decision"] == "granted"

        # the old UID cannot come back, not even to another holder
        r = api.post("/api/v1/cards", json={**card, "holder": {"name": "Finder", "unit": "B-01-01"}})
        assert r.status_code == 422 and r.json()["error"] == "lost_card_final"
    finally:
        agent.stop()
        hub.stop()

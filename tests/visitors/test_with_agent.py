"""The whole path with a real gate agent: the hub sends the agent its pass keys; a QR pass
made at the hub opens the door from the agent's scanner pty (the relay's pty pulses); the
visit event checks the visitor in and out at the hub; a pass revoked at the hub is refused
at the gate with its reason."""

from __future__ import annotations

import httpx

from gate_agent.agent import GateAgent
from protocols.lcus import relay_frame
from tests.rigs import stack
from tests.rigs.wait import wait_for
from tests.visitors.conftest import UNIT, add_units

ON, OFF = relay_frame(1, True), relay_frame(1, False)
VISITOR = {"visitor_name": "Sun Li", "id_number": "320101199107071111", "host_unit": UNIT}


def _visit(guard: httpx.Client, visit_id: int) -> dict:
    return guard.get(f"/api/v1/visits/{visit_id}").json()


def test_a_pass_made_at_the_hub_opens_the_gate_and_checks_the_visitor_in_and_out(tmp_path, pty_device, broker):
    hub = stack.start(tmp_path / "hub", broker)
    add_units(hub.store)
    scan_in, scan_out, relay = pty_device(), pty_device(), pty_device()
    door = {"id": "north-door", "relay": {"kind": "lcus-serial", "port": relay.path, "channel": 1, "pulse_ms": 200},
            "readers": [{"kind": "qr-serial", "port": scan_in.path, "direction": "in", "repeat_s": 0},
                        {"kind": "qr-serial", "port": scan_out.path, "direction": "out", "repeat_s": 0}]}
    agent = GateAgent(stack.agent_config(hub.site, "north", tmp_path / "agent", broker, [door],
                                         gate_key=stack.register(hub, "north")))
    agent.start()
    try:
        assert relay.read_exactly(4) == OFF  # driven locked at start
        wanted = tuple(sorted(hub.app.state.visitors.keys.public_keys()))
        wait_for(lambda: tuple(sorted(agent.pass_keys.ids)) == wanted, what="the hub's pass keys held by the agent")
        guard = stack.client(hub, "guard")
        v = guard.post("/api/v1/visits", json=VISITOR).json()
        p = guard.post(f"/api/v1/visits/{v['visit_id']}/passes", json={"entries": 1}).json()
        scan_in.write(p["text"].encode() + b"\r\n")
        assert relay.read_exactly(4) == ON and relay.read_exactly(4) == OFF
        inside = wait_for(lambda: (x := _visit(guard, v["visit_id"]))["state"] == "inside" and x,
                          what="the visitor checked in at the hub")
        assert inside["passes"][0]["state"] == "used_up"
        rows = [e for e in guard.get("/api/v1/events").json() if e["kind"] == "visit"]
        assert rows[0]["visitor"] == {"name": "Sun Li", "host_unit": UNIT} and rows[0]["decision"] == "granted"
        # its one entry is used: the list says so, and a second "in" is refused
        stack.in_step(hub, agent)
        scan_in.write(p["text"].encode() + b"\r\n")
        refused = wait_for(lambda: [e for e in guard.get("/api/v1/events").json()
                                    if e["kind"] == "visit" and e["decision"] == "denied"],
                           what="the second entry refused")
        assert refused[0]["reason"] == "pass_used_up"
        # going out is never refused by count: checked out
        scan_out.write(p["text"].encode() + b"\r\n")
        assert relay.read_exactly(4) == ON and relay.read_exactly(4) == OFF
        wait_for(lambda: _visit(guard, v["visit_id"])["state"] == "left", what="the visitor checked out")
        # a pass revoked at the hub is refused at the gate, saying so
        w = guard.post("/api/v1/visits", json={**VISITOR, "visitor_name": "Qian Yu"}).json()
        q = guard.post(f"/api/v1/visits/{w['visit_id']}/passes", json={"entries": 3}).json()
        assert guard.post(f"/api/v1/passes/{q['pass_id']}/revoke", json={"reason": "host cancelled"}).status_code \
            == 200
        stack.in_step(hub, agent)
        scan_in.write(q["text"].encode() + b"\r\n")
        revoked = wait_for(lambda: [e for e in guard.get("/api/v1/events").json()
                                    if e["kind"] == "visit" and e["pass_id"] == q["pass_id"]],
                           what="the revoked pass's refusal at the hub")
        assert (revoked[0]["decision"], revoked[0]["reason"]) == ("denied", "pass_revoked")
        assert revoked[0]["visitor"] == {"name": "Qian Yu", "host_unit": UNIT}
        assert relay.read_available(quiet=0.3) == b""  # the door stayed shut for both refusals
        assert _visit(guard, w["visit_id"])["state"] == "expected"
    finally:
        agent.stop()
        hub.stop()

"""The hub with a real gate agent (simulated reader and relay) over a real broker."""

from __future__ import annotations

import httpx

from gate_agent.agent import GateAgent
from gate_agent.config import AgentConfig
from hub.gates import acl
from hub.gates.service import register_gate
from tests.rigs.wait import wait_for

DOOR = "north-in"


def test_issue_tap_revoke_and_open_end_to_end(hub, tmp_path, broker):
    key = register_gate(hub.store, "north", "test")
    cfg = AgentConfig.model_validate({
        "agent": {"gate_id": "north", "site": hub.site, "data_dir": str(tmp_path / "agent"), "heartbeat_s": 0.5,
                  "gate_key": key},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5, "reconnect_max_s": 1},
        "doors": [{"id": DOOR, "relay": {"kind": "sim", "pulse_ms": 100},
                   "readers": [{"kind": "sim", "direction": "in"}]}],
    })
    agent = GateAgent(cfg)
    agent.start()
    try:
        sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
        wait_for(lambda: [g for g in sup.get("/api/v1/gates").json() if g["gate_id"] == "north" and g["online"]],
                 what="the agent online at the hub")
        card = {"uid": "0a:00:12:ab:34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
        assert sup.post("/api/v1/cards", json=card).status_code == 201
        with hub.store.read() as db:
            head = acl.head(db, "north")
        wait_for(lambda: (agent.acl.state.rev, agent.acl.state.checksum) == head, what="the agent at the hub's rev")

        reader = agent.reader(f"{DOOR}/0")
        reader.tap("0A0012AB34")
        ev = wait_for(lambda: [e for e in sup.get("/api/v1/events").json() if e["kind"] == "pass"],
                      what="the pass at the hub")[0]
        assert (ev["decision"], ev["reason"], ev["holder"]["name"]) == ("granted", "valid_card", "Li Wei")

        assert sup.post("/api/v1/cards/0A0012AB34/revoke").status_code == 200
        wait_for(lambda: agent.acl.state.rev == head[0] + 1, timeout=15.0, what="the revocation at the gate")
        reader.tap("0A0012AB34")
        denied = wait_for(lambda: [e for e in sup.get("/api/v1/events").json()
                                   if e["kind"] == "pass" and e["decision"] == "denied"], what="the denied pass")[0]
        assert denied["reason"] == "card_revoked"

        r = sup.post(f"/api/v1/gates/north/doors/{DOOR}/open")
        assert r.status_code == 202, r.text
        opened = wait_for(lambda: [e for e in sup.get("/api/v1/events").json() if e["kind"] == "remote_open"],
                          what="the gate's remote_open event")[0]
        assert opened["decision"] == "granted"
        gate = [g for g in sup.get("/api/v1/gates").json() if g["gate_id"] == "north"][0]
        wait_for(lambda: [g for g in sup.get("/api/v1/gates").json() if g["in_sync"]], what="the gate reported in sync")
        assert gate["doors"] == {DOOR: {"state": "ok", "problems": []}}
    finally:
        agent.stop()
    wait_for(lambda: not sup.get("/api/v1/gates").json()[0]["online"], what="the agent offline after stopping")

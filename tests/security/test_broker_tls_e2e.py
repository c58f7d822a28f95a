"""A real hub and a real gate agent over the shipped mosquitto config with TLS, every file
and login made by ``gate-hub``: the installer's path, end to end."""

from __future__ import annotations

from gate_agent.agent import GateAgent
from gate_agent.config import AgentConfig
from hub.app import start_hub
from tests.rigs.stack import client, in_step, passes, sim_door
from tests.rigs.wait import wait_for
from tests.rigs.secured import Attempt, Estate

DOOR = "north-in"


def _agent_config(estate: Estate, gate_id: str, data_dir) -> AgentConfig:
    g = estate.gates[gate_id]
    return AgentConfig.model_validate({
        "agent": {"gate_id": gate_id, "site": estate.site, "data_dir": str(data_dir), "heartbeat_s": 0.5,
                  "gate_key": g.key},
        "mqtt": {"host": "127.0.0.1", "port": estate.broker.tls_port, "tls": True, "ca_file": str(g.ca_file),
                 "cert_file": str(g.cert_file), "key_file": str(g.key_file), "username": gate_id,
                 "password": g.password, "keepalive_s": 5, "reconnect_max_s": 1},
        "doors": [sim_door(DOOR)],
    })


def test_a_card_issued_at_the_hub_opens_the_gate_over_tls(estate: Estate, tmp_path) -> None:
    hub = start_hub(estate.config)
    agent = GateAgent(_agent_config(estate, "north", tmp_path / "agent-north"))
    agent.start()
    try:
        assert hub.mqtt is not None and hub.mqtt.connected, "the hub did not log in with its [mqtt] login"
        api = client(hub, "admin")
        wait_for(lambda: [g for g in api.get("/api/v1/gates").json() if g["gate_id"] == "north" and g["online"]],
                 what="the gate online at the hub over TLS")
        card = {"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
        assert api.post("/api/v1/cards", json=card).status_code == 201
        in_step(hub, agent, what="the issued card in the gate's list")
        assert agent.acl.get("0A0012AB34") is not None

        agent.reader(f"{DOOR}/0").tap("0A0012AB34")
        ev = wait_for(lambda: passes(api), what="the tap at the hub")[0]
        assert (ev["gate_id"], ev["uid"], ev["decision"]) == ("north", "0A0012AB34", "granted")

        # another gate's login tries the hub's client ids: it gets its own, the hub stays on
        connects = hub.mqtt.connects
        for stolen in (f"gatehouse-hub-{estate.site}", estate.hub_user):
            thief = Attempt(estate.gate_settings("south"), stolen, clean_session=True)
            thief.close()
            assert thief.ok, thief.why
        agent.reader(f"{DOOR}/0").tap("0A0012AB34")
        wait_for(lambda: len(passes(api)) == 2, what="a second tap at the hub after the attempts")
        assert hub.mqtt.connected and hub.mqtt.connects == connects, "the hub was thrown off the broker"
    finally:
        agent.stop()
        hub.stop()

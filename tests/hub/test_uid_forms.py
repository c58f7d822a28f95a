"""One card, every reader: a gate reports the UID forms its readers use, and the hub lists each
card under those forms too, as the same card (status, validity, doors), in the same signed,
checksummed list (hub.gates.acl, protocols.cardformats)."""

from __future__ import annotations

import httpx

from gate_agent.agent import GateAgent
from hub.gates import acl
from protocols.acl import AclEntry, checksum_of
from tests.rigs.stack import agent_config, in_step, passes
from tests.rigs.wait import wait_for

MIFARE, MIFARE_W26 = "AA3F9B1A", "9B3FAA"  # by PC/SC; on a 13.56 MHz W26 reader sending the first 3 bytes reversed
EM_TAG, EM_W26 = "0A004D7603", "4D7603"  # on an RDM6300; on a 125 kHz W26 reader (last 3 bytes)


def _issue(client, uid: str, headers=None):
    r = client.post("/api/v1/cards", headers=headers,
                    json={"uid": uid, "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}})
    assert r.status_code == 201, r.text


def _listed(store, gate_id: str) -> dict[str, AclEntry]:
    with store.read() as db:
        return {r["uid"]: AclEntry.model_validate_json(r["entry"])
                for r in db.query("SELECT uid, entry FROM acl_state WHERE gate_id = ?", [gate_id])}


def _head_matches_list(store, gate_id: str) -> bool:
    with store.read() as db:
        _, checksum = acl.head(db, gate_id)
    return checksum == checksum_of(_listed(store, gate_id).values())


def test_the_hub_lists_each_card_under_its_gates_forms(api):
    clerk = api.h("clerk")
    with api.store.tx() as db:
        acl.ensure_gate(db, "north")
        assert acl.set_gate_forms(db, "north", ["w26-first3-reversed", "w26-last3", "full"])
        assert not acl.set_gate_forms(db, "north", ["w26-last3", "w26-first3-reversed"])  # the same: no change
    _issue(api, MIFARE, clerk)
    _issue(api, EM_TAG, clerk)
    listed = _listed(api.store, "north")
    assert set(listed) == {MIFARE, MIFARE_W26, EM_TAG, EM_W26}
    assert listed[MIFARE_W26] == listed[MIFARE].model_copy(update={"uid": MIFARE_W26})
    assert listed[EM_W26].status == "active" and _head_matches_list(api.store, "north")

    assert api.post(f"/api/v1/cards/{MIFARE}/revoke", headers=clerk).status_code == 200
    listed = _listed(api.store, "north")
    assert listed[MIFARE].status == listed[MIFARE_W26].status == "revoked"  # revocation reaches every form
    assert _head_matches_list(api.store, "north")

    # a card whose own UID is another card's derived key: its own UID wins at that gate
    _issue(api, MIFARE_W26, clerk)
    listed = _listed(api.store, "north")
    assert listed[MIFARE_W26].status == "active"
    with api.store.read() as db:
        assert list(db.query("SELECT key FROM acl_derived WHERE card_uid = ?", [MIFARE])) == []
    assert _head_matches_list(api.store, "north")

    # a gate whose forms arrive before its list is built gets them in its first list
    with api.store.tx() as db:
        acl.set_gate_forms(db, "south", ["w26-last3"])
        acl.ensure_gate(db, "south")
    assert set(_listed(api.store, "south")) == {MIFARE, EM_TAG, EM_W26, MIFARE_W26}
    assert _head_matches_list(api.store, "south")

    # readers changed back to whole UIDs: the derived keys go, the cards stay
    with api.store.tx() as db:
        assert acl.set_gate_forms(db, "north", [])
    assert set(_listed(api.store, "north")) == {MIFARE, EM_TAG, MIFARE_W26}
    assert _head_matches_list(api.store, "north")


def test_a_gate_reports_its_forms_and_decides_a_derived_read_as_the_card(hub, tmp_path, broker):
    doors = [
        {"id": "hf-in", "relay": {"kind": "sim", "pulse_ms": 50},
         "readers": [{"kind": "sim", "uid_form": "w26-first3-reversed"}]},
        {"id": "lf-in", "relay": {"kind": "sim", "pulse_ms": 50}, "readers": [{"kind": "sim", "uid_form": "w26-last3"}]},
    ]
    agent = GateAgent(agent_config(hub.site, "north", tmp_path / "agent", broker, doors, gate_key=hub.key("north")))
    assert agent.uid_forms() == ("w26-first3-reversed", "w26-last3")
    agent.start()
    clerk = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    try:
        wait_for(lambda: _forms(hub.store).get("north"), 10, "the gate's forms at the hub")
        assert _forms(hub.store)["north"] == ("w26-first3-reversed", "w26-last3")
        [north] = [g for g in clerk.get("/api/v1/gates").json() if g["gate_id"] == "north"]
        assert north["uid_forms"] == ["w26-first3-reversed", "w26-last3"]
        _issue(clerk, MIFARE)
        _issue(clerk, EM_TAG)
        in_step(hub, agent, what="the gate holding both cards under every form")
        assert agent.acl.get(MIFARE_W26) is not None and agent.acl.get(EM_W26) is not None

        agent.reader("hf-in/0").tap(MIFARE_W26)
        agent.reader("lf-in/0").tap(EM_W26)
        agent.reader("lf-in/0").tap("112233")
        got = wait_for(lambda: (p := passes(clerk)) and len(p) == 3 and p, 10, "three passes at the hub")
        assert {(e["uid"], e["door_id"], e["decision"], e["reason"]) for e in got} == {
            (MIFARE_W26, "hf-in", "granted", "valid_card"), (EM_W26, "lf-in", "granted", "valid_card"),
            ("112233", "lf-in", "denied", "unknown_card")}
        holders = {e["uid"]: (e["holder"] or {}).get("name") for e in got}
        assert holders == {MIFARE_W26: "Li Wei", EM_W26: "Li Wei", "112233": None}  # the card read in its W26 form

        assert clerk.post(f"/api/v1/cards/{MIFARE}/revoke").status_code == 200
        in_step(hub, agent, what="the revocation at the gate")
        agent.reader("hf-in/0").tap(MIFARE_W26)
        denied = wait_for(lambda: [e for e in passes(clerk) if e["decision"] == "denied" and e["uid"] == MIFARE_W26],
                          10, "the revoked card's W26 read denied")
        assert denied[0]["reason"] == "card_revoked"
    finally:
        agent.stop()
        clerk.close()


def _forms(store) -> dict[str, tuple[str, ...]]:
    with store.read() as db:
        return acl.gate_forms(db)

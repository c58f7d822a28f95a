"""Visitors and the gates, over a real mosquitto: the pass keys a gate is sent, visit events
checking visitors in and out, and used-up and revoked passes reaching a gate's list."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import httpx

from protocols import visitpass
from protocols.cards import PASS_BLOCKS, Reason
from protocols.commands import PassKeys
from protocols.messages import AclUpdate, GateEvent, GateStatus, parse
from protocols.signing import verify
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for
from tests.visitors.conftest import UNIT, add_units

VISITOR = {"visitor_name": "Chen Jie", "id_number": "310101198502023456", "phone": "13912345678", "host_unit": UNIT}


def _status(hub, gate, pass_keys=()):
    return GateStatus(gate_id=gate, online=True, at=datetime.now(timezone.utc), pass_keys=tuple(pass_keys))


def test_a_gate_holding_other_pass_keys_is_sent_the_hubs_signed_with_its_key(hub, peer):
    gate = peer()
    gate.subscribe(gate_topic(hub.site, "north", "cmd"))
    hub.key("north")
    gate.publish(gate_topic(hub.site, "north", "status"), hub.signed("north", _status(hub, "north"), "status"))
    topic, payload = gate.next(what="the pass keys on north's cmd topic")
    assert topic == gate_topic(hub.site, "north", "cmd")
    cmd = parse(PassKeys, payload)
    assert verify(cmd, [hub.key("north")], hub.site, "cmd", "north") == 0  # signed with the gate's own key
    wanted = hub.app.state.visitors.keys.public_keys()
    assert cmd.keys == wanted and cmd.action == "pass_keys"
    # the keys make genuine passes readable at the gate: a pass made now verifies with them
    http = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    add_units(hub.store)
    v = http.post("/api/v1/visits", json=VISITOR).json()
    text = http.post(f"/api/v1/visits/{v['visit_id']}/passes", json={}).json()["text"]
    assert visitpass.read_pass(text, visitpass.public_keys(cmd.keys)).site == hub.site
    # a gate that holds them is sent nothing more
    pusher = hub.app.state.pass_key_pusher
    pusher._last.clear()
    sent = pusher.pushed
    marker = datetime.now(timezone.utc)
    gate.publish(gate_topic(hub.site, "north", "status"),
                 hub.signed("north", _status(hub, "north", wanted), "status"))
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    wait_for(lambda: (g := sup.get("/api/v1/gates/north").json())["status_at"]
             and datetime.fromisoformat(g["status_at"]) >= marker, what="north's second status kept")
    assert pusher.pushed == sent


def _event(gate, pass_id, direction, decision="granted", reason="valid_pass"):
    return GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id=gate, door_id=f"{gate}-door", kind="visit",
                     pass_id=pass_id, direction=direction, decision=decision, reason=reason,
                     at=datetime.now(timezone.utc))


def test_visit_events_check_in_and_out_and_used_up_and_revoked_passes_reach_the_gates(hub, peer):
    add_units(hub.store)
    hub.key("north")
    hub.key("south")
    north = peer()
    north.subscribe(gate_topic(hub.site, "north", "acl"))
    guard = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    v = guard.post("/api/v1/visits", json=VISITOR).json()
    one = guard.post(f"/api/v1/visits/{v['visit_id']}/passes", json={"entries": 1}).json()
    gates = peer()
    # a refused scan changes nothing; a granted "in" at the south gate checks the visitor in
    gates.publish(gate_topic(hub.site, "south", "event"),
                  hub.signed("south", _event("south", one["pass_id"], "in", "denied", "pass_not_yet_valid"), "event"))
    gates.publish(gate_topic(hub.site, "south", "event"), hub.signed("south", _event("south", one["pass_id"], "in"),
                                                                     "event"))
    inside = wait_for(lambda: (x := guard.get(f"/api/v1/visits/{v['visit_id']}").json())["state"] == "inside" and x,
                      what="the visit checked in by the gate's event")
    assert inside["passes"][0]["used"] == 1 and inside["passes"][0]["state"] == "used_up"
    # its only entry used at south: north hears it as an ordinary list change
    update = parse(AclUpdate, north.next(what="the used-up pass on north's list")[1])
    assert update.kind == "delta"
    (entry,) = [e for e in update.upserts if e.uid == one["pass_id"]]
    assert PASS_BLOCKS[entry.status] == Reason.PASS_USED_UP
    # the live page's rows name the visitor and the unit visited
    events = guard.get("/api/v1/events", params={"limit": 10}).json()
    visits = [e for e in events if e["kind"] == "visit"]
    assert len(visits) == 2 and {e["pass_id"] for e in visits} == {one["pass_id"]}
    assert all(e["visitor"] == {"name": "Chen Jie", "host_unit": UNIT} for e in visits)
    # out at north: checked out
    gates.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", _event("north", one["pass_id"], "out"),
                                                                     "event"))
    left = wait_for(lambda: (x := guard.get(f"/api/v1/visits/{v['visit_id']}").json())["state"] == "left" and x,
                    what="the visit checked out by the gate's event")
    assert left["checked_out_at"] >= left["checked_in_at"]
    # a pass revoked at the hub is listed revoked at the gate
    w = guard.post("/api/v1/visits", json={**VISITOR, "visitor_name": "Zhao Lei"}).json()
    other = guard.post(f"/api/v1/visits/{w['visit_id']}/passes", json={"gates": ["north"], "entries": 3}).json()
    assert guard.post(f"/api/v1/passes/{other['pass_id']}/revoke", json={"reason": "host asked"}).status_code == 200
    update = parse(AclUpdate, north.next(what="the revoked pass on north's list")[1])
    (entry,) = [e for e in update.upserts if e.uid == other["pass_id"]]
    assert PASS_BLOCKS[entry.status] == Reason.PASS_REVOKED

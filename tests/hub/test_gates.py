"""Gate status from the retained status topic (last will included) and signed remote open."""

from __future__ import annotations

import json

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from hub.gates import service
from protocols.commands import CommandRejected, GateCommand, verify_command, command_action
from protocols.messages import DoorStatus, GateStatus, parse
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for


def _status(hub, gate, online, **kw) -> bytes:
    """A status as gate ``gate`` signs it (the gate registered at the hub)."""
    return hub.signed(gate, GateStatus(gate_id=gate, online=online, at=datetime.now(timezone.utc), **kw), "status")


def _gate(http, gate_id):
    found = [g for g in http.get("/api/v1/gates").json() if g["gate_id"] == gate_id]
    return found[0] if found else None


def test_online_then_offline_by_last_will(hub, peer):
    http = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    topic = gate_topic(hub.site, "north", "status")
    agent = peer(will=(topic, _status(hub, "north", False)))
    agent.publish(topic, _status(hub, "north", True, acl_rev=7, checksum="a" * 64, outbox_depth=3,
                                 doors={"north-in": DoorStatus()}), retain=True)
    g = wait_for(lambda: (x := _gate(http, "north")) and x["online"] and x, what="north online")
    assert g["acl_rev"] == 7 and g["checksum"] == "a" * 64 and g["outbox_depth"] == 3
    assert list(g["doors"]) == ["north-in"] and abs(g["clock_offset_s"]) < 5
    # the agent dies without a goodbye: the broker publishes its last will
    agent.client.socket().close()
    wait_for(lambda: _gate(http, "north")["online"] is False, timeout=15, what="north offline by its last will")


def test_a_drifting_gate_clock_is_reported_and_the_last_will_is_no_clock_reading(hub, peer):
    http = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    topic = gate_topic(hub.site, "east", "status")
    agent = peer()
    slow = GateStatus(gate_id="east", online=True, at=datetime.now(timezone.utc) - timedelta(seconds=60))
    agent.publish(topic, hub.signed("east", slow, "status"))
    g = wait_for(lambda: (x := _gate(http, "east")) and x["online"] and x, what="east online")
    assert g["clock_drift"] is True and 59 < g["clock_offset_s"] < 65
    will = GateStatus(gate_id="east", online=False, at=datetime.now(timezone.utc) - timedelta(hours=3))
    agent.publish(topic, hub.signed("east", will, "status"))
    g = wait_for(lambda: (x := _gate(http, "east")) and not x["online"] and x, what="east offline")
    assert 59 < g["clock_offset_s"] < 65, "a last will, stamped at connect time, says nothing of the clock"
    agent.publish(topic, _status(hub, "east", True))
    g = wait_for(lambda: (x := _gate(http, "east")) and x["online"] and x, what="east back online")
    assert g["clock_drift"] is False and abs(g["clock_offset_s"]) < 5


def test_a_silent_gate_goes_stale(hub, peer):
    http = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    agent = peer()
    agent.publish(gate_topic(hub.site, "west", "status"), _status(hub, "west", True))
    wait_for(lambda: (x := _gate(http, "west")) and x["online"], what="west online")
    rows = service.list_gates(hub.store, stale_s=90, now=datetime.now(timezone.utc) + timedelta(seconds=91))
    assert [g["online"] for g in rows if g["gate_id"] == "west"] == [False]


def test_a_status_for_another_gate_is_dropped(hub, peer):
    http = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    agent = peer()
    hub.key("north")
    south = GateStatus(gate_id="south", online=True, at=datetime.now(timezone.utc))
    agent.publish(gate_topic(hub.site, "north", "status"), south.to_bytes())
    agent.publish(gate_topic(hub.site, "north", "status"), b"garbage")
    wait_for(lambda: http.get("/api/v1/health/mqtt").json()["dropped"]["by_channel"].get("status") == 2,
             what="two status drops")
    assert _gate(http, "south") is None and _gate(http, "north")["online"] is False


@pytest.fixture
def north(hub, peer):
    """Gate north registered (with its key), online with one door, and an agent listening on cmd."""
    key = hub.key("north")
    agent = peer()
    agent.subscribe(gate_topic(hub.site, "north", "cmd"))
    agent.publish(gate_topic(hub.site, "north", "status"), _status(hub, "north", True, doors={"north-in": DoorStatus()}))
    http = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    wait_for(lambda: (x := _gate(http, "north")) and x["online"], what="north online")
    # a gate holding none of the hub's visitor-pass keys is sent them first (hub.visitors)
    topic, payload = agent.next(what="the hub's visitor-pass keys")
    assert topic == gate_topic(hub.site, "north", "cmd") and command_action(json.loads(payload)) == "pass_keys"
    return key, agent


def test_remote_open_publishes_a_signed_command(hub, north):
    key, agent = north
    guard = httpx.Client(base_url=hub.url, headers=hub.h("guard", ("north",)))
    r = guard.post("/api/v1/gates/north/doors/north-in/open")
    assert r.status_code == 202, r.text
    topic, payload = agent.next(what="the open command")
    assert topic == gate_topic(hub.site, "north", "cmd")
    cmd = parse(GateCommand, payload)
    verify_command(cmd, key, "north", datetime.now(timezone.utc), site=hub.site)  # raises if not genuine
    assert cmd.door_id == "north-in" and cmd.nonce == r.json()["nonce"] and cmd.by == "guard:t"
    with pytest.raises(CommandRejected):
        verify_command(cmd, "00" * 32, "north", datetime.now(timezone.utc), site=hub.site)
    with hub.store.read() as db:
        rows = list(db.query("SELECT who, action, entity_id FROM audit WHERE action = 'remote_open'"))
    assert [(r["who"], r["entity_id"]) for r in rows] == [("guard:t", "north")]


def test_remote_open_refusals(hub, north):
    _, agent = north
    other = httpx.Client(base_url=hub.url, headers=hub.h("guard", ("south",)))
    r = other.post("/api/v1/gates/north/doors/north-in/open")
    assert r.status_code == 403 and r.json()["error"] == "gate_not_allowed"
    clerk = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    assert clerk.post("/api/v1/gates/north/doors/north-in/open").status_code == 403
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    assert sup.post("/api/v1/gates/north/doors/nowhere/open").json()["error"] == "unknown_door"
    assert sup.post("/api/v1/gates/east/doors/in/open").status_code == 404
    bad = sup.post("/api/v1/gates/north/doors/a+b/open")
    assert bad.status_code == 422 and bad.json()["field"] == "door_id"
    agent.nothing(0.3)  # none of those sent anything


def test_an_unregistered_or_offline_gate_cannot_be_opened(hub, peer):
    """A gate the hub holds no key for is not made by its status (dropped, counted); once
    registered and offline, it is refused as offline."""
    agent = peer()
    unsigned = GateStatus(gate_id="seen", online=True, at=datetime.now(timezone.utc))
    agent.publish(gate_topic(hub.site, "seen", "status"), unsigned.to_bytes())
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    wait_for(lambda: sup.get("/api/v1/health/mqtt").json()["dropped"]["by_rule"].get("unregistered_gate") == 1,
             what="the unregistered gate's status dropped")
    assert _gate(sup, "seen") is None
    r = sup.post("/api/v1/gates/seen/doors/in/open")
    assert r.status_code == 404 and r.json()["error"] == "unknown_gate"
    agent.publish(gate_topic(hub.site, "seen", "status"), _status(hub, "seen", False))
    wait_for(lambda: (g := _gate(sup, "seen")) and g["registered"] and g["online"] is False, what="gate offline")
    r = sup.post("/api/v1/gates/seen/doors/in/open")
    assert r.status_code == 409 and r.json()["error"] == "gate_offline"

"""Every MQTT message between hub and gate is signed with the gate's own key (issue 8).

Through a real mosquitto, a real hub and a real agent: forged, replayed, other-gate and
other-site ACL messages change nothing at the gate (the attacker's card stays denied, the
relay silent, the gate's revision and checksum unchanged); forged and foreign events are
refused and counted at the hub and nothing is stored; a future-dated event is flagged and
does not sort above genuine newer ones.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gate_agent.agent import GateAgent
from protocols.acl import AclEntry, checksum_update
from protocols.cards import CardStatus, CardType
from protocols.messages import AclUpdate, GateEvent, GateStatus, parse
from protocols.signing import new_key, sign
from protocols.topics import gate_topic
from tests.rigs import stack
from tests.rigs.wait import wait_for

DOOR = "north-in"
RESIDENT = "0A0012AB34"
THIEF = "0BAD0BAD01"  # a card the estate revoked; its holder wants it back on the list
STRANGER = "0C0C0C0C0C"  # a card the estate never issued
CARD = {"card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


class Wire:
    """A plain MQTT client on the broker: an attacker publishing, or a tap on a topic."""

    def __init__(self, broker, *listen: str) -> None:
        import queue
        import threading

        self.got: queue.Queue[tuple[str, bytes]] = queue.Queue()
        ready = threading.Event()
        self.c = paho.Client(CallbackAPIVersion.VERSION2, client_id="w-" + uuid.uuid4().hex[:8])
        self.c.on_message = lambda c, u, m: self.got.put((m.topic, m.payload))
        self.c.on_subscribe = lambda *a: ready.set()
        self.c.connect(broker.host, broker.port)
        self.c.loop_start()
        if listen:
            self.c.subscribe([(t, 1) for t in listen])
            assert ready.wait(5), "tap did not subscribe"

    def send(self, topic: str, payload: bytes) -> None:
        self.c.publish(topic, payload, qos=1).wait_for_publish(5)

    def take(self, where, timeout: float = 10.0, what: str = "a message") -> bytes:
        import queue
        import time

        deadline = time.monotonic() + timeout
        while True:
            try:
                _t, payload = self.got.get(timeout=max(0.01, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no {what} within {timeout} s") from None
            if where(payload):
                return payload

    def close(self) -> None:
        self.c.disconnect()
        self.c.loop_stop()


@pytest.fixture
def site(tmp_path, broker):
    hub = stack.start(tmp_path / "hub", broker)
    api = stack.client(hub, "supervisor")
    keys = {"north": stack.register(hub, "north"), "south": stack.register(hub, "south")}
    yield hub, api, keys
    hub.stop()


def _agent(hub, tmp_path, broker, key: str) -> GateAgent:
    agent = GateAgent(stack.agent_config(hub.site, "north", tmp_path / "agent", broker, [stack.sim_door(DOOR, 50)],
                                         gate_key=key))
    agent.start()
    assert agent.wait_online(10)
    return agent


def _pass_of(api, uid: str) -> dict | None:
    found = [e for e in stack.passes(api) if e["uid"] == uid]
    return found[0] if found else None


def test_forged_replayed_and_foreign_acl_messages_change_nothing_at_the_gate(site, tmp_path, broker) -> None:
    hub, api, keys = site
    acl_topic = gate_topic(hub.site, "north", "acl")
    tap = Wire(broker, acl_topic)  # what a cable tap at north records
    assert api.post("/api/v1/cards", json={**CARD, "uid": THIEF}).status_code == 201
    agent = _agent(hub, tmp_path, broker, keys["north"])
    attacker = Wire(broker)
    try:
        stack.in_step(hub, agent, what="north holding the thief's card while it was valid")
        old_snapshot = tap.take(lambda p: json.loads(p)["kind"] == "snapshot", what="north's first snapshot")
        assert api.post("/api/v1/cards", json={**CARD, "uid": RESIDENT}).status_code == 201
        old_delta = tap.take(lambda p: json.loads(p)["kind"] == "delta", what="the resident's delta")
        assert api.post(f"/api/v1/cards/{THIEF}/revoke").status_code == 200
        stack.in_step(hub, agent, what="north holding the revocation")
        held = (agent.acl.rev, agent.acl.checksum)
        relay = agent.relay(DOOR)
        opened = relay.history.count(True)

        # what the attacker would like north to hold: the thief's card active, and a stranger's
        active = AclEntry(uid=THIEF, status=CardStatus.ACTIVE, card_type=CardType.OWNER)
        stranger = AclEntry(uid=STRANGER, status=CardStatus.ACTIVE, card_type=CardType.OWNER)
        revoked = agent.acl.get(THIEF)
        checksum = checksum_update(checksum_update(held[1], revoked, active), None, stranger)

        def delta(gate_id: str = "north") -> AclUpdate:
            return AclUpdate(gate_id=gate_id, kind="delta", rev=held[0] + 1, base_rev=held[0], checksum=checksum,
                             upserts=(active, stranger))

        forged = [
            delta().to_bytes(),  # unsigned
            sign(delta(), new_key(), hub.site, "acl").to_bytes(),  # a key of the attacker's own
            sign(delta(), keys["south"], hub.site, "acl").to_bytes(),  # south's key (a stolen Pi at south)
            sign(delta("south"), keys["south"], hub.site, "acl").to_bytes(),  # a south delta copied here
            sign(delta(), keys["north"], "other-estate", "acl").to_bytes(),  # signed for another site
            sign(delta(), keys["north"], hub.site, "cmd").to_bytes(),  # signed for another channel
        ]
        for payload in forged:
            attacker.send(acl_topic, payload)
        wait_for(lambda: agent.counters["acl_forged"] == len(forged), what="every forged update refused")

        # genuine but old: the snapshot from when the thief's card was valid, and an old delta
        attacker.send(acl_topic, old_snapshot)
        attacker.send(acl_topic, old_delta)
        wait_for(lambda: agent.counters["acl_stale"] == 1 and agent.counters["acl_duplicate"] >= 1,
                 what="the replayed snapshot and delta refused as old")

        assert (agent.acl.rev, agent.acl.checksum) == held
        assert agent.acl.get(THIEF).status == CardStatus.REVOKED and agent.acl.get(STRANGER) is None
        agent.reader(f"{DOOR}/0").tap(THIEF)
        agent.reader(f"{DOOR}/0").tap(STRANGER)
        thief = wait_for(lambda: _pass_of(api, THIEF), what="the thief's tap at the hub")
        outsider = wait_for(lambda: _pass_of(api, STRANGER), what="the stranger's tap at the hub")
        assert (thief["decision"], thief["reason"]) == ("denied", "card_revoked")
        assert (outsider["decision"], outsider["reason"]) == ("denied", "unknown_card")
        assert relay.history.count(True) == opened, "the relay must stay silent"

        # the hub's genuine updates still arrive and apply
        assert api.post("/api/v1/cards", json={**CARD, "uid": "0A0000BEEF"}).status_code == 201
        stack.in_step(hub, agent, what="a genuine delta after the forgeries")
    finally:
        attacker.close()
        tap.close()
        agent.stop()


def test_forged_foreign_and_replayed_events_are_refused_counted_and_not_stored(site, broker) -> None:
    hub, api, keys = site
    events_topic = gate_topic(hub.site, "north", "event")
    at = datetime.now(timezone.utc)

    def event(gate_id: str = "north", **kw) -> GateEvent:
        fields = {"door_id": DOOR, "uid": STRANGER, "decision": "granted", "reason": "valid_card", "at": at} | kw
        return GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id=gate_id, **fields)

    attacker = Wire(broker)
    try:
        forged = [
            event().to_bytes(),  # north's broker login, not its key
            sign(event(), new_key(), hub.site, "event").to_bytes(),
            sign(event(), keys["south"], hub.site, "event").to_bytes(),  # south's key speaking as north
            sign(event(), keys["north"], "other-estate", "event").to_bytes(),
            sign(event(kind="remote_open", uid=None, reason="remote_open", detail={"by": "guard:li"}), keys["north"], hub.site,
                 "status").to_bytes(),  # a north signature made for another channel
        ]
        for payload in forged:
            attacker.send(events_topic, payload)
        attacker.send(events_topic, sign(event("south"), keys["south"], hub.site, "event").to_bytes())  # south's, here
        ghost = sign(event("ghost"), new_key(), hub.site, "event").to_bytes()
        attacker.send(gate_topic(hub.site, "ghost", "event"), ghost)  # a gate the hub never registered
        genuine = event(uid=RESIDENT)
        payload = sign(genuine, keys["north"], hub.site, "event").to_bytes()
        attacker.send(events_topic, payload)
        attacker.send(events_topic, payload)  # replayed: stored once
        marker = event(uid="0A0000FFFF")
        attacker.send(events_topic, sign(marker, keys["north"], hub.site, "event").to_bytes())
        wait_for(lambda: _pass_of(api, "0A0000FFFF"), what="the marker after everything else")

        stored = stack.passes(api)
        assert sorted(e["event_id"] for e in stored) == sorted([genuine.event_id, marker.event_id])
        assert hub.app.state.event_ingest.repeats == 1
        health = api.get("/api/v1/health/mqtt").json()["dropped"]
        assert health["by_rule"]["bad_signature"] == len(forged)
        assert health["by_rule"]["wrong_gate"] == 1 and health["by_rule"]["unregistered_gate"] == 1
        assert health["by_gate"]["north"] == {"bad_signature": len(forged), "wrong_gate": 1}
        assert health["by_gate"]["ghost"] == {"unregistered_gate": 1}
        gates = {g["gate_id"]: g for g in api.get("/api/v1/gates").json()}
        assert gates["north"]["forged"] == len(forged) and gates["south"]["forged"] == 0
        assert "ghost" not in gates, "a gate is never made by first sight of a message"
    finally:
        attacker.close()


def test_a_forged_status_changes_nothing_and_a_genuine_one_does(site, broker) -> None:
    hub, api, keys = site
    topic = gate_topic(hub.site, "north", "status")
    attacker = Wire(broker)
    try:
        fake = GateStatus(gate_id="north", online=True, at=datetime.now(timezone.utc), acl_rev=99, checksum="e" * 64)
        attacker.send(topic, sign(fake, new_key(), hub.site, "status").to_bytes())
        real = GateStatus(gate_id="north", online=True, at=datetime.now(timezone.utc), acl_rev=0)
        attacker.send(topic, sign(real, keys["north"], hub.site, "status").to_bytes())
        north = wait_for(lambda: (g := [x for x in api.get("/api/v1/gates").json() if x["gate_id"] == "north"][0])
                         ["online"] and g, what="north online by its genuine status")
        assert north["acl_rev"] == 0 and north["forged"] == 1
    finally:
        attacker.close()


def test_a_future_dated_event_is_flagged_and_does_not_sit_on_top(site, broker) -> None:
    hub, api, keys = site
    attacker = Wire(broker)
    events_topic = gate_topic(hub.site, "north", "event")
    try:
        # north's clock runs ten minutes fast: what it stamps "now" is not the future
        ahead = timedelta(minutes=10)
        status = GateStatus(gate_id="north", online=True, at=datetime.now(timezone.utc) + ahead)
        attacker.send(gate_topic(hub.site, "north", "status"), sign(status, keys["north"], hub.site, "status").to_bytes())
        wait_for(lambda: (g := [x for x in api.get("/api/v1/gates").json() if x["gate_id"] == "north"][0])
                 ["clock_offset_s"] is not None and g["clock_offset_s"] < -590, what="north's clock offset known")

        def ev(uid: str, at: datetime) -> GateEvent:
            return GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id="north", door_id=DOOR, uid=uid,
                             decision="granted", reason="valid_card", at=at)

        future = ev("0A00000001", datetime.now(timezone.utc) + timedelta(days=365))
        fast_clock = ev("0A00000002", datetime.now(timezone.utc) + ahead)  # genuine, by north's clock
        newer = ev("0A00000003", datetime.now(timezone.utc) + ahead + timedelta(seconds=1))
        for e in (future, fast_clock, newer):
            attacker.send(events_topic, sign(e, keys["north"], hub.site, "event").to_bytes())
        rows = wait_for(lambda: (p := stack.passes(api)) and len(p) == 3 and p, what="three events stored")
        by_id = {e["event_id"]: e for e in rows}
        assert by_id[future.event_id]["flag"] == "future_dated"
        assert datetime.fromisoformat(by_id[future.event_id]["at"]) == future.at, "kept as the gate said"
        assert by_id[fast_clock.event_id]["flag"] is None and by_id[newer.event_id]["flag"] is None
        assert rows[0]["event_id"] == newer.event_id, "a future date must not sort above genuine events"
        later = ev("0A00000004", datetime.now(timezone.utc) + ahead + timedelta(seconds=2))
        attacker.send(events_topic, sign(later, keys["north"], hub.site, "event").to_bytes())
        rows = wait_for(lambda: (p := stack.passes(api)) and len(p) == 4 and p, what="a fourth event")
        assert [e["event_id"] for e in rows].index(future.event_id) > [e["event_id"] for e in rows].index(later.event_id)
        assert api.get("/api/v1/health/mqtt").json()["events_flagged"] == 1
    finally:
        attacker.close()


def test_an_event_is_signed_as_it_enters_the_outbox(tmp_path, broker) -> None:
    """The stored payload is what is sent: signed, and verifiable with the gate's key."""
    from protocols.signing import verify

    key = new_key()
    cfg = stack.agent_config("demo", "north", tmp_path / "agent", broker, [stack.sim_door(DOOR)], gate_key=key)
    cfg.mqtt.port = 1  # no broker: the event stays in the outbox
    agent = GateAgent(cfg)
    agent.start()
    try:
        agent.reader(f"{DOOR}/0").tap(STRANGER)
        wait_for(lambda: agent.outbox.depth == 1, what="the tap in the outbox")
        (pending,) = agent.outbox.after(0, 10)
        assert verify(parse(GateEvent, pending.payload), [key], "demo", "event", "north") == 0
    finally:
        agent.stop()


def test_a_forged_or_replayed_key_update_is_refused_by_the_gate(site, tmp_path, broker) -> None:
    """Only the key the gate holds can give it a new one (a genuine update replayed after the
    gate moved on: test_key_rotation)."""
    from protocols.commands import make_key_update

    hub, api, keys = site
    agent = _agent(hub, tmp_path, broker, keys["north"])
    attacker = Wire(broker)
    cmd = gate_topic(hub.site, "north", "cmd")
    try:
        mine = new_key()
        now = datetime.now(timezone.utc)
        attacker.send(cmd, make_key_update("north", mine, new_key(), now, site=hub.site).to_bytes())
        attacker.send(cmd, make_key_update("north", mine, keys["south"], now, site=hub.site).to_bytes())
        attacker.send(cmd, make_key_update("north", mine, keys["north"], now, site="other-estate").to_bytes())
        wait_for(lambda: agent.counters["rekey_refused"] == 3, what="three forged key updates refused")
        assert agent.key.current == keys["north"]
        assert not (tmp_path / "agent" / "gate.key").exists()
        assert api.post("/api/v1/cards", json={**CARD, "uid": RESIDENT}).status_code == 201
        stack.in_step(hub, agent, what="north still in step on its own key")
    finally:
        attacker.close()
        agent.stop()


def test_a_retired_gate_is_believed_no_more(site, broker, tmp_path) -> None:
    """`gate-hub gate retire` (no [broker] table here) forgets the gate's keys: an event it
    signs afterwards is refused as from an unregistered gate, and nothing is stored."""
    from hub.cli import main as gate_hub

    hub, api, keys = site
    cfg = hub.app.state.config.hub
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsite = "{hub.site}"\ndb_path = "{cfg.db_path}"\nsecret_file = "{cfg.secret_path}"\n')
    topic = gate_topic(hub.site, "north", "event")
    at = datetime.now(timezone.utc)
    before = GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id="north", door_id=DOOR, uid=RESIDENT,
                       decision="granted", reason="valid_card", at=at)
    after = before.model_copy(update={"event_id": "ev-" + uuid.uuid4().hex, "uid": STRANGER})
    attacker = Wire(broker)
    try:
        attacker.send(topic, stack.signed(hub.site, keys["north"], before, "event"))
        wait_for(lambda: _pass_of(api, RESIDENT), what="north's event before it was retired")
        assert gate_hub(["gate", "retire", "north", "--config", str(config)]) == 0
        attacker.send(topic, stack.signed(hub.site, keys["north"], after, "event"))
        wait_for(lambda: api.get("/api/v1/health/mqtt").json()["dropped"]["by_gate"].get("north"),
                 what="the retired gate's event refused")
        assert api.get("/api/v1/health/mqtt").json()["dropped"]["by_gate"]["north"] == {"unregistered_gate": 1}
        assert _pass_of(api, STRANGER) is None
    finally:
        attacker.close()

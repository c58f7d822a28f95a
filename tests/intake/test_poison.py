"""No single message stops the hub's intake, through a real mosquitto and a real hub.

One gate (mallory, registered: a compromised gate signs what it sends) publishes every kind
of poison on its own topics while five other gates stream events. Before this work, five of
these (an absurd date, a huge integer, a retained status with acl_rev 2**64, JSON nested past
the interpreter's depth, a number of 5000 digits) made a handler raise, and the hub retried
that message forever with everything behind it waiting, across restarts.

Now each poison is either refused by the wire bounds (dropped and counted, as any malformed
message) or, if it gets past parsing and its handler still fails, kept once as a dead letter
and acknowledged. Which message gets past parsing and still fails a handler is, by design, none
the test can name in advance (the bounds exist to leave none), so the test database carries
triggers that refuse three marked messages the way SQLite refuses a value (IntegrityError):
they stand for the next such poison, and go through the hub's real handlers and store.
"""

from __future__ import annotations

import json
import threading
import uuid
from datetime import datetime, timezone

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.app import start_hub
from protocols.messages import GateEvent, GateStatus, SyncRequest
from protocols.topics import gate_topic
from tests.rigs import stack
from tests.rigs.wait import wait_for

GOOD_GATES = [f"gate{i}" for i in range(1, 6)]
MALLORY = "mallory"
PER_GATE = 30  # while the hub runs
PER_GATE_DOWN = 10  # while it is down

TRIGGERS = """
CREATE TRIGGER poison_event BEFORE INSERT ON events WHEN NEW.reader = 'poison'
BEGIN SELECT RAISE(ABORT, 'the hub cannot store this event'); END;
CREATE TRIGGER poison_status BEFORE UPDATE OF status_json ON gates
WHEN NEW.status_json LIKE '%"agent_version":"poison"%'
BEGIN SELECT RAISE(ABORT, 'the hub cannot store this status'); END;
CREATE TRIGGER poison_sync BEFORE UPDATE OF rev ON acl_head WHEN NEW.rev = 777778
BEGIN SELECT RAISE(ABORT, 'the hub cannot answer this sync'); END;
"""


class Gate:
    """A gate's MQTT login: publishes QoS 1 and waits for the broker's acknowledgement."""

    def __init__(self, broker, site: str, gate_id: str, key: str) -> None:
        self.site, self.gate_id, self.key = site, gate_id, key
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"{gate_id}-{uuid.uuid4().hex[:6]}")
        self.client.connect(broker.host, broker.port, keepalive=10)
        self.client.loop_start()

    def send(self, channel: str, payload: bytes, retain: bool = False) -> None:
        info = self.client.publish(gate_topic(self.site, self.gate_id, channel), payload, qos=1, retain=retain)
        info.wait_for_publish(5)
        assert info.is_published(), f"the broker did not take {self.gate_id}'s {channel} message"

    def signed(self, channel: str, msg) -> bytes:
        return stack.signed(self.site, self.key, msg, channel)

    def event(self, event_id: str, **fields) -> bytes:
        ev = GateEvent(event_id=event_id, gate_id=self.gate_id, door_id="main", uid="0A0012AB34",
                       decision="denied", reason="unknown_card", at=datetime.now(timezone.utc), **fields)
        return self.signed("event", ev)

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def _raw(**fields) -> bytes:
    """An event as JSON, with fields no model would let a Python sender build (ASCII escapes)."""
    base = {"v": 1, "event_id": "poison-" + uuid.uuid4().hex[:8], "gate_id": MALLORY, "uid": "0A0012AB34",
            "decision": "denied", "reason": "unknown_card", "at": datetime.now(timezone.utc).isoformat()}
    return json.dumps(base | fields).encode()


def poisons(mallory: Gate) -> list[tuple[str, str, bytes, bool, str]]:
    """(kind, channel, payload, retained, expected outcome: 'dropped' or 'dead')."""
    now = datetime.now(timezone.utc)
    status = GateStatus(gate_id=MALLORY, online=True, at=now).model_dump(mode="json")
    return [
        ("absurd date", "event", _raw(at="9999-12-31T23:59:59-23:59"), False, "dropped"),
        ("huge int", "event", _raw(acl_rev=2**64), False, "dropped"),
        ("retained status, acl_rev 2**64", "status", json.dumps(status | {"acl_rev": 2**64}).encode(), True, "dropped"),
        ("wrong types", "event", _raw(at=True, detail={"a": [1, 2]}, acl_rev="many"), False, "dropped"),
        ("unicode junk: a lone surrogate", "event", _raw(reader="\ud800\udfff\ud800"), False, "dropped"),
        ("not UTF-8", "event", b"\xff\xfe{\"v\": 1}\xc3\x28", False, "dropped"),
        ("over-size", "event", _raw(detail={"k": "x" * 300_000}), False, "dropped"),
        ("deeply nested JSON", "event", b"[" * 100_000 + b"]" * 100_000, False, "dropped"),
        ("a number of 5000 digits", "event", b'{"acl_rev": ' + b"7" * 5000 + b"}", False, "dropped"),
        ("valid JSON of the wrong model", "event", mallory.signed("status", GateStatus(
            gate_id=MALLORY, online=True, at=now)), False, "dropped"),
        ("sync with bad checksum text", "sync", json.dumps(SyncRequest(
            gate_id=MALLORY, rev=1, checksum="0" * 64, at=now).model_dump(mode="json") | {"checksum": "zz"}).encode(),
         False, "dropped"),
        ("an event the hub cannot store", "event", mallory.event("poison-store-1", reader="poison"), False, "dead"),
        ("a retained status the hub cannot store", "status", mallory.signed("status", GateStatus(
            gate_id=MALLORY, online=True, at=now, agent_version="poison")), True, "dead"),
        ("a sync the hub cannot answer", "sync", mallory.signed("sync", SyncRequest(
            gate_id=MALLORY, rev=777777, checksum="1" * 64, at=now)), False, "dead"),
    ]


def _stored(hub, prefix: str) -> int:
    with hub.store.read() as db:
        return db.execute("SELECT COUNT(*) FROM events WHERE event_id LIKE ?", [prefix + "%"]).fetchone()[0]


def _dead_letters(api) -> dict:
    r = api.get("/api/v1/dead-letters")
    r.raise_for_status()
    return r.json()


def test_poison_from_one_gate_stops_nothing_and_a_restart_replays_none(tmp_path, broker) -> None:
    config = stack.hub_config(tmp_path, broker)
    site = config.hub.site
    hub = start_hub(config)
    hub.site = site
    gates: list[Gate] = []
    try:
        with hub.store.writer() as db:
            db.conn.executescript(TRIGGERS)
        keys = {g: stack.register(hub, g) for g in [*GOOD_GATES, MALLORY]}
        api = stack.client(hub, "supervisor")
        gates = [Gate(broker, site, g, keys[g]) for g in GOOD_GATES]
        mallory = Gate(broker, site, MALLORY, keys[MALLORY])
        gates.append(mallory)

        def stream(gate: Gate, start: int, count: int) -> None:
            for i in range(start, start + count):
                gate.send("event", gate.event(f"good-{gate.gate_id}-{i:03d}"))

        streams = [threading.Thread(target=stream, args=(g, 0, PER_GATE)) for g in gates[:-1]]
        for t in streams:
            t.start()
        kinds = poisons(mallory)
        for i, (_kind, channel, payload, retained, _outcome) in enumerate(kinds):
            mallory.send(channel, payload, retain=retained)
            mallory.send("event", mallory.event(f"good-mallory-{i:03d}"))  # its own good ones behind each
        for t in streams:
            t.join(30)

        good = PER_GATE * len(GOOD_GATES) + len(kinds)
        wait_for(lambda: _stored(hub, "good-") == good, timeout=20,
                 what=f"all {good} good events stored (five gates' and mallory's own between its poisons)")
        dead_kinds = [k for k in kinds if k[4] == "dead"]
        letters = wait_for(lambda: (d := _dead_letters(api))["total"] == len(dead_kinds) and d, timeout=10,
                           what=f"{len(dead_kinds)} dead letters")
        assert sorted(x["channel"] for x in letters["items"]) == sorted(k[1] for k in dead_kinds)
        for item in letters["items"]:
            assert item["gate_id"] == MALLORY and item["count"] == 1, item
            assert item["error"].startswith("IntegrityError: the hub cannot"), item["error"]
        event_letter = next(x for x in letters["items"] if x["channel"] == "event")
        assert json.loads(event_letter["payload"])["event_id"] == "poison-store-1"

        health = api.get("/api/v1/health/mqtt").json()
        dropped = [k for k in kinds if k[4] == "dropped"]
        expected_drops = {ch: sum(1 for k in dropped if k[1] == ch) for ch in ("event", "status", "sync")}
        assert health["dropped"]["by_channel"] == expected_drops, health["dropped"]
        assert health["dead_letters"]["kept"] == len(dead_kinds) and health["dead_letters"]["new_since_start"] == 3
        assert health["retrying"] == 0
        assert _stored(hub, "poison-") == 0

        # -- the hub goes down; the broker queues for its persistent session ---------------
        hub.stop()
        for g in gates[:-1]:
            stream(g, PER_GATE, PER_GATE_DOWN)
        mallory.send("event", next(k[2] for k in dead_kinds if k[1] == "event"))  # the same poison again
        mallory.send("event", mallory.event("good-mallory-down"))

        hub = start_hub(config)
        hub.site = site
        api = stack.client(hub, "supervisor")
        good += PER_GATE_DOWN * len(GOOD_GATES) + 1
        wait_for(lambda: _stored(hub, "good-") == good, timeout=20,
                 what=f"all {good} good events stored, those sent while the hub was down included")
        # the retained status poison comes back on resubscribe, the queued event poison from the
        # session: both only counted
        counts = wait_for(lambda: (c := {x["channel"]: x["count"] for x in _dead_letters(api)["items"]})
                          and c == {"event": 2, "status": 2, "sync": 1} and c, timeout=10,
                          what="the re-delivered poisons counted on their one dead letter each")
        assert counts == {"event": 2, "status": 2, "sync": 1}
        health = api.get("/api/v1/health/mqtt").json()
        assert health["dead_letters"] | {"last_seen": None} == {
            "kept": 3, "deliveries": 5, "new_since_start": 0, "repeats_since_start": 2, "last_seen": None}
        assert health["dropped"]["total"] == 0 and health["retrying"] == 0

        # a poison costs what is behind it a few handler calls, not seconds
        mallory.send("event", mallory.event("poison-store-2", reader="poison"))
        gates[0].send("event", gates[0].event("good-right-behind"))
        wait_for(lambda: _stored(hub, "good-right-behind") == 1, timeout=2,
                 what="an event from another gate, sent right after a new poison, stored within 2 s")
        wait_for(lambda: _dead_letters(api)["total"] == 4, what="the new poison kept as a fourth dead letter")
    finally:
        for g in gates:
            g.close()
        hub.stop()


def test_a_dead_letter_that_cannot_be_written_is_retried_not_lost(tmp_path, broker) -> None:
    """The disk fills as a poison is to be kept: the poison stays unacknowledged and is
    retried (with what came after it) until there is room; then it is kept once, and the
    good event behind it is stored. Never acknowledged without being kept."""
    hub = stack.start(tmp_path / "hub", broker)
    gates: list[Gate] = []
    try:
        keys = {g: stack.register(hub, g) for g in (MALLORY, "north")}
        api = stack.client(hub, "supervisor")
        with hub.store.writer() as db:  # the poison fails as a message; keeping it needs room there is not
            db.conn.executescript(TRIGGERS + """
                CREATE TABLE filler (b BLOB);
                CREATE TRIGGER dead_letters_need_room BEFORE INSERT ON dead_letters
                BEGIN INSERT INTO filler VALUES (randomblob(200000)); END;
            """)
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count = {pages}")
        mallory, north = Gate(broker, hub.site, MALLORY, keys[MALLORY]), Gate(broker, hub.site, "north", keys["north"])
        gates += [mallory, north]
        mallory.send("event", mallory.event("poison-full-1", reader="poison"))
        north.send("event", north.event("good-north-behind"))
        wait_for(lambda: api.get("/api/v1/health/mqtt").json()["retrying"] >= 1,
                 what="the poison held, unacknowledged, while its dead letter cannot be written")
        assert _dead_letters(api)["total"] == 0

        with hub.store.writer() as db:
            db.execute("PRAGMA max_page_count = 1073741823")  # room again
        wait_for(lambda: _dead_letters(api)["total"] == 1 and _stored(hub, "good-north-behind") == 1, timeout=10,
                 what="the poison kept and the event behind it stored once there is room")
        wait_for(lambda: api.get("/api/v1/health/mqtt").json()["retrying"] == 0, what="nothing left to retry")
        [letter] = _dead_letters(api)["items"]
        assert letter["count"] == 1 and json.loads(letter["payload"])["event_id"] == "poison-full-1"
    finally:
        for g in gates:
            g.close()
        hub.stop()


def test_a_poison_event_in_the_middle_of_a_batch_costs_only_itself(tmp_path, broker) -> None:
    """Events from two gates and one poison among them, all queued before the hub's intake
    runs (it waits for the store's lock, held here), go into one group commit: the poison is
    rolled back alone and kept once as a dead letter, every good event is stored, and all of
    them are acknowledged (after a restart the broker sends none again: a marker event sent
    then is the first and only thing the new hub is given)."""
    config = stack.hub_config(tmp_path, broker)
    hub = start_hub(config)
    hub.site = config.hub.site
    gates: list[Gate] = []
    try:
        with hub.store.writer() as db:
            db.conn.executescript(TRIGGERS)
        keys = {g: stack.register(hub, g) for g in ("gate1", "gate2", MALLORY)}
        g1, g2, mallory = (Gate(broker, hub.site, g, keys[g]) for g in ("gate1", "gate2", MALLORY))
        gates += [g1, g2, mallory]
        sent = 0
        with hub.store.writer():  # the intake worker waits here, so everything below queues
            for i in range(6):
                g1.send("event", g1.event(f"good-batch-g1-{i}"))
                g2.send("event", g2.event(f"good-batch-g2-{i}"))
                sent += 2
                if i == 2:
                    mallory.send("event", mallory.event("poison-batch", reader="poison"))
                    sent += 1
            wait_for(lambda: hub.mqtt.queued == sent, what=f"{sent} events queued at the hub")
        wait_for(lambda: _stored(hub, "good-batch-") == 12, what="the 12 good events of the batch stored")
        wait_for(lambda: hub.app.state.dead_letters.kept == 1, what="the poison kept as a dead letter")
        assert _stored(hub, "poison-") == 0
        assert hub.mqtt.dead_lettered == 1 and hub.mqtt.retrying == 0
        wait_for(lambda: hub.mqtt.queued == 0, what="the batch acknowledged and taken off the queue")
        assert hub.app.state.event_ingest.stored == 12 and hub.app.state.event_ingest.repeats == 0

        hub.stop()
        hub = start_hub(config)
        hub.site = config.hub.site
        g1.send("event", g1.event("good-marker"))
        wait_for(lambda: _stored(hub, "good-marker") == 1, what="the marker stored by the restarted hub")
        ingest = hub.app.state.event_ingest
        assert (ingest.stored, ingest.repeats) == (1, 0), "the broker sent again an event the hub had stored"
        assert hub.app.state.dead_letters.repeats == 0, "the broker sent the poison again: it was not acknowledged"
    finally:
        for g in gates:
            g.close()
        hub.stop()

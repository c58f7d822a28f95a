"""Other domains' reactions to stored events: committed with the event, and never its loss."""

from __future__ import annotations

import uuid
from datetime import datetime, timezone

import httpx

from protocols.messages import EventKind, GateEvent
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for


def _forced(gate: str = "north") -> GateEvent:
    return GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id=gate, door_id="north-in", kind=EventKind.DOOR_FORCED,
                     at=datetime.now(timezone.utc))


def test_a_failing_reaction_is_undone_alone_and_the_event_is_kept(hub, peer):
    seen: list[tuple[str, int]] = []

    def note(db, event, seq):
        db.execute("CREATE TABLE IF NOT EXISTS noted (seq INTEGER)")
        db.execute("INSERT INTO noted (seq) VALUES (?)", [seq])
        seen.append((event.event_id, seq))

    def broken(db, event, seq):
        db.execute("CREATE TABLE IF NOT EXISTS half (seq INTEGER)")
        db.execute("INSERT INTO half (seq) VALUES (?)", [seq])
        raise RuntimeError("a domain's bug")

    reactions = hub.app.state.reactions
    reactions.on_event((EventKind.DOOR_FORCED,), broken)
    reactions.on_event((EventKind.DOOR_FORCED,), note)
    gate = peer()
    event = _forced()
    gate.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", event, "event"))
    gate.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", event, "event"))  # a resend
    http = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    stored = wait_for(lambda: [e for e in http.get("/api/v1/events").json() if e["event_id"] == event.event_id],
                      what="the forced-door event stored despite a failing reaction")
    assert len(stored) == 1
    wait_for(lambda: seen, what="the working reaction ran")
    assert seen == [(event.event_id, stored[0]["seq"])], "a reaction runs once, for the stored event, not the resend"
    assert reactions.failed == 1
    with hub.store.read() as db:
        assert [r[0] for r in db.execute("SELECT seq FROM noted")] == [stored[0]["seq"]]
        half = db.execute("SELECT name FROM sqlite_master WHERE name = 'half'").fetchone()
        assert half is None or db.execute("SELECT COUNT(*) FROM half").fetchone()[0] == 0, "the failed step is undone"


def test_a_pass_event_pays_for_no_reaction(hub, peer):
    called: list[str] = []
    hub.app.state.reactions.on_event((EventKind.VISIT,), lambda db, e, s: called.append(e.event_id))
    gate = peer()
    event = GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id="north", door_id="north-in", uid="0A0012AB34",
                      decision="denied", reason="unknown_card", at=datetime.now(timezone.utc))
    gate.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", event, "event"))
    http = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    wait_for(lambda: any(e["event_id"] == event.event_id for e in http.get("/api/v1/events").json()),
             what="the pass stored")
    assert called == []

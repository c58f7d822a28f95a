"""Events from the gates: stored once each, listed newest first, bad ones dropped and counted."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta, timezone

import httpx

from protocols.messages import GateEvent
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for

CARD = {"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


def _event(gate="north", uid="0A0012AB34", decision="granted", reason="valid_card", at=None, **kw) -> GateEvent:
    return GateEvent(
        event_id=kw.pop("event_id", None) or "ev-" + uuid.uuid4().hex, gate_id=gate, door_id="north-in", uid=uid,
        decision=decision, reason=reason, at=at or datetime.now(timezone(timedelta(hours=8))), **kw,
    )


def _events(http, n=50):
    return http.get("/api/v1/events", params={"limit": n}).json()


def test_events_land_once_newest_first_with_holder(hub, peer):
    http = httpx.Client(base_url=hub.url, headers=hub.h("guard"))
    clerk = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    assert clerk.post("/api/v1/cards", json=CARD).status_code == 201
    gate = peer()
    topic = gate_topic(hub.site, "north", "event")
    t = datetime.now(timezone(timedelta(hours=8)))
    older = _event(at=t - timedelta(minutes=1), event_id="ev-older-0001")
    newer = _event(uid="0BADCAFE", decision="denied", reason="unknown_card", at=t, event_id="ev-newer-0001")
    gate.publish(topic, hub.signed("north", newer, "event"))
    gate.publish(topic, hub.signed("north", older, "event"))
    gate.publish(topic, hub.signed("north", older, "event"))  # the outbox resends until acknowledged
    got = wait_for(lambda: len(_events(http)) >= 2 and _events(http), what="two events listed")
    assert [e["event_id"] for e in got] == ["ev-newer-0001", "ev-older-0001"]
    first, second = got
    assert first["decision"] == "denied" and first["reason"] == "unknown_card" and first["holder"] is None
    assert second["holder"] == {"name": "Li Wei", "unit": "A-12-03"}
    assert second["kind"] == "pass" and second["gate_id"] == "north" and second["door_id"] == "north-in"
    assert datetime.fromisoformat(second["at"]) == older.at and second["at"].endswith("+08:00")
    # the repeat was not stored twice
    gate.publish(topic, hub.signed("north", _event(event_id="ev-marker-0001"), "event"))
    wait_for(lambda: any(e["event_id"] == "ev-marker-0001" for e in _events(http)), what="the marker event")
    assert [e["event_id"] for e in _events(http)].count("ev-older-0001") == 1
    assert hub.app.state.event_ingest.repeats == 1
    assert len(_events(http, 1)) == 1


def test_malformed_and_misaddressed_events_are_dropped_and_counted(hub, peer):
    http = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    gate = peer()
    topic = gate_topic(hub.site, "north", "event")
    gate.publish(topic, b"{not json")
    gate.publish(topic, b'{"v": 1, "event_id": "short"}')
    gate.publish(topic, _event(gate="south", event_id="ev-wrong-gate-1").to_bytes())  # gate_id is not the topic's
    gate.publish(topic, hub.signed("north", _event(event_id="ev-good-after-bad"), "event"))
    got = wait_for(lambda: _events(http), what="the good event after the bad ones")
    assert [e["event_id"] for e in got] == ["ev-good-after-bad"]
    health = http.get("/api/v1/health/mqtt").json()
    assert health["connected"] is True
    assert health["dropped"]["by_channel"]["event"] == 3
    assert "south" in health["dropped"]["last_reason"]["event"]
    assert health["acl_jobs"]["pending_cards"] == 0 and health["acl_jobs"]["sweeps"] == 0
    wait_for(lambda: http.get("/api/v1/health/mqtt").json()["intake_queued"] == 0,
             what="nothing left in the intake queue once every message is handled")
    assert httpx.get(hub.url + "/api/v1/health/mqtt", headers=hub.h("guard")).status_code == 403


def test_a_guard_limited_to_a_gate_sees_only_its_events(hub, peer):
    gate = peer()
    for g in ("north", "south"):
        gate.publish(gate_topic(hub.site, g, "event"), hub.signed(g, _event(gate=g), "event"))
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    wait_for(lambda: len(_events(sup)) == 2, what="both events")
    limited = httpx.Client(base_url=hub.url, headers=hub.h("guard", ("south",)))
    assert [e["gate_id"] for e in _events(limited)] == ["south"]


def test_event_stream_catches_up_after_last_event_id(hub, peer):
    gate = peer()
    topic = gate_topic(hub.site, "north", "event")
    for i in range(3):
        gate.publish(topic, hub.signed("north", _event(event_id=f"ev-stream-{i:04d}"), "event"))
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    rows = wait_for(lambda: len(_events(sup)) == 3 and _events(sup), what="three events")
    seqs = sorted(e["seq"] for e in rows)
    with sup.stream("GET", "/api/v1/events/stream", headers={"Last-Event-ID": str(seqs[0])}, timeout=5) as r:
        assert r.status_code == 200 and r.headers["content-type"].startswith("text/event-stream")
        ids = []
        for line in r.iter_lines():
            if line.startswith("id: "):
                ids.append(int(line[4:]))
                if len(ids) == 2:
                    break
    assert ids == seqs[1:]

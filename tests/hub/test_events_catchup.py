"""A live page's catch-up (``/api/v1/events/stream?after=SEQ``), now sent a read's rows at a
time: every event after the seq, of the viewer's gates only, in order, once each, across
several reads of 200, and then the live ones, once each."""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta, timezone

import httpx

from hub.events import store as events
from protocols.messages import GateEvent
from protocols.topics import gate_topic
from tests.rigs.wait import wait_for

T0 = datetime(2026, 5, 1, 8, tzinfo=timezone.utc)


def _event(gate: str, i: int) -> GateEvent:
    return GateEvent(event_id=f"ev-{gate}-{i:05d}-{uuid.uuid4().hex[:6]}", gate_id=gate, door_id=f"{gate}-in",
                     uid="0A0012AB34", decision="granted", reason="valid_card", at=T0 + timedelta(seconds=i))


def _stored(store, gates_in_turn: list[str]) -> list[tuple[int, str]]:
    """Events stored as the hub's intake stores them, in one go: (seq, gate) each."""
    out = []
    with store.tx() as db:
        for i, gate in enumerate(gates_in_turn):
            out.append((events.store_event(db, _event(gate, i), T0 + timedelta(seconds=i)), gate))
    return out


def _read(lines, want: int) -> list[tuple[int, dict]]:
    """(id, data) of the next ``want`` server-sent events."""
    got: list[tuple[int, dict]] = []
    seq = None
    for line in lines:
        if line.startswith("id: "):
            seq = int(line[4:])
        elif line.startswith("data: "):
            got.append((seq, json.loads(line[6:])))
            if len(got) == want:
                return got
    raise AssertionError(f"the stream ended after {len(got)} of {want} events")


def test_a_guards_catch_up_is_every_event_of_its_gate_after_the_seq_once_each_then_the_live_ones(hub, peer):
    # north and south interleaved, north most: the catch-up spans several reads of 200
    stored = _stored(hub.store, ["north" if i % 3 else "south" for i in range(900)])
    after = stored[99][0]
    want = [seq for seq, gate in stored if gate == "north" and seq > after]
    assert len(want) > 400  # more than two reads' worth
    guard = httpx.Client(base_url=hub.url, headers=hub.h("guard", ("north",)), timeout=10)
    with guard.stream("GET", "/api/v1/events/stream", params={"after": after}) as r:
        assert r.status_code == 200
        lines = r.iter_lines()
        backlog = _read(lines, len(want))
        assert [seq for seq, _ in backlog] == want
        assert all(data["seq"] == seq and data["gate_id"] == "north" for seq, data in backlog)
        # then live: a south event (not this guard's) and a north one, through the hub's intake
        gate = peer()
        for g in ("south", "north"):
            gate.publish(gate_topic(hub.site, g, "event"), hub.signed(g, _event(g, 10_000), "event"))
        (seq, data), = _read(lines, 1)
        assert data["gate_id"] == "north" and data["event_id"].startswith("ev-north-10000")
        assert seq > want[-1]
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"), timeout=10)
    wait_for(lambda: len(sup.get("/api/v1/events", params={"limit": 1000}).json()) == 902,
             what="both live events stored")


def test_a_catch_up_without_a_gate_limit_is_every_event_after_the_seq_in_order(hub):
    stored = _stored(hub.store, ["north", "south", "east"] * 150)
    after = stored[9][0]
    want = [seq for seq, _ in stored if seq > after]
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"), timeout=10)
    with sup.stream("GET", "/api/v1/events/stream", params={"after": after}) as r:
        got = _read(r.iter_lines(), len(want))
    assert [seq for seq, _ in got] == want
    assert len({data["event_id"] for _, data in got}) == len(want)

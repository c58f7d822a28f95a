"""Streams of one scope share reads (hub.events.bus.EventBus.read_shared), and no stream
ever misses or repeats an event for it: a read is shared only with streams woken before it
began."""

from __future__ import annotations

import asyncio
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone

import httpx

from hub.events.bus import EventBus
from protocols.messages import GateEvent
from protocols.topics import gate_topic

T0 = datetime(2026, 5, 1, 8, tzinfo=timezone.utc)


class _Reads:
    """A read that waits to be let go and counts its calls."""

    def __init__(self) -> None:
        self.calls: list[int] = []
        self.go = threading.Event()

    def __call__(self, start: int) -> list[dict]:
        self.calls.append(start)
        if not self.go.wait(10):
            raise AssertionError("the read was never let go")
        return [{"seq": start + 1, "n": len(self.calls)}]


def test_streams_woken_before_a_read_began_share_it_and_a_later_wake_up_reads_again() -> None:
    async def scenario() -> None:
        bus, reads, other = EventBus(), _Reads(), _Reads()
        fresh = bus.generation
        waiting = [asyncio.ensure_future(bus.read_shared(("north",), 7, fresh, reads)) for _ in range(5)]
        apart = asyncio.ensure_future(bus.read_shared(("south",), 7, fresh, other))
        await asyncio.sleep(0.05)
        waiting[0].cancel()  # a stream gone: the read the others wait on goes on
        reads.go.set()
        other.go.set()
        got = await asyncio.gather(*waiting[1:])
        assert reads.calls == [7] and other.calls == [7], "one read per scope"
        assert all(rows == [{"seq": 8, "n": 1}] for rows in got)
        assert (await apart) == [{"seq": 8, "n": 1}]
        assert waiting[0].cancelled()
        # done, and still fresh for a stream that has seen no wake-up since: shared
        assert await bus.read_shared(("north",), 7, fresh, reads) == [{"seq": 8, "n": 1}]
        assert reads.calls == [7]
        bus.notify()  # a commit: the read above began before it, so it is not enough now
        assert await bus.read_shared(("north",), 7, bus.generation, reads) == [{"seq": 8, "n": 2}]
        assert reads.calls == [7, 7]
        assert await bus.read_shared(("north",), 8, bus.generation, reads) == [{"seq": 9, "n": 3}]  # another start

    asyncio.run(scenario())


def _event(gate: str, i: int) -> GateEvent:
    return GateEvent(event_id=f"sh-{gate}-{i:05d}-{uuid.uuid4().hex[:6]}", gate_id=gate, door_id=f"{gate}-in",
                     uid="0A0012AB34", decision="granted", reason="valid_card", at=T0 + timedelta(seconds=i))


def _collect(hub, headers: dict, want: int, opened: threading.Barrier) -> list[tuple[int, str]]:
    """(seq, gate) of the first ``want`` events a stream sends, from the newest stored."""
    got: list[tuple[int, str]] = []
    client = httpx.Client(base_url=hub.url, headers=headers, timeout=30)
    with client.stream("GET", "/api/v1/events/stream", params={"after": 0}) as r:
        assert r.status_code == 200
        opened.wait(30)
        for line in r.iter_lines():
            if line.startswith("data: "):
                row = json.loads(line[6:])
                got.append((row["seq"], row["gate_id"]))
                if len(got) == want:
                    break
    client.close()
    return got


def test_every_stream_of_a_scope_gets_each_of_its_events_once_in_order_while_events_pour_in(hub, peer) -> None:
    """Six guards of north, one of south and a supervisor watch while 300 events from both
    gates arrive through the hub's intake in bursts: each stream gets exactly its gates'
    events, in the order stored, none twice."""
    gates = ["north" if i % 3 else "south" for i in range(300)]
    north, south = gates.count("north"), gates.count("south")
    viewers = [(hub.h("guard", ("north",)), north)] * 6 + [(hub.h("guard", ("south",)), south),
                                                          (hub.h("supervisor"), len(gates))]
    opened = threading.Barrier(len(viewers) + 1)
    gate = peer()
    with ThreadPoolExecutor(len(viewers)) as pool:
        streams = [pool.submit(_collect, hub, headers, want, opened) for headers, want in viewers]
        opened.wait(30)
        for i, g in enumerate(gates):
            gate.publish(gate_topic(hub.site, g, "event"), hub.signed(g, _event(g, i), "event"))
        got = [s.result(timeout=120) for s in streams]
    everything = got[-1]
    assert [g for _, g in everything] == gates, "the supervisor's stream: every event, in the order sent"
    assert [seq for seq, _ in everything] == sorted({seq for seq, _ in everything}), "in order, none twice"
    for rows in got[:6]:
        assert rows == [(seq, g) for seq, g in everything if g == "north"]
    assert got[6] == [(seq, g) for seq, g in everything if g == "south"]

"""Group commit: many messages in one transaction, each acknowledged only after it committed.

The store's hooks on a real SQLite file, then hub.mqtt.HubMqtt against a real mosquitto
with a handler that stores each message's number and the transaction it was stored in
(``Store.tx_serial``). The intake worker is held back by holding the store's write lock
while the messages arrive, so they are all queued and go into one batch. Whether each
was acknowledged is asked of the broker itself: a second client with the same persistent
session is sent a marker, which the broker delivers after anything unacknowledged it still
holds, so the marker arriving alone proves every earlier message was acknowledged.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid

import pytest

import hub.mqtt as hub_mqtt
from hub.config import MqttSection
from hub.db import Store
from hub.deadletters.store import DeadLetters
from hub.mqtt import POISON_TRIES, HubMqtt
from protocols.topics import all_gates_filter, gate_topic
from tests.rigs.wait import wait_for

# -- the store's hooks -------------------------------------------------------------------


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "hooks.db")
    with s.writer() as db:
        db.execute("CREATE TABLE got (n INTEGER NOT NULL, tx INTEGER)")
    yield s
    s.close()


def _ns(store: Store) -> list[int]:
    with store.read() as db:
        return [r[0] for r in db.execute("SELECT n FROM got ORDER BY n")]


def test_after_commit_runs_once_committed_and_never_for_a_rollback(store) -> None:
    ran: list[tuple[str, list[int]]] = []
    with store.tx() as db:
        db.execute("INSERT INTO got (n) VALUES (1)")
        store.after_commit(lambda: ran.append(("kept", _ns(store))))
    assert ran == [("kept", [1])], "the hook ran after the commit, and sees the row from another connection"

    with pytest.raises(RuntimeError, match="boom"):
        with store.tx() as db:
            db.execute("INSERT INTO got (n) VALUES (2)")
            store.after_commit(lambda: ran.append(("rolled back", [])))
            raise RuntimeError("boom")
    assert ran == [("kept", [1])] and _ns(store) == [1]
    with pytest.raises(RuntimeError, match="outside a transaction"):
        store.after_commit(lambda: None)


def test_a_failed_savepoint_undoes_its_rows_and_hooks_and_the_rest_commits(store) -> None:
    ran: list[int] = []
    wake: list[str] = []

    def notify() -> None:
        wake.append("woken")

    with store.tx() as db:
        for n in (1, 2, 3):
            try:
                with store.savepoint():
                    db.execute("INSERT INTO got (n, tx) VALUES (?, ?)", [n, store.tx_serial])
                    store.after_commit(lambda n=n: ran.append(n))
                    store.after_commit(notify, once=True)
                    if n == 2:
                        raise ValueError("poison")
            except ValueError:
                pass
    assert _ns(store) == [1, 3]
    assert ran == [1, 3], "the failed step's hook was dropped with its row"
    assert wake == ["woken"], "a once hook asked for by every step runs once"
    with store.read() as db:
        assert len({r[0] for r in db.execute("SELECT tx FROM got")}) == 1


def test_a_failed_commit_rolls_back_and_runs_no_hook(store) -> None:
    with store.writer() as db:
        db.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        db.execute("CREATE TABLE child (p INTEGER REFERENCES parent(id) DEFERRABLE INITIALLY DEFERRED)")
    ran: list[str] = []
    with pytest.raises(sqlite3.IntegrityError):
        with store.tx() as db:  # a deferred foreign key fails at COMMIT itself
            db.execute("INSERT INTO got (n) VALUES (7)")
            db.execute("INSERT INTO child (p) VALUES (99)")
            store.after_commit(lambda: ran.append("ran"))
    assert ran == [] and _ns(store) == []
    with store.tx() as db:  # the store is usable again: the failed transaction is not left open
        db.execute("INSERT INTO got (n) VALUES (8)")
    assert _ns(store) == [8]


# -- HubMqtt batches against a real broker --------------------------------------------------


class Rig:
    """A HubMqtt whose event handler stores each message's number in ``got``."""

    def __init__(self, tmp_path, broker, peer) -> None:
        self.site = "g" + uuid.uuid4().hex[:8]
        self.client_id = "hub-" + self.site
        self.broker = broker
        self.store = Store.open(tmp_path / "hub.db")
        with self.store.writer() as db:
            db.execute("CREATE TABLE got (n INTEGER NOT NULL, tx INTEGER NOT NULL, payload BLOB)")
        self.dead = DeadLetters(self.store)
        self.calls: dict[bytes, int] = {}
        self.gate = peer()
        self.mqtt: HubMqtt | None = None

    def handle(self, _topic: str, payload: bytes) -> None:
        self.calls[payload] = self.calls.get(payload, 0) + 1
        if payload.startswith(b"poison"):
            raise ValueError("a value the hub cannot store")
        n = int(payload.split(b":")[0])
        with self.store.tx() as db:
            db.execute("INSERT INTO got (n, tx, payload) VALUES (?, ?, ?)", [n, self.store.tx_serial, payload])

    def start(self, handler=None) -> HubMqtt:
        m = HubMqtt(MqttSection(host=self.broker.host, port=self.broker.port, keepalive_s=5), self.site,
                    client_id=self.client_id, dead_letters=self.dead)
        m.subscribe(all_gates_filter(self.site, "event"), handler or self.handle, batch=self.store)
        m.start()
        assert m.wait_connected(5), "the hub's client did not connect"
        self.mqtt = m
        return m

    def send(self, payload: bytes) -> None:
        self.gate.publish(gate_topic(self.site, "north", "event"), payload)

    def send_held(self, payloads: list[bytes]) -> None:
        """Publish while the intake worker waits for the store: all of them queue for one batch."""
        assert self.mqtt is not None
        with self.store.writer():
            for p in payloads:
                self.send(p)
            wait_for(lambda: self.mqtt.queued == len(payloads), what=f"{len(payloads)} messages queued at the hub")

    def rows(self) -> list[tuple[int, int]]:
        with self.store.read() as db:
            return [(r[0], r[1]) for r in db.execute("SELECT n, tx FROM got ORDER BY n")]

    def nothing_unacknowledged(self) -> None:
        """Reconnect the same session: only a fresh marker arrives, nothing sent before it."""
        assert self.mqtt is not None
        self.mqtt.stop()
        again: list[bytes] = []
        marker = b"marker-" + uuid.uuid4().hex.encode()
        seen = threading.Event()

        def record(_topic: str, payload: bytes) -> None:
            again.append(payload)
            if payload == marker:
                seen.set()

        self.start(record)
        self.send(marker)
        assert seen.wait(10), "the marker did not arrive"
        assert again == [marker], f"the broker sent again what the hub had not acknowledged: {again}"

    def close(self) -> None:
        if self.mqtt is not None:
            self.mqtt.stop()
        self.store.close()


@pytest.fixture
def rig(tmp_path, broker, peer, monkeypatch):
    monkeypatch.setattr(hub_mqtt, "BATCH_S", 30.0)  # the batch is cut by what is queued, not by the clock
    r = Rig(tmp_path, broker, peer)
    yield r
    r.close()


def test_a_poison_in_the_middle_of_a_batch_costs_only_itself(rig) -> None:
    rig.start()
    good = [f"{n}:ok".encode() for n in range(1, 19)]
    rig.send_held(good[:9] + [b"poison-1"] + good[9:])

    rows = wait_for(lambda: len(r := rig.rows()) == 18 and r, what="the 18 good messages stored")
    assert [n for n, _ in rows] == list(range(1, 19))
    assert len({tx for _, tx in rows}) == 1, f"one transaction held the whole batch: {rows}"
    assert rig.calls[b"poison-1"] == POISON_TRIES, "its try in the batch's plain run counts"
    assert all(rig.calls[p] == 1 for p in good[9:]), "the good ones behind the poison ran once each"
    assert all(rig.calls[p] == 2 for p in good[:9]), "the ones before it: a plain run rolled back, then one kept"
    wait_for(lambda: rig.dead.kept == 1, what="the poison kept as a dead letter")
    with rig.store.read() as db:
        letters = [dict(r) for r in db.query("SELECT payload, count, error FROM dead_letters")]
    assert letters == [{"payload": "poison-1", "count": 1, "error": "ValueError: a value the hub cannot store"}]
    assert rig.mqtt.dead_lettered == 1 and rig.mqtt.retrying == 0
    wait_for(lambda: rig.mqtt.queued == 0, what="the batch taken off the queue")

    rig.nothing_unacknowledged()
    assert len(rig.rows()) == 18 and rig.dead.kept == 1 and rig.dead.repeats == 0


def test_a_clean_batch_runs_each_handler_once_and_takes_no_savepoint(rig, monkeypatch) -> None:
    def no_savepoint():
        raise AssertionError("a savepoint was taken for a batch without poison")

    monkeypatch.setattr(rig.store, "savepoint", no_savepoint)
    rig.start()
    sent = [f"{n}:ok".encode() for n in range(1, 13)]
    rig.send_held(sent)

    rows = wait_for(lambda: len(r := rig.rows()) == len(sent) and r, what="the batch stored")
    assert [n for n, _ in rows] == list(range(1, 13)) and len({tx for _, tx in rows}) == 1
    assert all(rig.calls[p] == 1 for p in sent), rig.calls
    wait_for(lambda: rig.mqtt.queued == 0, what="the batch taken off the queue")
    rig.nothing_unacknowledged()


def test_a_storage_failure_mid_batch_keeps_nothing_twice_and_loses_nothing(rig) -> None:
    rig.start()
    with rig.store.writer() as db:  # room for a few rows of 4 KiB, then "database or disk is full"
        pages = db.execute("PRAGMA page_count").fetchone()[0]
        db.execute(f"PRAGMA max_page_count = {pages + 3}")
    sent = [f"{n}:".encode() + b"x" * 4096 for n in range(1, 16)]
    rig.send_held(sent)

    wait_for(lambda: rig.mqtt.retrying == len(sent), what="the whole batch held, unacknowledged, for want of room")
    reached = [p for p in sent if p in rig.calls]
    assert 1 < len(reached) < len(sent), f"the disk filled mid-batch (handled: {len(reached)})"
    assert rig.rows() == [], "the rows that fitted were rolled back with the batch"
    assert rig.dead.kept == 0, "a storage failure is never a dead letter"

    with rig.store.writer() as db:
        db.execute("PRAGMA max_page_count = 1073741823")  # room again
    rows = wait_for(lambda: len(r := rig.rows()) == len(sent) and r, timeout=10,
                    what="the batch stored once there is room")
    assert [n for n, _ in rows] == list(range(1, 16)), "each message stored once, none lost"
    assert len({tx for _, tx in rows}) == 1
    wait_for(lambda: rig.mqtt.retrying == 0 and rig.mqtt.queued == 0, what="nothing left to retry")

    rig.nothing_unacknowledged()
    assert [n for n, _ in rig.rows()] == list(range(1, 16))


# -- the live feed over a group commit -----------------------------------------------------


def test_the_live_feed_gets_each_event_of_a_batch_once(hub, peer) -> None:
    """18 events from three gates committed as one batch (the intake waits for the store's
    lock, held here, while they queue; the broker sends at most 20 unacknowledged) reach an
    open event stream once each, in order, and an event committed alone after them too."""
    import json
    import queue
    from datetime import datetime, timezone

    import httpx

    from protocols.messages import GateEvent

    def event(gate_id: str, event_id: str) -> bytes:
        ev = GateEvent(event_id=event_id, gate_id=gate_id, door_id="d", uid="0A0012AB34", decision="denied",
                       reason="unknown_card", at=datetime.now(timezone.utc))
        return hub.signed(gate_id, ev, "event")

    gates = ["north", "south", "east"]
    signed = [(g, f"live-{g}-{i}", event(g, f"live-{g}-{i}")) for i in range(6) for g in gates]
    lines: "queue.Queue[tuple[int, str]]" = queue.Queue()
    http = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"), timeout=30)
    opened = threading.Event()

    def read() -> None:
        try:
            with http.stream("GET", "/api/v1/events/stream", params={"after": 0}) as r:
                opened.set()
                seq = None
                for line in r.iter_lines():
                    if line.startswith("id: "):
                        seq = int(line[4:])
                    elif line.startswith("data: ") and seq is not None:
                        lines.put((seq, json.loads(line[6:])["event_id"]))
        except httpx.HTTPError:  # the test closed the client: the stream ends
            pass

    threading.Thread(target=read, daemon=True).start()
    assert opened.wait(10), "the event stream did not open"
    gate = peer()
    with hub.store.writer():
        for g, _, payload in signed:
            gate.publish(gate_topic(hub.site, g, "event"), payload)
        wait_for(lambda: hub.mqtt.queued == len(signed), what=f"{len(signed)} events queued at the hub")
    gate.publish(gate_topic(hub.site, "north", "event"), event("north", "live-after"))

    got: list[tuple[int, str]] = []
    while not got or got[-1][1] != "live-after":
        try:
            got.append(lines.get(timeout=10))
        except queue.Empty:
            raise AssertionError(f"the stream stopped after {len(got)} events") from None
    seqs = [s for s, _ in got]
    assert seqs == sorted(set(seqs)), f"each event once, in order: {seqs}"
    assert [e for _, e in got] == [e for _, e, _ in signed] + ["live-after"]
    http.close()

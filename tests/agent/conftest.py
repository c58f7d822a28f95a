"""Helpers for the gate agent's tests: configs, ACL messages, and a real MQTT peer."""

from __future__ import annotations

import json
import queue
import threading
import uuid
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from gate_agent.agent import GateAgent
from gate_agent.config import AgentConfig
from protocols.acl import EMPTY_CHECKSUM, AclEntry, Schedule, checksum_of, listed
from protocols.cards import CardStatus, CardType
from protocols.commands import new_key
from protocols.messages import AclUpdate
from protocols.signing import sign
from protocols.topics import gate_topic

SITE = "demo"
GATE = "north"
DOOR = "north-in"
#: the gate key every agent test's gate holds unless a test gives another
KEY = "5a" * 32


def entry(uid: str, **kw: Any) -> AclEntry:
    kw.setdefault("status", CardStatus.ACTIVE)
    kw.setdefault("card_type", CardType.OWNER)
    return AclEntry(uid=uid, **kw)


def agent_config(data_dir: Path, broker=None, **agent_kw: Any) -> AgentConfig:
    door = agent_kw.pop("door", {})
    data = {
        "agent": {"gate_id": GATE, "site": SITE, "data_dir": str(data_dir), "heartbeat_s": 0.5, "gate_key": KEY}
        | agent_kw,
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5, "reconnect_max_s": 1} if broker else {"port": 1},
        "doors": [
            {
                "id": DOOR,
                "relay": {"kind": "sim", "pulse_ms": 200},
                "readers": [{"kind": "sim", "direction": "in"}, {"kind": "sim", "direction": "out"}],
            }
            | door
        ],
    }
    return AgentConfig.model_validate(data)


def config_json(cfg: AgentConfig) -> str:
    """The config as JSON with its key in clear (a child process builds the same agent)."""
    data = cfg.model_dump(mode="json")
    data["agent"]["gate_key"] = cfg.agent.gate_key.get_secret_value()
    return json.dumps(data)


class AclHub:
    """Makes ACL messages the way the hub would: revisions and checksums kept right, entries
    in the listed form (schedules by id, each message carrying those its entries name),
    signed with the gate's key for its site (``key``/``site`` None: unsigned)."""

    def __init__(self, gate_id: str = GATE, key: str | None = KEY, site: str = SITE) -> None:
        self.gate_id = gate_id
        self.key = key
        self.site = site
        self.entries: dict[str, AclEntry] = {}  # as given (schedules whole); sent listed
        self.rev = 0

    def sign(self, update: AclUpdate) -> AclUpdate:
        return sign(update, self.key, self.site, "acl") if self.key else update

    @property
    def checksum(self) -> str:
        return checksum_of(listed(e)[0] for e in self.entries.values()) if self.entries else EMPTY_CHECKSUM

    @staticmethod
    def listed(entries) -> tuple[tuple[AclEntry, ...], dict[str, Schedule]]:
        """The entries as the hub sends them, and the schedules they name by id."""
        out, schedules = [], {}
        for e in entries:
            item, schedule = listed(e)
            out.append(item)
            if schedule is not None:
                schedules[item.schedule] = schedule
        return tuple(out), schedules

    def delta(self, upserts: tuple[AclEntry, ...] = (), removes: tuple[str, ...] = ()) -> AclUpdate:
        base = self.rev
        for uid in removes:
            self.entries.pop(uid, None)
        for e in upserts:
            self.entries[e.uid] = e
        self.rev += 1
        items, schedules = self.listed(upserts)
        return self.sign(AclUpdate(gate_id=self.gate_id, kind="delta", rev=self.rev, base_rev=base,
                                   checksum=self.checksum, upserts=items, removes=removes, schedules=schedules))

    def snapshot(self, chunk_size: int = 500) -> list[AclUpdate]:
        items = list(self.entries.values())
        chunks = [items[i:i + chunk_size] for i in range(0, len(items), chunk_size)] or [[]]
        sid, checksum = uuid.uuid4().hex, self.checksum
        return [
            self.sign(AclUpdate(gate_id=self.gate_id, kind="snapshot", rev=self.rev, checksum=checksum,
                                snapshot_id=sid, chunk=i, chunks=len(chunks), upserts=items, schedules=schedules))
            for i, (items, schedules) in enumerate(self.listed(c) for c in chunks)
        ]


class Peer:
    """A real MQTT client standing in for the hub's side of the wire."""

    def __init__(self, broker, *topics: str) -> None:
        self.messages: queue.Queue[mqtt.MQTTMessage] = queue.Queue()
        self._ready = threading.Event()
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"peer-{uuid.uuid4().hex[:8]}")
        self.client.max_inflight_messages_set(1000)
        self.client.on_message = lambda c, u, m: self.messages.put(m)
        self._topics = topics
        self.client.on_subscribe = lambda *a: self._ready.set()
        self.client.on_connect = self._on_connect
        self.client.connect(broker.host, broker.port)
        self.client.loop_start()
        assert self._ready.wait(5), "peer did not subscribe"

    def _on_connect(self, client, userdata, flags, rc, props) -> None:
        if self._topics:
            client.subscribe([(t, 1) for t in self._topics])
        else:
            self._ready.set()

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        self.client.publish(topic, payload, qos=1, retain=retain).wait_for_publish(5)

    def next(self, topic: str | None = None, timeout: float = 5.0, where=None) -> mqtt.MQTTMessage:
        """The next message (on ``topic``, matching ``where``), or AssertionError."""
        import time

        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no message on {topic or 'any topic'} within {timeout} s")
            try:
                m = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if (topic is None or m.topic == topic) and (where is None or where(m)):
                return m

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


def topic(channel: str, gate: str = GATE) -> str:
    return gate_topic(SITE, gate, channel)  # type: ignore[arg-type]


@pytest.fixture
def gate_key() -> str:
    """A key of the test's own (the gate is configured with it)."""
    return new_key()


@pytest.fixture
def peer_factory():
    made: list[Peer] = []

    def make(broker, *topics: str) -> Peer:
        p = Peer(broker, *topics)
        made.append(p)
        return p

    yield make
    for p in made:
        p.close()


@pytest.fixture
def agent_factory():
    made: list[GateAgent] = []

    def make(cfg: AgentConfig, **kw: Any) -> GateAgent:
        a = GateAgent(cfg, **kw)
        a.start()
        made.append(a)
        return a

    yield make
    for a in made:
        try:
            a.stop()
        except Exception:  # noqa: BLE001 - already stopped by the test
            pass


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=timezone.utc)


class StuckCommits:
    """An outbox connection whose commits wait at the door until ``release()``: a disk whose
    fsync has stalled, made to last exactly as long as a test needs (no timing involved).

    A commit is a COMMIT, or an INSERT/UPDATE/DELETE outside BEGIN (autocommit); it waits
    before it runs, so until released nothing of it is on disk.
    """

    def __init__(self, conn) -> None:
        self.conn = conn
        self._go = threading.Event()
        self.waiting = threading.Event()

    def release(self) -> None:
        self._go.set()

    def _gate(self, sql: str) -> None:
        head = sql.lstrip()[:6].upper()
        if head == "COMMIT" or (head in ("INSERT", "UPDATE", "DELETE") and not self.conn.in_transaction):
            self.waiting.set()
            self._go.wait()

    def execute(self, sql: str, *args):
        self._gate(sql)
        return self.conn.execute(sql, *args)

    def executemany(self, sql: str, *args):
        self._gate(sql)
        return self.conn.executemany(sql, *args)

    def __getattr__(self, name: str):
        return getattr(self.conn, name)

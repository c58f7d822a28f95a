"""Store and forward on real SQLite files and a real mosquitto: kill -9, long outages, a full disk."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

from gate_agent.agent import new_event_id
from gate_agent.config import AgentConfig
from gate_agent.mqtt_link import MqttLink
from gate_agent.outbox import Outbox
from protocols.acl import EMPTY_CHECKSUM
from protocols.messages import EventKind, GateEvent, GateStatus, SyncRequest, utcnow
from tests.agent.conftest import DOOR, GATE, AclHub, StuckCommits, agent_config, entry, topic
from tests.rigs.broker import Mosquitto, free_port
from tests.rigs.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


def _event(i: int = 0) -> GateEvent:
    return GateEvent(event_id=new_event_id(), gate_id=GATE, door_id=DOOR, kind=EventKind.DOOR_FORCED, at=utcnow(),
                     detail={"n": str(i)})


def _link(cfg: AgentConfig, outbox: Outbox) -> MqttLink:
    return MqttLink(
        cfg.agent, cfg.mqtt, outbox,
        status=lambda online: GateStatus(gate_id=GATE, online=online, at=utcnow()),
        sync=lambda: SyncRequest(gate_id=GATE, rev=0, checksum=EMPTY_CHECKSUM, at=utcnow()),
        on_acl=lambda p: None, on_cmd=lambda p: None,
    )


def _toml(cfg: AgentConfig) -> str:
    a, m = cfg.agent, cfg.mqtt
    return textwrap.dedent(f"""
        [agent]
        gate_id = "{a.gate_id}"
        site = "{a.site}"
        data_dir = "{a.data_dir}"
        gate_key = "{a.gate_key.get_secret_value()}"
        heartbeat_s = 0.5
        [mqtt]
        host = "{m.host}"
        port = {m.port}
        [[doors]]
        id = "{DOOR}"
        [doors.relay]
        kind = "sim"
        pulse_ms = 100
        [[doors.readers]]
        kind = "sim"
        direction = "in"
    """)


_CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from gate_agent.agent import GateAgent
    agent = GateAgent.from_file({cfg!r})
    agent.start()
    for uid in {uids!r}:
        agent.reader("{door}/0").tap(uid)
    deadline = time.monotonic() + 10
    while agent.outbox.depth < {n} and time.monotonic() < deadline:
        time.sleep(0.01)
    print("buffered", agent.outbox.depth, flush=True)
    time.sleep(60)
""")


def test_sigkill_after_writing_before_publishing_loses_nothing(tmp_path, broker, agent_factory, peer_factory):
    data = tmp_path / "gate"
    down = agent_config(data, broker).model_copy(deep=True)
    down.mqtt.port = free_port()  # nothing listens: the events cannot leave
    cfg_file = tmp_path / "agent.toml"
    cfg_file.write_text(_toml(down))
    uids = [f"{i:010X}" for i in range(1, 6)]
    script = _CHILD.format(root=str(ROOT), cfg=str(cfg_file), uids=uids, door=DOOR, n=len(uids))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        assert line == ["buffered", str(len(uids))], f"child said {line!r}"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()

    peer = peer_factory(broker, topic("event"))
    agent = agent_factory(agent_config(data, broker))
    seen: dict[str, str] = {}
    while len(seen) < len(uids):
        body = json.loads(peer.next(topic("event"), timeout=10).payload)
        seen[body["event_id"]] = body["uid"]
    assert sorted(seen.values()) == uids
    wait_for(lambda: agent.outbox.depth == 0, what="the outbox to empty after the acks")


def test_a_stalled_commit_does_not_hold_up_the_next_tap(tmp_path, agent_factory):
    agent = agent_factory(agent_config(tmp_path / "gate"))  # no broker: only the disk matters here
    agent.acl.apply(AclHub().delta(upserts=(entry("0000000001"), entry("0000000002"))))
    reader, relay = agent.reader(f"{DOOR}/0"), agent.relay(DOOR)
    stuck = StuckCommits(agent.outbox._c)
    agent.outbox._c = stuck
    try:
        reader.tap("0000000001")
        wait_for(stuck.waiting.is_set, what="the first event's commit to stall")
        reader.tap("0000000002")
        wait_for(lambda: relay.history.count(True) == 2,
                 what="the second tap to open the door while the first event's commit is still stuck")
        wait_for(lambda: agent.writer.pending == 2, what="both events handed over, neither on disk yet")
        assert stuck.waiting.is_set() and agent.outbox.depth_now() == 0
        assert agent.status().outbox_depth == 2  # the status is told without waiting for the commit
    finally:
        stuck.release()
    wait_for(lambda: agent.outbox.depth == 2, what="both events committed once the disk answers")
    agent.outbox._c = stuck.conn
    payloads = agent.outbox._c.execute("SELECT payload FROM outbox ORDER BY seq").fetchall()
    assert [json.loads(p)["uid"] for (p,) in payloads] == ["0000000001", "0000000002"]  # in tap order



def test_a_hung_disk_stops_the_watchdog_and_an_answering_one_starts_it_again(tmp_path, agent_factory, monkeypatch):
    """A commit that never returns (a dead SD card) must get the agent restarted by systemd,
    as it did when the write sat in the decision loop, not pile events up in memory for ever."""
    import gate_agent.agent as agent_module
    monkeypatch.setattr(agent_module, "WRITER_STALL_S", 0.3)
    agent = agent_factory(agent_config(tmp_path / "gate"))
    agent.acl.apply(AclHub().delta(upserts=(entry("0000000001"),)))
    assert agent.healthy()
    stuck = StuckCommits(agent.outbox._c)
    agent.outbox._c = stuck
    try:
        agent.reader(f"{DOOR}/0").tap("0000000001")
        wait_for(stuck.waiting.is_set, what="the event's commit to hang")
        wait_for(lambda: not agent.healthy(), what="the watchdog check to fail while the commit hangs")
    finally:
        stuck.release()
    wait_for(lambda: agent.outbox.depth == 1, what="the event committed once the disk answers")
    wait_for(agent.healthy, what="the watchdog check to pass again")


_STUCK_CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from gate_agent.agent import GateAgent
    from tests.agent.conftest import StuckCommits
    agent = GateAgent.from_file({cfg!r})
    agent.start()
    reader = agent.reader("{door}/0")
    for uid in {committed!r}:
        reader.tap(uid)
    deadline = time.monotonic() + 10
    while agent.outbox.depth < {n} and time.monotonic() < deadline:
        time.sleep(0.01)
    committed = agent.outbox.depth
    agent.outbox._c = StuckCommits(agent.outbox._c)  # the disk stalls from here on
    for uid in {window!r}:
        reader.tap(uid)
    while agent.writer.pending < {w} and time.monotonic() < deadline:
        time.sleep(0.01)
    print("committed", committed, "waiting", agent.writer.pending, flush=True)
    time.sleep(60)
""")


def test_sigkill_during_a_stalled_commit_loses_only_the_events_not_yet_committed(
    tmp_path, broker, agent_factory, peer_factory
):
    """What the event writer's docstring says a kill can lose: events decided but not yet
    committed (here three, waiting behind a stalled disk); everything committed is sent."""
    data = tmp_path / "gate"
    down = agent_config(data, broker).model_copy(deep=True)
    down.mqtt.port = free_port()  # nothing listens: the events cannot leave
    cfg_file = tmp_path / "agent.toml"
    cfg_file.write_text(_toml(down))
    committed = [f"{i:010X}" for i in range(1, 6)]
    window = [f"{i:010X}" for i in range(6, 9)]
    script = _STUCK_CHILD.format(root=str(ROOT), cfg=str(cfg_file), door=DOOR, committed=committed,
                                 n=len(committed), window=window, w=len(window))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().split()
        assert line == ["committed", "5", "waiting", "3"], f"child said {line!r}"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()

    db = sqlite3.connect(data / "outbox.db")
    on_disk = [json.loads(p)["uid"] for (p,) in db.execute("SELECT payload FROM outbox ORDER BY seq")]
    db.close()
    assert on_disk == committed, "the committed events are all there, the three in the window are not"

    peer = peer_factory(broker, topic("event"))
    agent = agent_factory(agent_config(data, broker))
    seen: dict[str, str] = {}
    while len(seen) < len(committed):
        body = json.loads(peer.next(topic("event"), timeout=10).payload)
        seen[body["event_id"]] = body["uid"]
    assert sorted(seen.values()) == committed
    wait_for(lambda: agent.outbox.depth == 0, what="the outbox to empty after the acks")


def test_ten_thousand_events_buffered_through_an_outage_all_arrive(tmp_path, peer_factory):
    store = tmp_path / "mosq"
    store.mkdir()
    conf = f"allow_anonymous true\npersistence true\npersistence_location {store}/\nmax_queued_messages 50000\n"
    broker = Mosquitto(tmp_path, extra_conf=conf).start()
    try:
        # a subscriber whose session (and QoS 1 queue) outlives the broker restart
        import paho.mqtt.client as mqtt
        from paho.mqtt.enums import CallbackAPIVersion

        got: set[str] = set()
        total = [0]

        def on_message(c, u, m):
            total[0] += 1
            got.add(json.loads(m.payload)["event_id"])

        sub = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"hub-{uuid.uuid4().hex[:6]}", clean_session=False)
        subscribed = []
        sub.on_message = on_message
        sub.on_connect = lambda c, u, f, rc, p: c.subscribe(topic("event"), qos=1)
        sub.on_subscribe = lambda *a: subscribed.append(1)
        sub.reconnect_delay_set(0.1, 0.5)
        sub.connect(broker.host, broker.port)
        sub.loop_start()
        wait_for(lambda: subscribed, what="the subscriber's subscription")

        cfg = agent_config(tmp_path / "gate", broker)
        outbox = Outbox(cfg.agent.data_dir)
        link = _link(cfg, outbox)
        link.start()
        assert link.connected.wait(5)
        broker.stop()
        wait_for(lambda: not link.connected.is_set(), what="the link to notice the broker is gone")

        ids = set()
        for i in range(10_000):
            ev = _event(i)
            assert outbox.put(ev)
            ids.add(ev.event_id)
            link.kick()
        assert outbox.depth == 10_000

        broker.start()
        wait_for(lambda: outbox.depth == 0, timeout=40, what="the outbox to drain after the broker came back")
        wait_for(lambda: len(got) >= 10_000, timeout=20, what="all 10,000 events at the subscriber")
        assert got == ids
        link.stop()
        sub.loop_stop()
        sub.disconnect()
        outbox.close()
        assert Outbox(cfg.agent.data_dir).depth == 0
    finally:
        broker.stop()


def test_disk_full_is_reported_the_gate_still_opens_and_nothing_buffered_is_lost(
    tmp_path, own_broker, agent_factory, peer_factory
):
    own_broker.stop()  # the gate is offline: everything stays in the outbox
    hub = AclHub()
    cfg = agent_config(tmp_path / "gate", own_broker)
    agent = agent_factory(cfg)
    delta = hub.delta(upserts=tuple(entry(f"{i:010X}") for i in range(1, 31)))
    agent.acl.apply(delta)
    reader, relay = agent.reader(f"{DOOR}/0"), agent.relay(DOOR)

    for i in range(1, 4):
        reader.tap(f"{i:010X}")
    wait_for(lambda: agent.outbox.depth == 3, what="three events buffered on disk")
    (pages,) = agent.outbox._c.execute("PRAGMA page_count").fetchone()
    agent.outbox._c.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full

    opened_before = relay.history.count(True)
    for i in range(4, 31):
        reader.tap(f"{i:010X}")
    wait_for(lambda: agent.outbox.depth == 30, what="every event held, on disk or in memory")
    assert relay.history.count(True) - opened_before == 27, "the gate stopped opening when the disk filled"
    status = agent.status()
    assert status.outbox_error and "full" in status.outbox_error
    assert status.outbox_depth == 30
    (on_disk,) = agent.outbox._c.execute("SELECT COUNT(*) FROM outbox").fetchone()
    assert on_disk >= 3

    own_broker.start()
    peer = peer_factory(own_broker, topic("event"))
    agent.outbox._c.execute("PRAGMA max_page_count = 1073741823")  # space again
    uids: set[str] = set()
    while len(uids) < 30:
        uids.add(json.loads(peer.next(topic("event"), timeout=15).payload)["uid"])
    assert uids == {f"{i:010X}" for i in range(1, 31)}
    wait_for(lambda: agent.outbox.depth == 0, what="the outbox to empty")


def test_a_group_commit_keeps_order_and_a_full_disk_still_keeps_every_event(tmp_path):
    outbox = Outbox(tmp_path / "gate")
    first = [_event(i) for i in range(3)]
    assert outbox.put_many(first) == 3
    assert outbox.put_many(first[:1] + [_event(3)]) == 2  # an event kept twice is stored once
    assert [p.event_id for p in outbox.after(0, 10)][:3] == [e.event_id for e in first]
    assert outbox.depth == 4

    (pages,) = outbox._c.execute("PRAGMA page_count").fetchone()
    outbox._c.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
    held = [_event(100 + i) for i in range(40)]  # more than the pages left can take
    outbox.put_many(held)
    assert outbox.error and "full" in outbox.error
    assert outbox.depth == 44, "each event the transaction could not keep is held as put() holds it"
    kept = {p.event_id for p in outbox.after(0, 100)} | {p.event_id for p in outbox.volatile()}
    assert {e.event_id for e in held} <= kept
    outbox.close()

"""The whole agent against a real mosquitto (and real pty serial devices where drivers are used)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

from gate_agent.agent import GateAgent
from protocols.acl import EMPTY_CHECKSUM
from protocols.cards import CardStatus
from protocols.em4100 import encode_frame
from protocols.lcus import parse_relay_frame
from protocols.messages import GateStatus, SyncRequest, parse
from tests.agent.conftest import DOOR, GATE, AclHub, agent_config, config_json, entry, topic
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
UID = "0A0012AB34"


def _events(peer, n: int = 1, **match) -> list[dict]:
    out = []
    for _ in range(n):
        m = peer.next(topic("event"), where=lambda m: all(json.loads(m.payload).get(k) == v for k, v in match.items()))
        out.append(json.loads(m.payload))
    return out


def test_delta_makes_a_card_work_at_the_next_tap(tmp_path, broker, agent_factory, peer_factory, caplog):
    caplog.set_level("INFO", logger="gate_agent.decisions")
    peer = peer_factory(broker, topic("event"), topic("sync"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker))
    sync = parse(SyncRequest, peer.next(topic("sync")).payload)  # said on connect
    assert (sync.gate_id, sync.rev, sync.checksum) == (GATE, 0, EMPTY_CHECKSUM)
    reader, relay = agent.reader(f"{DOOR}/0"), agent.relay(DOOR)

    reader.tap(UID)
    (ev,) = _events(peer, uid=UID)
    assert (ev["decision"], ev["reason"]) == ("denied", "unknown_card")
    assert relay.history.count(True) == 0

    hub = AclHub()
    peer.publish(topic("acl"), hub.delta(upserts=(entry(UID),)).to_bytes())
    wait_for(lambda: agent.acl.rev == 1, what="the delta applied")
    reader.tap(UID)
    (ev,) = _events(peer, uid=UID, decision="granted")
    assert ev["reason"] == "valid_card" and ev["acl_rev"] == 1 and ev["door_id"] == DOOR
    assert relay.history.count(True) == 1
    line = [r.getMessage() for r in caplog.records if "decision=granted" in r.getMessage()][0]
    for part in (f"gate={GATE}", f"door={DOOR}", f"uid={UID}", "reason=valid_card", "latency_ms="):
        assert part in line

    peer.publish(topic("acl"), hub.delta(upserts=(entry(UID, status=CardStatus.REVOKED),)).to_bytes())
    wait_for(lambda: agent.acl.rev == 2, what="the revocation applied")
    reader.tap(UID)
    (ev,) = _events(peer, uid=UID, reason="card_revoked")
    assert relay.history.count(True) == 1


def test_gap_and_mismatch_ask_the_hub_again(tmp_path, broker, agent_factory, peer_factory):
    peer = peer_factory(broker, topic("sync"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker))
    peer.next(topic("sync"))
    hub = AclHub()
    peer.publish(topic("acl"), hub.delta(upserts=(entry("01"),)).to_bytes())
    hub.delta(upserts=(entry("02"),))  # never sent
    peer.publish(topic("acl"), hub.delta(upserts=(entry("03"),)).to_bytes())
    req = parse(SyncRequest, peer.next(topic("sync")).payload)
    assert (req.rev, agent.acl.rev) == (1, 1)  # the gap: "I hold 1"
    assert req.checksum == agent.acl.checksum

    bad = AclHub()
    bad.entries, bad.rev = dict(hub.entries), 1
    delta = bad.sign(bad.delta(upserts=(entry("04"),)).model_copy(update={"checksum": "e" * 64}))
    peer.publish(topic("acl"), delta.to_bytes())
    req = parse(SyncRequest, peer.next(topic("sync"), timeout=5).payload)
    assert req.rev == 0, "a checksum mismatch must ask for a whole snapshot"
    assert agent.acl.get("04") is None

    for chunk in hub.snapshot(chunk_size=1):
        peer.publish(topic("acl"), chunk.to_bytes())
    wait_for(lambda: agent.acl.rev == 3, what="the snapshot applied")
    assert {e.uid for e in agent.acl.entries()} == {"01", "02", "03"}
    assert agent.status().checksum == hub.checksum


def test_malformed_acl_payloads_are_counted_and_ignored(tmp_path, broker, agent_factory, peer_factory):
    peer = peer_factory(broker)
    agent = agent_factory(agent_config(tmp_path / "gate", broker))
    assert agent.link.ready.wait(5)
    for junk in (b"\xff\xfe", b"[]", b'{"v":2}', json.dumps({"v": 1, "gate_id": GATE, "kind": "delta"}).encode()):
        peer.publish(topic("acl"), junk)
    hub = AclHub()
    peer.publish(topic("acl"), hub.delta(upserts=(entry(UID),)).to_bytes())
    wait_for(lambda: agent.acl.rev == 1, what="a good delta after the bad ones")
    assert agent.counters["bad_acl"] == 4


def test_offline_gate_decides_from_its_cache(tmp_path, broker, agent_factory):
    data = tmp_path / "gate"
    first = agent_factory(agent_config(data, broker))
    first.acl.apply(AclHub().delta(upserts=(entry(UID),)))
    first.stop()

    cfg = agent_config(data, broker)
    cfg.mqtt.port = free_port()  # no broker, no hub
    agent = agent_factory(cfg)
    reader, relay = agent.reader(f"{DOOR}/0"), agent.relay(DOOR)
    reader.tap(UID)
    reader.tap("FFFFFFFFFF")
    wait_for(lambda: agent.outbox.depth == 2, what="two decisions buffered")
    assert relay.history.count(True) == 1
    assert not agent.link.connected.is_set()
    assert agent.status().acl_rev == 1


def test_anti_passback_through_the_agent(tmp_path, broker, agent_factory, peer_factory):
    peer = peer_factory(broker, topic("event"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker, door={"anti_passback": "always"}))
    agent.acl.apply(AclHub().delta(upserts=(entry(UID),)))
    inside, outside = agent.reader(f"{DOOR}/0"), agent.reader(f"{DOOR}/1")
    inside.tap(UID)
    assert _events(peer, uid=UID)[0]["decision"] == "granted"
    inside.tap(UID)
    assert _events(peer, uid=UID)[0]["reason"] == "anti_passback"
    outside.tap(UID)
    ev = _events(peer, uid=UID)[0]
    assert (ev["decision"], ev["direction"]) == ("granted", "out")


_KILLED = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from gate_agent.agent import GateAgent
    from gate_agent.config import AgentConfig
    agent = GateAgent(AgentConfig.model_validate_json({cfg!r}))
    agent.start()
    agent.link.ready.wait(10)  # subscribed: the online status, sent before, is at the broker
    print("up", flush=True)
    time.sleep(60)
""")


def test_status_is_retained_online_and_the_last_will_says_offline(tmp_path, broker, peer_factory):
    cfg = agent_config(tmp_path / "gate", broker)
    script = _KILLED.format(root=str(ROOT), cfg=config_json(cfg))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "up"
        late = peer_factory(broker, topic("status"))  # subscribes after the gate said so: retained
        m = late.next(topic("status"))
        st = parse(GateStatus, m.payload)
        assert m.retain and st.online and st.gate_id == GATE and st.role == "gate"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
        m = late.next(topic("status"), where=lambda m: not parse(GateStatus, m.payload).online, timeout=10)
    finally:
        if child.poll() is None:
            child.kill()
    later = peer_factory(broker, topic("status"))
    m = later.next(topic("status"))
    assert m.retain and parse(GateStatus, m.payload).online is False


def test_clean_stop_says_offline_and_heartbeat_reports_state(tmp_path, broker, agent_factory, peer_factory):
    peer = peer_factory(broker, topic("status"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker))
    agent.acl.apply(AclHub().delta(upserts=(entry(UID),)))
    # heartbeats carry the ACL revision, the checksum and the outbox
    st = parse(GateStatus, peer.next(topic("status"), where=lambda m: parse(GateStatus, m.payload).acl_rev == 1).payload)
    assert st.online and st.checksum == agent.acl.checksum and st.outbox_depth == 0 and st.outbox_error is None
    assert st.doors[DOOR].state == "ok"
    agent.stop()
    st = parse(GateStatus, peer.next(topic("status"), where=lambda m: not parse(GateStatus, m.payload).online).payload)
    assert st.online is False


def test_real_serial_reader_and_relay_and_a_lost_reader(tmp_path, broker, agent_factory, peer_factory, pty_device):
    reader_dev, relay_dev = pty_device(), pty_device()
    door = {
        "relay": {"kind": "lcus-serial", "port": relay_dev.path, "channel": 2, "pulse_ms": 200},
        "readers": [
            {"kind": "em4100-serial", "port": reader_dev.path, "direction": "in"},
            {"kind": "em4100-serial", "port": str(tmp_path / "no-such-tty"), "direction": "out"},
        ],
    }
    peer = peer_factory(broker, topic("event"), topic("status"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker, door=door))
    agent.acl.apply(AclHub().delta(upserts=(entry(UID),)))
    relay_dev.read_available(quiet=0.3)  # the relay is driven locked at start
    wait_for(lambda: agent.reader(f"{DOOR}/0").ok, what="the pty reader open")

    reader_dev.write(encode_frame(UID))
    assert parse_relay_frame(relay_dev.read_exactly(4)) == (2, True)
    (ev,) = _events(peer, uid=UID)
    assert (ev["decision"], ev["reader"], ev["direction"]) == ("granted", f"{DOOR}/0", "in")
    assert parse_relay_frame(relay_dev.read_exactly(4)) == (2, False)

    # the missing out-reader makes the door degraded in the retained status
    st = parse(GateStatus, peer.next(topic("status"), where=lambda m: parse(GateStatus, m.payload).doors.get(DOOR)
                                     and parse(GateStatus, m.payload).doors[DOOR].state == "degraded").payload)
    assert any(f"{DOOR}/1" in p for p in st.doors[DOOR].problems)


def test_door_contact_and_exit_button(tmp_path, broker, agent_factory, peer_factory):
    peer = peer_factory(broker, topic("event"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker, door={"held_open_s": 0.3}))
    agent.contact_changed(DOOR, True)  # nobody was let in
    assert _events(peer, kind="door_forced")[0]["door_id"] == DOOR
    assert _events(peer, kind="door_held")[0]["door_id"] == DOOR
    agent.contact_changed(DOOR, False)
    _events(peer, kind="door_closed")

    agent.exit_pressed(DOOR)
    ev = _events(peer, kind="exit_button")[0]
    assert (ev["decision"], ev["reason"]) == ("granted", "exit_button")
    assert agent.relay(DOOR).history.count(True) == 1
    agent.contact_changed(DOOR, True)  # opened within the grant: not forced
    agent.contact_changed(DOOR, False)
    agent.exit_pressed(DOOR)  # a marker: everything before it has been handled
    _events(peer, kind="exit_button")
    assert agent.counters["forced"] == 1


def test_enrolment_station_reports_presented_cards(tmp_path, broker, agent_factory, peer_factory):
    peer = peer_factory(broker, topic("event"))
    cfg = agent_config(tmp_path / "desk", broker, role="enroll", door={"relay": None})
    agent: GateAgent = agent_factory(cfg)
    agent.reader(f"{DOOR}/0").tap(UID)
    (ev,) = _events(peer, uid=UID)
    assert ev["kind"] == "presented" and ev["decision"] is None
    assert agent.status().role == "enroll"


def test_gpio_contact_and_exit_button_wiring(tmp_path, broker, agent_factory, peer_factory):
    from gpiozero.pins.mock import MockFactory

    factory = MockFactory()
    peer = peer_factory(broker, topic("event"))
    door = {"contact": {"pin": 17}, "exit_button": {"pin": 27}}
    agent = agent_factory(agent_config(tmp_path / "gate", broker, door=door), pin_factory=factory)
    assert agent.status().doors[DOOR].state == "ok"
    factory.pin(17).drive_low()  # the contact opens with no grant
    assert _events(peer, kind="door_forced")[0]["door_id"] == DOOR
    factory.pin(17).drive_high()
    _events(peer, kind="door_closed")
    factory.pin(27).drive_low()  # pressed: the switch pulls the pin to ground
    factory.pin(27).drive_high()
    assert _events(peer, kind="exit_button")[0]["decision"] == "granted"
    assert agent.relay(DOOR).history.count(True) == 1


def test_reconnect_says_online_again_and_resyncs(tmp_path, own_broker, agent_factory, peer_factory):
    agent = agent_factory(agent_config(tmp_path / "gate", own_broker))
    assert agent.wait_online(5)
    agent.acl.apply(AclHub().delta(upserts=(entry(UID),)))
    own_broker.stop()  # the broker forgets everything, retained status included
    wait_for(lambda: not agent.link.connected.is_set(), what="the agent to notice the broker is gone")
    agent.reader(f"{DOOR}/0").tap(UID)  # decided offline
    wait_for(lambda: agent.outbox.depth == 1, what="the offline decision buffered")
    assert agent.relay(DOOR).history.count(True) == 1
    own_broker.start()
    assert agent.wait_online(10), "the agent did not reconnect by itself"
    assert agent.link.connects == 2
    peer = peer_factory(own_broker, topic("status"))
    st = parse(GateStatus, peer.next(topic("status"), where=lambda m: m.retain).payload)
    assert st.online and st.acl_rev == 1
    wait_for(lambda: agent.outbox.depth == 0, what="the buffered event sent after reconnecting")


def test_a_door_is_degraded_until_its_reader_says_it_is_ready(tmp_path, agent_factory, pty_device):
    """An OSDP reader takes seconds to come online: meanwhile the guard must not see "ok"."""
    line = pty_device()  # an RS-485 line where no reader answers yet
    cfg = agent_config(tmp_path, door={"readers": [{"kind": "osdp", "port": line.path, "address": 1,
                                                    "scbk": "00" * 16, "direction": "in"}]})
    agent = agent_factory(cfg)
    door = agent.status().doors[DOOR]
    assert door.state == "degraded" and any("not ready yet" in p for p in door.problems), door
    ready = agent_factory(agent_config(tmp_path / "sim"))  # a reader that reports at once
    wait_for(lambda: ready.status().doors[DOOR].state == "ok", what="the sim door ok once its readers report")


def test_a_schedule_not_matching_its_id_is_refused_and_one_never_sent_asks_for_the_list(
        tmp_path, broker, agent_factory, peer_factory):
    """Over the broker: a message signed with the gate's key but whose schedule is not what
    its id says changes nothing; an entry naming a schedule the gate was never sent makes it
    ask for its whole list."""
    from datetime import time

    from protocols.acl import Schedule, TimeWindow, schedule_id

    day = Schedule(windows=(TimeWindow(start=time(8), end=time(18)),))
    night = Schedule(windows=(TimeWindow(start=time(22), end=time(6)),))
    peer = peer_factory(broker, topic("sync"))
    agent = agent_factory(agent_config(tmp_path / "gate", broker))
    peer.next(topic("sync"))
    hub = AclHub()
    peer.publish(topic("acl"), hub.delta(upserts=(entry("01", schedule=day),)).to_bytes())
    wait_for(lambda: agent.acl.rev == 1, what="the first delta applied")
    held = agent.acl.state

    forged = hub.delta(upserts=(entry("02", schedule=day),))
    forged = hub.sign(forged.model_copy(update={"schedules": {schedule_id(day): night}}))  # signed, yet forged
    peer.publish(topic("acl"), forged.to_bytes())
    wait_for(lambda: agent.counters["acl_forged"] == 1, what="the forged schedule counted")
    assert agent.acl.state == held and agent.acl.get("02") is None

    hub.rev, hub.entries = 1, {"01": hub.entries["01"]}
    unknown = hub.delta(upserts=(entry("03", schedule=night),))
    peer.publish(topic("acl"), hub.sign(unknown.model_copy(update={"schedules": {}})).to_bytes())
    req = parse(SyncRequest, peer.next(topic("sync"), timeout=5).payload)
    assert req.rev == 0, "a schedule it cannot have makes the gate ask for its whole list"
    assert agent.acl.state == held and agent.acl.get("03") is None

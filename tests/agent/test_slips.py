"""A release slip's QR through the real agent: scanners ("in" and "out") and an LCUS relay on
ptys, a real mosquitto, the agent's clock driven. The slip opens the named gate's out reader
once on its date, and is refused with its reason otherwise; its VISIT event reaches the
broker, online or after the broker comes back."""

from __future__ import annotations

import json
import secrets
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from protocols.cards import CardStatus, CardType
from protocols.commands import PassKeys
from protocols.lcus import relay_frame
from protocols.messages import GateEvent, parse
from protocols.signing import sign
from protocols.visitpass import make_pass, new_private_key, pass_key_id, public_hex, slip_claims
from tests.agent.conftest import DOOR, KEY, SITE, AclHub, agent_config, entry
from tests.agent.conftest import topic as gate_topic
from tests.rigs.wait import wait_for

TZ = "Asia/Shanghai"
#: a gate of these tests' own: the session broker keeps each gate's last status (retained),
#: and other tests of the same broker read "north"'s
GATE = "slipgate"
HUB_KEY = new_private_key()
KID = pass_key_id(public_hex(HUB_KEY))
ON = relay_frame(1, True)
OUT_READER, IN_READER = f"{DOOR}/0", f"{DOOR}/1"


class Clock:
    """The agent's clock, set by the test (noon on the slip's day, estate time, to start)."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def topic(channel: str) -> str:
    return gate_topic(channel, GATE)


def today() -> date:
    return datetime.now(ZoneInfo(TZ)).date()


def noon(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, 12, tzinfo=ZoneInfo(TZ)).astimezone(timezone.utc)


def issue(day: date | None = None, gates: tuple[str, ...] = (GATE,), ref: str = "RS-0001") -> tuple[str, str]:
    """A slip's QR text as the hub makes it (hub.slips), and its pass id."""
    pid = secrets.token_hex(16).upper()
    claims = slip_claims(site=SITE, pass_id=pid, day=day or today(), tz=TZ, gates=gates, key_id=KID, ref=ref)
    return make_pass(claims, HUB_KEY), pid


@pytest.fixture
def gate(tmp_path, pty_device, agent_factory, peer_factory):
    """An agent whose door has an "out" and an "in" qr-serial scanner and an LCUS relay, each on
    a pty, holding the hub's pass key; its clock at noon of today, estate time."""

    def make(broker, clock: Clock):
        out_scanner, in_scanner, relay = pty_device(), pty_device(), pty_device()
        door = {
            "readers": [{"kind": "qr-serial", "port": out_scanner.path, "direction": "out", "repeat_s": 0},
                        {"kind": "qr-serial", "port": in_scanner.path, "direction": "in", "repeat_s": 0}],
            "relay": {"kind": "lcus-serial", "port": relay.path, "channel": 1, "pulse_ms": 200},
        }
        agent = agent_factory(agent_config(tmp_path / "gate", broker, gate_id=GATE, door=door), clock=clock)
        relay.read_available(quiet=0.3)  # driven locked at start
        for name in (OUT_READER, IN_READER):
            wait_for(lambda name=name: agent.reader(name).ok, what=f"the scanner {name}'s pty open")
        assert agent.wait_online(5)
        peer = peer_factory(broker)
        keys = sign(PassKeys(gate_id=GATE, keys={KID: public_hex(HUB_KEY)}, issued_at=datetime.now(timezone.utc)),
                    KEY, SITE, "cmd")
        peer.publish(topic("cmd"), keys.to_bytes())
        wait_for(lambda: agent.pass_keys.ids == (KID,), what="the pass keys kept")
        return agent, out_scanner, in_scanner, relay, peer

    return make


def scan(scanner, text: str) -> None:
    scanner.write(text.encode() + b"\r\n")


def visit_event(peer) -> GateEvent:
    m = peer.next(topic("event"), timeout=10, where=lambda m: json.loads(m.payload)["kind"] == "visit")
    return parse(GateEvent, m.payload)


def relay_opens(relay, agent, door: str = DOOR) -> int:
    """How many times the relay was driven open (read once it has closed again)."""
    wait_for(lambda: not agent.relay(door).is_open, what="the relay closed again")
    got = relay.read_available(quiet=0.3)
    return sum(1 for i in range(0, len(got), 4) if got[i:i + 4] == ON)


def test_a_slip_opens_once_at_the_out_reader_on_its_date_and_is_refused_as_used_even_after_a_restart(
        tmp_path, broker, gate, peer_factory, agent_factory):
    events = peer_factory(broker, topic("event"))
    clock = Clock(noon(today()))
    agent, out_scanner, _, relay, _ = gate(broker, clock)
    text, pid = issue(ref="RS-20261129-0003")

    scan(out_scanner, text)
    assert relay.read_exactly(4) == ON
    ev = visit_event(events)
    assert (ev.kind, ev.pass_id, ev.decision, ev.reason, ev.direction, ev.gate_id, ev.door_id, ev.reader) == (
        "visit", pid, "granted", "valid_slip", "out", GATE, DOOR, OUT_READER)
    assert ev.detail == {"pass_kind": "slip", "ref": "RS-20261129-0003"}
    assert ev.at == clock.at
    assert agent.pass_entries.used(pid) == 1

    scan(out_scanner, text)
    ev = visit_event(events)
    assert (ev.pass_id, ev.decision, ev.reason) == (pid, "denied", "slip_used")
    assert relay_opens(relay, agent) == 0  # the second scan opened nothing (the first was read above)

    # the use is on disk: a restarted agent refuses it too
    agent.stop()
    cfg = agent.config
    again = agent_factory(cfg, clock=clock)
    wait_for(lambda: again.reader(OUT_READER).ok, what="the scanner open again")
    relay.read_available(quiet=0.3)
    assert again.pass_entries.used(pid) == 1
    scan(out_scanner, text)
    ev = visit_event(events)
    assert (ev.pass_id, ev.decision, ev.reason) == (pid, "denied", "slip_used")
    assert relay_opens(relay, again) == 0


def test_a_slip_is_refused_on_another_date_at_an_in_reader_at_another_gate_and_when_listed(broker, gate,
                                                                                            peer_factory):
    events = peer_factory(broker, topic("event"))
    clock = Clock(noon(today()))
    agent, out_scanner, in_scanner, relay, peer = gate(broker, clock)
    text, pid = issue()
    elsewhere, other_pid = issue(gates=("south", "east"))
    used_elsewhere, used_pid = issue(gates=(GATE, "south"))
    cancelled, cancelled_pid = issue()
    # the hub lists one slip used (at south) and one cancelled, as it lists visitor passes
    hub = AclHub(gate_id=GATE)
    peer.publish(topic("acl"), hub.delta(upserts=(
        entry(used_pid, card_type=CardType.TEMPORARY, status=CardStatus.EXPIRED),
        entry(cancelled_pid, card_type=CardType.TEMPORARY, status=CardStatus.REVOKED),
    )).to_bytes())
    wait_for(lambda: agent.acl.rev == 1, what="the used and cancelled slips listed")

    def refused(scanner, slip: str, reason: str, slip_id: str) -> None:
        scan(scanner, slip)
        ev = visit_event(events)
        assert (ev.decision, ev.reason, ev.pass_id, ev.detail.get("pass_kind")) == (
            "denied", reason, slip_id, "slip"), reason

    clock.at = noon(today()) + timedelta(days=1)
    refused(out_scanner, text, "slip_wrong_date", pid)
    clock.at = noon(today()) - timedelta(days=1)
    refused(out_scanner, text, "slip_wrong_date", pid)
    # 00:00 of its day, estate time, is its first second: one second before is the day before
    start = datetime.combine(today(), datetime.min.time(), ZoneInfo(TZ)).astimezone(timezone.utc)
    clock.at = start - timedelta(seconds=1)
    refused(out_scanner, text, "slip_wrong_date", pid)
    clock.at = noon(today())
    refused(in_scanner, text, "slip_wrong_direction", pid)
    refused(out_scanner, elsewhere, "pass_wrong_gate", other_pid)
    refused(out_scanner, used_elsewhere, "slip_used", used_pid)
    refused(out_scanner, cancelled, "pass_revoked", cancelled_pid)
    assert relay_opens(relay, agent) == 0
    assert agent.pass_entries.used(pid) == 0  # a refusal spends nothing

    clock.at = start  # its first second
    scan(out_scanner, text)
    ev = visit_event(events)
    assert (ev.decision, ev.reason, ev.pass_id) == ("granted", "valid_slip", pid)
    assert relay_opens(relay, agent) == 1


def test_offline_the_gate_lets_a_slip_out_once_and_the_exit_reaches_the_broker_when_it_is_back(
        own_broker, gate, peer_factory, agent_factory):
    clock = Clock(noon(today()))
    agent, out_scanner, _, relay, _ = gate(own_broker, clock)
    wait_for(lambda: agent.outbox.depth == 0, what="nothing left to send")
    own_broker.stop()
    wait_for(lambda: not agent.link.connected.is_set(), what="the agent to notice the broker is gone")

    text, pid = issue()
    scan(out_scanner, text)
    assert relay.read_exactly(4) == ON
    wait_for(lambda: agent.outbox.depth == 1, what="the exit decided and kept")
    scan(out_scanner, text)
    wait_for(lambda: agent.outbox.depth == 2, what="the second scan decided and kept")
    assert relay_opens(relay, agent) == 0
    kept = [json.loads(m.payload) for m in agent.outbox.after(0, 10)]
    assert [(e["decision"], e["reason"]) for e in kept] == [("granted", "valid_slip"), ("denied", "slip_used")]

    # the gate goes down too; the broker comes back with the hub's side listening; the gate's
    # outbox, on disk, sends what was decided while it was cut off
    agent.stop()
    own_broker.start()
    events = peer_factory(own_broker, topic("event"))
    again = agent_factory(agent.config, clock=clock)
    got = [visit_event(events), visit_event(events)]
    assert [(e.pass_id, e.decision, e.reason, e.direction, e.detail["pass_kind"]) for e in got] == [
        (pid, "granted", "valid_slip", "out", "slip"), (pid, "denied", "slip_used", "out", "slip")]
    wait_for(lambda: again.outbox.depth == 0, what="the offline exit acknowledged")
    assert again.pass_entries.used(pid) == 1


# -- with the hub ---------------------------------------------------------------------------------

def test_a_slip_made_at_the_hub_leaves_once_by_one_named_gate_and_the_other_then_refuses_it(
        tmp_path, broker, pty_device):
    """The whole round: the desk makes a slip at the hub (hub.slips, signed with the visitor-pass
    key the gates hold); north's out scanner lets it out and its VISIT event marks the slip used
    at the hub, which lists it used at every gate it names; south then refuses it."""
    from gate_agent.agent import GateAgent
    from hub.people.registry import UnitIn, add_unit
    from tests.rigs import stack

    hub = stack.start(tmp_path / "hub", broker)  # the estate's timezone: UTC (stack.hub_config)
    gates: dict[str, tuple[GateAgent, object, object]] = {}
    try:
        for gate_id in ("north", "south"):
            scanner, relay = pty_device(), pty_device()
            door = {"id": f"{gate_id}-out", "relay": {"kind": "lcus-serial", "port": relay.path, "channel": 1,
                                                      "pulse_ms": 200},
                    "readers": [{"kind": "qr-serial", "port": scanner.path, "direction": "out", "repeat_s": 0}]}
            agent = GateAgent(stack.agent_config(hub.site, gate_id, tmp_path / gate_id, broker, [door],
                                                 gate_key=stack.register(hub, gate_id)))
            agent.start()
            gates[gate_id] = (agent, scanner, relay)
            relay.read_available(quiet=0.3)  # driven locked at start
        for gate_id, (agent, _, _) in gates.items():
            wait_for(lambda agent=agent: agent.reader(f"{agent.gate_id}-out/0").ok, what=f"{gate_id}'s scanner open")
            wait_for(lambda agent=agent: agent.pass_keys.ids, timeout=10, what=f"{gate_id} given the hub's pass key")
        add_unit(hub.store, "test", UnitIn(building="A", floor=12, room="03"))
        clerk = stack.client(hub, "clerk")
        r = clerk.post("/api/v1/slips", json={
            "kind": "goods", "unit": "A-12-03", "applicant": "Wang Fang", "items": [{"name": "sofa", "quantity": 1}],
            "date": datetime.now(timezone.utc).date().isoformat(), "gates": ["north", "south"]})
        assert r.status_code == 201, r.text
        slip = r.json()
        number, pid, text = slip["number"], slip["pass_id"], slip["qr"]

        north, north_scanner, north_relay = gates["north"]
        scan(north_scanner, text)
        assert north_relay.read_exactly(4) == ON, "north lets the goods out"
        used = wait_for(lambda: (lambda s: s if s["state"] == "used" else None)(
            clerk.get(f"/api/v1/slips/{number}").json()), timeout=10, what="the slip used at the hub")
        assert used["used_gate"] == "north"

        south, south_scanner, south_relay = gates["south"]
        wait_for(lambda: south.acl.get(pid) is not None, timeout=10, what="the used slip on south's list")
        assert south.acl.get(pid).status == CardStatus.EXPIRED
        scan(south_scanner, text)

        def south_event():
            body = clerk.get("/api/v1/events", params={"limit": 50}).json()
            got = [e for e in (body["items"] if isinstance(body, dict) else body)
                   if e.get("gate_id") == "south" and e.get("kind") == "visit"]
            return got or None

        ev = wait_for(south_event, timeout=10, what="south's refusal at the hub")[0]
        assert (ev["decision"], ev["reason"], ev["pass_id"], ev["direction"]) == ("denied", "slip_used", pid, "out")
        assert relay_opens(south_relay, south, "south-out") == 0
        assert clerk.get(f"/api/v1/slips/{number}").json()["used_gate"] == "north"  # the first use stands
    finally:
        for agent, _, _ in gates.values():
            agent.stop()
        hub.stop()

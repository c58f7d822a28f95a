"""Visitor QR passes at the gate: the rule (pure), the gate's stores, and the real agent with a
scanner and an LCUS relay on ptys and a real mosquitto, online and with the broker stopped."""

from __future__ import annotations

import base64
import json
import os
import secrets
import subprocess
import sys
import textwrap
import time
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from gate_agent.visitor_passes import (
    COUNTS_FILE, KEEP_AFTER_S, EntryCounts, PassKeyStore, blocked_by, check_pass_keys, decide_visit,
)
from protocols.cards import CardStatus, CardType, Decision, Reason
from protocols.commands import CommandRejected, PassKeys, new_key
from protocols.lcus import relay_frame
from protocols.messages import Direction, GateEvent, GateStatus, parse, utcnow
from protocols.signing import sign
from protocols.visitpass import (
    PREFIX, PassClaims, make_pass, new_private_key, pass_key_id, public_hex, public_keys,
)
from tests.agent.conftest import DOOR, GATE, KEY, SITE, AclHub, agent_config, entry, topic
from tests.rigs.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]
HUB_KEY = new_private_key()
KID = pass_key_id(public_hex(HUB_KEY))
KEYS = public_keys({KID: public_hex(HUB_KEY)})


def claims(**kw) -> PassClaims:
    now = int(time.time())
    data = {"site": SITE, "pass_id": secrets.token_hex(16).upper(), "valid_from": now - 60,
            "valid_until": now + 3600, "entries": 1, "key_id": KID} | kw
    return PassClaims(**data)


def issue(key=HUB_KEY, **kw) -> tuple[str, PassClaims]:
    c = claims(key_id=pass_key_id(public_hex(key)), **kw)
    return make_pass(c, key), c


def tampered(text: str, **changes) -> str:
    """The pass with its claims changed and its signature kept (what a forger can do)."""
    body, sig = text[len(PREFIX):].split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))) | changes
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    return PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + sig


def pass_keys(keys: dict[str, str], issued_at: datetime, gate_key: str = KEY, gate: str = GATE) -> PassKeys:
    return sign(PassKeys(gate_id=gate, keys=keys, issued_at=issued_at), gate_key, SITE, "cmd")


# -- the rule, pure ------------------------------------------------------------------------------

def _decide(text, *, direction=Direction.IN, used=0, listed=None, gate=GATE, now=None, problem=None):
    return decide_visit(text, problem, keys=KEYS, site=SITE, gate_id=gate, now=now or utcnow(),
                        direction=direction, used=lambda pid: used, entry=lambda pid: listed)


def test_a_genuine_pass_opens_and_each_fault_is_refused_with_its_reason():
    text, c = issue()
    ok = _decide(text)
    assert (ok.decision, ok.reason, ok.pass_id, ok.valid_until, ok.why) == (
        Decision.GRANTED, Reason.VALID_PASS, c.pass_id, c.valid_until, None)
    other_key = new_private_key()
    cases = [
        (tampered(text, entries=9), Reason.PASS_TAMPERED, {}),
        (issue(other_key)[0], Reason.PASS_UNKNOWN_KEY, {}),
        (text[:40], Reason.PASS_UNREADABLE, {}),
        ("https://weixin.qq.com/x", Reason.PASS_UNREADABLE, {}),
        (issue(site="another-estate")[0], Reason.PASS_FOREIGN_ESTATE, {}),
        (issue(gates=("south",))[0], Reason.PASS_WRONG_GATE, {}),
        (issue(valid_from=int(time.time()) - 7200, valid_until=int(time.time()) - 60)[0], Reason.PASS_EXPIRED, {}),
        (issue(valid_from=int(time.time()) + 600, valid_until=int(time.time()) + 7200)[0],
         Reason.PASS_NOT_YET_VALID, {}),
        (text, Reason.PASS_USED_UP, {"used": 1}),
        (text, Reason.PASS_REVOKED, {"listed": entry(c.pass_id, card_type=CardType.TEMPORARY,
                                                     status=CardStatus.REVOKED)}),
        (text, Reason.PASS_USED_UP, {"listed": entry(c.pass_id, card_type=CardType.TEMPORARY,
                                                     status=CardStatus.EXPIRED)}),
        (None, Reason.PASS_UNREADABLE, {"problem": "cut off: no line end"}),
    ]
    for t, reason, kw in cases:
        out = _decide(t, **kw)
        assert (out.decision, out.reason) == (Decision.DENIED, reason), (t, kw)
        assert out.why is None or (len(out.why) <= 200 and (t is None or t not in out.why))
    assert _decide(None, problem="cut off: no line end").why == "cut off: no line end"
    # only a checked signature names the pass
    assert _decide(tampered(text, entries=9)).pass_id is None
    assert _decide(issue(gates=("south",))[0]).pass_id is not None


def test_going_out_is_refused_only_for_another_estate_or_gate():
    text, c = issue(entries=1)
    revoked = entry(c.pass_id, card_type=CardType.TEMPORARY, status=CardStatus.REVOKED)
    assert _decide(text, direction=Direction.OUT, used=5, listed=revoked).granted
    late = utcnow() + timedelta(days=2)
    assert _decide(text, direction=Direction.OUT, now=late).granted
    assert _decide(text, direction=Direction.OUT, gate="south").granted  # gates empty: every gate
    assert _decide(issue(gates=("south",))[0], direction=Direction.OUT).reason == Reason.PASS_WRONG_GATE


def test_what_the_gate_list_says_of_a_pass():
    pid = "AB" * 16
    assert blocked_by(None) is None
    assert blocked_by(entry(pid, card_type=CardType.TEMPORARY)) is None
    assert blocked_by(entry(pid, status=CardStatus.REVOKED)) == Reason.PASS_REVOKED
    assert blocked_by(entry(pid, status=CardStatus.EXPIRED)) == Reason.PASS_USED_UP
    assert blocked_by(entry(pid, status=CardStatus.LOST)) == Reason.PASS_REVOKED  # not active: never in


def test_pass_keys_must_be_signed_for_this_gate_and_match_their_ids():
    good = pass_keys({KID: public_hex(HUB_KEY)}, utcnow())
    check_pass_keys(good, KEY, GATE, site=SITE)
    for bad, why in [
        (pass_keys({KID: public_hex(HUB_KEY)}, utcnow(), gate_key=new_key()), "bad signature"),
        (pass_keys({KID: public_hex(HUB_KEY)}, utcnow(), gate="south"), "south"),
        (pass_keys({KID: public_hex(new_private_key())}, utcnow()), "does not match its id"),
    ]:
        with pytest.raises(CommandRejected, match=why):
            check_pass_keys(bad, KEY, GATE, site=SITE)
    with pytest.raises(CommandRejected):
        check_pass_keys(good, KEY, GATE, site="another-estate")


# -- the stores ----------------------------------------------------------------------------------

def test_pass_keys_kept_only_when_newer_and_survive_a_restart(tmp_path):
    store = PassKeyStore(tmp_path)
    assert store.ids == () and store.keys == {}
    t0 = utcnow()
    assert store.offer(pass_keys({KID: public_hex(HUB_KEY)}, t0))
    other = new_private_key()
    other_id = pass_key_id(public_hex(other))
    assert not store.offer(pass_keys({other_id: public_hex(other)}, t0))  # not newer
    assert not store.offer(pass_keys({}, t0 - timedelta(hours=1)))  # an old one replayed
    assert PassKeyStore(tmp_path).ids == (KID,)
    both = {KID: public_hex(HUB_KEY), other_id: public_hex(other)}
    assert store.offer(pass_keys(both, t0 + timedelta(seconds=1)))
    again = PassKeyStore(tmp_path)
    assert again.ids == tuple(sorted(both)) and set(again.keys) == set(both)
    assert again.issued_at == t0 + timedelta(seconds=1)
    (tmp_path / "pass_keys.json").write_text("{not json")
    assert PassKeyStore(tmp_path).ids == ()  # refused whole: the hub sends them again


def test_entry_counts_survive_a_restart_drop_a_torn_line_and_forget_long_ended_passes(tmp_path):
    now = utcnow()
    a, b, old = "A" * 32, "B" * 32, "C" * 32
    counts = EntryCounts(tmp_path, now)
    assert counts.used(a) == 0
    until = int(now.timestamp()) + 3600
    for pid in (a, a, b):
        assert counts.reserve(pid, until)
    assert counts.reserve(old, int(now.timestamp()) - KEEP_AFTER_S - 10)
    counts.sync()
    counts.close()
    with open(tmp_path / COUNTS_FILE, "ab") as f:
        f.write(b"DDDDDDDD")  # a power cut tore the last line
    again = EntryCounts(tmp_path, now)
    assert (again.used(a), again.used(b), again.used(old), again.used("D" * 32)) == (2, 1, 0, 0)
    assert again.reserve(b, until)  # appended on a whole line, not onto the torn one
    again.close()
    assert EntryCounts(tmp_path, now).used(b) == 2
    lines = (tmp_path / COUNTS_FILE).read_bytes().splitlines()
    assert len(lines) == 4 and all(len(line.split()) == 2 for line in lines)


_KILLED_AFTER_RESERVE = textwrap.dedent("""
    import os, signal, sys
    sys.path.insert(0, {root!r})
    from gate_agent.visitor_passes import EntryCounts
    from protocols.messages import utcnow
    counts = EntryCounts({data!r}, utcnow())
    assert counts.reserve({pid!r}, {until})
    os.kill(os.getpid(), signal.SIGKILL)  # before the pulse's fsync: the agent killed mid-grant
""")


def test_an_entry_reserved_before_the_pulse_survives_kill_9(tmp_path):
    """The count errs towards refusing: once reserve returns (before the relay is pulsed), a
    SIGKILL of the agent cannot lose the entry."""
    pid, until = "E" * 32, int(time.time()) + 3600
    script = _KILLED_AFTER_RESERVE.format(root=str(ROOT), data=str(tmp_path), pid=pid, until=until)
    child = subprocess.run([sys.executable, "-c", script], timeout=30)
    assert child.returncode == -9
    assert EntryCounts(tmp_path, utcnow()).used(pid) == 1


# -- the real agent ------------------------------------------------------------------------------

ON = relay_frame(1, True)


@pytest.fixture
def gate(tmp_path, pty_device, agent_factory):
    """An agent whose door has a qr-serial scanner and an LCUS relay, each on a pty."""

    def make(broker, role: str = "gate", direction: str = "in"):
        scanner, relay = pty_device(), pty_device()
        door = {"readers": [{"kind": "qr-serial", "port": scanner.path, "direction": direction, "repeat_s": 0}]}
        if role == "gate":
            door["relay"] = {"kind": "lcus-serial", "port": relay.path, "channel": 1, "pulse_ms": 200}
        else:
            door["relay"] = None
            door["readers"].append({"kind": "sim"})
        agent = agent_factory(agent_config(tmp_path / "gate", broker, role=role, door=door))
        if role == "gate":
            relay.read_available(quiet=0.3)  # driven locked at start
        wait_for(lambda: agent.reader(f"{DOOR}/0").ok, what="the scanner's pty open")
        return agent, scanner, relay

    return make


def _give_keys(peer, agent, issued_at: datetime | None = None) -> None:
    peer.publish(topic("cmd"), pass_keys({KID: public_hex(HUB_KEY)}, issued_at or utcnow()).to_bytes())
    wait_for(lambda: agent.pass_keys.ids == (KID,), what="the pass keys kept")


def _scan(scanner, text: str | bytes) -> None:
    scanner.write((text.encode() if isinstance(text, str) else text) + b"\r\n")


def _relay_opens(relay, agent) -> int:
    """How many times the relay was driven open (read once it has closed again)."""
    wait_for(lambda: not agent.relay(DOOR).is_open, what="the relay closed again")
    got = relay.read_available(quiet=0.3)
    return sum(1 for i in range(0, len(got), 4) if got[i:i + 4] == ON)


def test_pass_keys_over_mqtt_are_kept_reported_in_status_and_survive_a_restart(
        tmp_path, broker, gate, peer_factory, agent_factory):
    peer = peer_factory(broker, topic("status"))
    agent, _, _ = gate(broker)
    assert agent.wait_online(5)
    assert agent.status().pass_keys == ()
    t0 = utcnow()
    _give_keys(peer, agent, t0)
    st = parse(GateStatus, peer.next(topic("status"), where=lambda m: parse(GateStatus, m.payload).pass_keys).payload)
    assert st.pass_keys == (KID,)

    other = new_private_key()
    forged = pass_keys({pass_key_id(public_hex(other)): public_hex(other)}, t0 + timedelta(seconds=5),
                       gate_key=new_key())
    peer.publish(topic("cmd"), forged.to_bytes())
    older = pass_keys({pass_key_id(public_hex(other)): public_hex(other)}, t0 - timedelta(seconds=5))
    peer.publish(topic("cmd"), older.to_bytes())
    peer.publish(topic("cmd"), b'{"action": "pass_keys", "keys": 3}')
    newer = pass_keys({}, t0 + timedelta(seconds=1))  # a marker, handled after the others: withdraws all
    peer.publish(topic("cmd"), newer.to_bytes())
    wait_for(lambda: agent.pass_keys.ids == (), what="the newer (empty) key set kept")
    assert agent.counters["pass_keys_refused"] == 1 and agent.counters["bad_cmd"] == 1
    assert agent.counters["pass_keys"] == 2
    parse(GateStatus, peer.next(topic("status"), where=lambda m: parse(GateStatus, m.payload).pass_keys == ()).payload)

    peer.publish(topic("cmd"), pass_keys({KID: public_hex(HUB_KEY)}, t0 + timedelta(seconds=2)).to_bytes())
    wait_for(lambda: agent.pass_keys.ids == (KID,), what="the key given again")
    agent.stop()
    cfg = agent_config(tmp_path / "gate", None)  # no broker at all: the keys are on disk
    assert agent_factory(cfg).status().pass_keys == (KID,)


def test_a_valid_pass_on_the_scanner_pulses_the_relay_and_its_visit_event_reaches_the_broker(
        broker, gate, peer_factory):
    peer = peer_factory(broker, topic("event"))
    agent, scanner, relay = gate(broker)
    assert agent.wait_online(5)
    _give_keys(peer, agent)
    text, c = issue(entries=2)
    _scan(scanner, text)
    assert relay.read_exactly(4) == ON
    m = peer.next(topic("event"), where=lambda m: json.loads(m.payload)["kind"] == "visit")
    ev = parse(GateEvent, m.payload)
    assert (ev.pass_id, ev.decision, ev.reason, ev.direction, ev.door_id, ev.gate_id, ev.uid) == (
        c.pass_id, "granted", "valid_pass", "in", DOOR, GATE, None)
    assert ev.reader == f"{DOOR}/0" and ev.detail == {}
    assert text.encode() not in m.payload and text[len(PREFIX):].split(".")[1].encode() not in m.payload
    assert agent.pass_entries.used(c.pass_id) == 1


def test_offline_the_gate_still_opens_for_a_valid_pass_and_refuses_every_bad_one_with_its_reason(
        own_broker, gate, peer_factory):
    peer = peer_factory(own_broker)
    agent, scanner, relay = gate(own_broker)
    assert agent.wait_online(5)
    _give_keys(peer, agent)
    revoked_text, revoked = issue(entries=3)
    hub = AclHub()  # the hub lists a revoked pass under its id, as a temporary card revoked
    peer.publish(topic("acl"), hub.delta(upserts=(entry(revoked.pass_id, card_type=CardType.TEMPORARY,
                                                        status=CardStatus.REVOKED),)).to_bytes())
    wait_for(lambda: agent.acl.rev == 1, what="the revocation listed")
    wait_for(lambda: agent.outbox.depth == 0, what="nothing left to send")

    own_broker.stop()
    wait_for(lambda: not agent.link.connected.is_set(), what="the agent to notice the broker is gone")

    decided: list[dict] = []

    def scan(data: str | bytes, end: bool = True) -> dict:
        raw = data.encode() if isinstance(data, str) else data
        scanner.write(raw + (b"\r\n" if end else b""))
        wait_for(lambda: agent.outbox.depth == len(decided) + 1, what=f"the scan {raw[:24]!r} decided")
        ev = json.loads(agent.outbox.after(0, 1000)[-1].payload)
        decided.append(ev)
        return ev

    valid, c = issue()
    once, c_once = issue(entries=1)
    now = int(time.time())
    expected = [
        (valid, "granted", "valid_pass"),
        (tampered(issue()[0], entries=50), "denied", "pass_tampered"),
        (issue(valid_from=now - 7200, valid_until=now - 60)[0], "denied", "pass_expired"),
        (issue(gates=("south", "east"))[0], "denied", "pass_wrong_gate"),
        (issue(site="another-estate")[0], "denied", "pass_foreign_estate"),
        (issue(new_private_key())[0], "denied", "pass_unknown_key"),
        (once, "granted", "valid_pass"),
        (once, "denied", "pass_used_up"),
        (revoked_text, "denied", "pass_revoked"),
    ]
    for text, decision, reason in expected:
        ev = scan(text)
        assert (ev["kind"], ev["decision"], ev["reason"]) == ("visit", decision, reason), text
        assert text not in json.dumps(ev)
    assert decided[0]["pass_id"] == c.pass_id and decided[7]["pass_id"] == c_once.pass_id
    assert decided[8]["pass_id"] == revoked.pass_id
    assert "pass_id" not in decided[1] or decided[1]["pass_id"] is None  # a forgery names no pass
    assert decided[1]["detail"]["why"]

    # a line the scanner cut off (no line end), and line noise: unreadable; the next good one opens
    cut = scan(valid[:30], end=False)
    assert (cut["decision"], cut["reason"], cut["detail"]["why"]) == ("denied", "pass_unreadable", "cut off: no line end")
    noise = scan(b"\x00\x1b[2J\xff")
    assert (noise["reason"], noise["detail"]["why"]) == ("pass_unreadable", "not printable ASCII")
    again, c_again = issue()
    assert scan(again)["decision"] == "granted"
    assert _relay_opens(relay, agent) == 3
    assert not agent.link.connected.is_set()

    own_broker.start()  # back: every decision taken offline reaches it
    assert agent.wait_online(10)
    wait_for(lambda: agent.outbox.depth == 0, what="the offline visit events sent")
    assert agent.pass_entries.used(c_once.pass_id) == 1 and agent.pass_entries.used(c_again.pass_id) == 1


def test_an_out_scan_spends_no_entry(broker, gate, peer_factory):
    peer = peer_factory(broker, topic("event"))
    agent, scanner, relay = gate(broker, direction="out")
    assert agent.wait_online(5)
    _give_keys(peer, agent)
    text, c = issue(entries=1)
    for _ in range(2):
        _scan(scanner, text)
        ev = parse(GateEvent, peer.next(topic("event"), where=lambda m: json.loads(m.payload)["kind"] == "visit").payload)
        assert (ev.decision, ev.direction, ev.pass_id) == ("granted", "out", c.pass_id)
    assert agent.pass_entries.used(c.pass_id) == 0
    assert _relay_opens(relay, agent) == 2


def test_an_enrolment_desk_ignores_scans(broker, gate, peer_factory):
    peer = peer_factory(broker, topic("event"))
    agent, scanner, _ = gate(broker, role="enroll")
    assert agent.wait_online(5)
    _give_keys(peer, agent)
    text, _ = issue()
    _scan(scanner, text)
    scanner_reader = agent.reader(f"{DOOR}/0")
    wait_for(lambda: scanner_reader.scans == 1, what="the scan handed to the agent")
    agent.reader(f"{DOOR}/1").tap("0A0012AB34")  # queued after the scan: its event is a marker
    m = peer.next(topic("event"))
    assert json.loads(m.payload)["kind"] == "presented"
    wait_for(lambda: agent.outbox.depth == 0, what="the marker sent")
    assert agent.pass_entries.used("0" * 32) == 0 and not os.path.getsize(agent.pass_entries.path)

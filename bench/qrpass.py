"""A visitor's QR pass at the gate: scan to relay, against a card tap in the same run.

A real agent with one door: an EM4100 reader, a qr-serial scanner and an LCUS relay, each
on its own pty pair, the gate's list holding 30,000 cards and the hub's pass key (kept in
data_dir as a PassKeys command would leave it). Scans of genuine passes (each with entries
to spare, so every scan is granted and counted) alternate with taps of listed cards: from
the line (or frame) written to its pty to the relay's on frame read on the relay's pty.

What a pass adds over a card is reading the line, one Ed25519 verification and a durable
append of the entry count before the relay is pulsed (gate_agent.visitor_passes); the
card tap is the baseline the gate already meets.
"""

from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench import fixtures
from bench.common import Result, median, percentile, ratio
from gate_agent.agent import GateAgent
from protocols import visitpass
from protocols.cards import CardStatus
from protocols.commands import PassKeys
from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from protocols.signing import sign
from tests.rigs.serialpty import PtyDevice
from tests.rigs.wait import wait_for

NAME = "qrpass"
TITLE = "Visitor QR pass: scan to relay on ptys, against a card tap (same agent, same run)"

ROUNDS = 300
GAP_S = 0.02
PULSE_MS = 50
ON, OFF = relay_frame(1, True), relay_frame(1, False)


def _door(reader: str, scanner: str, relay: str) -> dict:
    door = fixtures.serial_door(reader, relay, PULSE_MS)
    door["readers"].append({"kind": "qr-serial", "port": scanner, "direction": "in", "repeat_s": 0})
    door["anti_passback"] = "off"
    return door


def _one(device: PtyDevice, relay: PtyDevice, payload: bytes) -> float:
    t0 = time.perf_counter()
    device.write(payload)
    got = relay.read_exactly(4, timeout=5)
    took = (time.perf_counter() - t0) * 1000
    if got != ON:
        raise AssertionError(f"expected the relay's on frame, got {got.hex()}")
    if relay.read_exactly(4, timeout=3) != OFF:
        raise AssertionError("the relay did not lock again after its pulse")
    time.sleep(GAP_S)
    return took


def run(workdir: Path) -> Result:
    items = fixtures.entries()
    data_dir = workdir / "agent"
    fixtures.filled_cache(data_dir, items)
    cards = [e.uid for e in items if e.status == CardStatus.ACTIVE and e.schedule is None and e.valid_until is None
             and e.valid_from is None and e.doors is None][:ROUNDS + 10]
    site = fixtures.site_name()
    key = visitpass.new_private_key()
    public = visitpass.public_hex(key)
    kid = visitpass.pass_key_id(public)
    now = datetime.now(timezone.utc)
    passes = [visitpass.make_pass(visitpass.PassClaims(
        site=site, pass_id=secrets.token_hex(16).upper(), valid_from=int(now.timestamp()) - 60,
        valid_until=int((now + timedelta(hours=2)).timestamp()), gates=(fixtures.GATE,), entries=5, key_id=kid), key)
        for _ in range(ROUNDS + 10)]
    broker = fixtures.broker(workdir / "mosquitto")
    reader, scanner, relay = PtyDevice(), PtyDevice(), PtyDevice()
    agent = GateAgent(fixtures.agent_config(site, data_dir, broker, [_door(reader.path, scanner.path, relay.path)]))
    held = sign(PassKeys(gate_id=fixtures.GATE, keys={kid: public}, issued_at=now), fixtures.KEY, site, "cmd")
    if not agent.pass_keys.offer(held):
        raise AssertionError("the agent did not keep the pass key")
    agent.start()
    try:
        if relay.read_exactly(4, timeout=10) != OFF:
            raise AssertionError("the relay is not driven locked at start")
        wait_for(lambda: all(agent.reader(f"{fixtures.DOOR}/{i}").ok for i in (0, 1)), what="reader and scanner open")
        for i in range(10):  # warm up: first pydantic builds, the count file, the page cache
            _one(reader, relay, encode_frame(cards[ROUNDS + i]))
            _one(scanner, relay, (passes[ROUNDS + i] + "\r\n").encode())
        card_ms, pass_ms = [], []
        for i in range(ROUNDS):
            card_ms.append(_one(reader, relay, encode_frame(cards[i])))
            pass_ms.append(_one(scanner, relay, (passes[i] + "\r\n").encode()))
        wait_for(lambda: agent.outbox.depth == 0 and agent.writer.pending == 0, timeout=30,
                 what="every event sent to the broker")
    finally:
        agent.stop()
        broker.stop()
        for device in (reader, scanner, relay):
            device.close()
    res = Result(NAME, TITLE, ["what", "n", "p50 ms", "p99 ms", "max ms", "p50 vs card"])
    res.add("card tap (EM4100 frame) to relay on (baseline)", len(card_ms), median(card_ms),
            percentile(card_ms, 99), max(card_ms), "1.00x")
    res.add("QR pass line to relay on", len(pass_ms), median(pass_ms), percentile(pass_ms, 99), max(pass_ms),
            ratio(median(pass_ms), median(card_ms)))
    res.key = percentile(pass_ms, 99)
    res.key_label = "QR pass p99 ms"
    res.notes.append("Each pass allows 5 entries and is scanned once: every scan is granted, verified (Ed25519) "
                     "and counted durably before the pulse; scans and taps alternate, 20 ms apart.")
    return res

"""Tap to relay, end to end on real parts.

An EM4100 frame is written to the master of a pty whose other end the agent's
em4100-serial reader has open; the clock stops when the LCUS "on" frame arrives on the
master of the relay's pty. In between: pyserial in the reader thread, the frame decoder,
the repeat window, the agent's queue, AclStore.get on a 30,000-card cache, decide, the
relay driver's pyserial write. The agent is connected to a real mosquitto, with its
outbox; half the taps are granted cards, half unknown (different UIDs each time, so the
reader's repeat window never swallows one). A denied tap opens nothing, so its clock
stops when the agent logs the decision (after the event is handed to the outbox writer).

Baseline: the floor of the same pty path, a thread that reads the 14-byte frame with
pyserial and writes 4 bytes back: what any program pays for the two serial hops.
Then the broker is stopped and the taps are repeated: the gate must be as fast offline.

Back to back, with a stalled disk: two granted taps, the second written to the reader as
soon as the relay has answered the first (a queue at the gate), timed to the second "on"
frame; first with the outbox as it is, then with every commit on the outbox's connection
followed by a STALL_MS sleep (a wrapper in this benchmark only: the stall an SD card's
fsync can take, on the thread that commits, holding the outbox's lock as a real fsync
would). What it shows is whether the event write of one tap can hold up the next tap.

The "SIGKILL window" rows: for granted taps, from the moment this benchmark read the relay's
"on" frame (just after the pulse) to the moment that tap's event commit returned. A kill
in between loses the event of a door that opened (see gate_agent.event_writer).
"""

from __future__ import annotations

import logging
import threading
import time
from pathlib import Path

import serial

from bench import fixtures
from bench.common import Result, median, percentile, ratio
from gate_agent.agent import GateAgent
from protocols.acl import AclEntry
from protocols.cards import CardStatus
from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from tests.rigs.serialpty import PtyDevice
from tests.rigs.wait import wait_for

NAME = "tap"
TITLE = "Tap to relay (pty reader -> agent -> pty relay)"

TAPS = 300  # per phase: half granted, half unknown
GAP_S = 0.02  # between one tap's answer and the next tap
PULSE_MS = 50  # the least the relay config allows: taps follow each other quickly
PAIRS = 60  # back-to-back pairs per case
STALL_MS = 80  # one commit on a stalling SD card
ON, OFF = relay_frame(1, True), relay_frame(1, False)


#: when the bench read each granted card's "on" frame, and when its event's commit returned
#: (perf_counter): between the two a SIGKILL loses the event of a door that has opened
ON_AT: dict[str, float] = {}
COMMITTED_AT: dict[str, float] = {}


def _windows(uids: list[str]) -> list[float]:
    """ms from the relay's "on" (as read here, just after the pulse) to the event's commit."""
    return [(COMMITTED_AT[u] - ON_AT[u]) * 1000 for u in uids if u in COMMITTED_AT and u in ON_AT]


class _Decisions(logging.Handler):
    """Stamps each decision log line as it is emitted (in the decision loop's thread)."""

    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.seen = threading.Event()
        self.at = 0.0
        self.loop_ms: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.at = time.perf_counter()
        if record.args and isinstance(record.args, tuple):
            self.loop_ms.append(float(record.args[-1]))
        self.seen.set()


def _floor(n: int) -> list[float]:
    """ms from frame written to 4 bytes read back, through a trivial pyserial echo thread."""
    reader, relay = PtyDevice(), PtyDevice()
    stop = threading.Event()
    ready = threading.Event()

    def echo() -> None:
        rin = serial.Serial(reader.path, 9600, timeout=0.2, exclusive=True)
        rout = serial.Serial(relay.path, 9600, timeout=0.5, write_timeout=1.0)
        ready.set()
        buf = b""
        while not stop.is_set():
            chunk = rin.read(1)
            if chunk and rin.in_waiting:
                chunk += rin.read(rin.in_waiting)
            buf += chunk
            while len(buf) >= 14:
                buf = buf[14:]
                rout.write(ON)
                rout.flush()
        rin.close()
        rout.close()

    t = threading.Thread(target=echo, daemon=True)
    t.start()
    ready.wait(5)
    out = []
    try:
        for i in range(n):
            frame = encode_frame(fixtures.uid_of(i))
            t0 = time.perf_counter()
            reader.write(frame)
            got = relay.read_exactly(4)
            out.append((time.perf_counter() - t0) * 1000)
            assert got == ON
            time.sleep(GAP_S)
    finally:
        stop.set()
        t.join(2)
        reader.close()
        relay.close()
    return out


def _taps(reader: PtyDevice, relay: PtyDevice, log: _Decisions,
          granted: list[str], unknown: list[str]) -> tuple[list[float], list[float], list[float]]:
    """(granted ms, denied ms, decision-loop ms) for alternating granted and unknown taps."""
    g_ms, d_ms = [], []
    log.loop_ms.clear()
    for good, bad in zip(granted, unknown):
        log.seen.clear()
        t0 = time.perf_counter()
        reader.write(encode_frame(good))
        got = relay.read_exactly(4)
        ON_AT[good] = time.perf_counter()
        g_ms.append((ON_AT[good] - t0) * 1000)
        if got != ON:
            raise AssertionError(f"expected the relay's on frame, got {got.hex()}")
        if not log.seen.wait(3):
            raise AssertionError("no decision logged for a granted tap")
        if relay.read_exactly(4, timeout=3) != OFF:
            raise AssertionError("the relay did not lock again after its pulse")
        time.sleep(GAP_S)
        log.seen.clear()
        t0 = time.perf_counter()
        reader.write(encode_frame(bad))
        if not log.seen.wait(3):
            raise AssertionError(f"no decision for unknown card {bad}")
        d_ms.append((log.at - t0) * 1000)
        time.sleep(GAP_S)
    if relay.read_available(quiet=0.1):
        raise AssertionError("the relay moved on a denied tap")
    return g_ms, d_ms, list(log.loop_ms)


def _time_outbox_puts(agent: GateAgent) -> list[float]:
    """Wrap the outbox's put_many (measurement only: the call itself is unchanged) to see how
    long each event write takes on the writer thread (one call per commit)."""
    box = agent.outbox
    inner = box.put_many
    out: list[float] = []

    def put_many(events):
        t0 = time.perf_counter()
        try:
            return inner(events)
        finally:
            t1 = time.perf_counter()
            out.append((t1 - t0) * 1000)
            for e in events:
                COMMITTED_AT[e.uid] = t1

    box.put_many = put_many
    return out


class _StalledCommits:
    """The outbox's connection, with every commit followed by a sleep: an fsync that stalls.

    Autocommit statements outside BEGIN and each COMMIT are the commits; the sleep comes
    after the real commit, on the calling thread, inside whatever lock the caller holds.
    """

    def __init__(self, conn, stall_s: float) -> None:
        self._conn = conn
        self._stall_s = stall_s
        self.commits = 0

    def _after(self, sql: str) -> None:
        head = sql.lstrip()[:6].upper()
        if head == "COMMIT" or (head in ("INSERT", "UPDATE", "DELETE") and not self._conn.in_transaction):
            self.commits += 1
            time.sleep(self._stall_s)

    def execute(self, sql: str, *args):
        cur = self._conn.execute(sql, *args)
        self._after(sql)
        return cur

    def executemany(self, sql: str, *args):
        cur = self._conn.executemany(sql, *args)
        self._after(sql)
        return cur

    def __getattr__(self, name: str):
        return getattr(self._conn, name)


def _back_to_back(reader: PtyDevice, relay: PtyDevice, pairs: list[tuple[str, str]]) -> tuple[list[float], list[float]]:
    """(first tap ms, second tap ms): the second is written as soon as the first's "on" is read."""
    first, second = [], []
    for a, b in pairs:
        t0 = time.perf_counter()
        reader.write(encode_frame(a))
        if relay.read_exactly(4) != ON:
            raise AssertionError("expected the relay's on frame for the first tap")
        t1 = ON_AT[a] = time.perf_counter()
        first.append((t1 - t0) * 1000)
        reader.write(encode_frame(b))
        while True:  # the first pulse's "off" may come before the second "on"
            got = relay.read_exactly(4, timeout=5)
            if got == ON:
                ON_AT[b] = time.perf_counter()
                break
            if got != OFF:
                raise AssertionError(f"unexpected relay frame {got.hex()}")
        second.append((ON_AT[b] - t1) * 1000)
        if relay.read_exactly(4, timeout=5) != OFF:
            raise AssertionError("the relay did not lock again after the second pulse")
        time.sleep(GAP_S + STALL_MS / 1000)  # let the stalled writes of this pair finish
    return first, second


def _usable(e: AclEntry) -> bool:
    return e.status == CardStatus.ACTIVE and e.schedule is None and e.doors is None and not e.anti_passback \
        and e.valid_from is None


def run(workdir: Path) -> Result:
    floor = _floor(TAPS // 2)

    items = fixtures.entries()
    fixtures.filled_cache(workdir / "agent", items)
    good = [e.uid for e in items if _usable(e)]
    unknown = [fixtures.uid_of(fixtures.N_CARDS + i) for i in range(TAPS)]
    half = TAPS // 2
    broker = fixtures.broker(workdir / "mosquitto")
    reader, relay = PtyDevice(), PtyDevice()
    log = _Decisions()
    dlog = logging.getLogger("gate_agent.decisions")
    dlog.addHandler(log)
    dlog.setLevel(logging.INFO)
    dlog.propagate = False
    t_start = time.perf_counter()
    agent = GateAgent(fixtures.agent_config(fixtures.site_name(), workdir / "agent", broker,
                                            [fixtures.serial_door(reader.path, relay.path, PULSE_MS)]))
    put_ms = _time_outbox_puts(agent)
    agent.start()
    try:
        if relay.read_exactly(4, timeout=10) != OFF:
            raise AssertionError("the relay is not driven locked at start")
        if not agent.wait_online(10):
            raise AssertionError("the agent did not connect to mosquitto")
        started_s = time.perf_counter() - t_start
        wait_for(lambda: agent.reader(f"{fixtures.DOOR}/0").ok, what="the reader port open")
        # warm up (first pydantic builds, page cache), not counted
        _taps(reader, relay, log, good[-10:], unknown[-10:])
        put_ms.clear()

        on_g, on_d, on_loop = _taps(reader, relay, log, good[:half], unknown[:half])
        wait_for(lambda: agent.outbox.depth == 0, timeout=10, what="the outbox drained to the broker")
        on_put = list(put_ms)
        put_ms.clear()

        spare = good[2 * half:]
        pairs = [(spare[2 * i], spare[2 * i + 1]) for i in range(2 * PAIRS)]
        calm_a, calm_b = _back_to_back(reader, relay, pairs[:PAIRS])
        inner = agent.outbox._c
        stalled = _StalledCommits(inner, STALL_MS / 1000)
        agent.outbox._c = stalled
        try:
            stall_a, stall_b = _back_to_back(reader, relay, pairs[PAIRS:])
            wait_for(lambda: agent.outbox.depth == 0, timeout=30, what="the outbox drained after the stalled pairs")
        finally:
            agent.outbox._c = inner
        put_ms.clear()

        broker.stop()
        wait_for(lambda: not agent.link.connected.is_set(), what="the agent to notice the broker is gone")
        depth0 = agent.outbox.depth
        off_g, off_d, off_loop = _taps(reader, relay, log, good[half:2 * half], unknown[half:2 * half])
        agent.writer.drain()
        kept = agent.outbox.depth - depth0
        off_put = list(put_ms)
    finally:
        agent.stop()
        broker.stop()
        reader.close()
        relay.close()
        dlog.removeHandler(log)

    r = Result(NAME, TITLE, ["path", "taps", "p50 ms", "p95 ms", "p99 ms", "max ms", "ratio p50 vs floor"])
    fb = median(floor)

    def row(label: str, ms: list[float], compare: bool = True) -> None:
        r.add(label, len(ms), median(ms), percentile(ms, 95), percentile(ms, 99), max(ms),
              ratio(median(ms), fb) if compare else "-")

    row("baseline: pyserial echo thread (floor)", floor)
    row("agent, broker up: granted, tap -> relay on", on_g)
    row("agent, broker up: unknown, tap -> decision logged", on_d)
    row("agent, broker up: inside the loop (read -> pulse)", on_loop[0::2], False)
    row("agent, broker up: event write (writer thread, one commit)", on_put, False)
    row("back to back, disk normal: first tap -> relay on", calm_a)
    row("back to back, disk normal: second tap -> relay on", calm_b)
    row(f"back to back, every outbox commit +{STALL_MS} ms: first tap -> relay on", stall_a)
    row(f"back to back, every outbox commit +{STALL_MS} ms: second tap -> relay on", stall_b)
    row("SIGKILL window, broker up: relay on -> its event committed", _windows(good[:half]), False)
    row("SIGKILL window, back to back, disk normal: second tap", _windows([b for _, b in pairs[:PAIRS]]), False)
    row(f"SIGKILL window, back to back, every commit +{STALL_MS} ms: second tap",
        _windows([b for _, b in pairs[PAIRS:]]), False)
    row("agent, broker down: granted, tap -> relay on", off_g)
    row("agent, broker down: unknown, tap -> decision logged", off_d)
    row("agent, broker down: inside the loop (read -> pulse)", off_loop[0::2], False)
    row("agent, broker down: event write (writer thread, one commit)", off_put, False)
    r.key = median(on_g)
    r.key_label = "broker up granted p50 ms"
    r.notes.append(f"agent start to online with a 30,000-card cache (includes its checksum verify): {started_s:.2f} s")
    r.notes.append(f"back to back: {PAIRS} pairs per case, the second tap written when the first's relay "
                   f"answered; {stalled.commits} stalled commits in the stalled case")
    r.notes.append(f"broker down: {kept} of {2 * half} taps kept in the outbox; relay pulse {PULSE_MS} ms, "
                   f"{GAP_S * 1000:.0f} ms between taps")
    return r

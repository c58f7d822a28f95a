"""The coordinator: reads in, decisions and pulses out, events kept, status told.

Reader threads, the MQTT thread and GPIO callbacks only put work on one queue; one loop
takes it off, decides, and pulses the relay at once, before any disk write or network,
so a resident waits for the lock only as long as an ACL lookup takes. The event is then
handed to the event writer, which commits it to the outbox on its own thread (a stalled
fsync there never holds up the next tap: see gate_agent.event_writer for what a SIGKILL
can lose), and it is sent from the outbox.
"""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Callable

from drivers.base import CardRead, CardReader, CodeRead, Relay
from drivers.registry import build_reader, build_relay
from gate_agent import __version__
from gate_agent.acl_store import AclStore, Applied, LocalState
from gate_agent.config import AgentConfig, DoorConfig, load_config, reader_name
from gate_agent.decide import decide
from gate_agent.event_writer import EventWriter
from gate_agent.inputs import DoorInputs, OpenResults
from gate_agent.keys import GateKey, KeyFileError
from gate_agent.mqtt_link import MqttLink
from gate_agent.outbox import Outbox
from gate_agent.visitor_passes import EntryCounts, PassKeyFileError, PassKeyStore, check_pass_keys, decide_visit
from protocols.acl import EMPTY_CHECKSUM, canonical_texts
from protocols.cards import Decision, Reason
from protocols.commands import (
    CommandRejected, GateCommand, KeyUpdate, PassKeys, command_action, open_key_update, verify_command,
)
from protocols.messages import (
    AclUpdate,
    BadMessage,
    Direction,
    DoorState,
    DoorStatus,
    EventKind,
    GateEvent,
    GateStatus,
    SyncRequest,
    parse,
    utcnow,
)
from protocols.signing import BadSignature, key_id, sign, signed_bytes, verify

log = logging.getLogger(__name__)
decisions_log = logging.getLogger("gate_agent.decisions")

TICK_S = 0.2
#: a contact opening this long after a grant's pulse ended is "forced"
OPEN_GRACE_S = 2.0
#: an outbox commit running this long means the disk has hung: stop petting the watchdog
WRITER_STALL_S = 60.0
#: the least time between two sync requests (a burst of gapped deltas asks once)
SYNC_MIN_INTERVAL_S = 1.0


def _action(payload: bytes) -> str | None:
    """The ``action`` of a cmd payload, so it is parsed as the right model (BadMessage if not JSON)."""
    try:
        return command_action(json.loads(payload))
    except (ValueError, UnicodeDecodeError):
        raise BadMessage("command is not JSON") from None


def new_event_id() -> str:
    """Time-ordered and unique without coordination: nanoseconds, then 64 random bits."""
    return f"{time.time_ns():016x}-{secrets.token_hex(8)}"


@dataclass
class _Door:
    cfg: DoorConfig
    relay: Relay | None = None
    readers: list[CardReader] = field(default_factory=list)
    problems: dict[str, str] = field(default_factory=dict)  # device -> problem
    authorised_until: float = 0.0  # monotonic: the contact may open until then
    open_since: float | None = None
    held_reported: bool = False
    alarm: bool = False  # forced or held was reported: report the close


class GateAgent:
    """One gate. ``start()`` returns once the loop runs; ``stop()`` says offline and closes."""

    def __init__(
        self,
        config: AgentConfig,
        *,
        clock: Callable[[], datetime] = utcnow,
        notify: Callable[[str], None] | None = None,
        pin_factory: Any = None,
    ) -> None:
        self.config = config
        self.gate_id = config.agent.gate_id
        self.site = config.agent.site
        self.role = config.agent.role
        self._clock = clock
        self._notify = notify
        data_dir = Path(config.agent.data_dir)
        #: every message to and from the hub is signed with this (protocols.signing)
        self.key = GateKey(config.agent.gate_key.get_secret_value(), data_dir)
        self.acl = AclStore(data_dir, self.gate_id)
        self.state = LocalState(data_dir)
        #: visitor QR passes: the hub's public keys, and the entries this gate has let in
        self.pass_keys = PassKeyStore(data_dir)
        self.pass_entries = EntryCounts(data_dir, clock())
        self.outbox = Outbox(data_dir)
        self.counters: Counter[str] = Counter()
        self._q: queue.Queue[tuple] = queue.Queue()
        self._stop = threading.Event()
        self._stopped = False
        self._loop_thread: threading.Thread | None = None
        self._loop_alive = 0.0
        self._sync_lock = threading.Lock()
        self._want_snapshot = not self.acl.verify()
        if self._want_snapshot:
            log.warning("cached ACL does not match its checksum: asking the hub for a whole snapshot")
        self._last_sync = 0.0
        self._last_watchdog = 0.0
        self._sync_pending = False
        self._status_dirty = False
        self._last_status = 0.0
        self._device_ok: dict[str, bool] = {}
        self._inputs = DoorInputs(pin_factory, self.device_state)
        #: remote opens waiting for their door's contact to open (OPEN_RESULT events)
        self._open_results = OpenResults()
        self.doors: dict[str, _Door] = {}
        self._reader_door: dict[str, tuple[_Door, Direction, CardReader]] = {}
        self._relay_door: dict[str, _Door] = {}
        self.link = MqttLink(
            config.agent,
            config.mqtt,
            self.outbox,
            status=self.status,
            sync=self._sync_request,
            on_acl=self._on_acl,
            on_cmd=lambda payload: self._q.put(("cmd", payload)),
        )
        self.writer = EventWriter(self.outbox, written=self.link.kick)
        for dcfg in config.doors:
            self.doors[dcfg.id] = _Door(dcfg)

    @classmethod
    def from_file(cls, path: str | Path, **kw) -> "GateAgent":
        return cls(load_config(path), **kw)

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        for door in self.doors.values():
            d = door.cfg
            if d.relay is not None:
                door.relay = build_relay(d.relay, f"{d.id}/relay", self._relay_state)
                self._relay_door[door.relay.name] = door
            for i, rcfg in enumerate(d.readers):
                reader = build_reader(rcfg, reader_name(d.id, i), self)
                door.readers.append(reader)
                # degraded until the reader itself says it is ready: an OSDP reader may take
                # seconds to come online, and a guard must not see "ok" meanwhile
                door.problems[reader.name] = "not ready yet"
                self._reader_door[reader.name] = (door, rcfg.direction, reader)
            if d.contact is not None:
                problem = self._inputs.add(
                    f"{d.id}/contact", d.contact, lambda on, door_id=d.id: self.contact_changed(door_id, on)
                )
                if problem:
                    door.problems[f"{d.id}/contact"] = problem
            if d.exit_button is not None:
                problem = self._inputs.add(
                    f"{d.id}/exit_button", d.exit_button, lambda on, door_id=d.id: on and self.exit_pressed(door_id)
                )
                if problem:
                    door.problems[f"{d.id}/exit_button"] = problem
        self.writer.start()
        self._loop_thread = threading.Thread(target=self._loop, name="decide", daemon=True)
        self._loop_thread.start()
        for door in self.doors.values():
            for reader in door.readers:
                reader.start()
        self.link.start()
        self._say("READY=1")
        log.info("gate %s (%s) started: %d doors, acl rev %s", self.gate_id, self.role, len(self.doors), self.acl.rev)

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._say("STOPPING=1")
        for door in self.doors.values():
            for reader in door.readers:
                reader.stop()
        self._stop.set()
        self._q.put(("stop",))
        if self._loop_thread is not None:
            self._loop_thread.join(5)
        self.writer.close()  # every event handed over is committed before the outbox closes
        self.link.stop()
        for door in self.doors.values():
            if door.relay is not None:
                door.relay.close()
        self._inputs.close()
        self.outbox.close()
        self.acl.close()
        self.state.close()
        self.pass_entries.close()

    def wait_online(self, timeout: float = 5.0) -> bool:
        """True once connected and subscribed (ACL and commands sent now will arrive)."""
        return self.link.ready.wait(timeout)

    def healthy(self) -> bool:
        """The decision loop has turned lately and is keeping up with its queue.

        systemd's watchdog hears from the loop only while this holds, so a loop stuck on a
        device or a lock gets the agent restarted instead of a gate that silently ignores taps;
        so does an outbox commit hung for WRITER_STALL_S (a dead SD card).
        """
        return (time.monotonic() - self._loop_alive < 10 * TICK_S + 1.0 and self._q.qsize() < 1000
                and self.writer.stalled_s < WRITER_STALL_S)

    # -- test and hardware seams -------------------------------------------------------------

    def reader(self, name: str) -> CardReader:
        return self._reader_door[name][2]

    def relay(self, door_id: str) -> Relay | None:
        return self.doors[door_id].relay

    def contact_changed(self, door_id: str, is_open: bool) -> None:
        self._q.put(("contact", door_id, is_open, time.monotonic()))

    def exit_pressed(self, door_id: str) -> None:
        self._q.put(("exit", door_id, time.monotonic()))

    # -- ReaderSink (reader threads) -------------------------------------------------------

    def card_read(self, read: CardRead) -> None:
        self._q.put(("read", read))

    def code_read(self, read: CodeRead) -> None:
        self._q.put(("code", read))

    def device_state(self, device: str, ok: bool, problem: str | None) -> None:
        self._q.put(("device", device, ok, problem))

    def _relay_state(self, device: str, ok: bool, problem: str | None) -> None:
        self._q.put(("device", device, ok, problem))

    # -- the loop --------------------------------------------------------------------------

    def _loop(self) -> None:
        next_beat = time.monotonic() + self.config.agent.heartbeat_s
        while True:
            self._loop_alive = time.monotonic()
            try:
                item = self._q.get(timeout=TICK_S)
            except queue.Empty:
                item = None
            if item is not None and item[0] == "stop":
                return
            try:
                if item is not None:
                    self._handle(item)
                now_m = time.monotonic()
                self._check_held(now_m)
                self._check_open_results(now_m)
                if now_m >= next_beat:
                    next_beat = now_m + self.config.agent.heartbeat_s
                    self._publish_status()
                elif self._status_dirty and now_m - self._last_status >= 1.0:
                    self._publish_status()
                self._maybe_sync(now_m)
                if self.healthy() and now_m - self._last_watchdog >= 1.0:
                    self._last_watchdog = now_m
                    self._say("WATCHDOG=1")
            except Exception:  # noqa: BLE001 - the loop must survive one bad item
                log.exception("decision loop item %r failed", item[0] if item else "tick")

    def _handle(self, item: tuple) -> None:
        kind = item[0]
        if kind == "read":
            self._on_read(item[1])
        elif kind == "code":
            self._on_code(item[1])
        elif kind == "cmd":
            self._on_cmd(item[1])
        elif kind == "contact":
            self._on_contact(item[1], item[2], item[3])
        elif kind == "exit":
            self._on_exit(item[1], item[2])
        elif kind == "device":
            self._on_device(item[1], item[2], item[3])

    def _on_read(self, read: CardRead) -> None:
        found = self._reader_door.get(read.reader)
        if found is None:
            log.warning("read from unknown reader %s ignored", read.reader)
            return
        door, direction, reader = found
        now = self._clock()
        if self.role == "enroll":
            self._indicate(reader, True)
            self._emit(GateEvent(
                event_id=new_event_id(), gate_id=self.gate_id, door_id=door.cfg.id, reader=read.reader,
                direction=direction, kind=EventKind.PRESENTED, uid=read.uid, at=now, acl_rev=self.acl.rev,
            ))
            decisions_log.info("presented gate=%s door=%s uid=%s", self.gate_id, door.cfg.id, read.uid)
            return
        entry = self.acl.get(read.uid)
        mode = door.cfg.anti_passback
        last = self.state.last_direction(read.uid) if mode != "off" and entry is not None else None
        decision, reason = decide(entry, door.cfg.id, direction, now, last, mode)
        granted = decision == Decision.GRANTED
        relay_ok = True
        if granted:
            relay_ok = self._open(door)
        latency_ms = (time.monotonic() - read.monotonic) * 1000
        self._indicate(reader, granted)
        if granted and mode != "off":
            self.state.record_pass(read.uid, direction, now)
        detail = {} if relay_ok else {"relay": "failed"}
        self._emit(GateEvent(
            event_id=new_event_id(), gate_id=self.gate_id, door_id=door.cfg.id, reader=read.reader,
            direction=direction, kind=EventKind.PASS, uid=read.uid, decision=decision, reason=reason,
            at=now, acl_rev=self.acl.rev, detail=detail,
        ))
        decisions_log.info(
            "decision gate=%s door=%s reader=%s uid=%s decision=%s reason=%s latency_ms=%.1f",
            self.gate_id, door.cfg.id, read.reader, read.uid, decision.value, reason.value, latency_ms,
        )

    def _on_code(self, read: CodeRead) -> None:
        """A scanned visitor pass or release slip: decided as a card is (gate_agent.visitor_passes),
        the relay pulsed before anything waits on a disk; an entry in (or a slip's way out) is
        counted before the pulse and made durable before the event (EntryCounts says why a lost
        count errs towards refusing)."""
        found = self._reader_door.get(read.reader)
        if found is None:
            log.warning("scan from unknown reader %s ignored", read.reader)
            return
        door, direction, reader = found
        if self.role == "enroll":
            log.debug("scan at enrolment desk reader %s ignored", read.reader)
            return
        now = self._clock()
        outcome = decide_visit(read.text, read.problem, keys=self.pass_keys.keys, site=self.site,
                               gate_id=self.gate_id, now=now, direction=direction,
                               used=self.pass_entries.used, entry=self.acl.get)
        counted = outcome.granted and outcome.spends  # an entry in, or a slip's one way out
        if counted and not self.pass_entries.reserve(outcome.pass_id, outcome.valid_until):
            outcome = outcome.uncounted()
            counted = False
        relay_ok = self._open(door) if outcome.granted else True
        latency_ms = (time.monotonic() - read.monotonic) * 1000
        self._indicate(reader, outcome.granted)
        if counted:
            self.pass_entries.sync()
        detail = outcome.detail
        if not relay_ok:
            detail["relay"] = "failed"
        self._emit(GateEvent(
            event_id=new_event_id(), gate_id=self.gate_id, door_id=door.cfg.id, reader=read.reader,
            direction=direction, kind=EventKind.VISIT, pass_id=outcome.pass_id, decision=outcome.decision,
            reason=outcome.reason, at=now, acl_rev=self.acl.rev, detail=detail,
        ))
        decisions_log.info(
            "visit gate=%s door=%s reader=%s pass=%s decision=%s reason=%s latency_ms=%.1f",
            self.gate_id, door.cfg.id, read.reader, outcome.pass_id, outcome.decision.value,
            outcome.reason.value, latency_ms,
        )

    def _indicate(self, reader: CardReader, granted: bool) -> None:
        """Show the decision on the reader; a reader whose LED fails must not cost the event."""
        try:
            reader.indicate(granted)
        except Exception:  # noqa: BLE001 - the door has already opened or stayed shut
            log.warning("reader %s could not show the decision", reader.name, exc_info=True)

    def _open(self, door: _Door) -> bool:
        if door.relay is None or door.cfg.relay is None:
            return False
        pulse_ms = door.cfg.relay.pulse_ms
        door.authorised_until = time.monotonic() + pulse_ms / 1000 + OPEN_GRACE_S
        return door.relay.pulse(pulse_ms)

    def _on_cmd(self, payload: bytes) -> None:
        now = self._clock()
        try:
            action = _action(payload)
            if action == "rekey":
                self._on_rekey(parse(KeyUpdate, payload))
                return
            if action == "pass_keys":
                self._on_pass_keys(parse(PassKeys, payload))
                return
            cmd = parse(GateCommand, payload)
        except BadMessage as exc:
            self.counters["bad_cmd"] += 1
            log.warning("malformed command ignored: %s", exc)
            return
        door = self.doors.get(cmd.door_id)
        try:
            verify_command(cmd, self.key.current, self.gate_id, now, site=self.site)
            if door is None or door.relay is None:
                raise CommandRejected(f"no door {cmd.door_id!r} with a relay at this gate")
            if not self.state.claim_nonce(cmd.nonce, cmd.expires_at, now):
                raise CommandRejected("replayed command (nonce already used)")
        except CommandRejected as exc:
            self.counters["cmd_rejected"] += 1
            log.warning("remote open refused gate=%s door=%s by=%s: %s", self.gate_id, cmd.door_id, cmd.by, exc)
            self._emit(GateEvent(
                event_id=new_event_id(), gate_id=self.gate_id, door_id=cmd.door_id if door else None,
                kind=EventKind.REMOTE_OPEN, decision=Decision.DENIED, reason=Reason.COMMAND_REJECTED,
                at=now, acl_rev=self.acl.rev, detail={"why": str(exc), "by": cmd.by},
            ))
            return
        relay_ok = self._open(door)
        self._emit(GateEvent(
            event_id=new_event_id(), gate_id=self.gate_id, door_id=door.cfg.id, kind=EventKind.REMOTE_OPEN,
            decision=Decision.GRANTED, reason=Reason.REMOTE_OPEN, at=now, acl_rev=self.acl.rev,
            detail={"by": cmd.by, "nonce": cmd.nonce} | ({} if relay_ok else {"relay": "failed"}),
        ))
        self._await_open(door, cmd.nonce)
        decisions_log.info("remote_open gate=%s door=%s by=%s", self.gate_id, door.cfg.id, cmd.by)

    def _on_rekey(self, update: KeyUpdate) -> None:
        """A new key from the hub, wrapped and signed with the key held now.

        Kept on disk before use; then the outbox is re-signed and the link reconnects (a
        new last will), all while no event is being sent, so the hub sees nothing signed
        with the old key after the first message signed with the new one.
        """
        try:
            new = open_key_update(update, self.key.current, self.gate_id, site=self.site)
        except CommandRejected as exc:
            self.counters["rekey_refused"] += 1
            log.warning("key update refused: %s", exc)
            return
        if new == self.key.current:
            return
        with self.link.paused():
            self.writer.drain()  # events signed with the old key are on disk, to be re-signed
            self.link.drain(5.0)
            try:
                self.key.adopt(new)
            except KeyFileError as exc:
                self.counters["rekey_failed"] += 1
                log.error("%s; keeping the old key", exc)
                return
            self.outbox.resign(self._resign_event)
            self.link.reconnect_with_new_will()
        self.counters["rekeyed"] += 1
        log.warning("gate %s now signs with its new key %s", self.gate_id, key_id(new))

    def _resign_event(self, payload: bytes) -> bytes:
        return signed_bytes(parse(GateEvent, payload), self.key.current, self.site, "event")

    def _on_pass_keys(self, msg: PassKeys) -> None:
        """The hub's visitor-pass public keys: kept (on disk, then used) if newer than those
        held; the status goes out soon either way, so the hub sees what the gate holds and
        stops sending."""
        try:
            check_pass_keys(msg, self.key.current, self.gate_id, site=self.site)
        except CommandRejected as exc:
            self.counters["pass_keys_refused"] += 1
            log.warning("%s", exc)
            return
        self._status_dirty = True
        try:
            kept = self.pass_keys.offer(msg)
        except PassKeyFileError as exc:
            self.counters["pass_keys_failed"] += 1
            log.error("%s; keeping the pass keys held", exc)
            return
        if kept:
            self.counters["pass_keys"] += 1
            log.info("gate %s holds pass keys %s", self.gate_id, ", ".join(self.pass_keys.ids) or "(none)")

    def _on_exit(self, door_id: str, mono: float) -> None:
        door = self.doors.get(door_id)
        if door is None or door.relay is None:
            return
        relay_ok = self._open(door)
        self._emit(GateEvent(
            event_id=new_event_id(), gate_id=self.gate_id, door_id=door_id, kind=EventKind.EXIT_BUTTON,
            decision=Decision.GRANTED, reason=Reason.EXIT_BUTTON, at=self._clock(), acl_rev=self.acl.rev,
            detail={} if relay_ok else {"relay": "failed"},
        ))

    def _on_contact(self, door_id: str, is_open: bool, mono: float) -> None:
        door = self.doors.get(door_id)
        if door is None:
            return
        if is_open:
            if door.open_since is not None:
                return
            door.open_since = mono
            door.held_reported = False
            for awaited in self._open_results.opened(door_id, mono):
                self._emit_open_result(door, awaited.nonce, opened=True)
            if mono > door.authorised_until:
                door.alarm = True
                self.counters["forced"] += 1
                self._emit(self._door_event(door, EventKind.DOOR_FORCED))
                log.warning("door forced gate=%s door=%s", self.gate_id, door_id)
        else:
            if door.open_since is None:
                return
            door.open_since = None
            if door.alarm:
                door.alarm = False
                self._emit(self._door_event(door, EventKind.DOOR_CLOSED))

    def _check_held(self, now_m: float) -> None:
        for door in self.doors.values():
            if door.open_since is not None and not door.held_reported:
                if now_m - door.open_since > door.cfg.held_open_s:
                    door.held_reported = True
                    door.alarm = True
                    self.counters["held"] += 1
                    self._emit(self._door_event(door, EventKind.DOOR_HELD))
                    log.warning("door held open gate=%s door=%s", self.gate_id, door.cfg.id)

    def _await_open(self, door: _Door, nonce: str) -> None:
        """After a granted remote open, watch the door's contact to say whether the door opened.

        A door without a contact cannot say, so it says nothing; one already open says yes at once.
        """
        if door.cfg.contact is None:
            return
        if door.open_since is not None:
            self._emit_open_result(door, nonce, opened=True, already="open")
            return
        self._open_results.expect(door.cfg.id, nonce, door.authorised_until)

    def _check_open_results(self, now_m: float) -> None:
        for awaited in self._open_results.expired(now_m):
            door = self.doors.get(awaited.door_id)
            if door is not None:
                self._emit_open_result(door, awaited.nonce, opened=False)

    def _emit_open_result(self, door: _Door, nonce: str, *, opened: bool, **more: str) -> None:
        detail = {"nonce": nonce, "opened": "yes" if opened else "no"} | more
        if not opened and f"{door.cfg.id}/contact" in door.problems:
            detail["contact"] = "unavailable"  # "no" may only mean the contact could not tell
        self.counters[f"open_result_{detail['opened']}"] += 1
        self._emit(GateEvent(event_id=new_event_id(), gate_id=self.gate_id, door_id=door.cfg.id,
                             kind=EventKind.OPEN_RESULT, at=self._clock(), acl_rev=self.acl.rev, detail=detail))
        decisions_log.info("open_result gate=%s door=%s opened=%s", self.gate_id, door.cfg.id, detail["opened"])

    def _door_event(self, door: _Door, kind: EventKind) -> GateEvent:
        return GateEvent(event_id=new_event_id(), gate_id=self.gate_id, door_id=door.cfg.id, kind=kind,
                         at=self._clock(), acl_rev=self.acl.rev)

    def _on_device(self, device: str, ok: bool, problem: str | None) -> None:
        door_id = device.split("/", 1)[0]
        door = self.doors.get(door_id)
        if door is None:
            return
        if ok:
            door.problems.pop(device, None)
        else:
            door.problems[device] = problem or "lost"
        before = self._device_ok.get(device)
        self._device_ok[device] = ok
        if before is not None and before != ok:
            self._emit(GateEvent(
                event_id=new_event_id(), gate_id=self.gate_id, door_id=door_id, kind=EventKind.DEVICE,
                at=self._clock(), acl_rev=self.acl.rev,
                detail={"device": device, "state": "ok" if ok else "lost"} | ({"problem": problem} if problem else {}),
            ))
            self._status_dirty = True
        elif before is None and not ok:
            self._status_dirty = True

    def _sign(self, msg, channel: str):
        return sign(msg, self.key.current, self.site, channel)

    def _emit(self, event: GateEvent) -> None:
        """Signed as it is handed to the writer: the stored payload is exactly what is sent.
        Returns at once; the writer commits it and then kicks the link."""
        self.writer.put(self._sign(event, "event"))

    # -- ACL (MQTT thread) -----------------------------------------------------------------

    def _on_acl(self, payload: bytes) -> None:
        try:
            update = parse(AclUpdate, payload)
        except BadMessage as exc:
            self.counters["bad_acl"] += 1
            log.warning("malformed ACL update ignored: %s", exc)
            return
        texts = canonical_texts(update.upserts)  # once: the signature covers them and the store keeps them
        try:  # signed by the hub with this gate's key, for this gate, site and channel
            verify(update, [self.key.current], self.site, "acl", gate_id=self.gate_id, listed=("upserts", texts))
        except BadSignature as exc:
            self.counters["acl_forged"] += 1
            log.warning("ACL %s to rev %s refused: %s", update.kind, update.rev, exc)
            return
        result = self.acl.apply(update, whole_wanted=self._want_snapshot, texts=texts)
        self.counters[f"acl_{result.value}"] += 1
        if result == Applied.APPLIED:
            if update.kind == "snapshot":
                self._want_snapshot = False
            self._status_dirty = True
            log.info("acl rev %s (%s)", self.acl.rev, update.kind)
        elif result == Applied.GAP:
            self._request_sync(snapshot=False)
        elif result == Applied.MISMATCH:
            self._request_sync(snapshot=True)

    def _request_sync(self, snapshot: bool) -> None:
        with self._sync_lock:
            if snapshot:
                self._want_snapshot = True
            self._sync_pending = True
        self._maybe_sync(time.monotonic())

    def _maybe_sync(self, now_m: float) -> None:
        with self._sync_lock:
            if not self._sync_pending or now_m - self._last_sync < SYNC_MIN_INTERVAL_S:
                return
            if not self.link.connected.is_set():
                return  # the connect itself sends one
            self._sync_pending = False
            self._last_sync = now_m
        self.link.send_sync(self._sync_request())

    def _sync_request(self) -> SyncRequest:
        """What this gate holds; rev 0 asks for a whole snapshot."""
        self._last_sync = time.monotonic()
        if self._want_snapshot:
            return self._sign(SyncRequest(gate_id=self.gate_id, rev=0, checksum=EMPTY_CHECKSUM, at=self._clock()), "sync")
        st = self.acl.state
        return self._sign(SyncRequest(gate_id=self.gate_id, rev=st.rev, checksum=st.checksum, at=self._clock()), "sync")

    # -- status ----------------------------------------------------------------------------

    def status(self, online: bool = True) -> GateStatus:
        st = self.acl.state
        doors = {
            d.cfg.id: DoorStatus(
                state=DoorState.DEGRADED if d.problems else DoorState.OK,
                problems=tuple(f"{k}: {v}" for k, v in sorted(d.problems.items())),
            )
            for d in self.doors.values()
        }
        return self._sign(GateStatus(
            gate_id=self.gate_id, online=online, at=self._clock(), role=self.role, acl_rev=st.rev,
            checksum=st.checksum, outbox_depth=self.outbox.depth_now() + self.writer.pending,
            outbox_error=self.outbox.error,
            agent_version=__version__, doors=doors, uid_forms=self.uid_forms(), pass_keys=self.pass_keys.ids,
        ), "status")

    def uid_forms(self) -> tuple[str, ...]:
        """The forms this gate's readers report cards in, besides the whole UID (sorted, once each)."""
        return tuple(sorted({r.uid_form.value for d in self.config.doors for r in d.readers} - {"full"}))

    def _publish_status(self) -> None:
        self._status_dirty = False
        self._last_status = time.monotonic()
        self.link.publish_status(self.status())

    def _say(self, state: str) -> None:
        if self._notify is not None:
            try:
                self._notify(state)
            except Exception:  # noqa: BLE001 - systemd talk must never stop the gate
                log.debug("sd_notify %s failed", state, exc_info=True)

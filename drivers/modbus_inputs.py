"""Door contacts and exit buttons on a Modbus RTU I/O board: function 0x02, read discrete inputs.

A Modbus board says nothing unless asked, so each input is polled (every ``poll_ms``) on a
thread of its own, and ``on_change(name, active)`` is called when what it reads differs from
what it read last. The first good read only sets that baseline, as a GPIO input's does: a
door found open at start-up is not "forced".

A board that stops answering (power, wiring, wrong unit or baud rate) is reported through
``on_state(name, False, problem)``, as a lost reader or relay is, so the door shows degraded;
the watcher keeps asking, less often while it is lost (so a dead board on a bus it shares
with a working relay leaves that relay the bus most of the time), and reports
``on_state(name, True, None)`` when the board answers again. A change that happened while it
was lost is reported on the first good read.

The inputs and the relay coils of one board are usually on one RS-485 bus, and pymodbus opens
its port exclusively: an input joins the client and lock of its port in drivers.modbus_rtu,
so a poll and a relay drive take turns on the wire instead of garbling each other.
"""

from __future__ import annotations

import logging
import threading
from typing import Callable

from pymodbus.exceptions import ModbusException

from drivers.base import RECONNECT_MAX_S, RECONNECT_MIN_S, DeviceLost
from drivers.config import ModbusRtuInput
from drivers.modbus_rtu import join_bus, leave_bus

log = logging.getLogger(__name__)

OnChange = Callable[[str, bool], None]
OnState = Callable[[str, bool, "str | None"], None]


class InputTrack:
    """What a polled input last read and whether its device answers: pure, no I/O.

    ``read(bit)`` gives the new meaning (door open, button pressed) when it changed, else
    None; ``health(ok, problem)`` gives the (ok, problem) to report when that changed, else
    None.
    """

    def __init__(self, active_high: bool) -> None:
        self.active_high = active_high
        self.active: bool | None = None
        self.ok: bool | None = None

    def read(self, bit: bool) -> bool | None:
        active = bool(bit) == self.active_high
        before, self.active = self.active, active
        return active if before is not None and before != active else None

    def health(self, ok: bool, problem: str | None = None) -> tuple[bool, str | None] | None:
        before, self.ok = self.ok, ok
        return (ok, problem) if before != ok else None


class ModbusInputWatcher:
    """Polls one discrete input; ``start()`` begins, ``close()`` stops and leaves the bus."""

    def __init__(self, name: str, cfg: ModbusRtuInput, on_change: OnChange, on_state: OnState | None = None, *,
                 timeout_s: float = 0.5, retries: int = 1) -> None:
        self.name = name
        self.cfg = cfg
        self._on_change = on_change
        self._on_state = on_state
        self.track = InputTrack(cfg.active_high)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # the first joiner of a port makes its client; the relay's defaults are the same
        self._bus = join_bus(cfg, timeout_s, retries)

    @property
    def active(self) -> bool | None:
        """The input's meaning as last read (None before the first good read)."""
        return self.track.active

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"input:{self.name}", daemon=True)
        self._thread.start()

    def read_bit(self) -> bool:
        """One 0x02 request for this input; the raw bit, or DeviceLost."""
        bus = self._bus
        if bus is None:
            raise DeviceLost("input closed")
        where = f"unit {self.cfg.unit} on {self.cfg.port}"
        with bus.lock:
            if not bus.client.connect():
                raise DeviceLost(f"cannot open {self.cfg.port}")
            try:
                reply = bus.client.read_discrete_inputs(self.cfg.input - 1, count=1, device_id=self.cfg.unit)
            except ModbusException as exc:
                raise DeviceLost(f"{where}: {exc}") from exc
        if reply.isError():
            raise DeviceLost(f"{where} refused input {self.cfg.input}: {reply}")
        if not reply.bits:
            raise DeviceLost(f"{where} sent no bits for input {self.cfg.input}")
        return bool(reply.bits[0])

    def poll_once(self) -> bool:
        """Read once and report what changed; True if the device answered."""
        try:
            bit = self.read_bit()
        except (DeviceLost, OSError) as exc:
            self._report(self.track.health(False, str(exc)))
            return False
        self._report(self.track.health(True))
        changed = self.track.read(bit)
        if changed is not None:
            try:
                self._on_change(self.name, changed)
            except Exception:  # noqa: BLE001 - a failing callback must not stop the polling
                log.exception("input %s callback failed", self.name)
        return True

    def _report(self, health: tuple[bool, str | None] | None) -> None:
        if health is None:
            return
        ok, problem = health
        log.log(logging.INFO if ok else logging.WARNING, "input %s %s%s", self.name, "answers" if ok else "lost",
                f": {problem}" if problem else "")
        if self._on_state is not None:
            try:
                self._on_state(self.name, ok, problem)
            except Exception:  # noqa: BLE001
                log.exception("input %s state callback failed", self.name)

    def _run(self) -> None:
        every = self.cfg.poll_ms / 1000
        delay = RECONNECT_MIN_S
        while not self._stop.is_set():
            if self.poll_once():
                delay = RECONNECT_MIN_S
                self._stop.wait(every)
            else:
                self._stop.wait(max(delay, every))
                delay = min(delay * 2, RECONNECT_MAX_S)

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        bus, self._bus = self._bus, None
        if bus is not None:
            leave_bus(self.cfg.port, bus)

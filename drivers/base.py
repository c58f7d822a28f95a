"""The driver interfaces and the thread and reconnect logic every device shares.

A reader runs in its own thread and hands each card presentation to a sink; a device
that fails is closed, reported as lost through the sink, and reopened with backoff, so a
USB reader pulled and plugged back in needs nobody. A relay pulse never blocks the
caller: the "off" is a timer, and a second pulse while open extends the opening.
"""

from __future__ import annotations

import logging
import threading
import time
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Callable, Protocol

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 0.2
RECONNECT_MAX_S = 5.0


class DeviceLost(Exception):
    """The device is gone or not answering; the driver will close and reopen it."""


@dataclass(frozen=True)
class CardRead:
    reader: str  # the reader's name in the agent, e.g. "north-in/0"
    uid: str  # canonical (protocols.uid)
    monotonic: float  # time.monotonic() when read, for debounce and latency


@dataclass(frozen=True)
class CodeRead:
    """A scanned code (a 2D scanner's text line) rather than a card's UID.

    ``text`` is None when the line itself was refused (too long, not printable, cut short):
    ``problem`` then says why, and the agent reports the scan as unreadable.
    """

    reader: str
    text: str | None
    monotonic: float
    problem: str | None = None


class ReaderSink(Protocol):
    def card_read(self, read: CardRead) -> None: ...

    def code_read(self, read: CodeRead) -> None: ...

    def device_state(self, device: str, ok: bool, problem: str | None) -> None: ...


class CardReader(ABC):
    """Subclasses open the device, poll it for UIDs and close it; this class does the rest."""

    #: the same UID again within this many seconds is the same presentation (readers repeat
    #: while a card is held); 0 turns it off for readers that report presentations themselves.
    repeat_window_s: float = 1.5

    def __init__(self, name: str, sink: ReaderSink) -> None:
        self.name = name
        self.sink = sink
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last: tuple[str, float] | None = None
        self.ok = False

    @abstractmethod
    def _open(self) -> None:
        """Open the device; raise DeviceLost (or OSError) if it is not there."""

    @abstractmethod
    def _poll(self) -> list[str]:
        """Wait up to about 0.2 s for card reads; return canonical UIDs; raise DeviceLost."""

    @abstractmethod
    def _close(self) -> None: ...

    def indicate(self, granted: bool) -> None:
        """Show the decision on the reader (LED, buzzer) where the reader can; most cannot."""

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=f"reader:{self.name}", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 2.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _set_ok(self, ok: bool, problem: str | None = None) -> None:
        if ok != self.ok or not ok:
            if ok != self.ok:
                log.log(logging.INFO if ok else logging.WARNING, "reader %s %s%s", self.name,
                        "ready" if ok else "lost", f": {problem}" if problem else "")
            self.ok = ok
            self.sink.device_state(self.name, ok, problem)

    def _run(self) -> None:
        delay = RECONNECT_MIN_S
        reported_problem: str | None = None
        while not self._stop.is_set():
            try:
                self._open()
            except Exception as exc:  # noqa: BLE001 - any failure to open is "device missing"
                problem = f"cannot open: {exc}"
                if problem != reported_problem or self.ok:
                    self._set_ok(False, problem)
                    reported_problem = problem
                self._stop.wait(delay)
                delay = min(delay * 2, RECONNECT_MAX_S)
                continue
            reported_problem = None
            self._set_ok(True)
            try:
                while not self._stop.is_set():
                    uids = self._poll()
                    delay = RECONNECT_MIN_S  # a device that polls well has recovered
                    for uid in uids:
                        self._deliver(uid)
            except Exception as exc:  # noqa: BLE001 - the device failed mid-read
                self._set_ok(False, f"lost: {exc}")
                reported_problem = f"lost: {exc}"
            finally:
                try:
                    self._close()
                except Exception:  # noqa: BLE001
                    log.debug("close of %s failed", self.name, exc_info=True)
            # a device that opens and then fails at once must not spin the loop
            self._stop.wait(delay)
            delay = min(delay * 2, RECONNECT_MAX_S)

    def _deliver(self, uid: str) -> None:
        now = time.monotonic()
        if self._last and self._last[0] == uid and now - self._last[1] < self.repeat_window_s:
            self._last = (uid, now)  # still held on the reader
            return
        self._last = (uid, now)
        self.sink.card_read(CardRead(self.name, uid, now))


class Relay(ABC):
    """One door's lock output. ``pulse`` opens for ``ms`` and returns at once.

    Subclasses only drive an output (``_set``: True energises it). Whether energised means
    open is decided here and only here: a fail-secure lock (strike, bolt) opens when
    energised; a fail-safe lock (maglock) holds while energised and opens when released,
    so for it the sense is inverted. ``start`` drives the locked state, so a fail-safe door
    is held shut from the moment the agent starts, not from the end of its first pulse.
    """

    def __init__(self, name: str, on_state: Callable[[str, bool, str | None], None] | None = None,
                 *, fail_safe: bool = False) -> None:
        self.name = name
        self._on_state = on_state
        self.fail_safe = fail_safe
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self.ok = True
        self.is_open = False
        self._pulses = 0
        self._closed = False

    @abstractmethod
    def _set(self, on: bool) -> None:
        """Energise (True) or release the output; raise DeviceLost/OSError if the device is gone."""

    def _release(self) -> None:
        """Let go of the device (close a port); called once by ``close``."""

    def start(self) -> bool:
        """Drive the locked state; False if the device could not be driven (the door is degraded)."""
        with self._lock:
            self._closed = False
            return self._drive(False)

    def close(self) -> None:
        """Cancel a pending close, leave the door locked, let go of the device."""
        with self._lock:
            if self._timer:
                self._timer.cancel()
                self._timer = None
            self._closed = True
            self._drive(False)
        try:
            self._release()
        except Exception:  # noqa: BLE001 - closing is best effort
            log.debug("release of relay %s failed", self.name, exc_info=True)

    def pulse(self, ms: int) -> bool:
        """Open for ``ms``; False if the device could not be driven (the door is degraded)."""
        with self._lock:
            if self._closed:
                log.warning("relay %s pulsed after close; ignored", self.name)
                return False
            if self._timer:
                self._timer.cancel()
            ok = self._drive(True)
            self._pulses += 1
            self._timer = threading.Timer(ms / 1000.0, self._off, args=(self._pulses,))
            self._timer.daemon = True
            self._timer.start()
            return ok

    def _off(self, pulse: int) -> None:
        with self._lock:
            # a timer that fired while a later pulse or close held the lock is stale
            if pulse != self._pulses or self._closed:
                return
            self._timer = None
            self._drive(False)

    def _drive(self, open_: bool) -> bool:
        try:
            self._set(open_ != self.fail_safe)
        except Exception as exc:  # noqa: BLE001 - report, keep the agent running
            log.warning("relay %s failed: %s", self.name, exc)
            self._report(False, str(exc))
            return False
        self.is_open = open_
        self._report(True, None)
        return True

    def _report(self, ok: bool, problem: str | None) -> None:
        changed = ok != self.ok
        self.ok = ok
        if changed and self._on_state:
            self._on_state(self.name, ok, problem)


class SerialCardReader(CardReader):
    """A reader on a serial port that sends a byte stream; subclasses turn bytes into UIDs.

    A read error on an open port means the device went away (USB pulled, cable cut): it
    becomes DeviceLost, and the base class reports it and reopens. pyserial is imported
    here, not at module level, so agents without serial devices do not need it.
    """

    #: how long one poll waits for the first byte
    poll_s = 0.2

    def __init__(self, name: str, sink: ReaderSink, port: str, baudrate: int = 9600) -> None:
        super().__init__(name, sink)
        self.port = port
        self.baudrate = baudrate
        self._serial = None

    @abstractmethod
    def _reset_decoder(self) -> None:
        """Forget any partial frame: the stream starts afresh on each open."""

    @abstractmethod
    def _decode(self, chunk: bytes) -> list[str]:
        """UIDs of the good frames completed by ``chunk``; never raises on bad input."""

    def _open(self) -> None:
        import serial

        self._reset_decoder()
        # exclusive: a second process on the same port would silently take half the bytes
        self._serial = serial.Serial(self.port, self.baudrate, bytesize=8, parity="N", stopbits=1,
                                     timeout=self.poll_s, exclusive=True)

    def _poll(self) -> list[str]:
        import serial

        if self._serial is None:
            raise DeviceLost("port not open")
        try:
            chunk = self._serial.read(1)
            if chunk:
                waiting = self._serial.in_waiting
                if waiting:
                    chunk += self._serial.read(waiting)
        except (serial.SerialException, OSError) as exc:
            raise DeviceLost(str(exc)) from exc
        return self._decode(chunk) if chunk else []

    def _close(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            ser.close()

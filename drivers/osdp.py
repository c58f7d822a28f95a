"""OSDP readers (RS-485) through libosdp's Control Panel, on a serial port opened with pyserial.

The secure channel is on whenever the reader's SCBK is configured, and then required
(libosdp's EnforceSecure): a reader, or something pretending to be one, with another key
never comes online, and the gate reports it as down with a problem text that says so,
rather than taking card reads in clear. Without an SCBK the reader is in install mode, for
commissioning only: libosdp's Control Panel has no key then, so the line runs in clear.

Card reads arrive as OSDP events: Wiegand-format bits are checked and decoded by
protocols.wiegand, so a card gives the same UID over OSDP as over a Wiegand converter;
raw bits of an unspecified format become the UID of those bits. The reader's LED and
buzzer show each decision (``indicate``).
"""

from __future__ import annotations

import logging
import threading
import time

import osdp
import serial

from drivers.base import CardReader, DeviceLost, ReaderSink
from drivers.config import OsdpReader as OsdpReaderConfig
from protocols.uid import InvalidUid, uid_from_bits
from protocols.cardformats import uid_of_reading
from protocols.wiegand import uid_from_wiegand

log = logging.getLogger(__name__)

#: how long a reader has to come online (secure channel included) after the port opens;
#: about 0.5 s on a quiet line, generous for a busy 2-core Pi
ONLINE_TIMEOUT_S = 8.0
POLL_S = 0.2
#: libosdp polls an online reader about every 100 ms but takes some 8 s to give up on one
#: that stopped answering; a gate should know sooner that its reader is dead
SILENCE_S = 2.5

#: LED and buzzer counts are in units of 100 ms (OSDP osdp_LED / osdp_BUZ)
GRANT_LED = {"on_color": osdp.CommandLEDColor.Green, "off_color": osdp.CommandLEDColor.Black,
             "on_count": 20, "off_count": 0, "timer_count": 20}
DENY_LED = {"on_color": osdp.CommandLEDColor.Red, "off_color": osdp.CommandLEDColor.Black,
            "on_count": 2, "off_count": 2, "timer_count": 20}
GRANT_BEEP = {"on_count": 1, "off_count": 0, "rep_count": 1}
DENY_BEEP = {"on_count": 2, "off_count": 1, "rep_count": 3}
_LED_TEMPORARY_SET = 2  # temporary state as given, then back to the permanent one when the timer ends
_BUZZER_DEFAULT_TONE = 2


class NoUid(Exception):
    """A card read event that carries no usable UID; logged, never a card read."""


def card_data_bits(data: bytes, bit_count: int) -> int:
    """The card data as an integer: OSDP packs the bits first bit first, left-justified in bytes."""
    if bit_count <= 0 or len(data) != (bit_count + 7) // 8:
        raise NoUid(f"{len(data)} data bytes cannot carry {bit_count} bits")
    return int.from_bytes(data, "big") >> (len(data) * 8 - bit_count)


def uid_from_card_read(event: dict) -> str:
    """The UID of a libosdp card read event: Wiegand format via protocols.wiegand, raw as its bits."""
    fmt = event.get("format")
    data = bytes(event.get("data") or b"")
    length = int(event.get("length") or 0)
    if fmt == osdp.CardFormat.Wiegand:
        try:
            if length in (35, 37):  # Corporate 1000, H10304
                return uid_of_reading(card_data_bits(data, length), length)
            return uid_from_wiegand(card_data_bits(data, length), length)
        except ValueError as exc:  # protocols.wiegand's errors are ValueErrors
            raise NoUid(f"Wiegand card data refused: {exc}") from exc
    if fmt == osdp.CardFormat.Unspecified:
        try:
            return uid_from_bits(card_data_bits(data, length), length)
        except InvalidUid as exc:
            raise NoUid(f"raw card data refused: {exc}") from exc
    raise NoUid(f"card data format {fmt} is not supported (Wiegand or raw bits only)")


def indication_commands(granted: bool, reader_no: int = 0) -> list[dict]:
    """The osdp_LED and osdp_BUZ commands that show a decision: steady green and one beep,
    or flashing red and three beeps. libosdp wants every key of each command present."""
    led = {"command": osdp.Command.LED, "reader": reader_no, "led_number": 0, "temporary": True,
           "control_code": _LED_TEMPORARY_SET, **(GRANT_LED if granted else DENY_LED)}
    beep = {"command": osdp.Command.Buzzer, "reader": reader_no, "control_code": _BUZZER_DEFAULT_TONE,
            **(GRANT_BEEP if granted else DENY_BEEP)}
    return [led, beep]


class SerialChannel(osdp.Channel):
    """libosdp's byte pipe over a pyserial port.

    libosdp calls these from its own C loop, where an exception has nowhere to go: one that
    escaped (pyserial raises termios.error on a vanished pty, not only SerialException)
    left libosdp 3.2.9's binding deadlocked on its event queue. So nothing escapes; a
    failing port is remembered in ``error`` for the reader thread to act on.
    """

    def __init__(self, port: serial.Serial) -> None:
        super().__init__()
        self.port = port
        self.received = 0  # bytes from the line at all: tells "no answer" from "wrong key"
        self.last_rx = time.monotonic()
        self.error: str | None = None

    def read(self, max_bytes: int) -> bytes:
        if self.error:
            return b""
        try:
            data = self.port.read(max_bytes)
        except Exception as exc:  # noqa: BLE001 - pyserial also raises termios.error; nothing may escape into libosdp
            self.error = self.error or str(exc)
            return b""
        if data:
            self.received += len(data)
            self.last_rx = time.monotonic()
        return data

    def write(self, buf: bytes) -> int:
        if self.error:
            return 0
        try:
            written = self.port.write(buf) or 0
        except Exception as exc:  # noqa: BLE001 - pyserial also raises termios.error; nothing may escape into libosdp
            self.error = self.error or str(exc)
            return 0
        if written < len(buf):
            self.error = self.error or f"write failed: {written} of {len(buf)} bytes sent"
        return written

    def flush(self) -> None:
        try:
            self.port.flush()
        except Exception as exc:  # noqa: BLE001 - pyserial also raises termios.error; nothing may escape into libosdp
            self.error = self.error or str(exc)


class OsdpReader(CardReader):
    """One OSDP reader (one PD address) on a serial port, as one gate reader."""

    # repeat_window_s stays the base default: most OSDP readers send one card read per
    # presentation, but some repeat while a card is held, and a tap must count once

    def __init__(self, cfg: OsdpReaderConfig, name: str, sink: ReaderSink) -> None:
        super().__init__(name, sink)
        self.cfg = cfg
        self._scbk = bytes.fromhex(cfg.scbk) if cfg.scbk else None
        self._lock = threading.Lock()  # guards _cp against indicate() racing a close
        self._cp: osdp.ControlPanel | None = None
        self._port: serial.Serial | None = None
        self._channel: SerialChannel | None = None

    @property
    def where(self) -> str:
        return f"OSDP reader at address {self.cfg.address} on {self.cfg.port}"

    @property
    def secure(self) -> bool:
        """True while the secure channel is up."""
        with self._lock:
            return self._cp is not None and self._cp.is_sc_active(self.cfg.address)

    # -- CardReader ---------------------------------------------------------------------

    def _open(self) -> None:
        port = serial.Serial(self.cfg.port, self.cfg.baudrate, timeout=0)
        channel = SerialChannel(port)
        if self._scbk is None:
            log.warning("reader %s: no scbk configured: install mode, card data in clear on the line "
                        "(libosdp has no secure channel without a key); configure scbk", self.name)
            flags = [osdp.LibFlag.InstallMode, osdp.LibFlag.EnableNotification]
        else:
            flags = [osdp.LibFlag.EnforceSecure, osdp.LibFlag.EnableNotification]
        info = osdp.PDInfo(self.cfg.address, channel, scbk=self._scbk, name=self.name, flags=flags)
        cp = osdp.ControlPanel([info], log_level=osdp.LogLevel.Warning)
        cp.start()
        try:
            self._wait_online(cp, channel)
        except BaseException:
            _teardown(cp)
            port.close()
            raise
        with self._lock:
            self._cp, self._port, self._channel = cp, port, channel

    def _poll(self) -> list[str]:
        cp, channel = self._cp, self._channel
        if cp is None or channel is None:
            raise DeviceLost("not open")
        event = None if channel.error else cp.get_event(self.cfg.address, timeout=POLL_S)
        if channel.error:
            raise DeviceLost(f"serial port {self.cfg.port} failed: {channel.error}")
        if event is None:
            silent = time.monotonic() - channel.last_rx
            if silent > SILENCE_S:
                raise DeviceLost(f"{self.where} went offline (silent for {silent:.1f} s)")
            if not cp.is_online(self.cfg.address):
                raise DeviceLost(f"{self.where} went offline")
            return []
        return self._on_event(event)

    def _close(self) -> None:
        with self._lock:
            cp, port = self._cp, self._port
            self._cp = self._port = self._channel = None
        if cp is not None:
            _teardown(cp)
        if port is not None:
            port.close()

    def indicate(self, granted: bool) -> None:
        """Show the decision on the reader's LED and buzzer; a reader that is down shows nothing."""
        with self._lock:
            cp = self._cp
            if cp is None:
                log.info("reader %s is down: decision not shown on it", self.name)
                return
            for command in indication_commands(granted):
                if not cp.submit_command(self.cfg.address, command):
                    log.warning("reader %s: %s refused the indication command", self.name, self.where)

    # -- inside ----------------------------------------------------------------------------

    def _wait_online(self, cp: osdp.ControlPanel, channel: SerialChannel) -> None:
        """Return once the reader is online (secure channel up where a key is set), else DeviceLost saying why."""
        deadline = time.monotonic() + ONLINE_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._stop.is_set():
                raise DeviceLost("stopping")
            if channel.error:
                raise DeviceLost(f"serial port {self.cfg.port} failed: {channel.error}")
            if cp.is_online(self.cfg.address):
                return
            event = cp.get_event(self.cfg.address, timeout=0.1)
            if event and event.get("event") == osdp.Event.Notification:
                if event.get("type") == osdp.EventNotification.SecureChannelStatus and not event.get("arg0"):
                    raise DeviceLost(
                        f"{self.where} refused the secure channel: its key does not match the configured scbk"
                        if self._scbk is not None
                        else f"{self.where} refused the install-mode secure channel: it already has its own key; "
                        "configure scbk"
                    )
        if cp.is_online(self.cfg.address):
            return
        if channel.received == 0:
            raise DeviceLost(f"no answer from the {self.where} within {ONLINE_TIMEOUT_S:g} s "
                             f"(check wiring, address and baudrate {self.cfg.baudrate})")
        raise DeviceLost(f"{self.where} answers but did not come online within {ONLINE_TIMEOUT_S:g} s")

    def _on_event(self, event: dict) -> list[str]:
        kind = event.get("event")
        if kind == osdp.Event.CardRead:
            try:
                return [uid_from_card_read(event)]
            except NoUid as exc:
                log.warning("reader %s: card read, no UID: %s", self.name, exc)
                return []
        if kind == osdp.Event.Notification:
            if event.get("type") == osdp.EventNotification.PeripheralDeviceStatus and not event.get("arg0"):
                raise DeviceLost(f"{self.where} went offline")
            return []
        log.debug("reader %s: event %s ignored", self.name, kind)
        return []


def _teardown(cp: osdp.ControlPanel) -> None:
    try:
        cp.teardown()
    except Exception:  # noqa: BLE001 - a CP whose thread already stopped
        log.debug("libosdp teardown failed", exc_info=True)

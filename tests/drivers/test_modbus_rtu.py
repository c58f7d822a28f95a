"""The Modbus RTU relay against a real pty, answered by the test like a real board."""

from __future__ import annotations

import os
import select
import threading

from drivers.config import ModbusRtuRelay as Cfg
from drivers.modbus_rtu import ModbusRtuRelay
from drivers.registry import build_relay
from tests.rigs.wait import wait_for


def crc16_modbus(data: bytes) -> bytes:
    """CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF), low byte first as sent on the wire."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return bytes([crc & 0xFF, crc >> 8])


def write_coil_frame(unit: int, coil: int, on: bool) -> bytes:
    pdu = bytes([unit, 0x05, coil >> 8, coil & 0xFF, 0xFF if on else 0x00, 0x00])
    return pdu + crc16_modbus(pdu)


def test_crc_helper_against_published_values():
    assert crc16_modbus(b"123456789") == bytes.fromhex("374B")  # check value 0x4B37
    assert write_coil_frame(1, 0, True) == bytes.fromhex("01050000FF008C3A")


class Board:
    """Reads 8-byte requests from the pty master and echoes them, as a relay board does."""

    def __init__(self, master: int, answer: bool = True, refuse: bool = False) -> None:
        self.master = master
        self.answer = answer
        self.refuse = refuse  # answer with exception 02 (illegal data address), as for a coil it lacks
        self.frames: list[bytes] = []
        self._stop = threading.Event()
        self._buf = b""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                self._buf += os.read(self.master, 256)
            except OSError:
                return
            while len(self._buf) >= 8:
                frame, self._buf = self._buf[:8], self._buf[8:]
                self.frames.append(frame)
                if self.answer and self.refuse:
                    reply = bytes([frame[0], 0x85, 0x02])
                    os.write(self.master, reply + crc16_modbus(reply))
                elif self.answer:
                    os.write(self.master, frame)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


def test_frames_byte_for_byte_and_the_board_answers(pty_device, state_log):
    dev = pty_device()
    board = Board(dev.master)
    relay = build_relay(Cfg(kind="modbus-rtu", port=dev.path, unit=3, channel=2), "west-in", state_log)
    try:
        assert relay.ok
        assert relay.pulse(150) is True
        wait_for(lambda: len(board.frames) >= 3, what="the off request after the pulse")
        assert board.frames == [
            write_coil_frame(3, 1, False),  # locked at start
            write_coil_frame(3, 1, True),
            write_coil_frame(3, 1, False),
        ]
        assert board.frames[1] == bytes.fromhex("03050001FF00") + crc16_modbus(bytes.fromhex("03050001FF00"))
        assert relay.ok and state_log.calls == []
    finally:
        relay.close()
        board.stop()


def test_fail_safe_inverts(pty_device):
    dev = pty_device()
    board = Board(dev.master)
    relay = build_relay(Cfg(kind="modbus-rtu", port=dev.path, unit=1, channel=1, fail_safe=True), "maglock", None)
    try:
        assert relay.pulse(100)
        wait_for(lambda: len(board.frames) >= 3, what="three requests")
        assert board.frames[:3] == [write_coil_frame(1, 0, True), write_coil_frame(1, 0, False),
                                    write_coil_frame(1, 0, True)]
    finally:
        relay.close()
        board.stop()


def test_a_board_that_does_not_answer_is_not_ok(pty_device, state_log):
    dev = pty_device()
    board = Board(dev.master, answer=False)
    relay = ModbusRtuRelay(Cfg(kind="modbus-rtu", port=dev.path, unit=5, channel=1), "gate", state_log,
                           timeout_s=0.2, retries=0)
    try:
        assert relay.start() is False
        assert not relay.ok
        assert state_log.calls and state_log.calls[-1][:2] == ("gate", False)
        assert board.frames[:1] == [write_coil_frame(5, 0, False)]  # it did ask
        board.answer = True  # the board is powered again
        assert relay.pulse(100) is True
        assert relay.ok and state_log.calls[-1] == ("gate", True, None)
    finally:
        relay.close()
        board.stop()


def test_two_doors_share_one_bus(pty_device):
    dev = pty_device()
    board = Board(dev.master)
    gate = build_relay(Cfg(kind="modbus-rtu", port=dev.path, unit=1, channel=1), "gate", None)
    side = build_relay(Cfg(kind="modbus-rtu", port=dev.path, unit=1, channel=2), "side", None)
    try:
        assert gate.ok and side.ok  # the second did not fail on pymodbus's exclusive open
        assert side.pulse(5_000)
        assert gate.pulse(5_000)
        assert board.frames == [write_coil_frame(1, 0, False), write_coil_frame(1, 1, False),
                                write_coil_frame(1, 1, True), write_coil_frame(1, 0, True)]
    finally:
        gate.close()
        side.close()
        board.stop()
    assert board.frames[-2:] == [write_coil_frame(1, 0, False), write_coil_frame(1, 1, False)]


def test_a_board_that_refuses_the_coil_is_not_ok(pty_device, state_log):
    dev = pty_device()
    board = Board(dev.master, refuse=True)
    relay = build_relay(Cfg(kind="modbus-rtu", port=dev.path, unit=2, channel=9), "gate", state_log)
    try:
        assert not relay.ok
        assert state_log.calls[-1][:2] == ("gate", False) and "refused coil 9" in state_log.calls[-1][2]
        assert board.frames == [write_coil_frame(2, 8, False)]
    finally:
        relay.close()
        board.stop()


def test_a_missing_port_is_not_ok(tmp_path, state_log):
    relay = ModbusRtuRelay(Cfg(kind="modbus-rtu", port=str(tmp_path / "none")), "gate", state_log, timeout_s=0.2)
    assert relay.pulse(100) is False
    assert state_log.calls[-1][:2] == ("gate", False)
    relay.close()

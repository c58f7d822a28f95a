"""LCUS-1 style USB serial relay board (CH340 + a 4-byte command per switch).

The board answers nothing, so a write that pyserial accepts is all the confirmation
there is; a port that fails is closed and reopened on the next drive, so a board
unplugged and plugged back in recovers without a restart. Boards latch: whatever was
last written holds until the next frame, which is why Relay.close drives the lock shut.
The port is not opened exclusively: two doors may share a 2- or 4-channel board, each
writing its own whole 4-byte frames.
"""

from __future__ import annotations

import threading

import serial

from drivers.base import DeviceLost, Relay
from drivers.config import LcusSerialRelay as LcusSerialConfig
from protocols.lcus import relay_frame


class LcusSerialRelay(Relay):
    def __init__(self, cfg: LcusSerialConfig, name: str, on_state=None) -> None:
        super().__init__(name, on_state, fail_safe=cfg.fail_safe)
        self.cfg = cfg
        self._serial: serial.Serial | None = None
        self._port_lock = threading.Lock()

    def _set(self, on: bool) -> None:
        frame = relay_frame(self.cfg.channel, on)
        with self._port_lock:
            try:
                if self._serial is None:
                    self._serial = serial.Serial(self.cfg.port, self.cfg.baudrate, timeout=0.5,
                                                 write_timeout=1.0)
                self._serial.write(frame)
                self._serial.flush()
            except (serial.SerialException, OSError) as exc:
                self._drop()
                raise DeviceLost(f"{self.cfg.port}: {exc}") from exc

    def _drop(self) -> None:
        ser, self._serial = self._serial, None
        if ser is not None:
            try:
                ser.close()
            except (serial.SerialException, OSError):
                pass

    def _release(self) -> None:
        with self._port_lock:
            self._drop()

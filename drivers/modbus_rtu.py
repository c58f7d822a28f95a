"""Modbus RTU relay board (RS-485), driven with pymodbus: function 0x05, write single coil.

Coil address is ``channel - 1``; FF00 energises, 0000 releases; the board echoes the
request, and pymodbus checks the echo, so a board that does not answer (power, wiring,
wrong unit id or baud rate) is a failed drive and the door is reported degraded. The
timeout is short because a drive runs on the door's path: a dead board must not hold a
pulse for the library's default of several seconds per retry.

pymodbus opens its port exclusively, and one RS-485 bus (or one multi-channel board)
often serves several doors, so relays on the same port share one client and take turns;
so do door contacts and exit buttons read from the same bus (drivers.modbus_inputs).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from pymodbus.client import ModbusSerialClient
from pymodbus.exceptions import ModbusException

from drivers.base import DeviceLost, Relay
from drivers.config import ModbusRtuInput
from drivers.config import ModbusRtuRelay as ModbusRtuConfig


@dataclass
class _Bus:
    client: ModbusSerialClient
    baudrate: int
    lock: threading.Lock = field(default_factory=threading.Lock)
    users: int = 0


_buses: dict[str, _Bus] = {}
_buses_lock = threading.Lock()


def _join(cfg: ModbusRtuConfig | ModbusRtuInput, timeout_s: float, retries: int) -> _Bus:
    with _buses_lock:
        bus = _buses.get(cfg.port)
        if bus is None:
            client = ModbusSerialClient(cfg.port, baudrate=cfg.baudrate, bytesize=8, parity="N", stopbits=1,
                                        timeout=timeout_s, retries=retries, name=f"modbus:{cfg.port}")
            bus = _buses[cfg.port] = _Bus(client, cfg.baudrate)
        elif bus.baudrate != cfg.baudrate:
            raise ValueError(f"Modbus port {cfg.port} is configured at both {bus.baudrate} and {cfg.baudrate} baud")
        bus.users += 1
        return bus


def _leave(port: str, bus: _Bus) -> None:
    with _buses_lock:
        bus.users -= 1
        if bus.users <= 0 and _buses.get(port) is bus:
            del _buses[port]
            with bus.lock:
                bus.client.close()


class ModbusRtuRelay(Relay):
    def __init__(self, cfg: ModbusRtuConfig, name: str, on_state=None, *, timeout_s: float = 0.5,
                 retries: int = 1) -> None:
        super().__init__(name, on_state, fail_safe=cfg.fail_safe)
        self.cfg = cfg
        self._bus: _Bus | None = _join(cfg, timeout_s, retries)

    def _set(self, on: bool) -> None:
        bus = self._bus
        if bus is None:
            raise DeviceLost("relay closed")
        with bus.lock:
            if not bus.client.connect():
                raise DeviceLost(f"cannot open {self.cfg.port}")
            try:
                reply = bus.client.write_coil(self.cfg.channel - 1, on, device_id=self.cfg.unit)
            except ModbusException as exc:
                raise DeviceLost(f"unit {self.cfg.unit} on {self.cfg.port}: {exc}") from exc
            if reply.isError():
                raise DeviceLost(f"unit {self.cfg.unit} refused coil {self.cfg.channel}: {reply}")

    def _release(self) -> None:
        bus, self._bus = self._bus, None
        if bus is not None:
            _leave(self.cfg.port, bus)


#: for drivers.modbus_inputs: an input on a relay's port joins the relay's client and lock
join_bus = _join
leave_bus = _leave

"""Door contacts and exit buttons, turned into agent calls; and what a remote open became.

An input is a GPIO pin (drivers.gpio) or a discrete input of a Modbus RTU I/O board
(drivers.modbus_inputs). Each driver library is imported only when a door has such an
input, so a gate with neither runs anywhere. An input that cannot be opened (not a Pi, pin
busy, no such serial port) degrades the door instead of stopping the agent: card reading
and opening still work without a contact. A Modbus input reports itself lost and back
through ``on_state``, as readers and relays do.

OpenResults is the pure bookkeeping behind the OPEN_RESULT event: after a remote open at a
door with a contact, did the contact open before the authorised window closed?
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from drivers.config import GpioInput, InputConfig, ModbusRtuInput

log = logging.getLogger(__name__)

#: a Modbus input's door shows this until the board first answers (or says why not)
NOT_READY = "not ready yet"


class DoorInputs:
    def __init__(self, pin_factory: Any = None,
                 on_state: Callable[[str, bool, str | None], None] | None = None) -> None:
        """``on_state(name, ok, problem)``: a polled input's device lost or back (the agent's device_state)."""
        self._watchers: list[Any] = []
        self._pin_factory = pin_factory
        self._on_state = on_state

    def add(self, name: str, cfg: InputConfig, on_change: Callable[[bool], None]) -> str | None:
        """Watch one input; ``on_change(active)`` on every change. Returns a problem text or None.

        A Modbus input's first poll is still to come: its problem is NOT_READY until the
        watcher reports, through ``on_state``, that the board answered.
        """
        if isinstance(cfg, ModbusRtuInput):
            return self._add_modbus(name, cfg, on_change)
        return self._add_gpio(name, cfg, on_change)

    def _add_gpio(self, name: str, cfg: GpioInput, on_change: Callable[[bool], None]) -> str | None:
        try:
            from drivers.gpio import GpioInputWatcher

            watcher = GpioInputWatcher(name, cfg, lambda _n, active: on_change(active), pin_factory=self._pin_factory)
        except Exception as exc:  # noqa: BLE001 - any failure: no pin, no gpiozero, not a Pi
            log.warning("input %s (GPIO %s) unavailable: %s", name, cfg.pin, exc)
            return f"gpio {cfg.pin}: {exc}"
        self._watchers.append(watcher)
        return None

    def _add_modbus(self, name: str, cfg: ModbusRtuInput, on_change: Callable[[bool], None]) -> str | None:
        where = f"modbus {cfg.port} unit {cfg.unit} input {cfg.input}"
        try:
            from drivers.modbus_inputs import ModbusInputWatcher

            watcher = ModbusInputWatcher(name, cfg, lambda _n, active: on_change(active), self._on_state)
        except Exception as exc:  # noqa: BLE001 - no pymodbus, a port at two baud rates
            log.warning("input %s (%s) unavailable: %s", name, where, exc)
            return f"{where}: {exc}"
        self._watchers.append(watcher)
        watcher.start()
        return NOT_READY if self._on_state is not None else None

    def close(self) -> None:
        for w in self._watchers:
            try:
                w.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._watchers.clear()


#: the name this module had while it knew only GPIO
GpioInputs = DoorInputs


@dataclass(frozen=True)
class Awaited:
    door_id: str
    nonce: str
    until: float  # monotonic: the end of the window this remote open authorised


@dataclass
class OpenResults:
    """Remote opens waiting for their door's contact: pure (times are the caller's monotonic).

    Each is settled once: ``opened`` when its door's contact opens within its window (every
    remote open waiting there is settled by that one opening), ``expired`` once its window
    has ended without it.
    """

    _waiting: list[Awaited] = field(default_factory=list)

    def expect(self, door_id: str, nonce: str, until: float) -> None:
        self._waiting.append(Awaited(door_id, nonce, until))

    def opened(self, door_id: str, at: float) -> list[Awaited]:
        """The remote opens the door's contact opening at ``at`` answers (opened: yes)."""
        hit = [a for a in self._waiting if a.door_id == door_id and at <= a.until]
        self._waiting = [a for a in self._waiting if a not in hit]
        return hit

    def expired(self, now: float) -> list[Awaited]:
        """The remote opens whose window ended before ``now`` with the door still shut (opened: no)."""
        gone = [a for a in self._waiting if now > a.until]
        self._waiting = [a for a in self._waiting if a not in gone]
        return gone

    @property
    def waiting(self) -> tuple[Awaited, ...]:
        return tuple(self._waiting)

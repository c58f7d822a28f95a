"""Relay output and door inputs (door contact, exit button) on the gate computer's GPIO.

gpiozero does the pin work, so the same code runs on lgpio on a Raspberry Pi and on
gpiozero's MockFactory in tests. The relay pin is claimed on first drive, not at
construction, so an agent on a machine without GPIO starts and reports the door
degraded rather than failing to start.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

from drivers.base import DeviceLost, Relay
from drivers.config import GpioInput
from drivers.config import GpioRelay as GpioRelayConfig

log = logging.getLogger(__name__)


class GpioRelay(Relay):
    def __init__(self, cfg: GpioRelayConfig, name: str, on_state=None, *, pin_factory: Any = None) -> None:
        super().__init__(name, on_state, fail_safe=cfg.fail_safe)
        self.cfg = cfg
        self._factory = pin_factory
        self._device = None
        self._pin_lock = threading.Lock()

    def _set(self, on: bool) -> None:
        with self._pin_lock:
            try:
                if self._device is None:
                    from gpiozero import DigitalOutputDevice

                    # start at the locked level, so claiming the pin never opens the door
                    self._device = DigitalOutputDevice(self.cfg.pin, active_high=self.cfg.active_high,
                                                       initial_value=on, pin_factory=self._factory)
                if on:
                    self._device.on()
                else:
                    self._device.off()
            except Exception as exc:  # noqa: BLE001 - gpiozero raises its own families
                raise DeviceLost(f"GPIO{self.cfg.pin}: {exc}") from exc

    def _release(self) -> None:
        with self._pin_lock:
            if self._device is not None:
                self._device.close()
                self._device = None


class GpioInputWatcher:
    """Watches one input (door contact, exit button) and calls ``on_change(name, active)``.

    ``active`` is the input's meaning (door open, button pressed), from the configured
    ``active_low``: with the usual pull-up and a switch to ground, pressed reads low.
    Callbacks arrive on gpiozero's thread; keep them short.
    """

    def __init__(self, name: str, cfg: GpioInput, on_change: Callable[[str, bool], None], *,
                 bounce_s: float | None = 0.05, pin_factory: Any = None) -> None:
        from gpiozero import DigitalInputDevice

        self.name = name
        self.cfg = cfg
        self._on_change = on_change
        self._device = DigitalInputDevice(cfg.pin, pull_up=cfg.pull_up, bounce_time=bounce_s,
                                          pin_factory=pin_factory)
        self._last = self.active
        self._device.when_activated = self._changed
        self._device.when_deactivated = self._changed

    @property
    def active(self) -> bool:
        high = bool(self._device.pin.state)
        return not high if self.cfg.active_low else high

    def _changed(self, _device: Any = None) -> None:
        now = self.active
        if now == self._last:
            return
        self._last = now
        try:
            self._on_change(self.name, now)
        except Exception:  # noqa: BLE001 - a failing callback must not kill gpiozero's thread
            log.exception("input %s callback failed", self.name)

    def close(self) -> None:
        self._device.close()

"""Door contacts and exit buttons (drivers.gpio), turned into agent calls.

gpiozero is imported only when a door has one, so a gate with neither runs anywhere.
A pin that cannot be opened (not a Pi, pin busy) degrades the door instead of stopping
the agent: card reading and opening still work without a contact.
"""

from __future__ import annotations

import logging
from typing import Any, Callable

from drivers.config import GpioInput

log = logging.getLogger(__name__)


class GpioInputs:
    def __init__(self, pin_factory: Any = None) -> None:
        self._watchers: list[Any] = []
        self._pin_factory = pin_factory

    def add(self, name: str, cfg: GpioInput, on_change: Callable[[bool], None]) -> str | None:
        """Watch one input; ``on_change(active)`` on every change. Returns a problem text or None."""
        try:
            from drivers.gpio import GpioInputWatcher

            watcher = GpioInputWatcher(name, cfg, lambda _n, active: on_change(active), pin_factory=self._pin_factory)
        except Exception as exc:  # noqa: BLE001 - any failure: no pin, no gpiozero, not a Pi
            log.warning("input %s (GPIO %s) unavailable: %s", name, cfg.pin, exc)
            return f"gpio {cfg.pin}: {exc}"
        self._watchers.append(watcher)
        return None

    def close(self) -> None:
        for w in self._watchers:
            try:
                w.close()
            except Exception:  # noqa: BLE001 - closing is best effort
                pass
        self._watchers.clear()

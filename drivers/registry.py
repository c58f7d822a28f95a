"""Config table to driver: the one place that knows which module serves which ``kind``.

Each kind's module is imported only when a door uses it, so an agent with serial readers
never imports pyscard, libosdp or gpiozero; a kind whose library is missing is an error
that names the package to install. Relays come back already driven locked (``start``),
so a fail-safe lock is held shut before the first card is ever read.
"""

from __future__ import annotations

import importlib
from typing import Any, Callable

from drivers.base import CardReader, ReaderSink, Relay

#: kind -> (module, class, pip extra that brings its library)
READERS: dict[str, tuple[str, str, str]] = {
    "em4100-serial": ("drivers.em4100_serial", "Em4100SerialReader", "agent"),
    "wiegand-serial": ("drivers.wiegand_serial", "WiegandSerialReader", "agent"),
    "pcsc": ("drivers.pcsc", "PcscReader", "pcsc"),
    "osdp": ("drivers.osdp", "OsdpReader", "agent"),
    "qr-serial": ("drivers.qr_serial", "QrSerialReader", "agent"),
}
RELAYS: dict[str, tuple[str, str, str]] = {
    "lcus-serial": ("drivers.lcus_serial", "LcusSerialRelay", "agent"),
    "modbus-rtu": ("drivers.modbus_rtu", "ModbusRtuRelay", "agent"),
    "gpio": ("drivers.gpio", "GpioRelay", "agent"),
}


class DriverUnavailable(RuntimeError):
    """A configured device kind whose driver or library cannot be loaded here."""


def _driver_class(table: dict[str, tuple[str, str, str]], kind: str) -> type:
    if kind not in table:
        raise DriverUnavailable(f"no driver for device kind {kind!r}")
    module_name, class_name, extra = table[kind]
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        if exc.name == module_name:
            raise DriverUnavailable(f"device kind {kind!r}: driver module {module_name} is missing") from exc
        raise DriverUnavailable(
            f"device kind {kind!r} needs a library that is not installed ({exc}); "
            f"install it with: pip install 'gatehouse[{extra}]'"
        ) from exc
    return getattr(module, class_name)


def build_reader(cfg: Any, name: str, sink: ReaderSink) -> CardReader:
    """The reader for one ``[[doors.readers]]`` table (not started: call ``start()``)."""
    if cfg.kind == "sim":
        from drivers.sim import SimReader

        return SimReader(name, sink)
    return _driver_class(READERS, cfg.kind)(cfg, name, sink)


def build_relay(cfg: Any, name: str, on_state: Callable[[str, bool, str | None], None] | None) -> Relay:
    """The relay for one ``[doors.relay]`` table, already driven locked.

    A device that cannot be driven yet is still returned; it has reported itself not ok
    through ``on_state`` and is retried on each later drive.
    """
    if cfg.kind == "sim":
        from drivers.sim import SimRelay

        relay: Relay = SimRelay(name, on_state, fail_safe=cfg.fail_safe)
    else:
        relay = _driver_class(RELAYS, cfg.kind)(cfg, name, on_state)
    relay.start()
    return relay


def build_input(cfg: Any, name: str, on_change: Callable[[str, bool], None]) -> Any:
    """A watcher for a GPIO input (door contact, exit button); ``on_change(name, active)``."""
    try:
        from drivers.gpio import GpioInputWatcher
    except ImportError as exc:
        raise DriverUnavailable(f"GPIO inputs need gpiozero ({exc}); pip install 'gatehouse[agent]'") from exc
    return GpioInputWatcher(name, cfg, on_change)

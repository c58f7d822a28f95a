"""What devices this gate computer can see, for ``gate-agent probe`` at installation.

Installers write ports into the agent's config; /dev/ttyUSB numbers change with plug
order, so the stable /dev/serial/by-id names are listed beside them. PC/SC is optional
and pcscd is often not running: each part reports a problem in words instead of failing
the whole probe.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BY_ID = Path("/dev/serial/by-id")


def _stable_names() -> dict[str, list[str]]:
    names: dict[str, list[str]] = {}
    try:
        entries = list(BY_ID.iterdir())
    except OSError:
        return names
    for link in entries:
        try:
            names.setdefault(os.path.realpath(link), []).append(str(link))
        except OSError:
            continue
    return names


def serial_ports() -> dict[str, Any]:
    try:
        from serial.tools import list_ports
    except ImportError:
        return {"ports": [], "problem": "pyserial is not installed: pip install 'gatehouse[agent]'"}
    stable = _stable_names()
    ports = []
    for p in sorted(list_ports.comports(), key=lambda p: p.device):
        ports.append({
            "device": p.device,
            "stable_names": sorted(stable.get(os.path.realpath(p.device), [])),
            "description": p.description,
            "hwid": p.hwid,
            "vid": p.vid,
            "pid": p.pid,
            "serial_number": p.serial_number,
            "manufacturer": p.manufacturer,
            "product": p.product,
        })
    return {"ports": ports, "problem": None}


def pcsc_readers() -> dict[str, Any]:
    try:
        from smartcard.System import readers
    except ImportError:
        return {"readers": [], "problem": "pyscard is not installed: pip install 'gatehouse[pcsc]'"}
    try:
        names = [str(r) for r in readers()]
    except Exception as exc:  # noqa: BLE001 - pyscard's exceptions differ by version
        return {"readers": [], "problem": f"PC/SC service not reachable (is pcscd running?): {exc}"}
    return {"readers": names, "problem": None}


def gpio() -> dict[str, Any]:
    """Whether gpiozero finds a pin driver here, and the board it reports."""
    try:
        import warnings

        from gpiozero import Device
    except ImportError:
        return {"factory": None, "board": None, "problem": "gpiozero is not installed: pip install 'gatehouse[agent]'"}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # gpiozero warns once per driver it falls back from
            Device.ensure_pin_factory()
        factory = Device.pin_factory
        board = getattr(getattr(factory, "board_info", None), "model", None)
    except Exception as exc:  # noqa: BLE001 - gpiozero raises several families here
        return {"factory": None, "board": None, "problem": f"no GPIO on this machine: {exc}"}
    return {"factory": type(factory).__name__, "board": board, "problem": None}


def probe() -> dict[str, Any]:
    """{"serial": {"ports": [...], "problem"}, "pcsc": {"readers": [...], "problem"}, "gpio": {...}}."""
    return {"serial": serial_ports(), "pcsc": pcsc_readers(), "gpio": gpio()}

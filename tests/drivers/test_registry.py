"""Config tables to drivers, with device libraries imported only for the kinds used."""

from __future__ import annotations

import subprocess
import sys

import pytest
from pydantic import TypeAdapter, ValidationError

from drivers import registry
from drivers.config import ReaderConfig, RelayConfig
from drivers.em4100_serial import Em4100SerialReader
from drivers.lcus_serial import LcusSerialRelay
from drivers.sim import SimReader, SimRelay
from drivers.wiegand_serial import WiegandSerialReader

readers = TypeAdapter(ReaderConfig)
relays = TypeAdapter(RelayConfig)


def test_readers_by_kind(sink, tmp_path):
    r = registry.build_reader(readers.validate_python({"kind": "em4100-serial", "port": "/dev/null"}), "a", sink)
    assert isinstance(r, Em4100SerialReader) and r.name == "a" and r.port == "/dev/null"
    w = registry.build_reader(readers.validate_python({"kind": "wiegand-serial", "port": "/x", "formats": [26]}),
                              "b", sink)
    assert isinstance(w, WiegandSerialReader) and w.cfg.formats == (26,)
    assert isinstance(registry.build_reader(readers.validate_python({"kind": "sim"}), "c", sink), SimReader)


def test_relays_are_built_locked(pty_device):
    sim = registry.build_relay(relays.validate_python({"kind": "sim", "fail_safe": True}), "m", None)
    assert isinstance(sim, SimRelay) and sim.history == [True]
    dev = pty_device()
    lcus = registry.build_relay(relays.validate_python({"kind": "lcus-serial", "port": dev.path}), "l", None)
    assert isinstance(lcus, LcusSerialRelay)
    assert dev.read_exactly(4) == bytes.fromhex("A00100A1")
    lcus.close()


def test_a_missing_library_names_what_to_install(monkeypatch, sink, tmp_path):
    monkeypatch.setitem(registry.READERS, "em4100-serial", ("drivers.em4100_serial_probe_missing", "X", "agent"))
    with pytest.raises(registry.DriverUnavailable, match="driver module"):
        registry.build_reader(readers.validate_python({"kind": "em4100-serial", "port": "/x"}), "a", sink)
    # a driver module that is there but whose device library is not installed
    (tmp_path / "gatehouse_needs_missing_lib.py").write_text("import gatehouse_no_such_device_library\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setitem(registry.READERS, "em4100-serial", ("gatehouse_needs_missing_lib", "X", "pcsc"))
    with pytest.raises(registry.DriverUnavailable, match=r"pip install 'gatehouse\[pcsc\]'"):
        registry.build_reader(readers.validate_python({"kind": "em4100-serial", "port": "/x"}), "a", sink)


def test_unknown_keys_are_refused_by_the_config():
    with pytest.raises(ValidationError, match="prot"):
        readers.validate_python({"kind": "em4100-serial", "prot": "/dev/ttyUSB0"})


def test_serial_kinds_do_not_import_other_device_libraries():
    code = (
        "import sys\n"
        "from pydantic import TypeAdapter\n"
        "from drivers.config import ReaderConfig, RelayConfig\n"
        "from drivers.registry import build_reader, build_relay\n"
        "class S:\n"
        "    def card_read(self, r): pass\n"
        "    def device_state(self, *a): pass\n"
        "build_reader(TypeAdapter(ReaderConfig).validate_python({'kind': 'em4100-serial', 'port': '/x'}), 'a', S())\n"
        "build_relay(TypeAdapter(RelayConfig).validate_python({'kind': 'sim'}), 'r', None)\n"
        "print(sorted(m for m in ('smartcard', 'osdp', 'gpiozero', 'pymodbus') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=str(registry.__file__).rsplit("/drivers/", 1)[0])
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"

"""The install-time probe: always a report, never a crash."""

from __future__ import annotations

import json
import os

from drivers import probe


def test_probe_reports_both_parts_as_plain_data():
    result = probe.probe()
    json.dumps(result)  # the command prints it
    assert set(result) == {"serial", "pcsc", "gpio"}
    for part, key in (("serial", "ports"), ("pcsc", "readers")):
        assert isinstance(result[part][key], list)
    for part in ("serial", "pcsc", "gpio"):
        problem = result[part]["problem"]
        assert problem is None or (isinstance(problem, str) and problem)
    pcsc = result["pcsc"]
    # pcscd down (the usual case on a fresh gate computer) is a sentence, not an exception
    assert pcsc["readers"] or pcsc["problem"] is None or "pcscd" in pcsc["problem"] or "pyscard" in pcsc["problem"]


def test_stable_names_are_listed_beside_ports(monkeypatch, tmp_path, pty_device):
    dev = pty_device()
    (tmp_path / "usb-QinHeng_CH340-if00-port0").symlink_to(dev.path)
    monkeypatch.setattr(probe, "BY_ID", tmp_path)
    names = probe._stable_names()
    assert names == {os.path.realpath(dev.path): [str(tmp_path / "usb-QinHeng_CH340-if00-port0")]}


def test_no_by_id_directory_is_no_names(monkeypatch, tmp_path):
    monkeypatch.setattr(probe, "BY_ID", tmp_path / "absent")
    assert probe._stable_names() == {}


def test_gpio_names_its_pin_driver(monkeypatch):
    from gpiozero import Device
    from gpiozero.pins.mock import MockFactory

    monkeypatch.setattr(Device, "pin_factory", MockFactory())
    found = probe.gpio()
    assert (found["factory"], found["problem"]) == ("MockFactory", None)

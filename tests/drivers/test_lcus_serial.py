"""The LCUS-1 relay against a real pty: the exact bytes a board would receive."""

from __future__ import annotations

import time

from drivers.config import LcusSerialRelay as Cfg
from drivers.registry import build_relay
from tests.drivers.conftest import point

ON = bytes.fromhex("A00101A2")
OFF = bytes.fromhex("A00100A1")


def test_pulse_writes_on_then_off_after_the_pulse(pty_device, state_log):
    dev = pty_device()
    relay = build_relay(Cfg(kind="lcus-serial", port=dev.path, channel=1), "north-in", state_log)
    try:
        assert dev.read_exactly(4) == OFF  # driven locked at start
        started = time.monotonic()
        assert relay.pulse(200) is True
        assert dev.read_exactly(4) == ON
        assert dev.read_exactly(4, timeout=3) == OFF
        assert time.monotonic() - started >= 0.19
        assert dev.read_available(0.3) == b""  # exactly those frames, nothing else
        assert relay.ok and state_log.calls == []
    finally:
        relay.close()


def test_fail_safe_inverts(pty_device, state_log):
    dev = pty_device()
    relay = build_relay(Cfg(kind="lcus-serial", port=dev.path, channel=1, fail_safe=True), "maglock", state_log)
    try:
        assert dev.read_exactly(4) == ON  # a maglock is held by energising it
        assert relay.pulse(100)
        assert dev.read_exactly(4) == OFF  # released: the door opens
        assert dev.read_exactly(4) == ON
        assert dev.read_available(0.3) == b""
    finally:
        relay.close()
    assert dev.read_exactly(4) == ON  # closing leaves a maglock holding


def test_other_channel_and_a_second_pulse_extends_the_opening(pty_device):
    dev = pty_device()
    relay = build_relay(Cfg(kind="lcus-serial", port=dev.path, channel=2), "gate", None)
    try:
        assert dev.read_exactly(4) == bytes.fromhex("A00200A2")
        relay.pulse(400)
        relay.pulse(400)
        assert dev.read_exactly(8) == bytes.fromhex("A00201A3") * 2
        assert dev.read_exactly(4) == bytes.fromhex("A00200A2")
        assert dev.read_available(0.3) == b""  # one close for both pulses
    finally:
        relay.close()


def test_close_mid_pulse_locks_the_door(pty_device):
    dev = pty_device()
    relay = build_relay(Cfg(kind="lcus-serial", port=dev.path), "gate", None)
    assert dev.read_exactly(4) == OFF
    relay.pulse(10_000)
    assert dev.read_exactly(4) == ON
    relay.close()
    assert dev.read_exactly(4) == OFF
    assert dev.read_available(0.3) == b""


def test_a_missing_board_is_not_ok_and_recovers_when_plugged_in(pty_device, state_log, tmp_path):
    link = tmp_path / "usb-relay"
    relay = build_relay(Cfg(kind="lcus-serial", port=str(link)), "gate", state_log)
    try:
        assert not relay.ok
        assert state_log.calls[-1][:2] == ("gate", False)
        assert relay.pulse(100) is False
        dev = pty_device()
        point(link, dev.path)
        assert relay.pulse(100) is True
        assert relay.ok and state_log.calls[-1] == ("gate", True, None)
        assert dev.read_exactly(8) == ON + OFF
    finally:
        relay.close()

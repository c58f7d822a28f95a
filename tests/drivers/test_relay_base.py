"""The relay rules every driver shares: fail-safe inversion, locked at start, pulse timing."""

from __future__ import annotations

from drivers.base import DeviceLost, Relay
from drivers.sim import SimRelay
from tests.rigs.wait import wait_for


def test_fail_secure_energises_to_open():
    r = SimRelay("d")
    assert r.start()
    r.pulse(50)
    wait_for(lambda: len(r.history) == 3, what="the close after the pulse")
    assert r.history == [False, True, False]
    assert not r.is_open


def test_fail_safe_releases_to_open():
    r = SimRelay("d", fail_safe=True)
    assert r.start()
    assert r.history == [True]  # held shut from the start
    r.pulse(50)
    assert r.is_open and r.history == [True, False]
    wait_for(lambda: len(r.history) == 3, what="the hold after the pulse")
    assert r.history == [True, False, True]


def test_a_second_pulse_extends_and_close_locks():
    r = SimRelay("d")
    r.pulse(5_000)
    r.pulse(5_000)
    r.close()
    assert r.history == [True, True, False]
    assert not r.is_open


def test_a_stale_timer_does_not_cut_a_later_pulse_short():
    r = SimRelay("d")
    r.pulse(5_000)
    r.pulse(5_000)
    r._off(1)  # the first pulse's timer, fired while the second pulse held the lock
    assert r.is_open and r.history == [True, True]
    r.close()


def test_a_closed_relay_stays_locked():
    r = SimRelay("d")
    r.close()
    assert r.pulse(100) is False
    assert r.history == [False] and not r.is_open


def test_the_positional_constructor_still_works():
    calls = []
    r = SimRelay("d", lambda *a: calls.append(a))
    assert r.fail_safe is False and r.pulse(10)


class Flaky(Relay):
    def __init__(self, on_state) -> None:
        super().__init__("flaky", on_state)
        self.fail = True

    def _set(self, on: bool) -> None:
        if self.fail:
            raise DeviceLost("unplugged")


def test_failure_and_recovery_are_reported_once_each():
    calls = []
    r = Flaky(lambda *a: calls.append(a))
    assert r.start() is False
    assert r.pulse(10) is False
    r.fail = False
    assert r.pulse(10) is True
    assert calls == [("flaky", False, "unplugged"), ("flaky", True, None)]

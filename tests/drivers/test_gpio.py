"""GPIO relay and inputs on gpiozero's MockFactory (real gpiozero, simulated pins)."""

from __future__ import annotations

import pytest
from gpiozero.pins.mock import MockFactory

from drivers.config import GpioInput
from drivers.config import GpioRelay as Cfg
from drivers.gpio import GpioInputWatcher, GpioRelay
from tests.rigs.wait import wait_for


@pytest.fixture
def factory():
    f = MockFactory()
    yield f
    f.reset()


def test_relay_pulses_the_pin(factory, state_log):
    relay = GpioRelay(Cfg(kind="gpio", pin=17), "north-in", state_log, pin_factory=factory)
    pin = factory.pin(17)
    assert relay.start()
    assert not pin.state
    assert relay.pulse(150)
    assert pin.state  # energised: a fail-secure strike opens
    wait_for(lambda: not pin.state, what="the pin released after the pulse")
    assert not relay.is_open and relay.ok and state_log.calls == []
    relay.close()


def test_fail_safe_and_active_low(factory):
    relay = GpioRelay(Cfg(kind="gpio", pin=18, fail_safe=True, active_high=False), "maglock", pin_factory=factory)
    pin = factory.pin(18)
    relay.start()
    assert not pin.state  # active low: energised (maglock holding) is a low pin
    relay.pulse(100)
    assert pin.state  # released: the maglock lets go
    wait_for(lambda: not pin.state, what="the maglock held again")
    relay.close()


def test_a_fail_safe_pin_goes_straight_to_holding(factory):
    pin = factory.pin(22)
    relay = GpioRelay(Cfg(kind="gpio", pin=22, fail_safe=True), "maglock", pin_factory=factory)
    relay.start()
    relay.start()
    assert [bool(s.state) for s in pin.states[1:]] == [True]  # one change, to holding; never a low blip
    assert not relay.is_open
    relay.close()


def test_a_pin_that_cannot_be_claimed_is_not_ok(factory, state_log):
    factory.pin(23)
    from gpiozero import DigitalOutputDevice

    holder = DigitalOutputDevice(23, pin_factory=factory)  # someone else holds the pin
    relay = GpioRelay(Cfg(kind="gpio", pin=23), "gate", state_log, pin_factory=factory)
    assert relay.pulse(100) is False
    assert state_log.calls[-1][:2] == ("gate", False)
    holder.close()
    assert relay.pulse(100) is True
    relay.close()


def test_inputs_call_back_on_change(factory):
    calls = []
    contact = GpioInputWatcher("north-in/contact", GpioInput(pin=5), lambda n, a: calls.append((n, a)),
                               bounce_s=None, pin_factory=factory)
    pin = factory.pin(5)
    assert contact.active is False  # pulled up: open switch, inactive
    pin.drive_low()
    pin.drive_low()  # no change, no call
    pin.drive_high()
    assert calls == [("north-in/contact", True), ("north-in/contact", False)]
    contact.close()


def test_active_high_input_without_pull_up(factory):
    calls = []
    button = GpioInputWatcher("exit", GpioInput(pin=6, pull_up=False, active_low=False),
                              lambda n, a: calls.append(a), bounce_s=None, pin_factory=factory)
    pin = factory.pin(6)
    pin.drive_high()
    assert button.active is True
    pin.drive_low()
    assert calls == [True, False]
    button.close()


def test_a_failing_callback_does_not_stop_the_watcher(factory):
    calls = []

    def callback(name, active):
        calls.append(active)
        raise RuntimeError("agent bug")

    w = GpioInputWatcher("exit", GpioInput(pin=7), callback, bounce_s=None, pin_factory=factory)
    factory.pin(7).drive_low()
    factory.pin(7).drive_high()
    assert calls == [True, False]
    w.close()


def test_registry_builds_inputs_on_the_default_factory(factory):
    from gpiozero import Device

    from drivers.registry import build_input

    saved = Device.pin_factory
    Device.pin_factory = factory
    try:
        calls = []
        w = build_input(GpioInput(pin=12), "exit", lambda n, a: calls.append((n, a)))
        factory.pin(12).drive_low()
        wait_for(lambda: calls, what="the exit button callback")  # bounce handling may defer it
        assert calls[0] == ("exit", True)
        w.close()
    finally:
        Device.pin_factory = saved

"""Door contacts and exit buttons on a Modbus RTU I/O board, through a real agent.

Everything is real but the hardware: a mosquitto, the agent, an LCUS relay on one pty and a
Modbus RTU I/O board (tests.drivers.test_modbus_inputs.IoBoard) answering on another, whose
input 1 is the door contact and input 2 the exit button. Outcomes are read at the far ends:
events on the broker, frames on the relay's pty.
"""

from __future__ import annotations

import json

import pytest

from protocols.commands import sign_command
from protocols.lcus import relay_frame
from protocols.messages import GateStatus, parse, utcnow
from tests.agent.conftest import DOOR, GATE, SITE, agent_config, topic
from tests.drivers.test_modbus_inputs import IoBoard, read_inputs_frame
from tests.drivers.test_modbus_rtu import write_coil_frame
from tests.rigs.wait import wait_for

CONTACT, EXIT = 1, 2


class Rig:
    def __init__(self, agent, peer, board, relay_dev, key) -> None:
        self.agent, self.peer, self.board, self.relay_dev, self.key = agent, peer, board, relay_dev, key

    def event(self, kind: str, timeout: float = 5.0) -> dict:
        m = self.peer.next(topic("event"), timeout, where=lambda m: json.loads(m.payload)["kind"] == kind)
        return json.loads(m.payload)

    def status(self, where) -> GateStatus:
        m = self.peer.next(topic("status"), where=lambda m: where(parse(GateStatus, m.payload)))
        return parse(GateStatus, m.payload)

    def remote_open(self):
        cmd = sign_command(GATE, DOOR, "guard-7", self.key, utcnow(), site=SITE)
        self.peer.publish(topic("cmd"), cmd.to_bytes())
        return cmd


@pytest.fixture
def make_rig(tmp_path, broker, agent_factory, peer_factory, pty_device, gate_key):
    boards: list[IoBoard] = []

    def make(held_open_s: float = 30.0, modbus_relay: bool = False) -> Rig:
        io_dev = pty_device()
        relay_dev = io_dev if modbus_relay else pty_device()
        board = IoBoard(io_dev.master, unit=1)
        boards.append(board)
        inputs = {"kind": "modbus-rtu", "port": io_dev.path, "unit": 1, "poll_ms": 20}
        door = {
            "relay": ({"kind": "modbus-rtu", "port": io_dev.path, "unit": 1, "channel": 1, "pulse_ms": 200}
                      if modbus_relay else {"kind": "lcus-serial", "port": relay_dev.path, "channel": 1,
                                            "pulse_ms": 200}),
            "contact": inputs | {"input": CONTACT},
            "exit_button": inputs | {"input": EXIT},
            "held_open_s": held_open_s,
        }
        peer = peer_factory(broker, topic("event"), topic("status"))
        agent = agent_factory(agent_config(tmp_path / "gate", broker, gate_key=gate_key, door=door))
        rig = Rig(agent, peer, board, relay_dev, gate_key)
        # the door is ok once the board has answered for both inputs (until then: "not ready yet")
        rig.status(lambda st: st.doors.get(DOOR) is not None and st.doors[DOOR].state == "ok")
        assert agent.wait_online(5)
        if not modbus_relay:
            assert relay_dev.read_available(quiet=0.3) == relay_frame(1, False)  # driven locked at start
        return rig

    yield make
    for b in boards:
        b.stop()


def test_contact_opened_without_a_grant_is_forced_then_held_then_closed(make_rig):
    rig = make_rig(held_open_s=1.0)
    rig.board.set_input(CONTACT, True)  # someone opens the door: no card, no button, no guard
    forced = rig.event("door_forced")
    assert (forced["door_id"], forced["decision"]) == (DOOR, None)
    held = rig.event("door_held")  # still open past held_open_s
    assert held["door_id"] == DOOR
    rig.board.set_input(CONTACT, False)
    assert rig.event("door_closed")["door_id"] == DOOR
    assert rig.relay_dev.read_available(quiet=0.2) == b""  # nothing opened the lock
    assert rig.agent.counters["forced"] == 1 and rig.agent.counters["held"] == 1
    assert read_inputs_frame(1, CONTACT - 1) in rig.board.requests


def test_remote_open_pulses_and_the_contact_says_whether_the_door_opened(make_rig):
    rig = make_rig()
    cmd = rig.remote_open()
    assert rig.relay_dev.read_exactly(4) == relay_frame(1, True)
    ev = rig.event("remote_open")
    assert (ev["decision"], ev["reason"], ev["detail"]["by"]) == ("granted", "remote_open", "guard-7")
    assert ev["detail"]["nonce"] == cmd.nonce
    rig.board.set_input(CONTACT, True)  # the visitor pushes the door within the window
    result = rig.event("open_result")
    assert result["detail"] == {"nonce": cmd.nonce, "opened": "yes"}
    assert (result["decision"], result["reason"]) == (None, None)
    rig.board.set_and_wait_polled(CONTACT, False)  # shut again before the next open
    assert rig.relay_dev.read_exactly(4) == relay_frame(1, False)  # the pulse ended

    second = rig.remote_open()  # this time nobody goes through: the contact stays shut
    assert rig.relay_dev.read_exactly(4) == relay_frame(1, True)
    assert rig.event("remote_open")["detail"]["nonce"] == second.nonce
    assert rig.event("open_result", timeout=10)["detail"] == {"nonce": second.nonce, "opened": "no"}
    assert rig.agent.counters["forced"] == 0


def test_exit_button_on_the_same_board_opens(make_rig):
    rig = make_rig()
    rig.board.set_input(EXIT, True)
    assert rig.relay_dev.read_exactly(4) == relay_frame(1, True)
    ev = rig.event("exit_button")
    assert (ev["decision"], ev["reason"]) == ("granted", "exit_button")
    # each change held until the board has been polled for it: a polled input misses blips
    rig.board.set_and_wait_polled(EXIT, False)  # released: not a second press
    rig.board.set_and_wait_polled(CONTACT, True)  # going out within the grant: not forced
    rig.board.set_and_wait_polled(CONTACT, False)
    rig.board.set_input(EXIT, True)  # a second press: a marker that the changes before it were handled
    rig.event("exit_button")
    assert rig.agent.counters["forced"] == 0


def test_a_board_that_stops_answering_degrades_the_door(make_rig):
    rig = make_rig()
    rig.board.answer = False
    lost = rig.event("device")
    assert lost["detail"]["state"] == "lost" and lost["detail"]["device"] in (f"{DOOR}/contact", f"{DOOR}/exit_button")
    st = rig.status(lambda st: st.doors[DOOR].state == "degraded")
    assert any("/contact" in p or "/exit_button" in p for p in st.doors[DOOR].problems)
    rig.board.answer = True
    rig.status(lambda st: st.doors[DOOR].state == "ok")


def test_relay_coils_and_contact_share_one_bus_through_the_agent(make_rig):
    rig = make_rig(modbus_relay=True)
    cmd = rig.remote_open()
    wait_for(lambda: write_coil_frame(1, 0, True) in rig.board.requests, what="the coil energised on the board")
    assert rig.event("remote_open")["detail"]["nonce"] == cmd.nonce
    rig.board.set_input(CONTACT, True)
    assert rig.event("open_result")["detail"] == {"nonce": cmd.nonce, "opened": "yes"}
    assert rig.board.bad == []  # polls and coil writes never overlapped on the wire


AGENT_TOML = """
[agent]
gate_id = "north"
site = "demo"
data_dir = "var"
gate_key = "{key}"

[[doors]]
id = "north-in"
[doors.relay]
kind = "modbus-rtu"
port = "/dev/ttyUSB1"
channel = 1
{inputs}
"""


def _load(tmp_path, inputs: str):
    from gate_agent.config import load_config

    path = tmp_path / "agent.toml"
    path.write_text(AGENT_TOML.format(key="5a" * 32, inputs=inputs))
    return load_config(path).doors[0]


def test_config_forms_gpio_as_before_or_a_modbus_input(tmp_path):
    from drivers.config import GpioInput, ModbusRtuInput

    door = _load(tmp_path, "[doors.contact]\npin = 17\n[doors.exit_button]\nkind = \"gpio\"\npin = 27\nactive_low = false\n")
    assert door.contact == GpioInput(pin=17) and isinstance(door.exit_button, GpioInput)
    assert not door.exit_button.active_low
    door = _load(tmp_path, "[doors.contact]\nkind = \"modbus-rtu\"\nport = \"/dev/ttyUSB1\"\ninput = 3\n")
    assert door.contact == ModbusRtuInput(kind="modbus-rtu", port="/dev/ttyUSB1", baudrate=9600, unit=1, input=3,
                                          poll_ms=100, active_high=True)


def test_config_mistakes_name_the_key(tmp_path):
    from protocols.configfile import ConfigError

    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "[doors.contact]\nkind = \"modbus-rtu\"\nport = \"/dev/ttyUSB1\"\ninptu = 3\n")
    assert "'doors.0.contact.input'" in str(err.value) and "'doors.0.contact.inptu'" in str(err.value)
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "[doors.exit_button]\npin = 27\nport = \"/dev/ttyUSB1\"\n")  # a GPIO pin has no port
    # (protocols.configfile drops a union's tag from the path only where the table spells its kind)
    assert "unknown key 'doors.0.exit_button." in str(err.value) and str(err.value).endswith(".port'")
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, "[doors.contact]\nkind = \"modbus\"\nport = \"/dev/ttyUSB1\"\ninput = 1\n")
    assert "modbus" in str(err.value)

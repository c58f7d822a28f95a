"""Door inputs on a Modbus RTU I/O board, polled over a real pty answered like a real board.

IoBoard is the board: it reads requests from the pty master, checks their CRC, and answers
0x02 (read discrete inputs) from its input bits and 0x05 (write single coil) by echoing, as
the common RS-485 relay/input boards do. The agent's tests use it too.
"""

from __future__ import annotations

import os
import queue
import select
import threading

import pytest

from drivers.config import ModbusRtuInput as Cfg
from drivers.config import ModbusRtuRelay as RelayCfg
from drivers.modbus_inputs import InputTrack, ModbusInputWatcher
from drivers.registry import build_relay
from tests.drivers.test_modbus_rtu import crc16_modbus, write_coil_frame
from tests.rigs.wait import wait_for


def read_inputs_frame(unit: int, address: int, count: int = 1) -> bytes:
    pdu = bytes([unit, 0x02, address >> 8, address & 0xFF, count >> 8, count & 0xFF])
    return pdu + crc16_modbus(pdu)


class IoBoard:
    """A Modbus RTU I/O board at ``unit`` on the master end of a pty."""

    def __init__(self, master: int, unit: int = 1, inputs: int = 8) -> None:
        self.master = master
        self.unit = unit
        self.inputs = [False] * inputs
        self.answer = True
        self.requests: list[bytes] = []  # every well-formed request, in order
        self.bad: list[bytes] = []  # bytes dropped for a bad CRC (a garbled bus)
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._buf = b""
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def set_input(self, number: int, on: bool) -> None:
        """Drive input ``number`` (1-based, as printed on the board)."""
        with self._lock:
            self.inputs[number - 1] = on

    def set_and_wait_polled(self, number: int, on: bool, timeout: float = 5.0) -> None:
        """Drive input ``number`` and return once a poller has read it and gone on to ask again.

        A polled input cannot see a change shorter than its poll; a test flipping inputs in
        sequence waits this out. The third read after the change is sent only once the
        watcher has handled the answer to the second, which was asked after the change.
        """
        before = len(self.reads_of(address=number - 1))
        self.set_input(number, on)
        wait_for(lambda: len(self.reads_of(address=number - 1)) >= before + 3, timeout,
                 what=f"input {number} polled after the change")

    def reads_of(self, unit: int | None = None, address: int | None = None) -> list[bytes]:
        return [r for r in list(self.requests) if r[1] == 0x02 and (unit is None or r[0] == unit)
                and (address is None or int.from_bytes(r[2:4], "big") == address)]

    def _run(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if not ready:
                continue
            try:
                self._buf += os.read(self.master, 256)
            except OSError:
                return
            while len(self._buf) >= 8:
                frame = self._buf[:8]
                if crc16_modbus(frame[:6]) != frame[6:]:
                    self.bad.append(self._buf[:1])
                    self._buf = self._buf[1:]  # resynchronise a byte at a time
                    continue
                self._buf = self._buf[8:]
                self.requests.append(frame)
                if self.answer and frame[0] == self.unit:
                    os.write(self.master, self._reply(frame))

    def _reply(self, frame: bytes) -> bytes:
        fn = frame[1]
        if fn == 0x05:
            return frame
        if fn == 0x02:
            start, count = int.from_bytes(frame[2:4], "big"), int.from_bytes(frame[4:6], "big")
            with self._lock:
                bits = self.inputs[start:start + count] if start + count <= len(self.inputs) else None
            if bits is None or count == 0:
                pdu = bytes([frame[0], 0x82, 0x02])  # illegal data address: no such input
            else:
                data = bytearray((count + 7) // 8)
                for i, bit in enumerate(bits):
                    if bit:
                        data[i // 8] |= 1 << (i % 8)
                pdu = bytes([frame[0], 0x02, len(data)]) + bytes(data)
            return pdu + crc16_modbus(pdu)
        pdu = bytes([frame[0], fn | 0x80, 0x01])  # illegal function
        return pdu + crc16_modbus(pdu)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(2)


class Calls:
    """on_change and on_state callbacks, each awaitable."""

    def __init__(self) -> None:
        self.changes: queue.Queue[tuple[str, bool]] = queue.Queue()
        self.states: queue.Queue[tuple[str, bool, str | None]] = queue.Queue()

    def change(self, name: str, active: bool) -> None:
        self.changes.put((name, active))

    def state(self, name: str, ok: bool, problem: str | None) -> None:
        self.states.put((name, ok, problem))

    def next_change(self, timeout: float = 5.0) -> tuple[str, bool]:
        try:
            return self.changes.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no input change within {timeout} s") from None

    def next_state(self, timeout: float = 5.0) -> tuple[str, bool, str | None]:
        try:
            return self.states.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no device state report within {timeout} s") from None


@pytest.fixture
def calls() -> Calls:
    return Calls()


@pytest.fixture
def opened():
    """Watchers and boards a test makes, all closed afterwards (watchers first: they leave the bus)."""
    made: list = []
    yield made
    for thing in reversed(made):
        (thing.close if hasattr(thing, "close") else thing.stop)()


def _watch(opened, calls, cfg: Cfg, **kw) -> ModbusInputWatcher:
    w = ModbusInputWatcher("north-in/contact", cfg, calls.change, calls.state, **kw)
    opened.append(w)
    w.start()
    return w


def test_the_request_on_the_wire_is_a_read_discrete_inputs_frame():
    # 11 02 00C4 0016 is the Modbus spec's own example request (inputs 197-218 of unit 17)
    assert read_inputs_frame(17, 0xC4, 0x16)[:6] == bytes.fromhex("110200C40016")
    assert read_inputs_frame(1, 0) == bytes.fromhex("010200000001B9CA")


def test_track_reports_changes_after_a_silent_baseline():
    t = InputTrack(active_high=True)
    assert t.read(True) is None  # the first read sets what is normal
    assert t.read(True) is None
    assert t.read(False) is False
    assert t.read(True) is True
    inverted = InputTrack(active_high=False)
    assert inverted.read(True) is None and inverted.active is False  # input on: the door is shut
    assert inverted.read(False) is True
    assert t.health(True) == (True, None)  # the first answer is news
    assert t.health(True) is None
    assert t.health(False, "no answer") == (False, "no answer")
    assert t.health(False, "no answer again") is None


def test_flipping_the_input_calls_on_change(pty_device, calls, opened):
    dev = pty_device()
    board = IoBoard(dev.master, unit=4)
    opened.append(board)
    board.set_input(3, True)  # already on at start: the baseline, not a change
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=dev.path, unit=4, input=3, poll_ms=20))
    assert calls.next_state() == ("north-in/contact", True, None)
    board.set_input(3, False)
    assert calls.next_change() == ("north-in/contact", False)
    board.set_input(3, True)
    assert calls.next_change() == ("north-in/contact", True)
    board.set_input(2, False)  # another input of the board changes nothing here
    reads = len(board.reads_of(4))
    wait_for(lambda: len(board.reads_of(4)) > reads + 2, what="more polls")
    assert calls.changes.empty()
    assert set(board.reads_of()) == {read_inputs_frame(4, 2)}  # input 3 is address 2, one bit, unit 4
    assert board.bad == []


def test_active_low_contact_inverts(pty_device, calls, opened):
    dev = pty_device()
    board = IoBoard(dev.master)
    opened.append(board)
    board.set_input(1, True)  # a contact that holds the input on while the door is shut
    w = _watch(opened, calls, Cfg(kind="modbus-rtu", port=dev.path, input=1, poll_ms=20, active_high=False))
    calls.next_state()
    assert w.active is False
    board.set_input(1, False)  # the door opens
    assert calls.next_change() == ("north-in/contact", True)


def test_a_board_that_goes_quiet_is_lost_then_back_with_what_changed(pty_device, calls, opened):
    dev = pty_device()
    board = IoBoard(dev.master, unit=2)
    opened.append(board)
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=dev.path, unit=2, input=1, poll_ms=20),
           timeout_s=0.2, retries=0)
    assert calls.next_state() == ("north-in/contact", True, None)
    board.answer = False  # power cut to the board
    name, ok, problem = calls.next_state()
    assert (name, ok) == ("north-in/contact", False) and "unit 2" in problem
    board.set_input(1, True)  # the door opened meanwhile
    board.answer = True
    assert calls.next_state() == ("north-in/contact", True, None)
    assert calls.next_change() == ("north-in/contact", True)
    assert calls.states.empty()  # one report each way, not one per failed poll


def test_an_input_the_board_lacks_is_refused(pty_device, calls, opened):
    dev = pty_device()
    board = IoBoard(dev.master, inputs=4)
    opened.append(board)
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=dev.path, input=9, poll_ms=20))
    name, ok, problem = calls.next_state()
    assert not ok and "refused input 9" in problem


def test_a_missing_port_is_lost(tmp_path, calls, opened):
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=str(tmp_path / "none"), input=1), timeout_s=0.2)
    name, ok, problem = calls.next_state()
    assert not ok and "cannot open" in problem


def test_relay_and_contact_share_one_bus(pty_device, calls, opened):
    dev = pty_device()
    board = IoBoard(dev.master, unit=1)
    opened.append(board)
    relay = build_relay(RelayCfg(kind="modbus-rtu", port=dev.path, unit=1, channel=2), "north-in/relay", None)
    opened.append(relay)
    exit_calls = Calls()
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=dev.path, unit=1, input=1, poll_ms=20))
    exit_w = ModbusInputWatcher("north-in/exit_button", Cfg(kind="modbus-rtu", port=dev.path, unit=1, input=2,
                                                            poll_ms=20), exit_calls.change, exit_calls.state)
    opened.append(exit_w)
    exit_w.start()
    assert calls.next_state()[1] and exit_calls.next_state()[1]
    assert relay.ok  # it did not fail on pymodbus's exclusive open of the port
    for _ in range(5):  # drives interleaved with both inputs' polls
        assert relay.pulse(5_000)
    board.set_input(2, True)
    assert exit_calls.next_change() == ("north-in/exit_button", True)
    board.set_input(1, True)
    assert calls.next_change() == ("north-in/contact", True)
    coils = [r for r in board.requests if r[1] == 0x05]
    assert coils[0] == write_coil_frame(1, 1, False) and coils[1:] == [write_coil_frame(1, 1, True)] * 5
    assert {read_inputs_frame(1, 0), read_inputs_frame(1, 1)} <= set(board.reads_of(1))
    assert board.bad == []  # no two requests ever overlapped on the wire


def test_a_second_baud_rate_on_one_port_is_refused(pty_device, calls, opened):
    dev = pty_device()
    relay = build_relay(RelayCfg(kind="modbus-rtu", port=dev.path, baudrate=9600), "north-in/relay", None)
    opened.append(relay)
    with pytest.raises(ValueError, match="9600 and 19200"):
        ModbusInputWatcher("c", Cfg(kind="modbus-rtu", port=dev.path, baudrate=19200, input=1), calls.change)


# -- against pymodbus's own serial server: a slave written by others ------------------------

class PymodbusBoard:
    """pymodbus's ModbusSerialServer as unit ``unit``, on one end of a socat pty pair.

    Its discrete inputs are read from ``inputs`` on every request (the server's action hook),
    and every coil write it serves is recorded in ``coil_writes`` as (coil, on).
    """

    def __init__(self, tmp_path, unit: int = 3) -> None:
        import asyncio
        import subprocess

        from pymodbus.server import ModbusSerialServer
        from pymodbus.simulator import DataType, SimData, SimDevice

        self.inputs = [False] * 8
        self.coil_writes: list[tuple[int, bool]] = []
        self.path, board_end = str(tmp_path / "agent-end"), str(tmp_path / "board-end")
        self._socat = subprocess.Popen(["socat", f"pty,raw,echo=0,link={self.path}",
                                        f"pty,raw,echo=0,link={board_end}"], stderr=subprocess.DEVNULL)
        wait_for(lambda: os.path.exists(self.path) and os.path.exists(board_end), what="socat's two pty links")

        async def action(function_code, start_address, address, count, current_registers, set_values):
            if function_code == 0x02:  # bits are packed 16 to a register
                current_registers[0] = sum(1 << i for i, on in enumerate(self.inputs) if on)
            elif function_code == 0x05 and set_values is not None:
                self.coil_writes.append((address, bool(set_values[0])))
            return None

        bits = [SimData(0, count=8, values=False, datatype=DataType.BITS)]
        regs = [SimData(0, count=1, values=0, datatype=DataType.REGISTERS)]
        device = SimDevice(id=unit, simdata=(bits, list(bits), regs, list(regs)), action=action)
        made: queue.Queue = queue.Queue()

        async def serve() -> None:  # the server must be made on its own loop
            server = ModbusSerialServer(device, port=board_end, baudrate=9600)
            made.put(server)
            await server.serve_forever()

        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_until_complete, args=(serve(),), daemon=True)
        self._thread.start()
        try:
            self._server = made.get(timeout=5)
        except queue.Empty:
            self._socat.terminate()
            raise AssertionError("pymodbus's serial server did not start") from None

    def stop(self) -> None:
        import asyncio

        try:
            asyncio.run_coroutine_threadsafe(self._server.shutdown(), self._loop).result(5)
        finally:
            self._thread.join(5)
            self._socat.terminate()
            self._socat.wait(5)


def test_against_pymodbus_serial_server_sharing_the_bus_with_a_relay(tmp_path, calls, opened):
    import shutil

    if shutil.which("socat") is None:
        from tests.conftest import need

        need(False, "socat is not installed (apt-get install socat)")
    board = PymodbusBoard(tmp_path, unit=3)
    opened.append(board)
    relay = build_relay(RelayCfg(kind="modbus-rtu", port=board.path, unit=3, channel=4), "north-in/relay", None)
    opened.append(relay)
    # the server may still be opening its end: the watcher's first polls may go unanswered
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=board.path, unit=3, input=6, poll_ms=20))
    while True:
        name, ok, _ = calls.next_state()
        if ok:
            break
    board.inputs[5] = True  # input 6
    assert calls.next_change() == ("north-in/contact", True)
    assert relay.pulse(5_000)
    wait_for(lambda: (3, True) in board.coil_writes, what="coil 4 energised on the server")
    board.inputs[5] = False
    assert calls.next_change() == ("north-in/contact", False)


def test_an_adapter_unplugged_and_plugged_back_is_reopened(tmp_path, pty_device, calls, opened):
    from tests.drivers.conftest import point

    first, second = pty_device(), pty_device()
    link = tmp_path / "usb-rs485"  # as /dev/serial/by-id/... follows the adapter
    point(link, first.path)
    board = IoBoard(first.master)
    opened.append(board)
    _watch(opened, calls, Cfg(kind="modbus-rtu", port=str(link), input=1, poll_ms=20), timeout_s=0.2, retries=0)
    assert calls.next_state()[1] is True
    board.stop()
    first.close()  # the USB adapter is pulled: its tty is gone
    assert calls.next_state()[1] is False
    new_board = IoBoard(second.master)  # plugged back in, as another ttyUSB
    opened.append(new_board)
    new_board.set_input(1, True)
    point(link, second.path)
    assert calls.next_state() == ("north-in/contact", True, None)
    assert calls.next_change() == ("north-in/contact", True)
    assert new_board.reads_of()

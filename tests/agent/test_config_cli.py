"""Config loading and the gate-agent command line, as an installer meets them."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from gate_agent.config import load_config
from protocols.configfile import ConfigError
from protocols.messages import GateStatus, parse
from tests.agent.conftest import GATE, topic

ROOT = Path(__file__).resolve().parents[2]

GOOD = textwrap.dedent("""
    [agent]
    gate_id = "north"
    site = "demo"
    data_dir = "{data}"
    gate_key = "{key}"
    heartbeat_s = 1

    [mqtt]
    host = "127.0.0.1"
    port = {port}
    username = "north"
    password = "s3cret-pw"

    [[doors]]
    id = "north-in"
    held_open_s = 20
    anti_passback = "card"
    [doors.relay]
    kind = "sim"
    channel_typo_free = 1
    [[doors.readers]]
    kind = "sim"
    direction = "in"
    [doors.contact]
    pin = 17
    [doors.exit_button]
    pin = 27
""")


def _write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "agent.toml"
    p.write_text(text)
    return p


def _good(tmp_path: Path, port: int = 1883) -> str:
    return GOOD.format(data=tmp_path / "data", key="ab" * 32, port=port).replace("channel_typo_free = 1\n", "")


def _cli(*args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "gate_agent.cli", *args], capture_output=True, text=True,
                          cwd=ROOT, env=env, timeout=30)


def test_a_full_config_loads(tmp_path):
    cfg = load_config(_write(tmp_path, _good(tmp_path)))
    door = cfg.doors[0]
    assert (cfg.agent.gate_id, door.relay.kind, door.readers[0].kind, door.contact.pin) == ("north", "sim", "sim", 17)
    assert "s3cret" not in repr(cfg) and "abab" not in repr(cfg)


def test_the_design_example_loads_with_its_gate_key_and_names_the_key_without(tmp_path):
    text = textwrap.dedent(f"""
        [agent]
        gate_id = "north"
        site = "demo"
        data_dir = "{tmp_path}"
        gate_key = "{'cd' * 32}"
        [mqtt]
        host = "127.0.0.1"
        port = 1883
        [[doors]]
        id = "north-in"
        [doors.relay]
        kind = "lcus-serial"
        port = "/dev/ttyUSB1"
        channel = 1
        pulse_ms = 3000
        [[doors.readers]]
        kind = "em4100-serial"
        port = "/dev/ttyUSB0"
        baudrate = 9600
        direction = "in"
    """)
    cfg = load_config(_write(tmp_path, text))
    assert cfg.agent.role == "gate" and cfg.agent.gate_key.get_secret_value() == "cd" * 32
    assert cfg.doors[0].relay.channel == 1
    without = "\n".join(line for line in text.splitlines() if not line.startswith("gate_key"))
    with pytest.raises(ConfigError, match="missing key 'agent.gate_key'"):
        load_config(_write(tmp_path, without))


@pytest.mark.parametrize(
    "edit, key",
    [
        (lambda t: t.replace("channel_typo_free = 1\n", "chanel = 1\n"), ("unknown key 'doors.0.relay.", "chanel'")),
        (lambda t: t.replace('gate_id = "north"\n', ""), ("missing key 'agent.gate_id'",)),
        (lambda t: t.replace("[doors.relay]\nkind = \"sim\"\nchannel_typo_free = 1\n", ""), ("missing key 'doors.0.relay'",)),
        (lambda t: t.replace('gate_key = "' + "ab" * 32, 'gate_key = "xyz'), ("'agent.gate_key'",)),
        (lambda t: t.replace('heartbeat_s = 1', 'heartbeat = 1'), ("unknown key 'agent.heartbeat'",)),
        (lambda t: t.replace('direction = "in"', 'direction = "sideways"'), ("doors.0.readers.0.", "direction'")),
    ],
)
def test_bad_config_is_refused_naming_the_key(tmp_path, edit, key):
    # (pydantic puts the device kind into the path of a discriminated table: doors.0.relay.sim.chanel)
    text = edit(GOOD.format(data=tmp_path / "data", key="ab" * 32, port=1883))
    if "chanel" not in text:
        text = text.replace("channel_typo_free = 1\n", "")
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert all(k in str(err.value) for k in key), str(err.value)
    res = _cli("check-config", "--config", str(path))
    assert res.returncode != 0
    assert all(k in res.stderr for k in key), res.stderr
    assert "s3cret" not in res.stderr + res.stdout


def test_the_shipped_example_config_passes_check_config():
    res = _cli("check-config", "--config", str(ROOT / "config" / "agent.example.toml"))
    assert res.returncode == 0, res.stderr


def test_check_config_accepts_a_good_file(tmp_path):
    res = _cli("check-config", "--config", str(_write(tmp_path, _good(tmp_path))))
    assert res.returncode == 0, res.stderr
    assert "north" in res.stdout and "remote open on" in res.stdout


def test_missing_file_is_an_error(tmp_path):
    res = _cli("check-config", "--config", str(tmp_path / "nope.toml"))
    assert res.returncode != 0 and "no such config file" in res.stderr


def test_probe_reports_devices():
    res = _cli("probe")
    assert res.returncode == 0 and '"serial"' in res.stdout


def test_run_notifies_systemd_and_stops_cleanly_on_sigterm(tmp_path, broker, peer_factory):
    notify_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(notify_path)
    sock.settimeout(10)
    peer = peer_factory(broker, topic("status"))
    cfg = _write(tmp_path, _good(tmp_path, broker.port).replace('username = "north"\npassword = "s3cret-pw"\n', ""))
    env = dict(os.environ, NOTIFY_SOCKET=notify_path, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen([sys.executable, "-m", "gate_agent.cli", "run", "--config", str(cfg)], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        said = set()
        while not {"READY=1", "WATCHDOG=1"} <= said:
            said.update(sock.recv(256).decode().split("\n"))
        st = parse(GateStatus, peer.next(topic("status"), timeout=10,
                                         where=lambda m: parse(GateStatus, m.payload).online).payload)
        assert st.gate_id == GATE
        # no GPIO on this machine: the door says so instead of the agent dying
        assert st.doors["north-in"].state == "degraded"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        st = parse(GateStatus, peer.next(topic("status"), where=lambda m: not parse(GateStatus, m.payload).online).payload)
        assert not st.online
    finally:
        if proc.poll() is None:
            proc.kill()
        sock.close()
    _, err = proc.communicate()
    assert "s3cret" not in err and "abab" not in err

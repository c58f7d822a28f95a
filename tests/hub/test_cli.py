"""gate-hub on the command line: config errors, tokens, gate keys, serve."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import httpx

from hub.app import start_hub
from hub.cli import load_config
from protocols.commands import KEY_BYTES
from protocols.topics import hub_status_topic
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

ROOT = Path(__file__).resolve().parents[2]


def gate_hub(*args: str, timeout: float = 30) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "hub.cli", *args], capture_output=True, text=True, timeout=timeout,
                          env=env, cwd=ROOT)


def write_config(tmp_path, broker=None, extra: str = "", site: str = "cli") -> Path:
    mqtt = f'\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n' if broker else ""
    path = tmp_path / "hub.toml"
    path.write_text(
        f'[hub]\nsite = "{site}"\ndb_path = "{tmp_path / "var" / "hub.db"}"\nhttp_host = "127.0.0.1"\n'
        f"http_port = {free_port()}\n{extra}{mqtt}"
    )
    return path


def test_unknown_config_key_exits_non_zero_naming_it(tmp_path):
    path = write_config(tmp_path, extra="gate_stale = 3\n")
    for args in (["token", "create", "--role", "admin", "--name", "x"], ["serve"], ["gate", "add", "north"]):
        r = gate_hub(*args, "--config", str(path))
        assert r.returncode != 0
        assert "unknown key 'hub.gate_stale'" in r.stderr
        assert r.stdout == ""
    assert not (tmp_path / "var" / "hub.db").exists()


def test_missing_config_and_bad_role(tmp_path):
    r = gate_hub("token", "create", "--role", "admin", "--name", "x", "--config", str(tmp_path / "none.toml"))
    assert r.returncode != 0 and "no such config file" in r.stderr
    path = write_config(tmp_path)
    r = gate_hub("token", "create", "--role", "janitor", "--name", "x", "--config", str(path))
    assert r.returncode != 0 and "role must be one of" in r.stderr


def test_token_create_prints_the_token_last_and_it_works_on_a_running_hub(tmp_path, broker):
    path = write_config(tmp_path, broker)
    # no database yet, no hub running
    r = gate_hub("token", "create", "--role", "clerk", "--name", "ann", "--config", str(path))
    assert r.returncode == 0, r.stderr
    first = r.stdout.strip().splitlines()[-1]
    assert first.startswith("gh_") and (tmp_path / "var" / "hub.db").exists()
    with start_hub(load_config(str(path))) as hub:
        assert httpx.get(hub.url + "/api/v1/cards", headers={"Authorization": f"Bearer {first}"}).status_code == 200
        # and while it runs
        r = gate_hub("token", "create", "--role", "guard", "--name", "bob", "--gates", "north", "--config", str(path))
        assert r.returncode == 0, r.stderr
        second = r.stdout.strip().splitlines()[-1]
        h = {"Authorization": f"Bearer {second}"}
        assert httpx.get(hub.url + "/api/v1/events", headers=h).status_code == 200
        assert httpx.get(hub.url + "/api/v1/cards", headers=h).status_code == 403


def test_gate_add_prints_a_key_once(tmp_path):
    path = write_config(tmp_path)
    r = gate_hub("gate", "add", "north", "--config", str(path))
    assert r.returncode == 0, r.stderr
    key = r.stdout.strip().splitlines()[-1]
    assert len(bytes.fromhex(key)) == KEY_BYTES
    again = gate_hub("gate", "add", "north", "--config", str(path))
    assert again.returncode != 0 and "already has a key" in again.stderr and key not in again.stdout + again.stderr
    rotated = gate_hub("gate", "add", "north", "--rotate-key", "--config", str(path))
    assert rotated.returncode == 0 and rotated.stdout.strip().splitlines()[-1] != key
    bad = gate_hub("gate", "add", "no/slash", "--config", str(path))
    assert bad.returncode == 1 and "gate_id 'no/slash' must be" in bad.stderr and "Traceback" not in bad.stderr


def test_serve_runs_the_hub_notifies_systemd_and_says_goodbye(tmp_path, broker, peer):
    site = "cli" + uuid.uuid4().hex[:8]
    notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    notify.bind(str(tmp_path / "notify.sock"))
    notify.settimeout(60)
    path = write_config(tmp_path, broker, site=site)
    watcher = peer()
    watcher.subscribe(hub_status_topic(site))
    token = gate_hub("token", "create", "--role", "admin", "--name", "ops", "--config", str(path)).stdout.split()[-1]
    port = load_config(str(path)).hub.http_port
    # WatchdogSec=2 as systemd would pass it: a ping every second
    env = {**os.environ, "PYTHONPATH": str(ROOT), "NOTIFY_SOCKET": str(tmp_path / "notify.sock"),
           "WATCHDOG_USEC": "2000000"}
    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", str(path), "--log-level", "warning"],
                            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        def up():
            try:
                return httpx.get(f"http://127.0.0.1:{port}/api/v1/health/mqtt",
                                 headers={"Authorization": f"Bearer {token}"}).json()
            except httpx.TransportError:
                return None

        health = wait_for(lambda: (h := up()) and h["connected"] and h, timeout=60, what="gate-hub serve up")
        assert health["connected"] is True
        said = [notify.recv(64).decode() for _ in range(3)]
        assert said == ["READY=1", "WATCHDOG=1", "WATCHDOG=1"], said
    finally:
        notify.close()
        proc.terminate()
        out, _ = proc.communicate(timeout=10)
    # uvicorn re-raises SIGTERM after its graceful shutdown; systemd counts that as clean
    assert proc.returncode in (0, -15), out
    said = [json.loads(p) for _, p in _drain(watcher)]
    assert said[-1]["online"] is False and any(s["online"] for s in said)


def _drain(peer):
    got = []
    while True:
        try:
            got.append(peer.next(timeout=0.5))
        except AssertionError:
            return got

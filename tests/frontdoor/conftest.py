"""The front door's fixtures: a hub served for real (uvicorn, SQLite file), no broker needed,
and a raw HTTP client that records how much of a body the server let it send."""

from __future__ import annotations

import os
import select
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import httpx

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app, start_hub
from hub.auth import create_token
from hub.db import Store
from tests.conftest import ROOT
from tests.hub.conftest import make_config
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for


@pytest.fixture
def served(tmp_path):
    """A hub on a free port with no broker; ``served.token(role)`` makes tokens."""
    config = make_config(tmp_path)
    running = start_hub(config, connect_mqtt=False)
    running.config = config
    running.token = lambda role, name="t", gates=(): create_token(running.store, role, name, gates)
    yield running
    running.stop()


@pytest.fixture
def app_client(tmp_path):
    """The hub in-process (TestClient); ``.token(role)``, ``.store``."""
    config = make_config(tmp_path)
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        client.token = lambda role, name="t", gates=(): create_token(store, role, name, gates)
        client.store = store
        yield client
    store.close()


@dataclass
class RawAnswer:
    status: int
    head: str
    body: bytes
    sent: int  # body bytes the server took before it answered


def raw_post(url: str, path: str, headers: dict[str, str], body_size: int, *, chunked: bool = False,
             timeout: float = 20.0) -> RawAnswer:
    """POST a body of ``body_size`` bytes over a plain socket, sending only while the server
    takes it, and stop as soon as it answers: ``sent`` says how far it let the body get."""
    host, port = url.split("//", 1)[1].split(":")
    sock = socket.create_connection((host, int(port)))
    lines = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", *[f"{k}: {v}" for k, v in headers.items()]]
    lines.append("Transfer-Encoding: chunked" if chunked else f"Content-Length: {body_size}")
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    sock.setblocking(False)
    piece = b"{" + b" " * (64 * 1024 - 1)
    if chunked:
        piece = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
    sent, answer = 0, b""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in answer:
        assert time.monotonic() < deadline, f"no answer within {timeout} s after {sent} bytes"
        readable, writable, _ = select.select([sock], [sock] if sent < body_size else [], [], 1)
        if readable:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
        elif writable:
            try:
                sent += sock.send(piece)
            except BlockingIOError:
                pass
            except (BrokenPipeError, ConnectionResetError):
                break
    sock.setblocking(True)
    sock.settimeout(5)
    try:
        while b"\r\n\r\n" not in answer or len(answer.split(b"\r\n\r\n", 1)[1]) < _length(answer):
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    except (socket.timeout, ConnectionResetError):
        pass
    sock.close()
    head, _, body = answer.partition(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/") else 0
    return RawAnswer(status, head.decode("latin-1"), body, sent)


def _length(answer: bytes) -> int:
    for line in answer.split(b"\r\n\r\n", 1)[0].split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            return int(line.split(b":", 1)[1])
    return 0


@dataclass
class HubProcess:
    url: str
    db_path: Path
    log_path: Path
    proc: subprocess.Popen

    def token(self, role: str, name: str = "t") -> str:
        store = Store.open(self.db_path)
        try:
            return create_token(store, role, name)
        finally:
            store.close()

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")


@pytest.fixture
def hub_process(tmp_path, broker):
    """``gate-hub serve`` as an operator runs it (its own process, log level debug, output to a
    file): what it prints is what would reach a journal."""
    port = free_port()
    config = tmp_path / "hub.toml"
    db_path = tmp_path / "var" / "hub.db"
    config.write_text(f'[hub]\nsite = "fd{uuid.uuid4().hex[:6]}"\ndb_path = "{db_path}"\nhttp_host = "127.0.0.1"\n'
                      f'language = "en"\ntimezone = "UTC"\nhttp_port = {port}\n\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    log_path = tmp_path / "hub.log"
    with open(log_path, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--log-level",
                                 "debug"], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                env={**os.environ, "PYTHONPATH": str(ROOT)})
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        assert proc.poll() is None, f"gate-hub serve exited: {log_path.read_text()[-2000:]}"
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    wait_for(up, 20, "gate-hub serve to answer /healthz")
    yield HubProcess(url, db_path, log_path, proc)
    proc.terminate()
    proc.wait(10)

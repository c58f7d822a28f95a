"""A private mosquitto on a free loopback port, started and stopped as a plain process."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str:
    """Where the rig finds mosquitto; GATEHOUSE_MOSQUITTO overrides it, so a test can take the
    broker away and prove that CI then fails instead of skipping."""
    return os.environ.get("GATEHOUSE_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"


class Mosquitto:
    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "") -> None:
        self.binary = mosquitto_binary()
        if not os.path.exists(self.binary):
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.workdir = workdir
        self.extra_conf = extra_conf
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 5.0) -> "Mosquitto":
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        # as config/mosquitto.conf: no cap on what is queued for the hub's persistent session
        body = self.extra_conf or "allow_anonymous true\nmax_queued_messages 0\n"
        # as root, mosquitto drops to user "mosquitto", which cannot read pytest's private tmp
        who = "user root\n" if os.geteuid() == 0 else ""
        conf.write_text(f"listener {self.port} 127.0.0.1\npersistence false\n{who}{body}")
        self.log = open(self.workdir / f"mosquitto-{self.port}.log", "ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.log.name}")
            try:
                socket.create_connection((self.host, self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

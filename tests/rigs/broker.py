"""A private mosquitto on a free loopback port, started and stopped as a plain process."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

SHIPPED_CONF = Path(__file__).resolve().parents[2] / "config" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def mosquitto_binary() -> str:
    """Where the rig finds mosquitto; GATEHOUSE_MOSQUITTO overrides it, so a test can take the
    broker away and prove that CI then fails instead of skipping."""
    return os.environ.get("GATEHOUSE_MOSQUITTO") or shutil.which("mosquitto") or "/usr/sbin/mosquitto"


def shipped_conf(pki_dir: Path, plain_port: int, tls_port: int) -> str:
    """config/mosquitto.conf as shipped, with only what must differ here changed: the files
    in ``pki_dir`` (as ``gate-hub ca`` and ``gate add`` write them), free loopback ports,
    and no persistence. Each change must find its line, so a reshaped shipped file fails
    the rig instead of silently testing something else."""
    text = SHIPPED_CONF.read_text()
    swaps = [
        ("/etc/gatehouse/broker/", f"{pki_dir}/"),
        ("\nlistener 1883 127.0.0.1\n", f"\nlistener {plain_port} 127.0.0.1\n"),
        ("\nlistener 8883\n", f"\nlistener {tls_port} 127.0.0.1\n"),
        ("\npersistence true\n", "\npersistence false\n"),
    ]
    for old, new in swaps:
        if old not in text:
            raise RuntimeError(f"config/mosquitto.conf no longer has {old.strip()!r}; update tests/rigs/broker.py")
        text = text.replace(old, new)
    return text


class Mosquitto:
    """A broker on loopback: anonymous by default, ``extra_conf`` in place of that, or
    (``pki_dir``) config/mosquitto.conf itself, with its TLS listener on ``tls_port``."""

    def __init__(self, workdir: Path, port: int | None = None, extra_conf: str = "", pki_dir: Path | None = None) -> None:
        self.binary = mosquitto_binary()
        if not os.path.exists(self.binary):
            raise FileNotFoundError("mosquitto is not installed (apt-get install mosquitto)")
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self.workdir = workdir
        self.extra_conf = extra_conf
        self.pki_dir = pki_dir
        self.tls_port = free_port() if pki_dir is not None else None
        self.proc: subprocess.Popen | None = None

    def start(self, timeout: float = 5.0) -> "Mosquitto":
        conf = self.workdir / f"mosquitto-{self.port}.conf"
        # as config/mosquitto.conf: no cap on what is queued for the hub's persistent session
        body = self.extra_conf or "allow_anonymous true\nmax_queued_messages 0\n"
        # as root, mosquitto drops to user "mosquitto", which cannot read pytest's private tmp
        who = "user root\n" if os.geteuid() == 0 else ""
        if self.pki_dir is not None:
            # laid out as on Debian: its mosquitto.conf (persistence, then include_dir) with the
            # shipped file in conf.d, so an option both set is caught here as it would be there
            conf_d = self.workdir / f"conf.d-{self.port}"
            conf_d.mkdir(exist_ok=True)
            (conf_d / "gatehouse.conf").write_text(shipped_conf(self.pki_dir, self.port, self.tls_port))
            store = self.workdir / f"persist-{self.port}"
            store.mkdir(exist_ok=True)
            conf.write_text(f"persistence true\npersistence_location {store}/\n{who}include_dir {conf_d}\n")
        else:
            conf.write_text(f"listener {self.port} 127.0.0.1\npersistence false\n{who}{body}")
        self.log = open(self.workdir / f"mosquitto-{self.port}.log", "ab")
        self.proc = subprocess.Popen([self.binary, "-c", str(conf)], stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited with {self.proc.returncode}; see {self.log.name}")
            try:
                for port in (self.port, self.tls_port):
                    if port is not None:
                        socket.create_connection((self.host, port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"mosquitto did not listen on {self.port} within {timeout} s")

    def reload(self) -> None:
        """SIGHUP, as an operator after ``gate-hub gate add``/``retire``: mosquitto rereads its
        password, ACL and TLS files. Nothing says when it has; callers wait for the effect."""
        assert self.proc is not None and self.proc.poll() is None, "mosquitto is not running"
        self.proc.send_signal(signal.SIGHUP)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

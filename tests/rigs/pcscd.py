"""pcscd with the vpcd virtual readers, started as a plain process for a test session.

Only one pcscd can run on a machine (it owns /run/pcscd), so a session starts it once and
the restart test stops and starts that same one. Where it cannot run (not installed, no
vpcd driver, no permission for /run/pcscd), ``RigUnavailable`` says why and the fixture
skips, or fails in CI.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

VPCD_READER = "Virtual PCD"
VPCD_CONF = Path("/etc/reader.conf.d/vpcd")
RUN_DIR = Path("/run/pcscd")
# pcscd leaves these behind when killed; a new pcscd refuses to start while they exist
_LEFTOVERS = ("pcscd.comm", "pcscd.pid", "pcscd.pub")


class RigUnavailable(RuntimeError):
    """pcscd with vpcd cannot run on this machine; the message says what is missing."""


def pcscd_binary() -> str | None:
    return shutil.which("pcscd") or next((p for p in ("/usr/sbin/pcscd",) if os.path.exists(p)), None)


def list_readers() -> list[str] | None:
    """The PC/SC reader names, [] if none, None if pcscd does not answer."""
    from smartcard import scard

    hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
    if hr != scard.SCARD_S_SUCCESS:
        return None
    try:
        hr, names = scard.SCardListReaders(ctx, [])
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            return []
        return list(names) if hr == scard.SCARD_S_SUCCESS else None
    finally:
        scard.SCardReleaseContext(ctx)


class Pcscd:
    """One pcscd for the session; ``restart()`` for the test that survives a restart."""

    def __init__(self, workdir: Path) -> None:
        binary = pcscd_binary()
        if binary is None:
            raise RigUnavailable("pcscd is not installed (apt-get install pcscd)")
        if not VPCD_CONF.exists():
            raise RigUnavailable(
                f"the vpcd virtual reader is not installed ({VPCD_CONF} missing; apt-get install vsmartcard-vpcd)"
            )
        try:
            import smartcard.scard  # noqa: F401
        except ImportError as exc:
            raise RigUnavailable(f"pyscard is not importable: {exc}") from exc
        self.binary = binary
        self.workdir = workdir
        self.proc: subprocess.Popen | None = None
        self.log_path = workdir / "pcscd.log"

    @property
    def owned(self) -> bool:
        """False while a pcscd that this rig did not start is the one serving."""
        return self.proc is not None

    def start(self, timeout: float = 15.0) -> "Pcscd":
        if list_readers() is not None:
            # someone's pcscd already runs here; use it if it has the virtual readers
            if self._wait_for_vpcd(timeout):
                return self
            raise RigUnavailable("a pcscd not started by the tests is running without the vpcd readers")
        try:
            RUN_DIR.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RigUnavailable(f"cannot create {RUN_DIR}: {exc}") from exc
        log = open(self.log_path, "ab")
        # PCSCD_ARGS="-d -a" logs every APDU to pcscd.log, for debugging a card or the driver
        args = [self.binary, "--foreground", *os.environ.get("PCSCD_ARGS", "--info").split()]
        self.proc = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT)
        log.close()
        if not self._wait_for_vpcd(timeout):
            code = self.proc.poll()
            self.stop()
            tail = self.log_path.read_text(errors="replace")[-800:]
            state = f"exited with {code}" if code is not None else f"listed no '{VPCD_READER}' reader in {timeout} s"
            raise RigUnavailable(f"pcscd {state}; log tail:\n{tail}")
        return self

    def stop(self, kill: bool = False) -> None:
        """Stop the pcscd this rig started (SIGKILL with ``kill``: no clean shutdown)."""
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGKILL if kill else signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        for name in _LEFTOVERS:
            try:
                (RUN_DIR / name).unlink()
            except OSError:
                pass

    def restart(self, kill: bool = True, down_s: float = 0.0, timeout: float = 15.0) -> None:
        if not self.owned:
            raise RigUnavailable("pcscd was not started by the tests, so they will not restart it")
        self.stop(kill=kill)
        if down_s:
            time.sleep(down_s)
        self.start(timeout)

    def _wait_for_vpcd(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                return False
            names = list_readers()
            if names and any(VPCD_READER in n for n in names):
                return True
            time.sleep(0.1)
        return False

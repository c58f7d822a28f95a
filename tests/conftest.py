"""Shared fixtures: real parts, started once where they are expensive."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.rigs.broker import Mosquitto, mosquitto_binary  # noqa: E402
from tests.rigs.pcscd import Pcscd, RigUnavailable  # noqa: E402
from tests.rigs.serialpty import PtyDevice  # noqa: E402

IN_CI = os.environ.get("CI") == "true"


def need(condition: bool, reason: str) -> None:
    """Skip where a real part cannot run here; in CI its absence is a failure, not a skip."""
    if not condition:
        if IN_CI:
            pytest.fail(f"CI must provide this: {reason}")
        pytest.skip(reason)


def need_mosquitto() -> None:
    need(os.path.exists(mosquitto_binary()), f"mosquitto not installed (looked for {mosquitto_binary()})")


_ci_skips: list[str] = []


def pytest_runtest_logreport(report) -> None:
    """In CI a skip is a part that was not there: collected here, failed at the end."""
    if IN_CI and report.skipped:
        _ci_skips.append(report.nodeid)


def pytest_sessionfinish(session, exitstatus) -> None:
    if IN_CI and _ci_skips and session.exitstatus == 0:
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter) -> None:
    if IN_CI and _ci_skips:
        terminalreporter.write_line(f"CI=true: {len(_ci_skips)} skipped test(s) fail this run:", red=True)
        for nodeid in _ci_skips:
            terminalreporter.write_line(f"  {nodeid}")


@pytest.fixture(scope="session")
def broker(tmp_path_factory) -> Mosquitto:
    """One mosquitto for the session; tests that stop a broker use ``own_broker``."""
    need_mosquitto()
    b = Mosquitto(tmp_path_factory.mktemp("mosquitto")).start()
    yield b
    b.stop()


@pytest.fixture
def own_broker(tmp_path) -> Mosquitto:
    """A broker this test may stop and start again on the same port."""
    need_mosquitto()
    b = Mosquitto(tmp_path).start()
    yield b
    b.stop()


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory) -> Pcscd:
    """The one pcscd (with the vpcd readers) of the session: here, not in one area's conftest,
    so every area that taps cards shares it and the restart tests own the process."""
    try:
        daemon = Pcscd(tmp_path_factory.mktemp("pcscd")).start()
    except RigUnavailable as exc:
        need(False, f"pcscd with vpcd cannot run here: {exc}")
    yield daemon
    daemon.stop()


@pytest.fixture
def pty_device():
    """Make as many pty serial devices as a test needs; all closed afterwards."""
    made: list[PtyDevice] = []

    def make() -> PtyDevice:
        d = PtyDevice()
        made.append(d)
        return d

    yield make
    for d in made:
        d.close()


CHROMIUM = "/usr/bin/chromium"
#: as root, without a sandbox; no background traffic (this machine's network is closed)
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]


@pytest.fixture
def browser():
    """Debian's chromium driven by Playwright (no `playwright install`: it cannot download here)."""
    need(os.path.exists(CHROMIUM), "Debian chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()

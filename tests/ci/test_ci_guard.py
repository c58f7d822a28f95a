"""CI cannot go green with a real part missing: with CI=true a missing rig fails its tests
and any skip fails the run. Proved by running pytest on small test files in a subprocess,
with the project's conftest loaded as a plugin and the broker taken away."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT

USES_BROKER = """
def test_needs_broker(broker):
    assert broker.port
"""

SKIPS = """
import pytest

def test_skips():
    pytest.skip("a part that is not here")
"""


def _pytest(tmp_path: Path, body: str, ci: bool, **env: str) -> subprocess.CompletedProcess:
    test = tmp_path / "test_probe.py"
    test.write_text(body)
    environ = {k: v for k, v in os.environ.items() if k != "CI"}
    if ci:
        environ["CI"] = "true"
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "tests.conftest",
         "--rootdir", str(tmp_path), str(test)],
        cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120,
    )


def test_ci_without_mosquitto_fails(tmp_path):
    gone = str(tmp_path / "no-such-mosquitto")
    run = _pytest(tmp_path, USES_BROKER, ci=True, GATEHOUSE_MOSQUITTO=gone)
    assert run.returncode != 0, run.stdout
    assert "CI must provide this: mosquitto not installed" in run.stdout, run.stdout


def test_outside_ci_a_missing_broker_is_a_skip(tmp_path):
    run = _pytest(tmp_path, USES_BROKER, ci=False, GATEHOUSE_MOSQUITTO=str(tmp_path / "none"))
    assert run.returncode == 0, run.stdout
    assert "1 skipped" in run.stdout, run.stdout


def test_ci_fails_a_run_with_any_skip(tmp_path):
    run = _pytest(tmp_path, SKIPS, ci=True)
    assert run.returncode == 1, run.stdout
    assert "1 skipped test(s) fail this run" in run.stdout, run.stdout
    assert "test_skips" in run.stdout

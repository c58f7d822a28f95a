"""The README's demo command, as a newcomer runs it: residents tap, the guard's link shows them."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading

import httpx
import pytest

from tests.conftest import ROOT
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for


@pytest.fixture
def demo():
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--seconds", "60", "--seed", "7"],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT,
    )
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        banner = wait_for(lambda: "\n".join(lines) if any("Ctrl-C" in ln for ln in lines) else None, timeout=30,
                          what="the demo's banner")
        yield port, banner, lines
    finally:
        proc.terminate()
        proc.wait(10)


def test_demo_runs_gates_and_the_guards_link_shows_passes(demo, browser) -> None:
    port, banner, _ = demo
    admin = re.search(r"admin API token:\s+(\S+)", banner).group(1)
    guard_link = re.search(r"guard's live page:\s+(\S+)", banner).group(1)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {admin}"})

    gates = wait_for(lambda: (lambda g: g if len(g) == 3 and all(x["online"] for x in g) else None)(
        api.get("/api/v1/gates").json()), timeout=20, what="three demo gates online")
    assert sorted(g["gate_id"] for g in gates) == ["east", "north", "south"]
    passes = wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(api.get("/api/v1/events?limit=50").json()),
                      timeout=30, what="three passes from the simulated residents")
    assert {e["decision"] for e in passes} <= {"granted", "denied"}
    assert all(e["holder"] for e in passes if e["decision"] == "granted"), "granted passes name their holder"

    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(guard_link)  # the token rides in the fragment and signs the guard in
    page.wait_for_url(re.compile(r"/live$"), timeout=15000)
    assert "#token" not in page.url
    page.wait_for_selector("tbody tr", timeout=15000)
    if os.environ.get("GATEHOUSE_SHOTS"):
        page.wait_for_timeout(4000)
        page.screenshot(path=os.path.join(os.environ["GATEHOUSE_SHOTS"], "demo-live.png"))

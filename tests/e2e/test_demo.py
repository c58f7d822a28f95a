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


def test_demo_runs_gates_and_the_guard_signs_in_to_see_passes(demo, browser) -> None:
    port, banner, _ = demo
    admin = re.search(r"admin API token:\s+(\S+)", banner).group(1)
    password = re.search(r"guard\s+password (\S+)", banner).group(1)
    assert "#token=" not in banner, "no secret in a URL"
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {admin}"})

    gates = wait_for(lambda: (lambda g: g if len(g) == 4 and all(x["online"] for x in g) else None)(
        api.get("/api/v1/gates").json()), timeout=20, what="three demo gates and the desk reader online")
    assert sorted((g["gate_id"], g["role"]) for g in gates) == [
        ("desk", "enroll"), ("east", "gate"), ("north", "gate"), ("south", "gate")]
    passes = wait_for(lambda: (lambda e: e if len(e) >= 3 else None)(api.get("/api/v1/events?limit=50").json()),
                      timeout=30, what="three passes from the simulated residents")
    assert {e["decision"] for e in passes} <= {"granted", "denied"}
    assert all(e["holder"] for e in passes if e["decision"] == "granted"), "granted passes name their holder"

    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(f"http://127.0.0.1:{port}/login")
    assert page.get_attribute("html", "lang") == "zh-Hans", "the demo estate speaks Simplified Chinese"
    page.fill("#username", "guard")
    page.fill("#password", password)
    page.click("#account-submit")
    page.wait_for_url(re.compile(r"/live$"), timeout=15000)
    page.wait_for_selector("tbody tr", timeout=15000)
    if os.environ.get("GATEHOUSE_SHOTS"):
        page.wait_for_timeout(4000)
        page.screenshot(path=os.path.join(os.environ["GATEHOUSE_SHOTS"], "demo-live.png"))


def _banner_of(proc: subprocess.Popen, lines: list[str]) -> str:
    threading.Thread(target=lambda: lines.extend(iter(proc.stdout.readline, "")), daemon=True).start()
    return wait_for(lambda: "\n".join(lines) if any("Ctrl-C" in ln for ln in lines) else None, timeout=30,
                    what="the demo's banner")


def test_a_taken_port_says_so_and_names_the_option(tmp_path) -> None:
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run([sys.executable, "-m", "hub.cli", "demo", "--port", str(port), "--seconds", "5"],
                              capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert done.returncode == 2, done.stdout + done.stderr
    assert f"port {port} is already in use" in done.stderr
    assert f"--port {port + 1}" in done.stderr
    assert "Traceback" not in done.stderr + done.stdout


@pytest.mark.parametrize("sig", ["SIGTERM", "SIGHUP"])
def test_a_signal_stops_the_demo_and_removes_its_folder(sig: str) -> None:
    import signal

    proc = subprocess.Popen([sys.executable, "-m", "hub.cli", "demo", "--port", str(free_port()), "--seconds", "120"],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT)
    lines: list[str] = []
    try:
        banner = _banner_of(proc, lines)
        folder = re.search(r"data in (\S+)", banner).group(1)
        assert os.path.isdir(folder)
        proc.send_signal(getattr(signal, sig))
        assert proc.wait(30) == 0, "\n".join(lines)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert not os.path.exists(folder), f"{sig} left {folder} behind"
    assert "Traceback" not in "\n".join(lines)


def test_the_desk_reader_taps_a_blank_card_the_clerk_sees_in_shanghai_time(demo) -> None:
    from tests.e2e_contactless.sse import SseReader

    port, banner, _ = demo
    admin = re.search(r"admin API token:\s+(\S+)", banner).group(1)
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": f"Bearer {admin}"}
    stations = wait_for(lambda: [s["gate_id"] for s in httpx.get(f"{url}/api/v1/enroll/stations", headers=headers).json()
                                 if s["online"]] or None, timeout=20, what="the demo's desk station online")
    assert stations == ["desk"]
    taps = SseReader(url, "/api/v1/enroll/stations/desk/stream", headers)
    try:
        assert taps.status == 200
        tap = taps.next(timeout=40)
    finally:
        taps.close()
    assert tap["data"]["uid"].startswith("0DD")
    assert tap["data"]["standing"]["state"] == "unknown", tap  # a blank: the clerk may issue it
    calendar = httpx.get(f"{url}/api/v1/access/calendar", headers=headers)
    assert calendar.json()["timezone"] == "Asia/Shanghai", "the demo estate keeps Shanghai's day and hours"


def test_a_visitor_with_a_qr_pass_is_scanned_in_at_a_demo_gate(demo) -> None:
    port, banner, _ = demo
    admin = re.search(r"admin API token:\s+(\S+)", banner).group(1)
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {admin}"}, timeout=10)
    expected = wait_for(lambda: [v for v in api.get("/api/v1/visits", params={"state": "expected"}).json()
                                 if v["visitor_name"] == "Gao Yan"] or None, timeout=20,
                        what="the demo's pre-registered visitor")
    assert expected[0]["host_unit"] == "A-12-03" and expected[0]["passes"] == []
    visit = api.post("/api/v1/visits", json={"visitor_name": "Qian Bo", "host_unit": "B-03-02", "purpose": "delivery",
                                             "id_type": "resident_id", "id_number": "11010119900307451X"})
    assert visit.status_code == 201, visit.text
    vid = visit.json()["visit_id"]
    made = api.post(f"/api/v1/visits/{vid}/passes", json={"kind": "qr", "entries": 1})
    assert made.status_code == 201, made.text
    inside = wait_for(lambda: (v := api.get(f"/api/v1/visits/{vid}").json())["checked_in_at"] and v, timeout=40,
                      what="the simulated visitor scanning the pass in at a gate")
    assert inside["state"] == "inside"
    visits = [e for e in api.get("/api/v1/events", params={"limit": 200}).json() if e["kind"] == "visit"]
    assert any(e["decision"] == "granted" and e["visitor"]["name"] == "Qian Bo" for e in visits), visits

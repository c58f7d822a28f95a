"""An event stream opened with a session ends when the session does."""

from __future__ import annotations

import threading

import httpx

from hub import frontdoor
from hub.auth import COOKIE


def test_logging_out_ends_an_open_stream(served, monkeypatch):
    monkeypatch.setattr(frontdoor, "RECHECK_S", 0.0)  # check at every wake, not every 5 s
    browser = httpx.Client(base_url=served.url, timeout=10)
    assert browser.post("/login", data={"token": served.token("guard")}).status_code == 303
    sid = browser.cookies.get(COOKIE)
    ended, opened = threading.Event(), threading.Event()
    lines: list[str] = []

    def watch() -> None:
        with httpx.Client(base_url=served.url, timeout=30, headers={"Cookie": f"{COOKIE}={sid}"}) as c:
            with c.stream("GET", "/api/v1/events/stream") as r:
                assert r.status_code == 200
                for line in r.iter_lines():
                    lines.append(line)
                    opened.set()  # the stream listens to the bus before its first line
        ended.set()

    threading.Thread(target=watch, daemon=True).start()
    assert opened.wait(10), "the stream did not open"
    served.app.state.bus.notify()  # a wake with the session alive: the stream goes on
    assert not ended.wait(0.5)
    out = browser.post("/logout", headers={"Origin": served.url}, follow_redirects=False)
    assert out.status_code == 303
    served.app.state.bus.notify()  # the next wake finds the session ended
    assert ended.wait(10), "the stream outlived its session"
    assert lines and lines[0].startswith("retry:")

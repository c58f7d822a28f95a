"""The guard's live page in Debian's chromium: navigation to the 20th row drawn.

A real hub (uvicorn on loopback, a real SQLite file) with 20,000 stored events, 40 cards
issued through its API, every second holder with a photo, and a quarter of the events from
unknown cards. A guard signs in once (a session cookie, as the login page gives); then N
navigations to /live, each timed from navigation start (the page's timeOrigin) to the
moment 20 rows are in the table, every row in view with its photo loaded or its
placeholder settled (no photo, or not asked for below the fold), and a frame painted
after that. The same probe (an init script, identical for every page, checking once per
frame so it adds no layout of its own) times every page, so the figure does not depend on
the page under test marking itself. The probe says it is done with a console message,
which the browser reports by itself; waiting with Playwright's ``wait_for_function``
instead put the driver's own script (20 ms of compiling, in a trace) into every page
mid-load, and its 20 ms polling on the same two cores.

The navigations follow one another in one tab, as a guard's reloads do, so the browser's
cache holds what the hub let it keep (the page's versioned script and style, the photos by
their content: hub.web.live); the first navigations of a round are not counted. A few
first navigations in a new browser context each (empty cache, a new renderer) are timed
apart, static and live alternating: a guard's first page in a fresh browser.

Baselines, same run, same hub, same browser and session:
- a static page of the same size: the live page as it looks once drawn (its markup, the 20
  rows and their photos by the same URLs, loading="lazy"), served whole by the hub with no
  script; static and live navigations alternate in rounds, so load changes hit both alike;
- a plain SSE client (httpx) reading the page's stream (/live/stream) until its 20th
  event: what the hub and the wire cost before any page work.

The page also marks ``rows-drawn`` itself when its first 20 rows are painted; its time is
listed too (the rows, before their photos arrive).
"""

from __future__ import annotations

import html
import json
import os
import re
import sqlite3
import struct
import time
import uuid
import zlib
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench.common import Result, median, percentile, ratio
from hub.app import start_hub
from hub.auth import COOKIE, create_token
from hub.config import HubConfig
from hub.db import Store
from hub.gates import acl
from tests.rigs.broker import free_port

NAME = "livepage"
TITLE = "The guard's live page: navigation to 20 rows drawn, in chromium"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run"]
EVENTS = 20_000
ROWS = 20
NAVIGATIONS = 30
ROUNDS = 3  # static and live navigations alternate in this many rounds
WARMUP = 2  # navigations not counted at the start of each round
COLD = 6  # first navigations in a new browser context (empty cache), static and live alternating
GATES = ["north", "south", "east"]
CARDS = 40
PHOTO_EVERY = 2  # every second card's holder has a photo
START = datetime(2026, 1, 1, tzinfo=timezone.utc)
STREAM = "/live/stream"  # the page's own stream (hub.web.live): the events stream with photo URLs

#: the same probe for every page: the time (from navigation start) when 20 rows are in the
#: table, each row in view with its photo loaded or gone (the placeholder), and a frame
#: painted after it
PROBE = """
(() => {
  const want = %d;
  let done = false;
  function settled() {
    const rows = document.querySelectorAll('#passes tr');
    if (rows.length < want) return false;
    for (const tr of rows) {
      // a row below the fold shows its placeholder: its photo is not awaited (nor asked for)
      if (tr.getBoundingClientRect().top >= innerHeight) break;
      const td = tr.querySelector('td.photo');
      if (td && td.dataset.photo === 'wanted') return false;
      const img = tr.querySelector('img');
      if (img && !img.complete) return false;
    }
    return true;
  }
  // checked once per frame, in the frame's own animation callback: the layout it reads is
  // the one that frame does anyway, so the probe adds no layout of its own; when it holds,
  // the mark is set just after that frame is painted
  let queued = false;
  function check() {
    if (done || queued) return;
    queued = true;
    requestAnimationFrame(() => {
      queued = false;
      if (done || !settled()) return;
      done = true;
      setTimeout(() => { performance.mark('bench-drawn'); console.debug('bench-drawn'); }, 0);
    });
  }
  new MutationObserver(check).observe(document, {childList: true, subtree: true, attributes: true});
  document.addEventListener('load', check, true);
  document.addEventListener('error', check, true);
})();
""" % ROWS


def _png(side: int = 96) -> bytes:
    """A valid PNG of one colour, made here (no imaging library is installed)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([90, 140, 200]) * side for _ in range(side))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", side, side, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _uid(i: int) -> str:
    return f"0A{i:08X}"


def _estate(running, admin: dict[str, str]) -> None:
    """Cards through the hub's own API: every PHOTO_EVERY-th holder with a photo."""
    api = httpx.Client(base_url=running.url, headers=admin, timeout=30)
    png = _png()
    for i in range(CARDS):
        unit = f"A-{i // 4 + 1:02d}-{i % 4 + 1:02d}"
        holder = {"name": f"Holder {i}", "unit": unit}
        r = api.post("/api/v1/units", json={"building": "A", "floor": i // 4 + 1, "room": f"{i % 4 + 1:02d}"})
        assert r.status_code == 201, r.text
        if i % PHOTO_EVERY == 0:
            r = api.post("/api/v1/people", json={"name": f"Holder {i}", "role": "owner", "unit": unit})
            assert r.status_code == 201, r.text
            pid = r.json()["id"]
            r = api.post(f"/api/v1/people/{pid}/photo", files={"photo": ("p.png", png, "image/png")})
            assert r.status_code == 201, r.text
            body = {"uid": _uid(i), "card_type": "owner", "holder": holder, "person_id": pid}
        else:
            body = {"uid": _uid(i), "card_type": "owner", "holder": holder}
        r = api.post("/api/v1/cards", json=body)
        assert r.status_code == 201, r.text


def _events(path: Path, n: int = EVENTS) -> None:
    """The stored events, in bulk (the build, not measured)."""
    step = timedelta(days=30) / n
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    rows = []
    for i in range(n):
        at = (START + step * i).isoformat()
        gate = GATES[i % len(GATES)]
        known = i % 4 != 0
        uid = _uid(i % CARDS) if known else f"0C{(i * 7919) % 100_000:06X}"
        decision, reason = ("granted", "valid_card") if known else ("denied", "unknown_card")
        rows.append((f"ev-{i:09d}", gate, f"{gate}-in", "r1", "in", "decision", uid, decision, reason,
                     at, at, 1, "{}", at))
    conn.executemany(
        """INSERT INTO events (event_id, gate_id, door_id, reader, direction, kind, uid, decision, reason,
               at, at_utc, acl_rev, detail, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
    conn.execute("COMMIT")
    conn.close()


def _static_page(live_html: str, rows: list[dict]) -> str:
    """The live page as it looks once drawn: its markup with the rows in, no script."""
    out = []
    for ev in reversed(rows):  # newest on top, as the page draws them
        photo = ""
        if ev.get("photo") and ev["holder"]:  # the URL the page's stream gives (hub.web.live)
            photo = (f'<img alt="Photo of {html.escape(ev["holder"]["name"])}" width="48" height="48" loading="lazy" '
                     f'src="{html.escape(ev["photo"])}">')
        holder = ev["holder"]["name"] if ev["holder"] else f"unknown card {ev['uid']}"
        unit = ev["holder"]["unit"] if ev["holder"] else ""
        cells = [f'<td class="photo">{photo}</td>', f'<td class="time" title="{ev["at"]}">{ev["at"]}</td>',
                 f'<td class="gate">{ev["gate_id"]}</td>', f'<td class="door">{ev["door_id"]}</td>',
                 f'<td class="decision">{ev["decision"]}</td>',
                 f'<td class="reason">{(ev["reason"] or "").replace("_", " ")}</td>',
                 f'<td class="holder">{html.escape(holder)}</td>', f'<td class="unit">{html.escape(unit)}</td>']
        out.append(f'<tr class="{ev["decision"]}" data-seq="{ev["seq"]}">{"".join(cells)}</tr>')
    page = live_html.replace('<tbody id="passes"></tbody>', '<tbody id="passes">' + "".join(out) + "</tbody>")
    # no script at all: the page's own, the shell's (i18n.js) and its data blocks
    return re.sub(r"<script\b.*?</script>", "", page, flags=re.S)


def _backlog(url: str, cookie: str) -> list[dict]:
    """The first ROWS passes of the page's own stream, oldest first, as the page gets them."""
    rows = []
    with httpx.Client(base_url=url, cookies={COOKIE: cookie}, timeout=30) as c:
        with c.stream("GET", STREAM, headers={"Accept": "text/event-stream"}) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    rows.append(json.loads(line[5:]))
                    if len(rows) == ROWS:
                        break
    return rows


def _sse_times(url: str, cookie: str, n: int) -> list[float]:
    """A plain SSE client: request to the 20th event read, ms."""
    out = []
    with httpx.Client(base_url=url, cookies={COOKIE: cookie}, timeout=30) as c:
        for _ in range(n):
            t0 = time.perf_counter()
            got = 0
            with c.stream("GET", STREAM, headers={"Accept": "text/event-stream"}) as r:
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        got += 1
                        if got == ROWS:
                            break
            out.append((time.perf_counter() - t0) * 1000)
    return out


def _navigations(page, url: str, n: int) -> tuple[list[float], list[float], list[float]]:
    """(to 20 rows drawn, the page's own rows-drawn mark, DOMContentLoaded), ms from navigation start."""
    drawn, marked, dcl = [], [], []
    for i in range(n + WARMUP):
        # awaited as a console message, which the browser reports on its own: polling with
        # wait_for_function injected the driver's 20 ms script into the page mid-load
        with page.expect_console_message(lambda m: m.text == "bench-drawn", timeout=30000):
            page.goto(url, wait_until="commit")
        t = page.evaluate("""() => {
            const d = performance.getEntriesByName('bench-drawn')[0].startTime;
            const m = performance.getEntriesByName('rows-drawn');
            const nav = performance.getEntriesByType('navigation')[0];
            return [d, m.length ? m[0].startTime : NaN, nav ? nav.domContentLoadedEventEnd : NaN];
        }""")
        if i >= WARMUP:
            drawn.append(t[0])
            marked.append(t[1])
            dcl.append(t[2])
    return drawn, marked, dcl


def _cold(browser, url: str, cookie: str, path: str) -> float:
    """A first navigation: a new browser context (no cache, as a guard's first page of a
    session in a fresh browser), to 20 rows drawn, ms from navigation start."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    context.add_cookies([{"name": COOKIE, "value": cookie, "url": url}])
    context.add_init_script(PROBE)
    page = context.new_page()
    with page.expect_console_message(lambda m: m.text == "bench-drawn", timeout=30000):
        page.goto(url + path, wait_until="commit")
    took = page.evaluate("performance.getEntriesByName('bench-drawn')[0].startTime")
    context.close()
    return took


def run(workdir: Path) -> Result:
    from playwright.sync_api import sync_playwright
    from starlette.responses import HTMLResponse

    if not os.path.exists(CHROMIUM):
        raise SystemExit("livepage needs Debian's chromium at /usr/bin/chromium")
    db_path = workdir / "hub.db"
    config = HubConfig.model_validate({"hub": {"site": "b" + uuid.uuid4().hex[:8], "db_path": str(db_path),
                                               "http_host": "127.0.0.1", "http_port": free_port()}})
    store = Store.open(db_path)
    with store.tx() as db:
        for g in GATES:
            acl.ensure_gate(db, g)
    store.close()
    running = start_hub(config, connect_mqtt=False)
    try:
        admin = {"Authorization": "Bearer " + create_token(running.store, "admin", "bench")}
        _estate(running, admin)
        _events(db_path)
        guard = create_token(running.store, "guard", "gina")
        login = httpx.post(running.url + "/login", data={"token": guard}, follow_redirects=False)
        cookie = login.cookies[COOKIE]
        live_html = httpx.get(running.url + "/live", cookies={COOKIE: cookie}).text
        static_html = _static_page(live_html, _backlog(running.url, cookie))

        async def static_view(request):
            return HTMLResponse(static_html, headers={"Cache-Control": "no-store"})

        running.app.router.add_route("/bench/static", static_view, methods=["GET"])

        sse = _sse_times(running.url, cookie, NAVIGATIONS)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
            context = browser.new_context(viewport={"width": 1280, "height": 800})
            context.add_cookies([{"name": COOKIE, "value": cookie, "url": running.url}])
            context.add_init_script(PROBE)
            page = context.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            static, static_dcl, live, marked, live_dcl = [], [], [], [], []
            for _ in range(ROUNDS):  # interleaved, so a change in the machine's load hits both alike
                d, _, c = _navigations(page, running.url + "/bench/static", NAVIGATIONS // ROUNDS)
                static += d
                static_dcl += c
                d, m, c = _navigations(page, running.url + "/live", NAVIGATIONS // ROUNDS)
                live += d
                marked += m
                live_dcl += c
            rows_seen = page.evaluate("document.querySelectorAll('#passes tr').length")
            photos = page.evaluate("[...document.querySelectorAll('#passes img')].filter(i => i.naturalWidth).length")
            cold_static, cold_live = [], []
            for _ in range(COLD):
                cold_static.append(_cold(browser, running.url, cookie, "/bench/static"))
                cold_live.append(_cold(browser, running.url, cookie, "/live"))
            browser.close()
        if errors:
            raise SystemExit(f"the live page threw: {errors[:3]}")
    finally:
        running.stop()

    res = Result(NAME, TITLE, ["page", "navigations", "p50 ms", "p95 ms", "max ms", "ratio p95 vs static"])
    base = percentile(static, 95)
    res.add("baseline: static page of the same size (no script)", len(static), median(static), base, max(static),
            "1.00x")
    res.add("baseline: plain SSE client, request to 20th event", len(sse), median(sse), percentile(sse, 95), max(sse),
            ratio(percentile(sse, 95), base))
    res.add("live page: navigation to 20 rows drawn with photos", len(live), median(live), percentile(live, 95),
            max(live), ratio(percentile(live, 95), base))
    if not all(x != x for x in marked):
        res.add("live page: its own rows-drawn mark", len(marked), median(marked), percentile(marked, 95),
                max(marked), ratio(percentile(marked, 95), base))
    res.add("live page: DOMContentLoaded", len(live_dcl), median(live_dcl), percentile(live_dcl, 95), max(live_dcl),
            ratio(percentile(live_dcl, 95), base))
    res.add("static page: DOMContentLoaded", len(static_dcl), median(static_dcl), percentile(static_dcl, 95),
            max(static_dcl), "-")
    cold_base = percentile(cold_static, 95)
    res.add("empty cache: static page, to 20 rows drawn", len(cold_static), median(cold_static), cold_base,
            max(cold_static), "1.00x (of itself)")
    res.add("empty cache: live page, to 20 rows drawn with photos", len(cold_live), median(cold_live),
            percentile(cold_live, 95), max(cold_live), ratio(percentile(cold_live, 95), cold_base) + " of cold static")
    res.key = percentile(live, 95)
    res.key_label = "live page p95 ms"
    res.notes.append(f"{EVENTS:,} events stored; {CARDS} cards, {CARDS // PHOTO_EVERY} holders with a photo, a quarter "
                     f"of the events from unknown cards; static and live pages alternating in {ROUNDS} rounds of "
                     f"{NAVIGATIONS // ROUNDS}, each after {WARMUP} uncounted; after the last: {rows_seen} rows, "
                     f"{photos} photos shown")
    res.notes.append(f"chromium headless ({CHROMIUM}), viewport 1280x800, one guard session, static page "
                     f"{len(static_html):,} bytes")
    return res

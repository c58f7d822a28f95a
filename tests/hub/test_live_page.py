"""The guard's live page in a real browser: sign in, see passes arrive, open a door and see the
gate's remote-open row name who opened it; a new page draws the newest passes at once, in the
estate's time (24-hour, its timezone, not the browser's), photos as their rows come into view,
and a photo it was shown before from the browser's cache."""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.auth import COOKIE, create_token
from hub.users.accounts import add_user
from protocols.commands import GateCommand, command_action, verify_command
from protocols.messages import DoorStatus, EventKind, GateEvent, GateStatus, parse
from protocols.topics import gate_topic
from tests.cardcentre.test_photos_files import png
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser


def test_live_page_shows_new_passes_and_opens_a_door(hub, peer, browser):
    key = hub.key("north")
    agent = peer()
    agent.subscribe(gate_topic(hub.site, "north", "cmd"))
    status = GateStatus(gate_id="north", online=True, at=datetime.now(timezone.utc), doors={"north-in": DoorStatus()})
    agent.publish(gate_topic(hub.site, "north", "status"), hub.signed("north", status, "status"))
    clerk = httpx.Client(base_url=hub.url, headers=hub.h("clerk"))
    assert clerk.post("/api/v1/cards", json={"uid": "0A0012AB34", "card_type": "owner",
                                             "holder": {"name": "Li Wei", "unit": "A-12-03"}}).status_code == 201
    wait_for(lambda: clerk.get("/api/v1/gates").json()[0]["online"], what="north online")
    add_user(hub.store, "test", "gina", "Gina Ho", "guard", "correct horse battery")

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(hub.url + "/live")
    assert page.url.endswith("/login")  # no session: sent to the login page
    page.fill("#username", "gina")
    page.fill("#password", "correct horse battery")
    page.click("#account-submit")
    page.wait_for_url(hub.url + "/live")
    page.wait_for_selector("#stream-state.live", timeout=15000)  # the event stream is open

    event = GateEvent(event_id="ev-browser-0001", gate_id="north", door_id="north-in", uid="0A0012AB34",
                      decision="granted", reason="valid_card", at=datetime.now(timezone.utc))
    agent.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", event, "event"))
    row = page.wait_for_selector('tr[data-event-id="ev-browser-0001"]', timeout=15000)
    text = row.inner_text()
    assert "Li Wei" in text and "A-12-03" in text and "granted" in text and "north-in" in text
    photo = row.query_selector("td.photo")  # the <img> is removed when the photo 404s
    assert photo is not None
    denied = GateEvent(event_id="ev-browser-0002", gate_id="north", door_id="north-in", uid="0BADCAFE",
                       decision="denied", reason="unknown_card", at=datetime.now(timezone.utc))
    agent.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", denied, "event"))
    page.wait_for_selector('tr[data-event-id="ev-browser-0002"]', timeout=15000)
    first = page.query_selector("#passes tr")
    assert first.get_attribute("data-event-id") == "ev-browser-0002"  # newest on top
    assert "unknown card" in first.inner_text()

    # open the door from the keyboard
    button = page.wait_for_selector('button[data-key="north/north-in"]:not([disabled])', timeout=15000)
    button.focus()
    page.keyboard.press("Enter")
    # the page asks why (the first of the common reasons has the focus), then sends
    page.wait_for_selector("#open-form:not([hidden])")
    page.keyboard.press("Space")
    page.focus("#open-send")
    page.keyboard.press("Enter")
    payload = _open_command(agent)
    command = parse(GateCommand, payload)
    verify_command(command, key, "north", datetime.now(timezone.utc), site=hub.site)
    page.wait_for_selector("#open-result:has-text('Open sent to north-in at north.')", timeout=15000)

    # the gate reports the open as an older gate agent does (the command's sender in the
    # detail, no nonce): the row names the person who opened, from the hub's accounts, not the
    # sender's login, and why, and that the gate acknowledged it
    opened = GateEvent(event_id="ev-browser-0003", gate_id="north", door_id="north-in", kind=EventKind.REMOTE_OPEN,
                       decision="granted", reason="remote_open", at=datetime.now(timezone.utc),
                       detail={"by": command.by})
    agent.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", opened, "event"))
    row = page.wait_for_selector('tr[data-event-id="ev-browser-0003"]', timeout=15000)
    assert row.query_selector("td.holder").inner_text() == "Opened by Gina Ho: visitor at the gate"
    assert row.query_selector("td.reason").inner_text() == "acknowledged by the gate"
    assert errors == []
    page.close()


def _open_command(agent) -> bytes:
    """The next open command on the gate's cmd topic (the hub sends others there too: keys)."""
    while True:
        _, payload = agent.next(timeout=15, what="the open command from the page")
        if command_action(json.loads(payload)) == "open":
            return payload


def _estate_time(iso: str, zone: str) -> str:
    """How every page shows ``iso``: 24-hour, in the estate's timezone ``zone``."""
    return datetime.fromisoformat(iso).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M:%S")


def test_a_new_page_draws_the_newest_passes_at_once_in_the_estates_time(hub, peer, browser, caplog):
    hub.key("north")
    admin = httpx.Client(base_url=hub.url, headers=hub.h("admin"))
    assert admin.put("/api/v1/access/calendar", json={"timezone": "Asia/Shanghai"}).status_code == 200
    assert admin.post("/api/v1/units", json={"building": "A", "floor": 12, "room": "03"}).status_code == 201
    person = admin.post("/api/v1/people", json={"name": "Li Wei", "role": "owner", "unit": "A-12-03"})
    assert person.status_code == 201, person.text
    pid = person.json()["id"]
    photo = admin.post(f"/api/v1/people/{pid}/photo", files={"photo": ("p.png", png(64, 64), "image/png")})
    assert photo.status_code == 201, photo.text
    assert admin.post("/api/v1/cards", json={"uid": "0A0012AB34", "card_type": "owner", "person_id": pid,
                                             "holder": {"name": "Li Wei", "unit": "A-12-03"}}).status_code == 201
    agent = peer()
    base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    for i in range(25):  # every third from a card the estate does not know
        uid, decision, reason = (f"0BAD{i:04X}", "denied", "unknown_card") if i % 3 == 0 else \
            ("0A0012AB34", "granted", "valid_card")
        event = GateEvent(event_id=f"ev-first-{i:04d}", gate_id="north", door_id="north-in", uid=uid,
                          decision=decision, reason=reason, at=base + timedelta(seconds=i))
        agent.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", event, "event"))
    wait_for(lambda: len(admin.get("/api/v1/events?limit=50").json()) == 25, what="25 passes stored")

    login = httpx.post(hub.url + "/login", data={"token": create_token(hub.store, "guard", "gina")})
    # the guard's browser is elsewhere (and American): the page still shows the estate's time
    context = browser.new_context(locale="en-US", timezone_id="America/New_York", viewport={"width": 1200, "height": 700})
    context.add_cookies([{"name": COOKIE, "value": login.cookies[COOKIE], "url": hub.url}])
    page = context.new_page()
    asked: list[str] = []
    errors: list[str] = []
    page.on("request", lambda r: asked.append(r.url))
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(hub.url + "/live")
    page.wait_for_function("() => performance.getEntriesByName('rows-drawn').length > 0", timeout=15000)

    rows = page.query_selector_all("#passes tr")
    assert len(rows) == 20  # the stream's backlog
    seqs = [int(r.get_attribute("data-seq")) for r in rows]
    assert seqs == sorted(seqs, reverse=True), "newest on top"
    for row in rows[:3]:
        cell = row.query_selector("td.time")
        assert cell.inner_text() == _estate_time(cell.get_attribute("title"), "Asia/Shanghai")
    assert not [u for u in asked if "/cards/0BAD" in u], "an unknown card has no photo to ask for"

    shown = page.wait_for_selector("#passes tr:first-child td.photo img, #passes tr:nth-child(2) td.photo img")
    wait_for(lambda: shown.evaluate("img => img.complete && img.naturalWidth > 0"), what="a photo in view loaded")
    below = page.query_selector_all("#passes td.photo[data-photo=wanted]")
    assert below, "rows below the fold have not asked for their photos yet"
    assert below[-1].query_selector("img") is None
    below[-1].scroll_into_view_if_needed()
    img = below[-1].wait_for_selector("img", timeout=15000)
    wait_for(lambda: img.evaluate("img => img.complete && img.naturalWidth > 0"), what="the photo of a row scrolled to")
    assert not [u for u in asked if "/api/v1/cards/" in u and u.endswith("/photo")], "photos by content URL only"

    # the next page draws the photos it was shown from the browser's cache: the hub is not asked again
    caplog.set_level(logging.INFO, logger="hub.access")
    caplog.clear()
    page.goto(hub.url + "/live")
    page.wait_for_function("() => performance.getEntriesByName('rows-drawn').length > 0", timeout=15000)
    shown = page.wait_for_selector("#passes tr:first-child td.photo img, #passes tr:nth-child(2) td.photo img")
    wait_for(lambda: shown.evaluate("img => img.complete && img.naturalWidth > 0"), what="a photo in view, again")
    wait_for(lambda: any("/live/stream" in r.getMessage() for r in caplog.records), what="the stream in the access log")
    assert not [r for r in caplog.records if "/live/photos/" in r.getMessage()], "a photo shown before was asked again"

    # signing out drops what the browser kept (its HTTP cache; a tab left open may still hold
    # decoded images until it closes): signed in again in a new tab, the page asks anew
    page.click("form[action='/logout'] button")
    page.wait_for_url(hub.url + "/login")
    page.close()
    again = httpx.post(hub.url + "/login", data={"token": create_token(hub.store, "guard", "gina")})
    context.add_cookies([{"name": COOKIE, "value": again.cookies[COOKIE], "url": hub.url}])
    caplog.clear()
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(hub.url + "/live")
    shown = page.wait_for_selector("#passes tr:first-child td.photo img, #passes tr:nth-child(2) td.photo img")
    wait_for(lambda: shown.evaluate("img => img.complete && img.naturalWidth > 0"), what="a photo in view, signed in again")
    assert [r for r in caplog.records if "/live/photos/" in r.getMessage()], "the kept photo outlived the sign-out"
    assert errors == []
    context.close()


"""The guard's live page in a real browser: log in, see passes arrive, open a door."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from hub.auth import create_token
from protocols.commands import GateCommand, verify_command
from protocols.messages import DoorStatus, GateEvent, GateStatus, parse
from protocols.topics import gate_topic
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
    guard_token = create_token(hub.store, "guard", "gina")

    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(hub.url + "/live")
    assert page.url.endswith("/login")  # no session: sent to the login page
    page.wait_for_selector("#token:focus")  # autofocus lands after load; typing before it loses keys
    page.keyboard.type(guard_token)
    page.keyboard.press("Enter")
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
    topic, payload = agent.next(timeout=15, what="the open command from the page")
    verify_command(parse(GateCommand, payload), key, "north", datetime.now(timezone.utc), site=hub.site)
    page.wait_for_selector("#open-result:has-text('Open sent to north / north-in')", timeout=15000)
    assert errors == []
    page.close()

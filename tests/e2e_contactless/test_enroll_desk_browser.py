"""The clerk's desk in a real browser: a card tapped on the desk's PC/SC reader (virtual card ->
vpcd -> pcscd -> an enroll-role GateAgent -> MQTT -> hub -> SSE) fills the card-issue form."""

from __future__ import annotations


import pytest

from hub.auth import create_token
from tests.e2e_contactless.conftest import DESK_READER
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser
DESK = "desk-1"
UID = "04C0FFEE123456"




def text(page, selector: str) -> str:
    return page.evaluate("(s) => { const e = document.querySelector(s); return e ? e.textContent : ''; }", selector)


def data_state(page, selector: str) -> str | None:
    return page.evaluate("(s) => { const e = document.querySelector(s); return e ? e.dataset.state : null; }", selector)


def listening(page) -> None:
    wait_for(lambda: data_state(page, "#enroll-state") == "listening", 10, "the page listening at the desk")


def test_a_card_tapped_at_the_desk_fills_the_form_and_is_issued(hub, make_agent, pcscd, desk_card, browser):
    desk = make_agent(DESK, [{"id": "desk", "readers": [{"kind": "pcsc", "reader": DESK_READER}]}], role="enroll")
    wait_for(lambda: desk.reader("desk/0").ok, 15, "the desk's PC/SC reader open")
    sup = hub.client("supervisor")
    wait_for(lambda: [s for s in hub.client("clerk").get("/api/v1/enroll/stations").json() if s["online"]], 10,
             "the desk station online at the hub")

    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    page.goto(f"{hub.url}/login")
    page.fill("#token", create_token(hub.store, "clerk", "mei"))
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(f"{hub.url}/clerk")
    wait_for(lambda: page.evaluate("document.getElementById('enroll')?.dataset.loaded") == "1", 10,
             "the station list loaded")
    page.select_option("#enroll-station", DESK)
    listening(page)

    desk_card.present(UID)
    wait_for(lambda: page.input_value("#issue-uid") == UID, 10, "the tapped UID in the form")
    assert data_state(page, "#enroll-standing") == "unknown"
    assert "not known" in text(page, "#enroll-standing")

    page.select_option("#issue-type", "owner")
    page.fill("#issue-name", "Wang Fang")
    page.fill("#issue-unit", "A-12-03")
    page.click("#issue-form button[type=submit]")
    wait_for(lambda: "issued" in text(page, "#message"), 10, "the issue confirmed on the page")
    card = sup.get(f"/api/v1/cards/{UID}").json()
    assert (card["status"], card["holder"]["name"], card["holder"]["unit"]) == ("active", "Wang Fang", "A-12-03")
    assert text(page, "#enroll-standing") == ""  # the form was reset with the standing it showed

    desk_card.remove()
    desk_card.present(UID)
    wait_for(lambda: "already issued to Wang Fang" in text(page, "#enroll-standing"), 10,
             "the second tap shown as already issued")
    assert page.input_value("#issue-uid") == UID and data_state(page, "#enroll-standing") == "issued"

    # the clerk can still type a UID, and sees its standing too
    page.fill("#issue-uid", "0a:0b:0c:0d")
    wait_for(lambda: "not known" in text(page, "#enroll-standing"), 10, "the typed UID's standing")

    # the chosen station is remembered in this browser
    page.reload()
    listening(page)
    assert page.input_value("#enroll-station") == DESK
    assert not problems, problems
    events = sup.get("/api/v1/events?limit=100").json()
    assert not [e for e in events if e["uid"] == UID]  # desk taps are not passes

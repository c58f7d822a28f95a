"""The clerk's page in a real browser, driven by the keyboard alone: search, select the
holder, upload and see the photo, issue, replace a lost card, take back, scrap."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import uvicorn

from hub.auth import create_token
from hub.people.registry import PersonIn, UnitIn, add_person, add_unit
from hub.stock import ledger
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

from .test_api import make_app
from .test_photos_files import DATA

pytestmark = pytest.mark.browser


@pytest.fixture
def hub_url(store, tmp_path):
    app = make_app(store, tmp_path)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "the hub to listen")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(10)




def tab_to(page, selector: str, limit: int = 80) -> None:
    """Press Tab until ``selector`` has the focus: proves it is reachable by keyboard."""
    for _ in range(limit):
        if page.evaluate("(s) => document.activeElement && document.activeElement.matches(s)", selector):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"{selector} never got the focus by Tab")


def focused(page, text: str) -> None:
    """Wait until the focused element's text starts with ``text`` (the page's CSP forbids
    the string evaluation that page.wait_for_function uses, so this polls page.evaluate)."""
    wait_for(lambda: (page.evaluate("document.activeElement.textContent") or "").startswith(text), 10,
             f"the focus on {text!r}")


def test_a_clerk_works_the_page_by_keyboard(store, hub_url, browser, tmp_path):
    add_unit(store, "clerk:seed", UnitIn(building="A", floor=12, room="03", move_in_date=date(2019, 5, 1)))
    add_person(store, "clerk:seed", PersonIn(name="Wang Fang", role="owner", unit="A-12-03", phone="13800000001"))
    ledger.receive_delivery(store, "clerk:seed", "owner", 10, "DN-1")
    token = create_token(store, "clerk", "mei")

    page = browser.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url.split(hub_url, 1)[-1]))
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

    page.set_default_timeout(10_000)
    page.goto(f"{hub_url}/login")
    page.wait_for_selector("#token:focus")  # autofocus lands after load; typing before it loses keys
    page.keyboard.type(token)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.goto(f"{hub_url}/clerk")
    page.wait_for_selector("#stock-levels:has-text('owner 10')")

    # search, pick the person from the results, all by keyboard
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("wang")
    page.keyboard.press("Enter")
    focused(page, "Wang Fang")
    page.keyboard.press("Enter")
    page.wait_for_selector("#person:not([hidden])")
    assert page.text_content("#person-details").count("A-12-03") == 1

    # a non-image is refused, a real photo is stored and shown (decoded by the browser)
    fake = tmp_path / "passport.jpg"
    fake.write_bytes(b"%PDF-1.4 this is not a photo" * 10)
    tab_to(page, "#photo-file")
    page.set_input_files("#photo-file", str(fake))  # the OS file dialog is the one step outside the page
    tab_to(page, "#photo-form button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.error")
    assert "photo_not_image" in page.text_content("#message")
    page.set_input_files("#photo-file", str(DATA / "holder.jpg"))
    tab_to(page, "#photo-form button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message:has-text('Photo saved')")
    wait_for(lambda: page.evaluate("$('photo').complete && $('photo').naturalWidth"), 5, "the photo to show")
    assert page.evaluate("[$('photo').naturalWidth, $('photo').naturalHeight]") == [120, 150]

    # issue a card to this person
    tab_to(page, "#issue-for-person")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "issue-uid"
    page.keyboard.type("0a0b0c0d")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status:text-is('active')")
    assert page.text_content("#card-uid") == "0A0B0C0D"
    page.wait_for_selector("#stock-levels:has-text('owner 9')")

    # replace it as lost
    tab_to(page, "#replace-reason")
    page.keyboard.type("lost at the market")
    page.keyboard.press("Tab")
    page.keyboard.type("0A0B0C0E")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-uid:text-is('0A0B0C0E')")
    assert "0A0B0C0D is lost" in page.text_content("#message")
    assert page.text_content("#card-holder") == "Wang Fang, A-12-03"
    page.wait_for_selector("#stock-levels:has-text('owner 8')")  # two cards made from the stock

    # take the replacement back, then scrap it
    tab_to(page, "#return-reason")
    page.keyboard.type("moved away")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status:text-is('returned')")
    assert page.is_hidden("#replace-form") and page.is_visible("#scrap-form")
    tab_to(page, "#scrap-reason")
    page.keyboard.type("chip cracked")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status:text-is('scrapped')")

    # the lost card offers no move at all ("/" from outside a text box goes to the search box)
    tab_to(page, "#return-form button, #scrap-form button, #issue-for-person")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("0A0B0C0D")
    page.keyboard.press("Enter")
    focused(page, "Card 0A0B0C0D: lost")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status:text-is('lost')")
    assert all(page.is_hidden(f) for f in ("#replace-form", "#return-form", "#scrap-form"))

    # a refusal is shown with its rule: a tenant card without its tenancy end
    tab_to(page, "#issue-uid")
    page.keyboard.type("0A0B0C0F")
    page.keyboard.press("Tab")
    page.select_option("#issue-type", "tenant")  # a select changes by arrow keys too; this fires change
    tab_to(page, "#issue-name")
    page.keyboard.type("Chen Jie")
    page.keyboard.press("Tab")
    page.keyboard.type("A-12-03")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message.error")
    # the card was still for the person picked above (an owner): the first rule to refuse says so
    assert "card_type_not_for_person" in page.text_content("#message")

    page.screenshot(path=str(tmp_path / "clerk.png"), full_page=True)
    assert problems == []
    # the only failed requests are the two refusals the clerk was shown
    assert [f[0] for f in failed] == [422, 422] and failed[1][1] == "/api/v1/cards"
    with store.read() as db:
        moves = [(r["uid"], r["move"]) for r in db.query("SELECT uid, move FROM card_moves ORDER BY id")]
    assert moves == [("0A0B0C0D", "issue"), ("0A0B0C0D", "report_lost"), ("0A0B0C0E", "issue"),
                     ("0A0B0C0E", "return"), ("0A0B0C0E", "scrap")]


def test_the_clerk_page_needs_a_clerk(store, hub_url, browser):
    token = create_token(store, "guard", "gate-north")
    page = browser.new_page()
    r = page.goto(f"{hub_url}/clerk")
    assert r.status in (401, 303, 200) and "IC card centre" not in page.content()
    page.goto(f"{hub_url}/login")
    page.fill("#token", token)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    r = page.goto(f"{hub_url}/clerk")
    assert r.status == 403 and "IC card centre" not in page.content()

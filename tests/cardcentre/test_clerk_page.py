"""The clerk's page in a real browser: driven by the keyboard alone (search, select the
holder, upload and see the photo, issue, replace a lost card, take back, scrap); the main
task walked in each of the staff's languages, chosen with the shell's menu; a failed move
said inside its form, in sight; a form emptied after its move; no sideways scrolling on a
phone; money typed in yuan kept as integer fen."""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta, timezone

import pytest
import uvicorn

from hub.app import create_app
from hub.auth import create_token
from hub.config import HubConfig
from hub.people.registry import PersonIn, UnitIn, add_person, add_unit
from hub.stock import ledger
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

from .test_photos_files import DATA

pytestmark = pytest.mark.browser


def serve(store, tmp_path, language: str):
    config = HubConfig.model_validate({"hub": {"site": "demo", "db_path": str(tmp_path / "hub.db"),
                                               "language": language}})
    app = create_app(config, store, connect_mqtt=False)
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_for(lambda: server.started, 10, "the hub to listen")
    return server, thread, f"http://127.0.0.1:{port}"


@pytest.fixture
def hub_url(store, tmp_path):
    """A hub whose estate speaks English (the tests below choose other languages themselves)."""
    server, thread, url = serve(store, tmp_path, "en")
    yield url
    server.should_exit = True
    thread.join(10)


@pytest.fixture
def estate(store):
    """Wang Fang of A-12-03 in the register, ten blank owner cards in the drawer."""
    add_unit(store, "clerk:seed", UnitIn(building="A", floor=12, room="03", move_in_date=date(2019, 5, 1)))
    add_person(store, "clerk:seed", PersonIn(name="Wang Fang", role="owner", unit="A-12-03", phone="13800000001"))
    ledger.receive_delivery(store, "clerk:seed", "owner", 10, "DN-1")
    return store


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


def sign_in(page, hub_url: str, token: str) -> None:
    page.goto(f"{hub_url}/login")
    page.wait_for_selector("#token:focus")  # autofocus lands after load; typing before it loses keys
    page.keyboard.type(token)
    with page.expect_navigation():
        page.keyboard.press("Enter")


def stock_is(page, card_type: str, count: int) -> None:
    page.wait_for_selector(f"#stock-levels li[data-type='{card_type}'][data-count='{count}']")


def test_a_clerk_works_the_page_by_keyboard(estate, store, hub_url, browser, tmp_path):
    token = create_token(store, "clerk", "mei")

    page = browser.new_page(viewport={"width": 1366, "height": 900})
    problems: list[str] = []
    page.on("pageerror", lambda e: problems.append(str(e)))
    failed: list[tuple[int, str]] = []
    page.on("response", lambda r: failed.append((r.status, r.url.split(hub_url, 1)[-1]))
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)

    page.set_default_timeout(10_000)
    sign_in(page, hub_url, token)
    page.goto(f"{hub_url}/clerk")
    stock_is(page, "owner", 10)
    # the shell's header: who is signed in, sign out, and the clerk's links (no audit log)
    assert page.text_content("#signed-in-as") == "clerk:mei" and page.is_visible("#logout")
    assert page.is_visible("#nav-report") and page.query_selector("#nav-audit") is None

    # search, pick the person from the results, all by keyboard
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("wang")
    page.keyboard.press("Enter")
    focused(page, "Wang Fang")
    page.keyboard.press("Enter")
    page.wait_for_selector("#person:not([hidden])")
    assert page.text_content("#person-details").count("A-12-03") == 1
    page.wait_for_selector("#person-cards li:has-text('No card in this name yet.')")

    # a non-image is refused (said in the photo form), a real photo is stored and shown
    fake = tmp_path / "passport.jpg"
    fake.write_bytes(b"%PDF-1.4 this is not a photo" * 10)
    tab_to(page, "#photo-file")
    page.set_input_files("#photo-file", str(fake))  # the OS file dialog is the one step outside the page
    tab_to(page, "#photo-form button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#photo-error[data-rule='photo_not_image']")
    page.set_input_files("#photo-file", str(DATA / "holder.jpg"))
    tab_to(page, "#photo-form button")
    page.keyboard.press("Enter")
    page.wait_for_selector("#message:has-text('Photo saved')")
    assert page.text_content("#photo-error") == ""
    wait_for(lambda: page.evaluate("$('photo').complete && $('photo').naturalWidth"), 5, "the photo to show")
    assert page.evaluate("[$('photo').naturalWidth, $('photo').naturalHeight]") == [120, 150]
    assert page.is_hidden("#no-photo")

    # issue a card to this person (the UID typed in lower case)
    tab_to(page, "#issue-for-person")
    page.keyboard.press("Enter")
    assert page.evaluate("document.activeElement.id") == "issue-uid"
    page.keyboard.type("0a0b0c0d")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status[data-status='active']")
    assert page.text_content("#card-uid") == "0A0B0C0D"
    stock_is(page, "owner", 9)
    page.wait_for_selector("#person-cards button:has-text('0A0B0C0D')")
    page.wait_for_selector("#today-moves li:has-text('0A0B0C0D')")

    # replace it as lost
    tab_to(page, "#replace-reason")
    page.keyboard.type("lost at the market")
    page.keyboard.press("Tab")
    page.keyboard.type("0A0B0C0E")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-uid:text-is('0A0B0C0E')")
    assert "0A0B0C0D is lost" in page.text_content("#message")
    assert page.text_content("#card-holder") == "Wang Fang, A-12-03"
    stock_is(page, "owner", 8)  # two cards made from the stock

    # take the replacement back, then scrap it
    tab_to(page, "#return-reason")
    page.keyboard.type("moved away")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status[data-status='returned']")
    assert page.is_hidden("#replace-form") and page.is_visible("#scrap-form")
    tab_to(page, "#scrap-reason")
    page.keyboard.type("chip cracked")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status[data-status='scrapped']")

    # the lost card offers no move at all ("/" from outside a text box goes to the search box);
    # its UID typed the way it is printed, with spaces, is tidied before the search
    tab_to(page, "#issue-for-person")
    page.keyboard.press("/")
    assert page.evaluate("document.activeElement.id") == "q"
    page.keyboard.type("0a 0b 0c 0d")
    page.keyboard.press("Enter")
    focused(page, "Card 0A0B0C0D: lost")
    assert page.input_value("#q") == "0A0B0C0D"
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status[data-status='lost']")
    assert all(page.is_hidden(f) for f in ("#replace-form", "#return-form", "#scrap-form"))
    assert page.is_visible("#no-moves")

    # a refusal is said in the issue form, on its field: a tenant card without its tenancy end
    # (the form was emptied after the issue above, so this card is for no registered person)
    tab_to(page, "#issue-uid")
    page.keyboard.type("0A0B0C0F")
    page.keyboard.press("Tab")
    page.select_option("#issue-type", "tenant")  # a select changes by arrow keys too; this fires change
    tab_to(page, "#issue-name")
    page.keyboard.type("Chen Jie")
    page.keyboard.press("Tab")
    page.keyboard.type("A-12-03")
    page.keyboard.press("Enter")
    page.wait_for_selector("#issue-error:not(:empty)")
    field = page.evaluate("document.activeElement.id")
    assert page.get_attribute(f"#{field}", "aria-invalid") == "true"
    assert page.evaluate("(id) => document.getElementById(id).form.id", field) == "issue-form"

    page.screenshot(path=str(tmp_path / "clerk.png"), full_page=True)
    assert problems == []
    # the only failed requests are the two refusals the clerk was shown
    assert [f[0] for f in failed] == [422, 422] and failed[1][1] == "/api/v1/cards"
    with store.read() as db:
        moves = [(r["uid"], r["move"]) for r in db.query("SELECT uid, move FROM card_moves ORDER BY id")]
    assert moves == [("0A0B0C0D", "issue"), ("0A0B0C0D", "report_lost"), ("0A0B0C0E", "issue"),
                     ("0A0B0C0E", "return"), ("0A0B0C0E", "scrap")]


#: what each language's page says at each step (the catalogs' translations, as a clerk reads them)
WORDS = {
    "zh_Hans": {"lang": "zh-Hans", "title": "IC卡卡务中心", "issue": "发卡", "replace": "补卡（挂失或损坏）",
                "active": "有效", "replaced": "已补发新卡", "role": "业主"},
    "zh_Hant": {"lang": "zh-Hant", "title": "IC卡卡務中心", "issue": "發卡", "replace": "補卡（掛失或損壞）",
                "active": "有效", "replaced": "已補發新卡", "role": "業主"},
    "en": {"lang": "en", "title": "IC card centre", "issue": "Issue a card", "replace": "Replace a lost or damaged card",
           "active": "active", "replaced": "issued in its place", "role": "owner"},
}


def choose_language(page, code: str) -> None:
    """The shell's language menu: pick, submit, back on the same page."""
    page.select_option("#language-choice", code)
    with page.expect_navigation():
        page.click("#language-submit")


@pytest.mark.parametrize("code", list(WORDS))
def test_the_clerks_main_task_in_each_language(estate, store, browser, tmp_path, code):
    """Search, issue a card, replace it as lost with a fee typed in yuan: the page in the
    language chosen from the menu, the error of a failed move inside its form and in sight,
    the form empty after the replacement, the fee kept as integer fen."""
    server, thread, hub_url = serve(store, tmp_path, "zh_Hans" if code == "en" else "en")
    try:
        words = WORDS[code]
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        page.set_default_timeout(10_000)
        problems: list[str] = []
        page.on("pageerror", lambda e: problems.append(str(e)))
        sign_in(page, hub_url, create_token(store, "clerk", "mei"))
        page.goto(f"{hub_url}/clerk")
        choose_language(page, code)
        assert page.url.endswith("/clerk")
        assert page.get_attribute("html", "lang") == words["lang"]
        assert page.text_content("h1") == words["title"]
        assert page.text_content("#issue-h") == words["issue"]
        assert words["replace"] in page.content()
        stock_is(page, "owner", 10)

        # search and pick the person
        page.fill("#q", "wang")
        page.keyboard.press("Enter")
        focused(page, "Wang Fang")
        assert words["role"] in page.text_content("#results").lower()
        page.keyboard.press("Enter")
        page.wait_for_selector("#person:not([hidden])")

        # issue them a card, the UID typed with colons
        page.click("#issue-for-person")
        page.fill("#issue-uid", "0a:0b:0c:1d")
        page.keyboard.press("Enter")
        page.wait_for_selector("#card-status[data-status='active']")
        assert page.text_content("#card-status") == words["active"]
        assert page.text_content("#card-uid") == "0A0B0C1D"

        # a replacement with a fee and no receipt is refused: said inside the form, in sight
        page.fill("#replace-reason", "lost")
        page.fill("#replace-uid", "0A0B0C1E")
        page.fill("#replace-fee", "12.50")
        page.click("#replace-form button[type=submit]")
        page.wait_for_selector("#replace-error:not(:empty)")
        error = page.locator("#replace-error")
        assert error.get_attribute("data-rule") == "receipt_required"
        assert error.get_attribute("aria-live") == "assertive"
        assert page.evaluate("document.activeElement.id") == "replace-receipt"
        assert page.get_attribute("#replace-receipt", "aria-invalid") == "true"
        box, form = error.bounding_box(), page.locator("#replace-form").bounding_box()
        view = page.viewport_size
        assert 0 <= box["y"] and box["y"] + box["height"] <= view["height"], "the error is out of sight"
        assert form["y"] <= box["y"] and box["y"] + box["height"] <= form["y"] + form["height"], "not in its form"
        if code != "en":  # the hub's own words, in the reader's language
            assert not any(c.isascii() and c.isalpha() for c in error.text_content()), error.text_content()

        # given its receipt it goes through, and the form is emptied: a second click repeats nothing
        page.fill("#replace-receipt", "F-1")
        page.click("#replace-form button[type=submit]")
        page.wait_for_selector("#card-uid:text-is('0A0B0C1E')")
        assert words["replaced"] in page.text_content("#message")
        assert [page.input_value(f"#replace-{f}") for f in ("reason", "uid", "fee", "receipt")] == ["", "", "", ""]
        assert page.text_content("#replace-error") == ""
        page.click("#replace-form button[type=submit]")
        page.wait_for_selector("#replace-error:not(:empty)")
        assert page.evaluate("document.activeElement.id") == "replace-reason"

        # the fee typed as 12.50 yuan is 1250 fen in the register, read back from the API
        moves = page.request.get(f"{hub_url}/api/v1/cards/0A0B0C1D/moves").json()["items"]
        lost = [m for m in moves if m["move"] == "report_lost"]
        assert len(lost) == 1 and lost[0]["amount_cents"] == 1250 and lost[0]["receipt_no"] == "F-1"
        with store.read() as db:
            assert [r["move"] for r in db.query("SELECT move FROM card_moves ORDER BY id")] == [
                "issue", "report_lost", "issue"]
        assert problems == []
    finally:
        server.should_exit = True
        thread.join(10)


def no_sideways_scroll(page) -> None:
    width, inner = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    assert width <= inner, f"{page.url} scrolls sideways at {inner} px: {width} px wide"


UNLABELLED = """[...document.querySelectorAll("input:not([type=hidden]), select, textarea, button")]
  .filter((el) => !(el.labels && el.labels.length) && !el.getAttribute("aria-label")
                  && !(el.tagName === "BUTTON" && el.textContent.trim()))
  .map((el) => el.id || el.name || el.outerHTML.slice(0, 60))"""


def labelled_with_focus_shown(page) -> None:
    """Every control has a label a screen reader reads; a control reached by Tab shows it."""
    assert page.evaluate(UNLABELLED) == [], page.url
    page.focus("#logout")
    page.keyboard.press("Shift+Tab")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "logout"
    assert page.evaluate("getComputedStyle(document.activeElement).outlineStyle") != "none"


def test_no_clerk_page_scrolls_sideways_on_a_phone(estate, store, hub_url, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844})
    page.set_default_timeout(10_000)
    sign_in(page, hub_url, create_token(store, "supervisor", "li"))
    page.goto(f"{hub_url}/clerk")
    choose_language(page, "zh_Hans")
    assert page.get_attribute('meta[name="viewport"]', "content").startswith("width=device-width")
    stock_is(page, "owner", 10)
    no_sideways_scroll(page)
    # with the holder, the card and its forms open, and a refused move said in its form
    page.fill("#q", "wang")
    page.keyboard.press("Enter")
    focused(page, "Wang Fang")
    page.keyboard.press("Enter")
    page.click("#issue-for-person")
    page.fill("#issue-uid", "0A0B0C2D")
    page.keyboard.press("Enter")
    page.wait_for_selector("#card-status[data-status='active']")
    page.fill("#replace-reason", "丢了")
    page.fill("#replace-uid", "not a uid at all")
    page.click("#replace-form button[type=submit]")
    page.wait_for_selector("#replace-error:not(:empty)")
    box = page.locator("#replace-error").bounding_box()
    assert 0 <= box["y"] and box["y"] + box["height"] <= 844
    no_sideways_scroll(page)
    labelled_with_focus_shown(page)
    month = page.get_attribute("#report-link", "href")
    for path in (month, "/clerk/audit", "/clerk/audit?since=2000-01-01"):
        page.goto(f"{hub_url}{path}")
        no_sideways_scroll(page)
        labelled_with_focus_shown(page)
    page.goto(f"{hub_url}/clerk/audit?until=31/03/2026")  # a refused search, said beside the form
    assert page.is_visible("#message") and page.get_attribute("#audit-until", "aria-invalid") == "true"
    no_sideways_scroll(page)


def test_the_report_page_has_its_files_print_and_file_for_a_supervisor(store, hub_url, browser):
    # a delivery 40 days ago: last month has records, so it owes its report
    ledger.receive_delivery(store, "clerk:seed", "owner", 3, "DN-1", at=datetime.now(timezone.utc) - timedelta(days=40))
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.set_default_timeout(10_000)
    sign_in(page, hub_url, create_token(store, "supervisor", "li"))
    page.goto(f"{hub_url}/clerk")
    month = page.get_attribute("#report-link", "href").rsplit("/", 1)[1]
    page.goto(f"{hub_url}/clerk/stock/{month}")
    assert page.locator("#nav-report").get_attribute("aria-current") == "page"
    assert page.get_attribute("#status", "data-status") == "open"
    assert page.query_selector("#file-form") is None  # the month is not over: nothing to file
    for link, kind in (("#csv-link", "text/csv"), ("#xlsx-link", "spreadsheetml")):
        r = page.request.get(hub_url + page.get_attribute(link, "href"))
        assert r.status == 200 and kind in r.headers["content-type"], link
    assert page.is_visible("#print")
    # last month is over: the supervisor files it with the button, and the page says so
    page.click("#prev-month")
    page.wait_for_selector("#file-form")
    with page.expect_navigation():
        page.click("#file-submit")
    assert page.get_attribute("#status", "data-status") in ("filed", "filed_late")
    assert page.text_content("#file-submit") == "File a correction"
    # a correction needs its note: refused in the form, on the note
    page.click("#file-submit")
    page.wait_for_selector("#file-error:not(:empty)")
    assert page.evaluate("document.activeElement.id") == "file-note"


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

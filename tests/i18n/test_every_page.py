"""Every page, as each role opens it, in chromium: no serious or critical accessibility
violation (axe-core), nothing that scrolls sideways on a 390 px phone, and the page in the
language chosen."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hub.app import start_hub
from hub.auth import create_token
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.hub.conftest import make_config
from tests.rigs.axe import serious_violations, sideways

pytestmark = pytest.mark.browser

MONTH = datetime.now(timezone.utc).strftime("%Y-%m")
#: (who opens it, the path, what the page must show once drawn)
PAGES = [
    (None, "/login", "#account-form"),
    ("guard", "/live", "#main"),
    ("guard", "/duty", "#log[data-drawn]"),  # drawn by its script from the duty API
    ("guard", "/visitors", "#inside-list[data-drawn]"),
    ("clerk", "/clerk", "#main"),
    ("supervisor", f"/clerk/stock/{MONTH}", "#main"),
    ("supervisor", "/clerk/audit", "#main"),
    ("supervisor", "/calendar", "#days[data-drawn]"),  # the working calendar (hub.workcal)
    ("clerk", "/complaints", "#recent-list[data-drawn]"),  # the complaint pages: drawn from the complaints API
    ("supervisor", "/complaints/queue", "#queue-list[data-drawn]"),
    ("supervisor", "/complaints/supervise", "#escalated-list[data-drawn]"),
    ("manager", f"/complaints/month/{MONTH}", "#complaint-desk[data-drawn]"),
    ("clerk", "/complaints/follow-ups", "#visits-list[data-drawn]"),
    ("clerk", "/permits", "#permits-list[data-drawn]"),  # the renovation pages: drawn from their APIs
    ("engineering", "/permits/engineering", "#suspended-list[data-drawn]"),
    ("manager", "/violations", "#open-list[data-drawn]"),
    ("manager", "/slips", "#recent-list[data-drawn]"),
    ("guard", "/slips/check", "#reno[data-ready]"),
    ("supervisor", f"/permits/month/{MONTH}", "#figures[data-drawn]"),
    ("guard", "/clerk", "#problem-h"),  # not for a guard: the shell's 403 page
    ("clerk", "/no/such/page", "#problem-h"),
]
PHONE = {"width": 390, "height": 844}
SMALL_PHONE = {"width": 360, "height": 740}
DESK = {"width": 1366, "height": 900}


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    config = make_config(tmp_path_factory.mktemp("pages"), language="zh_Hans")
    running = start_hub(config, connect_mqtt=False)
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium():
    """One chromium for the module (the suite's ``browser`` fixture starts one per test)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture(scope="module")
def contexts(chromium, estate):
    """One browser context per (role, viewport, language), signed in once and reused."""
    made: dict = {}

    def get(role: str | None, viewport: dict, language: str | None):
        key = (role, viewport["width"], language)
        if key not in made:
            context = made[key] = chromium.new_context(viewport=viewport)
            if language:
                context.add_cookies([{"name": "gh_lang", "value": language, "url": estate.url}])
            if role:
                page = context.new_page()
                page.goto(estate.url + "/login")
                page.fill("#token", create_token(estate.store, role, f"{role}-pages"))
                with page.expect_navigation():
                    page.click("#login-submit")
                page.close()
        return made[key]

    yield get
    for context in made.values():
        context.close()


def _open(contexts, estate, role: str | None, path: str, ready: str, viewport: dict, language: str | None = None):
    page = contexts(role, viewport, language).new_page()
    page.goto(estate.url + path)
    page.wait_for_selector(ready, state="attached")
    page.wait_for_load_state("load")
    return page


@pytest.mark.parametrize("role, path, ready", PAGES, ids=[f"{r}:{p}" for r, p, _ in PAGES])
def test_no_serious_accessibility_violation(contexts, estate, role, path, ready) -> None:
    page = _open(contexts, estate, role, path, ready, DESK)
    try:
        assert serious_violations(page) == []
    finally:
        page.close()


@pytest.mark.parametrize("phone", [PHONE, SMALL_PHONE], ids=["390", "360"])
@pytest.mark.parametrize("role, path, ready", PAGES, ids=[f"{r}:{p}" for r, p, _ in PAGES])
def test_nothing_scrolls_sideways_on_a_phone(contexts, estate, role, path, ready, phone) -> None:
    page = _open(contexts, estate, role, path, ready, phone)
    try:
        assert sideways(page) <= 0, f"{path} scrolls {sideways(page)} px sideways at {phone['width']} px"
        assert page.evaluate("!!document.querySelector('meta[name=viewport]')")
    finally:
        page.close()


@pytest.mark.parametrize("language, tag", [("zh_Hans", "zh-Hans"), ("zh_Hant", "zh-Hant"), ("en", "en")])
@pytest.mark.parametrize("role, path, ready", PAGES, ids=[f"{r}:{p}" for r, p, _ in PAGES])
def test_every_page_speaks_the_chosen_language(contexts, estate, role, path, ready, language, tag) -> None:
    page = _open(contexts, estate, role, path, ready, DESK, language)
    try:
        assert page.get_attribute("html", "lang") == tag
        assert page.evaluate("document.getElementById('language-choice').value") == language
    finally:
        page.close()

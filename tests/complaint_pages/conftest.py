"""The complaint pages' rigs: one real hub for the module (a real SQLite file, served by
uvicorn; no broker: the complaint pages need none), units in its register, one chromium,
and pages signed in as each role (token sign-in, as the login page takes it)."""

from __future__ import annotations

import pytest

from hub.app import start_hub
from hub.auth import create_token
from hub.people.registry import UnitIn, add_unit
from tests.conftest import CHROMIUM, CHROMIUM_ARGS
from tests.hub.conftest import make_config

#: the estate's timezone: not the machine's (UTC), so a time drawn in the browser's zone shows
TZ = "Asia/Shanghai"
UNITS = [("A", 12, "03"), ("A", 12, "04"), ("B", 3, "01"), ("B", 3, "02"), ("C", 1, "01")]


@pytest.fixture(scope="module")
def estate(tmp_path_factory):
    """A running hub with five units in the register; ``estate.h(role)`` makes API headers."""
    config = make_config(tmp_path_factory.mktemp("complaints"), timezone=TZ)
    running = start_hub(config, connect_mqtt=False)
    running.config = config
    for building, floor, room in UNITS:
        add_unit(running.store, "clerk:seed", UnitIn(building=building, floor=floor, room=room))

    def headers(role: str, department: str | None = None) -> dict[str, str]:
        extra = {"department": department} if department else {}
        return {"Authorization": "Bearer " + create_token(running.store, role, f"{role}-api", **extra)}

    running.h = headers
    yield running
    running.stop()


@pytest.fixture(scope="module")
def chromium():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(chromium, estate):
    """``open_page(role, path, ready, department=None, viewport=None)``: a signed-in page, its
    script's errors kept in ``page.errors``."""
    contexts = []

    def opener(role: str, path: str, ready: str, *, department: str | None = None, viewport: dict | None = None,
               language: str | None = None):
        context = chromium.new_context(viewport=viewport or {"width": 1366, "height": 900})
        contexts.append(context)
        if language:
            context.add_cookies([{"name": "gh_lang", "value": language, "url": estate.url}])
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(estate.url + "/login")
        extra = {"department": department} if department else {}
        page.fill("#token", create_token(estate.store, role, f"{role}-page", **extra))
        with page.expect_navigation():
            page.click("#login-submit")
        page.goto(estate.url + path)
        page.wait_for_selector(ready, state="attached")
        return page

    yield opener
    for context in contexts:
        context.close()

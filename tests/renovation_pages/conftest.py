"""The renovation pages' rigs: the hub rigs (a real hub on a real SQLite file, served by
uvicorn, on the session's mosquitto), a handed-over unit in the register, two gates, and
the pages opened signed in as a role in chromium."""

from __future__ import annotations

import pytest

from hub.auth import create_token
from hub.people.registry import UnitIn, add_unit
from tests.hub.conftest import hub, peer  # noqa: F401 - fixtures, re-exported for this area


@pytest.fixture
def estate(hub):  # noqa: F811
    """The hub with units A-12-03 and B-01-01 in the register (handed over, no owner
    registered yet) and the gates north and south."""
    add_unit(hub.store, "clerk:seed", UnitIn(building="A", floor=12, room="03"))
    add_unit(hub.store, "clerk:seed", UnitIn(building="B", floor=1, room="01"))
    hub.key("north")
    hub.key("south")
    return hub


@pytest.fixture
def open_page(browser, estate):
    """``open_page(role, path, ready)``: a signed-in page (token sign-in, as the login page
    takes it), its script's errors collected in ``page.errors``."""
    pages = []

    def open_(role: str, path: str, ready: str = "#reno[data-ready]", viewport: dict | None = None):
        context = browser.new_context(viewport=viewport or {"width": 1366, "height": 900})
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.errors = []
        page.on("pageerror", lambda e: page.errors.append(str(e)))
        page.goto(estate.url + "/login")
        page.fill("#token", create_token(estate.store, role, f"{role}-renovation"))
        with page.expect_navigation():
            page.click("#login-submit")
        page.goto(estate.url + path)
        page.wait_for_selector(ready, state="attached")
        pages.append(context)
        return page

    yield open_
    for context in pages:
        context.close()

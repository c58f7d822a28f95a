"""The login page in a real browser: a password sign-in, and a #token= link that asks before
it replaces the session in use."""

from __future__ import annotations

import httpx
import pytest

from hub.auth import COOKIE
from hub.users.accounts import add_user

pytestmark = pytest.mark.browser


def _session(context, url: str) -> str | None:
    return next((c["value"] for c in context.cookies(url) if c["name"] == COOKIE), None)


def _events_with(url: str, sid: str) -> int:
    return httpx.get(url + "/api/v1/events", headers={"Cookie": f"{COOKIE}={sid}"}).status_code


def test_a_login_link_asks_before_replacing_a_session(served, browser):
    ann, bob = served.token("guard", "ann"), served.token("guard", "bob")
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    page.goto(f"{served.url}/login#token={ann}")  # signed out: the link signs in at once
    page.wait_for_url(served.url + "/live")
    first = _session(context, served.url)
    assert first and first != ann

    page.goto(f"{served.url}/login#token={bob}")  # signed in: it asks
    page.wait_for_selector("#replace-session:not([hidden])")
    assert "#token" not in page.url
    assert "guard:ann" in page.text_content("#replace-question")
    page.keyboard.press("Enter")  # the focus is on "stay signed in"
    page.wait_for_selector("#replace-session[hidden]", state="attached")
    assert _session(context, served.url) == first
    page.reload()
    assert page.text_content("#signed-in-as") == "guard:ann"

    page = context.new_page()  # as a link opened from a message does
    page.goto(f"{served.url}/login#token={bob}")
    page.click("#replace-yes")
    page.wait_for_url(served.url + "/live")
    page.goto(served.url + "/login")
    assert page.text_content("#signed-in-as") == "guard:bob"
    assert _events_with(served.url, first) == 401, "the replaced session was ended, not just forgotten"
    assert errors == []
    context.close()


def test_a_person_signs_in_with_a_password_and_signs_out(served, browser):
    add_user(served.store, "test", "gina", "Gina Ho", "guard", "correct horse battery")
    context = browser.new_context()
    page = context.new_page()
    page.goto(served.url + "/login")
    page.fill("#username", "gina")
    page.fill("#password", "wrong horse battery")
    with page.expect_navigation():
        page.click("#account-submit")
    assert "Wrong username or password" in page.text_content("#login-error")
    page.fill("#password", "correct horse battery")
    with page.expect_navigation():
        page.click("#account-submit")
    page.wait_for_url(served.url + "/live")
    sid = _session(context, served.url)
    assert _events_with(served.url, sid) == 200
    with page.expect_navigation():
        page.click("text=Sign out")
    assert page.url == served.url + "/login"
    assert _events_with(served.url, sid) == 401
    context.close()

"""The login page in a real browser: a password sign-in, and an old #token= link that signs
nobody in."""

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


def test_a_link_with_a_token_signs_nobody_in_and_the_token_leaves_the_address(served, browser):
    ann = served.token("guard", "ann")
    context = browser.new_context()
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(f"{served.url}/login#token={ann}")
    page.wait_for_selector("#link-refused:not([hidden])")
    assert "username and password" in page.text_content("#link-refused")
    assert ann not in page.url and page.url == served.url + "/login"
    assert ann not in page.evaluate("location.href")
    assert _session(context, served.url) is None, "a token in a link must not sign in"
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

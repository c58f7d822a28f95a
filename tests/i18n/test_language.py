"""Choosing a language, and what it changes: the page's words and <html lang>, remembered for
the session and the person's account; a browser's 403/404 as a page in that language, a
script's as JSON."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.auth import COOKIE, create_token
from hub.db import Store
from hub.i18n.catalogs import gettext
from hub.i18n.languages import COOKIE as LANGUAGE_COOKIE
from hub.i18n.languages import from_accept_language
from hub.users.accounts import add_user
from tests.hub.conftest import make_config

PASSWORD = "correct horse battery"
OWN = {"Origin": "http://testserver"}  # a form posted from the hub's own page
PAGE = {"Accept": "text/html,application/xhtml+xml"}


@pytest.fixture
def estate(tmp_path):
    """A new estate as set up (no language set: Simplified Chinese), in process."""
    config = make_config(tmp_path, language="zh_Hans")
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        client.store = store
        yield client
    store.close()


def said(code: str, msgid: str) -> str:
    """``msgid`` in ``code``, which must be translated (else the page could not show it)."""
    text = gettext(code, msgid)
    assert text != msgid or code == "en", f"{msgid!r} has no {code} translation"
    return text


def _lang(html: str) -> str:
    return re.search(r'<html lang="([^"]+)"', html).group(1)


def _sign_in(client: TestClient, username: str) -> None:
    r = client.post("/login", data={"username": username, "password": PASSWORD}, headers=OWN, follow_redirects=False)
    assert r.status_code == 303, r.text


def test_a_new_estate_speaks_simplified_chinese_and_a_choice_before_signing_in_is_kept(estate) -> None:
    page = estate.get("/login")
    assert _lang(page.text) == "zh-Hans" and said("zh_Hans", "Sign in") in page.text and "Sign in" not in page.text
    r = estate.post("/language", data={"language": "zh_Hant", "next": "/login"}, headers=OWN, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    page = estate.get("/login")
    assert _lang(page.text) == "zh-Hant" and said("zh_Hant", "Sign in") in page.text
    estate.post("/language", data={"language": "en", "next": "/login"}, headers=OWN)
    page = estate.get("/login")
    assert _lang(page.text) == "en" and "Sign in" in page.text


def test_a_persons_choice_follows_them_to_another_browser(estate) -> None:
    add_user(estate.store, "test", "mei", "Mei", "clerk", PASSWORD)
    _sign_in(estate, "mei")
    estate.post("/language", data={"language": "en", "next": "/clerk"}, headers=OWN)
    with estate.store.read() as db:
        assert db.execute("SELECT language FROM users WHERE username = 'mei'").fetchone()[0] == "en"
    estate.cookies.clear()  # another desk: no cookie of the choice, a new session
    _sign_in(estate, "mei")
    assert estate.cookies.get(LANGUAGE_COOKIE) is None
    assert _lang(estate.get("/login").text) == "en"


def test_a_bad_choice_changes_nothing_and_only_the_hubs_own_pages_may_choose(estate) -> None:
    r = estate.post("/language", data={"language": "klingon"}, headers=OWN)
    assert r.status_code == 422 and r.json()["error"] == "bad_input" and r.json()["field"] == "language"
    assert "klingon" in r.json()["detail"]
    r = estate.post("/language", data={"language": "en"}, headers={"Origin": "https://evil.example"})
    assert r.status_code == 403 and r.json()["error"] == "cross_origin"
    assert estate.cookies.get(LANGUAGE_COOKIE) is None
    r = estate.post("/language", data={"language": "en", "next": "//evil.example/x"}, headers=OWN,
                    follow_redirects=False)
    assert r.headers["location"] == "/"  # never a way off the hub


def test_a_browser_gets_its_refusals_as_pages_in_its_language_and_a_script_gets_json(estate) -> None:
    guard = create_token(estate.store, "guard", "gina")
    r = estate.post("/login", data={"token": guard}, headers=OWN, follow_redirects=False)
    assert r.headers["location"] == "/live"
    page = estate.get("/clerk", headers=PAGE)
    assert page.status_code == 403 and page.headers["content-type"].startswith("text/html")
    assert said("zh_Hans", "Not for your role") in page.text
    assert 'href="/live"' in page.text  # the shell still offers the guard's own pages
    missing = estate.get("/no/such/page", headers=PAGE)
    assert missing.status_code == 404 and "<html" in missing.text and _lang(missing.text) == "zh-Hans"
    api = estate.get("/api/v1/no/such/thing")
    assert api.status_code == 404 and api.json()["error"] == "not_found"
    as_script = estate.get("/clerk", headers={"Authorization": f"Bearer {guard}"})
    assert as_script.status_code == 403 and as_script.json()["error"] == "forbidden"


def test_the_first_page_is_the_roles_own(estate) -> None:
    clerk = create_token(estate.store, "clerk", "mei")
    r = estate.post("/login", data={"token": clerk}, headers=OWN, follow_redirects=False)
    assert r.headers["location"] == "/clerk"
    assert estate.get("/", follow_redirects=False).headers["location"] == "/clerk"
    estate.cookies.delete(COOKIE)


@pytest.mark.parametrize("header, code", [
    ("zh-CN,zh;q=0.9,en;q=0.8", "zh_Hans"), ("zh-TW", "zh_Hant"), ("zh-Hant-HK", "zh_Hant"), ("en-GB,en;q=0.5", "en"),
    ("fr-FR, en;q=0.4, zh-HK;q=0.6", "zh_Hant"), ("de", None), ("", None), ("zh;q=0", None),
])
def test_accept_language(header: str, code: str | None) -> None:
    assert from_accept_language(header) == code


def test_signed_out_a_browser_is_sent_to_sign_in_from_any_page_and_a_script_gets_401(estate) -> None:
    for path in ("/clerk/audit", "/clerk/stock/2026-11", "/live"):
        r = estate.get(path, headers=PAGE, follow_redirects=False)
        assert r.status_code == 303 and r.headers["location"] == "/login", path
    r = estate.get("/clerk/audit", follow_redirects=False)
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"

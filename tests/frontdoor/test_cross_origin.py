"""Changes made with a browser session must come from the hub's own pages.

The attack: a page on another port of the same host (same site, so even a SameSite=Strict
cookie rides along) auto-submits a form to the hub while a guard or admin is signed in.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from hub.auth import COOKIE

CARD = {"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}


@pytest.fixture
def evil_site():
    """A web server on another port of 127.0.0.1 serving whatever page a test sets."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            body = pages.get(self.path, "").encode()
            self.send_response(200 if body else 404)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    server.pages = pages
    server.url = f"http://127.0.0.1:{server.server_address[1]}"
    yield server
    server.shutdown()
    server.server_close()


def _auto_post(action: str) -> str:
    return (f'<html><body><form id="f" method="post" action="{action}"><input name="reason" value="pwned"></form>'
            '<script>document.getElementById("f").submit()</script></body></html>')


def _sign_in(page, hub_url: str, token: str) -> None:
    page.goto(hub_url + "/login")
    page.fill("#token", token)
    with page.expect_navigation():
        page.click("#login-submit")


@pytest.mark.browser
def test_a_form_from_another_port_changes_nothing(served, evil_site, browser):
    admin = served.token("admin", "root")
    api = httpx.Client(base_url=served.url, headers={"Authorization": f"Bearer {admin}"})
    assert api.post("/api/v1/cards", json=CARD).status_code == 201
    evil_site.pages["/revoke"] = _auto_post(f"{served.url}/api/v1/cards/0A0012AB34/revoke")
    evil_site.pages["/open"] = _auto_post(f"{served.url}/api/v1/gates/north/doors/north-in/open")

    context = browser.new_context()
    page = context.new_page()
    _sign_in(page, served.url, admin)
    assert any(c["name"] == COOKIE for c in context.cookies(served.url))

    for attack in ("/revoke", "/open"):
        with page.expect_navigation(url=f"{served.url}/**"):
            page.goto(evil_site.url + attack)
        text = page.text_content("body")
        # the cookie did ride along (else this would say unauthenticated), and was refused anyway
        assert '"cross_origin"' in text, text

    card = api.get("/api/v1/cards/0A0012AB34").json()
    assert card["status"] == "active"
    with served.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM audit WHERE action IN ('revoke', 'remote_open', "
                          "'remote_open_failed')").fetchone()[0] == 0

    # the hub's own pages still change things with the same session (control)
    r = page.evaluate("""async () => (await fetch('/api/v1/cards/0A0012AB34/revoke', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({reason: 'moved out'})})).status""")
    assert r == 200
    assert api.get("/api/v1/cards/0A0012AB34").json()["status"] == "revoked"
    context.close()


def test_origin_rules_for_cookie_changes(app_client):
    token = app_client.token("clerk")
    assert app_client.post("/login", data={"token": token}, follow_redirects=False).status_code == 303
    post = lambda headers: app_client.post("/api/v1/cards", json=CARD, headers=headers)  # noqa: E731
    assert post({}).json()["error"] == "cross_origin"  # a cookie change with no sign of where it came from
    assert post({"Origin": "http://127.0.0.1:9"}).json()["error"] == "cross_origin"
    assert post({"Origin": "null"}).json()["error"] == "cross_origin"
    assert post({"Sec-Fetch-Site": "same-site", "Origin": "http://testserver"}).json()["error"] == "cross_origin"
    assert post({"Sec-Fetch-Site": "cross-site"}).json()["error"] == "cross_origin"
    assert post({"Origin": "http://testserver"}).status_code == 201
    assert post({"Sec-Fetch-Site": "same-origin"}).status_code == 409  # reached the route: already active
    # reads are not changes
    assert app_client.get("/api/v1/cards", headers={"Origin": "http://127.0.0.1:9"}).status_code == 200
    # bearer requests are not affected, whatever Origin says
    app_client.cookies.clear()
    r = app_client.post("/api/v1/cards", json={**CARD, "uid": "0B0B0B0B"}, headers={
        "Authorization": f"Bearer {token}", "Origin": "http://127.0.0.1:9"})
    assert r.status_code == 201
    # and nobody signs in from another site's form either
    r = app_client.post("/login", data={"token": token}, headers={"Origin": "http://127.0.0.1:9"},
                        follow_redirects=False)
    assert r.status_code == 403


def test_behind_a_proxy_the_public_origin_is_accepted(tmp_path):
    from fastapi.testclient import TestClient

    from hub.app import create_app
    from hub.auth import create_token
    from hub.db import Store
    from tests.hub.conftest import make_config

    config = make_config(tmp_path, public_origin="https://gate.example.org")
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        client.post("/login", data={"token": create_token(store, "clerk", "c")})
        assert client.post("/api/v1/cards", json=CARD, headers={"Origin": "https://gate.example.org"}).status_code == 201
        r = client.post("/api/v1/cards", json=CARD, headers={"Origin": "https://evil.example.org"})
        assert r.json()["error"] == "cross_origin"
    store.close()

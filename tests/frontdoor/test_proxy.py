"""Secure cookies behind a TLS proxy, believed only from the configured proxy."""

from __future__ import annotations

import httpx

from hub.app import start_hub
from hub.auth import COOKIE, create_token
from tests.hub.conftest import make_config

HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def _cookie_after_login(tmp_path, headers: dict[str, str], **hub) -> str:
    config = make_config(tmp_path, **hub)
    with start_hub(config, connect_mqtt=False) as running:
        token = create_token(running.store, "guard", "g")
        r = httpx.post(running.url + "/login", data={"token": token}, headers=headers)
    assert r.status_code == 303, r.text
    cookie = r.headers["set-cookie"]
    assert cookie.startswith(COOKIE + "=")
    return cookie


def test_via_an_allowed_proxy_https_makes_the_cookie_secure(tmp_path):
    cookie = _cookie_after_login(tmp_path / "a", HTTPS, forwarded_allow_ips=["127.0.0.1"])
    assert "Secure" in cookie and "HttpOnly" in cookie


def test_from_anywhere_else_x_forwarded_proto_is_not_believed(tmp_path):
    # a proxy is configured, but the request does not come from it
    assert "Secure" not in _cookie_after_login(tmp_path / "b", HTTPS, forwarded_allow_ips=["192.0.2.10"])
    # no proxy configured: the default
    assert "Secure" not in _cookie_after_login(tmp_path / "c", HTTPS)
    # the allowed proxy saying plain http: not secure
    assert "Secure" not in _cookie_after_login(tmp_path / "d", {"X-Forwarded-Proto": "http"},
                                               forwarded_allow_ips=["127.0.0.1"])

"""The language of one request (the rules are in hub.i18n.languages' docstring)."""

from __future__ import annotations

from starlette.requests import HTTPConnection

from hub.auth import COOKIE as SESSION_COOKIE
from hub.i18n.languages import COOKIE, from_accept_language, known


def language_of(conn: HTTPConnection) -> str:
    state = conn.scope.get("state", {})
    cred = state.get("credential")
    if cred is None and SESSION_COOKIE in conn.cookies:
        cred = _session_of(conn)  # a public path (the login page): the front door did not look
    if cred is not None and cred.via == "bearer":
        return from_accept_language(conn.headers.get("accept-language")) or "en"
    if cred is not None and known(cred.language):
        return cred.language
    chosen = known(conn.cookies.get(COOKIE))
    if chosen:
        return chosen
    if cred is None and conn.url.path.startswith("/api/"):  # a script with no credential at all
        return from_accept_language(conn.headers.get("accept-language")) or "en"
    return conn.app.state.config.hub.language


def _session_of(conn: HTTPConnection):
    from hub.frontdoor import identify  # the front door imports the error mapping, which imports this
    from hub.users.sessions import Lifetime

    return identify(conn.app.state.store, conn, Lifetime.of(conn.app.state.config.hub))

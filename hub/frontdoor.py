"""The hub's front door: every HTTP request passes here before any route sees it.

In this order, and before a byte of the body is read:
1. who it is: a bearer token, or else the browser session cookie, looked up for real
   (unknown, revoked, expired, ended or idle: nobody). Nobody, on anything but the login
   page, its two static files and /healthz, is a 401 (a browser page: a redirect to the
   login page), so a 64 MB body with a made-up token is refused unread;
2. a change (anything but GET/HEAD/OPTIONS) made with the session cookie must come from the
   hub's own pages: ``Sec-Fetch-Site: same-origin``, or an ``Origin`` that is the hub's own
   (or the configured public origin behind a proxy). A form posted from another site, or
   another port of the same host, is refused even though the browser sent the cookie.
   Bearer requests are not affected: no browser adds a bearer header on its own;
3. the body's size: a Content-Length over the route's cap is refused at once, and a body
   sent without one (chunked) is cut off at the cap; imports and photos have larger caps
   than JSON.
Then the route runs with the credential in the request's state (hub.auth.require reads it).

It also writes the access log (method, path without its query, status, milliseconds: a
clerk's search by phone or ID number stays out of it; uvicorn's own access log is off) and
adds the security headers to every answer.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import dataclass
from typing import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import HTTPConnection
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hub.auth import COOKIE, Credential, bearer_of, token_credential
from hub.db import Store
from hub.errors import DomainError, Forbidden, TooLarge, Unauthenticated
from hub.users.sessions import Lifetime, session_credential

access_log = logging.getLogger("hub.access")

MB = 1024 * 1024
#: (path pattern, cap in bytes), first match wins; anything else is a JSON or form body
BODY_LIMITS: list[tuple[re.Pattern[str], int]] = [
    (re.compile(r"^/api/v1/import/[^/]+$"), 6 * MB),  # importer.MAX_BYTES (5 MB) and the multipart wrapping
    (re.compile(r"^/api/v1/people/[^/]+/photo$"), 3 * MB),  # photos.MAX_BYTES (2 MB) and the wrapping
    (re.compile(r"^/api/v1/cards/imports$"), 51 * MB),  # bulk_import.MAX_BYTES (50 MB) and the wrapping
    (re.compile(r"^/api/v1/slips/fees/import$"), 6 * MB),  # the finance import: importer.MAX_BYTES (5 MB)
    (re.compile(r"^/api/v1/violations/[^/]+/photos$"), 3 * MB),  # photos.MAX_BYTES (2 MB) and the wrapping
]
DEFAULT_LIMIT = 256 * 1024
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOGIN_PATH = "/login"

SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"content-security-policy", b"default-src 'self'; img-src 'self'; style-src 'self'; frame-ancestors 'none'"),
]


def body_limit(path: str) -> int:
    for pattern, limit in BODY_LIMITS:
        if pattern.match(path):
            return limit
    return DEFAULT_LIMIT


def identify(store: Store, conn: HTTPConnection, lifetime: Lifetime) -> Credential | None:
    """Who a request is: its bearer token if it sends one (then never the cookie), else its session."""
    token = bearer_of(conn.headers)
    if token is not None:
        return token_credential(store, token)
    sid = conn.cookies.get(COOKIE)
    return session_credential(store, sid, lifetime) if sid else None


#: how often a long-lived answer (an event stream) checks that its credential still holds
RECHECK_S = 5.0


async def still_admitted(request: HTTPConnection) -> bool:
    """Whether the token or session a stream was opened with still holds (not revoked, not
    logged out, not expired): a stream outlives the request that the front door checked."""
    store = request.app.state.store
    return await run_in_threadpool(identify, store, request, Lifetime.of(request.app.state.config.hub)) is not None


def from_own_pages(scheme: str, headers, public_origin: str | None, *, missing_ok: bool = False) -> bool:
    """Whether a browser request comes from the hub's own pages.

    Browsers set Sec-Fetch-Site and Origin themselves (page scripts cannot), so a page on
    another origin cannot claim to be the hub's. ``missing_ok``: a request with neither
    header (curl, an old browser) passes; used only where no session is used (signing in).
    """
    site = headers.get("sec-fetch-site")
    if site is not None:
        return site == "same-origin" or (missing_ok and site == "none")
    origin = headers.get("origin")
    if origin is None:
        return missing_ok
    own = {f"{scheme}://{headers.get('host', '')}".lower()}
    if public_origin:
        own.add(public_origin.rstrip("/").lower())
    return origin.rstrip("/").lower() in own


@dataclass(frozen=True)
class Door:
    """What the front door needs to know of the hub."""

    store: Store
    public_paths: frozenset[str]
    #: browser pages: nobody signed in is sent to the login page instead of a 401
    pages: frozenset[str]
    lifetime: Lifetime
    public_origin: str | None
    #: the one mapping of domain errors to HTTP answers (hub.app)
    respond: Callable[[DomainError, HTTPConnection], Response]


class FrontDoor:
    """ASGI middleware (pure ASGI, so it sees the body as it streams and can stop it)."""

    def __init__(self, app: ASGIApp, door: Door) -> None:
        self.app = app
        self.door = door

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        method, path = scope["method"], scope["path"]
        answered = {"status": 0}

        async def send_logged(message: Message) -> None:
            if message["type"] == "http.response.start":
                answered["status"] = message["status"]
                have = {k.lower() for k, _ in message.get("headers", [])}
                message = {**message, "headers": [*message.get("headers", []),
                                                  *[(k, v) for k, v in SECURITY_HEADERS if k not in have]]}
                access_log.info("%s %s %d %.0fms", method, path, message["status"],
                                (time.perf_counter() - started) * 1000)
            await send(message)

        refusal = await self._check(scope)
        if refusal is not None:
            await refusal(scope, receive, send_logged)
            return
        await self._pass_capped(scope, receive, send_logged, body_limit(path))

    async def _check(self, scope: Scope) -> Response | None:
        """A refusal, or None with the credential put in the request's state."""
        door = self.door
        conn = HTTPConnection(scope)
        method, path = scope["method"], scope["path"]
        cred: Credential | None = None
        if path not in door.public_paths:
            cred = await run_in_threadpool(identify, door.store, conn, door.lifetime)
            if cred is None:
                if path in door.pages or _navigating(method, path, conn.headers):
                    return RedirectResponse(LOGIN_PATH, status_code=303)
                sent = bearer_of(conn.headers) is not None or COOKIE in conn.cookies
                refused = (Unauthenticated("unknown, expired or revoked token or session") if sent
                           else Unauthenticated("no token: send Authorization: Bearer TOKEN or log in"))
                return door.respond(refused, conn)
        if method not in SAFE_METHODS:
            if cred is not None and cred.via == "cookie":
                ok = from_own_pages(scope["scheme"], conn.headers, door.public_origin)
            elif path == LOGIN_PATH:  # no login from another site's form either
                ok = from_own_pages(scope["scheme"], conn.headers, door.public_origin, missing_ok=True)
            else:
                ok = True
            if not ok:
                return door.respond(Forbidden("a change made with a browser session must come from the hub's own "
                                              "pages", rule="cross_origin"), conn)
            length = conn.headers.get("content-length")
            if length is not None and length.strip().isdigit() and int(length) > body_limit(path):
                return door.respond(_too_large(path), conn)
        scope["state"] = {**scope.get("state", {}), "credential": cred}
        return None

    async def _pass_capped(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        """Run the app, cutting the body off at ``limit``: the caller gets a 413 and the app
        a disconnect, and whatever the app answers after that is dropped."""
        state = {"read": 0, "cut": False, "started": False}

        async def capped_receive() -> Message:
            if state["cut"]:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                state["read"] += len(message.get("body", b""))
                if state["read"] > limit:
                    state["cut"] = True
                    if not state["started"]:
                        state["started"] = True
                        await self.door.respond(_too_large(scope["path"]), HTTPConnection(scope))(scope, receive, send)
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            if state["cut"]:
                return
            if message["type"] == "http.response.start":
                state["started"] = True
            await send(message)

        await self.app(scope, capped_receive, guarded_send)


def _navigating(method: str, path: str, headers) -> bool:
    """A browser opening a page (any page, not the API): sent to sign in rather than a 401."""
    return method == "GET" and not path.startswith("/api/") and "text/html" in headers.get("accept", "")


def _too_large(path: str) -> TooLarge:
    return TooLarge("the body is larger than this route takes ({kb} KB)", field="(body)", kb=body_limit(path) // 1024)

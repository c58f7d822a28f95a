"""The login page and the guard's live entry page.

A person signs in with their own username and password, or by pasting a token once; the
hub answers with a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS, also
behind a trusted TLS proxy) holding a fresh random session id, never the token, that
EventSource and fetch then send. Logging out ends the session at the hub, so the old cookie
is refused at once. Pages render no data themselves: the live page's script reads the same
JSON API and event stream as any client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub.auth import COOKIE, Principal, Role, credential_of, token_credential
from hub.errors import LockedOut, NotFound, Unauthenticated
from hub.frontdoor import identify
from hub.users import accounts, sessions

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
STATIC = HERE / "static"
#: served to anyone: the login page needs them and they hold nothing secret
PUBLIC_STATIC = {"hub.css", "login.js"}
STATIC_FILES = {"hub.css": "text/css", "live.js": "text/javascript", "login.js": "text/javascript"}
LIVE_ROLES = {Role.ADMIN, Role.GUARD, Role.SUPERVISOR}

router = APIRouter(include_in_schema=False)


def _page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/live", status_code=303)


CLERK_ROLES = {Role.ADMIN, Role.CLERK, Role.SUPERVISOR}


def _lifetime(request: Request) -> sessions.Lifetime:
    return sessions.Lifetime.of(request.app.state.config.hub)


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The login form; to a browser already signed in, also where it may go from here."""
    who = None
    cred = identify(request.app.state.store, request, _lifetime(request))
    if cred is not None:
        p = cred.principal
        who = {"name": p.who, "live": p.role in LIVE_ROLES, "clerk": p.role in CLERK_ROLES}
    return _page("login.html", site=request.app.state.config.hub.site, error=None, signed_in=who)


@router.post("/login")
def login(request: Request, token: str = Form(default="", max_length=200), username: str = Form(default="", max_length=64),
          password: str = Form(default="", max_length=accounts.MAX_PASSWORD)) -> Response:
    """Sign in with a token, or with a username and password; either way the browser gets a
    new session of its own (and any session it had is ended)."""
    store = request.app.state.store
    site = request.app.state.config.hub.site
    token_id = user_id = None
    try:
        if token.strip():
            cred = token_credential(store, token.strip())
            if cred is None:
                raise Unauthenticated("That token is not valid.")
            principal, token_id = cred.principal, cred.token_id
        elif username.strip():
            user_id, principal = accounts.sign_in(store, username, password)
        else:
            raise Unauthenticated("Give your username and password, or a token.")
    except LockedOut as exc:
        return _page("login.html", status=429, site=site, error=exc.detail[:1].upper() + exc.detail[1:] + ".",
                     signed_in=None, username=username)
    except Unauthenticated as exc:
        message = "Wrong username or password." if exc.rule == "bad_password" else exc.detail
        return _page("login.html", status=401, site=site, error=message, signed_in=None, username=username)
    sessions.end_session(store, request.cookies.get(COOKIE))
    lifetime = _lifetime(request)
    sid = sessions.start_session(store, lifetime, token_id=token_id, user_id=user_id)
    # other roles land back here, signed in, with links to their pages
    target = "/live" if principal.role in LIVE_ROLES else "/login"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        COOKIE, sid, max_age=int(lifetime.absolute.total_seconds()), httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )
    return resp


@router.post("/logout")
def logout(request: Request) -> Response:
    """Ends the session at the hub: the cookie, wherever a copy of it is, is refused from now on."""
    sessions.end_session(request.app.state.store, request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.get("/live", response_class=HTMLResponse)
def live(request: Request) -> Response:
    principal: Principal = credential_of(request).principal
    if principal.role not in LIVE_ROLES:
        return _page("forbidden.html", status=403, who=principal.who)
    return _page("live.html", site=request.app.state.config.hub.site, who=principal.who,
                 can_open=principal.role in LIVE_ROLES)


@router.get("/static/{name}")
def static(request: Request, name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise NotFound(f"no static file {name}")
    if name not in PUBLIC_STATIC:
        credential_of(request)  # the front door has checked it; this says so here too
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})

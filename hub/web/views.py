"""The login page and the guard's live entry page.

A browser logs in by pasting its token once; the hub answers with the session cookie
(HttpOnly, SameSite=Strict, Secure over HTTPS) that EventSource and fetch then send, so the
token never sits where page scripts can read it. Pages render no data themselves: the live
page's script reads the same JSON API and event stream as any client.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub.auth import COOKIE, Role, authenticate, token_from_request
from hub.errors import NotFound, Unauthenticated

HERE = Path(__file__).resolve().parent.parent
TEMPLATES = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
STATIC = HERE / "static"
#: served to anyone: the login page needs them and they hold nothing secret
PUBLIC_STATIC = {"hub.css", "login.js"}
STATIC_FILES = {"hub.css": "text/css", "live.js": "text/javascript", "login.js": "text/javascript"}
LIVE_ROLES = {Role.ADMIN, Role.GUARD, Role.SUPERVISOR}
SESSION_MAX_AGE = 12 * 3600

router = APIRouter(include_in_schema=False)


def _page(name: str, status: int = 200, **context) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(name).render(**context), status_code=status)


@router.get("/", response_class=RedirectResponse)
def root() -> RedirectResponse:
    return RedirectResponse("/live", status_code=303)


CLERK_ROLES = {Role.ADMIN, Role.CLERK, Role.SUPERVISOR}


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    """The login form; to a browser already signed in, also where it may go from here."""
    who = None
    try:
        principal = authenticate(request.app.state.store, token_from_request(request))
        who = {"name": principal.who, "live": principal.role in LIVE_ROLES, "clerk": principal.role in CLERK_ROLES}
    except Unauthenticated:
        pass
    return _page("login.html", site=request.app.state.config.hub.site, error=None, signed_in=who)


@router.post("/login")
def login(request: Request, token: str = Form(default="")) -> Response:
    try:
        principal = authenticate(request.app.state.store, token.strip())
    except Unauthenticated:
        return _page("login.html", status=401, site=request.app.state.config.hub.site, error="That token is not valid.",
                     signed_in=None)
    # other roles land back here, signed in, with links to their pages
    target = "/live" if principal.role in LIVE_ROLES else "/login"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie(
        COOKIE, token.strip(), max_age=SESSION_MAX_AGE, httponly=True, samesite="strict",
        secure=request.url.scheme == "https", path="/",
    )
    return resp


@router.post("/logout")
def logout() -> Response:
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/live", response_class=HTMLResponse)
def live(request: Request) -> Response:
    try:
        principal = authenticate(request.app.state.store, token_from_request(request))
    except Unauthenticated:
        return RedirectResponse("/login", status_code=303)
    if principal.role not in LIVE_ROLES:
        return _page("forbidden.html", status=403, who=principal.who)
    return _page("live.html", site=request.app.state.config.hub.site, who=principal.who,
                 can_open=principal.role in LIVE_ROLES)


@router.get("/static/{name}")
def static(request: Request, name: str) -> FileResponse:
    if name not in STATIC_FILES:
        raise NotFound(f"no static file {name}")
    if name not in PUBLIC_STATIC:
        authenticate(request.app.state.store, token_from_request(request))
    return FileResponse(STATIC / name, media_type=STATIC_FILES[name], headers={"Cache-Control": "no-cache"})

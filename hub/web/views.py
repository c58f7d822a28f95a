"""The login page, signing out, and the pages' static files (the live page: hub.web.live).

A person signs in with their own username and password, or by pasting a token once; the
hub answers with a session cookie (HttpOnly, SameSite=Strict, Secure over HTTPS, also
behind a trusted TLS proxy) holding a fresh random session id, never the token, that
EventSource and fetch then send. Logging out ends the session at the hub, so the old cookie
is refused at once. Pages put no data into their markup: the live page's script draws its
rows (textContent only) from the passes the page carries as JSON and from its stream, the
events stream's rows with each holder's photo URL (hub.web.live).
"""

from __future__ import annotations

from functools import partial

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from hub.auth import COOKIE, Role, credential_of, token_credential
from hub.errors import LockedOut, NotFound, Unauthenticated
from hub.frontdoor import identify
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.languages import COOKIE as LANGUAGE_COOKIE
from hub.i18n.languages import known
from hub.i18n.validation import N_
from hub.users import accounts, sessions
from hub.web import assets
from hub.web.live import LIVE_ROLES
from hub.web.live import router as live_router
from hub.web.shell import page as shell_page

#: served to anyone: the login page needs them and they hold nothing secret
PUBLIC_STATIC = assets.PUBLIC

router = APIRouter(include_in_schema=False)
WRONG_PASSWORD = N_("Wrong username or password.")
router.include_router(live_router)


CLERK_ROLES = {Role.ADMIN, Role.CLERK, Role.SUPERVISOR}


#: the estate manager, shift leaders and departments work from the complaints (hub.complaints)
COMPLAINT_ROLES = frozenset({Role.MANAGER, Role.SHIFT_LEADER, Role.DEPARTMENT})


def first_page(role: Role) -> str:
    """Where a person lands: the guard's live feed, the complaints for the manager, shift
    leaders and departments, engineering's approvals, or the clerk's card centre."""
    if role in LIVE_ROLES:
        return "/live"
    if role == Role.ENGINEERING:
        return "/permits/engineering"
    return "/complaints" if role in COMPLAINT_ROLES else "/clerk"


@router.get("/", response_class=RedirectResponse)
def root(request: Request) -> RedirectResponse:
    return RedirectResponse(first_page(credential_of(request).principal.role), status_code=303)


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
    return shell_page(request, "login.html", cred.principal if cred else None, error=None, signed_in=who)


@router.post("/login")
def login(request: Request, token: str = Form(default="", max_length=200), username: str = Form(default="", max_length=64),
          password: str = Form(default="", max_length=accounts.MAX_PASSWORD)) -> Response:
    """Sign in with a token, or with a username and password; either way the browser gets a
    new session of its own (and any session it had is ended)."""
    store = request.app.state.store
    say = partial(gettext, language_of(request))
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
        return shell_page(request, "login.html", None, status=429, error=exc.in_language(say), signed_in=None,
                          username=username)
    except Unauthenticated as exc:
        message = say(WRONG_PASSWORD) if exc.rule == "bad_password" else exc.in_language(say)
        return shell_page(request, "login.html", None, status=401, error=message, signed_in=None, username=username)
    sessions.end_session(store, request.cookies.get(COOKIE))
    lifetime = _lifetime(request)
    sid = sessions.start_session(store, lifetime, token_id=token_id, user_id=user_id,
                                 language=known(request.cookies.get(LANGUAGE_COOKIE)))
    resp = RedirectResponse(first_page(principal.role), status_code=303)
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
    # the photos the live page kept (hub.web.live) leave this browser with the session
    resp.headers["Clear-Site-Data"] = '"cache"'
    resp.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict", secure=request.url.scheme == "https")
    return resp


@router.get("/static/{name}")
def static(request: Request, name: str) -> FileResponse:
    """A page's script or style; kept by the browser when asked for by its versioned URL (hub.web.assets)."""
    if name not in assets.FILES:
        raise NotFound("no static file {name}", name=name)
    if name not in PUBLIC_STATIC:
        credential_of(request)  # the front door has checked it; this says so here too
    return FileResponse(assets.STATIC / name, media_type=assets.FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, request.query_params.get("v"))})

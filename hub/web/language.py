"""Choosing the language: remembered for the session and the person's account, and in a
cookie for the login page (where nobody is signed in yet)."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse

from hub.errors import BadInput, Forbidden
from hub.frontdoor import from_own_pages, identify
from hub.i18n.languages import COOKIE, known
from hub.users import sessions

router = APIRouter(include_in_schema=False)

PATH = "/language"
KEEP_S = 365 * 24 * 3600


def _local(target: str) -> str:
    """Only a path of this hub: never an open redirect to another site."""
    ok = target.startswith("/") and not target.startswith("//") and "\\" not in target and "\n" not in target
    return target if ok else "/"


@router.post(PATH)
def choose(request: Request, language: str = Form(max_length=16), next: str = Form(default="/", max_length=500)
           ) -> RedirectResponse:
    """A public path (the login page offers it too); like signing in, only from the hub's own pages."""
    config = request.app.state.config.hub
    if not from_own_pages(request.url.scheme, request.headers, config.public_origin, missing_ok=True):
        raise Forbidden("a change made with a browser session must come from the hub's own pages", rule="cross_origin")
    code = known(language)
    if code is None:
        raise BadInput("there is no language {code}", field="language", code=language)
    cred = identify(request.app.state.store, request, sessions.Lifetime.of(config))
    if cred is not None and cred.session_id is not None:
        sessions.set_language(request.app.state.store, cred.session_id, code)
    resp = RedirectResponse(_local(next), status_code=303)
    resp.set_cookie(COOKIE, code, max_age=KEEP_S, httponly=True, samesite="lax", secure=request.url.scheme == "https",
                    path="/")
    return resp

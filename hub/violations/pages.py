"""The violations page (/violations, inside the shell every page shares): the record of
violations against units (and their permits), the measures taken in order, and the
penalties, which only the manager sets (the API's rule; the page offers the form to the
manager only). The page renders no records itself: the shared renovation script
(hub/static/permits.js, served by hub.permits.pages) reads and writes the violations API
(hub/violations/API.md) with the session cookie.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hub.auth import Principal, require
from hub.permits.pages import common, roles
from hub.web.shell import page

#: who keeps the record (the desk, engineering who find renovation violations, the manager)
RECORDERS = roles("clerk", "supervisor", "manager", "engineering")

router = APIRouter(include_in_schema=False)


@router.get("/violations", response_class=HTMLResponse)
def violations_page(request: Request, who: Principal = Depends(require(*RECORDERS))) -> HTMLResponse:
    return page(request, "violations.html", who, current="nav-violations", **common(request, who, "violations"))

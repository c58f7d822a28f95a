"""The release slip pages, inside the shell every page shares:

- ``/slips``: the desk's: a slip for goods leaving (each item and its quantity, the
  vehicle, the date, the gates) or a household moving out (the fee position and how old it
  is shown; a refusal for fees owed said on its field; the manager's override with a
  reason), and the slips waiting for the manager's override;
- ``/slips/check``: the guard's, made for a phone: a slip's number or QR text checked at
  the gate (POST /api/v1/slips/check), accepted or refused with the reason, large.

The pages render no records themselves: the shared renovation script (hub/static/permits.js,
served by hub.permits.pages) reads and writes the slips API (hub/slips/API.md).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from hub.auth import Principal, require
from hub.permits.pages import DESK, common, roles
from hub.web.shell import page

#: who checks a slip at the gate
CHECKERS = roles("guard", "supervisor")

router = APIRouter(include_in_schema=False)


@router.get("/slips", response_class=HTMLResponse)
def slips_page(request: Request, who: Principal = Depends(require(*DESK))) -> HTMLResponse:
    return page(request, "slips.html", who, current="nav-slips", **common(request, who, "slips"))


@router.get("/slips/check", response_class=HTMLResponse)
def check_page(request: Request, who: Principal = Depends(require(*CHECKERS))) -> HTMLResponse:
    return page(request, "slips_check.html", who, current="nav-slip-check", **common(request, who, "check"))

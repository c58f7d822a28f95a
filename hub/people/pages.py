"""The IC card clerk's page (inside the shell every page shares, hub.web.shell) and its
static files.

The page renders no register data itself: its script reads and writes the same JSON API as
any client, with the session cookie, so the page can show nothing the API would refuse.
The one read the API has no route for, the estate day's card moves for the page's "today"
column, is here (staff only, read-only). Scripts and styles are files (the hub's CSP
forbids inline ones), linked with their content's digest so a new version is a new URL.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from hub.auth import Principal, Role, require
from hub.cards.rules import DEPOSIT_TYPES
from hub.errors import NotFound
from hub.i18n.validation import N_
from hub.stock.ledger import utc_iso
from hub.web import assets
from hub.web.shell import estate_timezone, page, this_month
from protocols.cards import CardType

STATIC = assets.STATIC
FILES = {"clerk.css": "text/css", "clerk.js": "text/javascript", "clerk_print.js": "text/javascript"}

#: the card types as the clerk reads them (msgids; the value sent to the API stays the enum's)
CARD_TYPE_NAMES = {
    "owner": N_("Owner"), "resident": N_("Resident (family)"), "tenant": N_("Tenant"),
    "domestic_helper": N_("Domestic helper"), "renovation_worker": N_("Renovation worker"),
    "temporary": N_("Temporary"), "staff": N_("Staff"),
}

router = APIRouter(include_in_schema=False)
_staff = require(Role.CLERK, Role.SUPERVISOR)


def static_url(name: str) -> str:
    """``/clerk/static/clerk.js?v=<digest>``: kept by the browser until the file changes."""
    return f"/clerk/static/{name}?v={assets.digest(name)}"


@router.get("/clerk", response_class=HTMLResponse)
def clerk_page(request: Request, who: Principal = Depends(_staff)) -> HTMLResponse:
    month = this_month(estate_timezone(request))
    types = [t.value for t in CardType]
    return page(request, "clerk_home.html", who, current="nav-clerk", month=month, static_url=static_url,
                card_types=[(t, CARD_TYPE_NAMES.get(t, t)) for t in types],
                deposit_types=sorted(t.value for t in DEPOSIT_TYPES),
                supervisor=who.role in (Role.SUPERVISOR, Role.ADMIN))


@router.get("/clerk/today")
def today(request: Request, _: Principal = Depends(_staff)) -> dict[str, Any]:
    """The card moves of the estate's day so far, newest first (at most 200): the page's
    "today" column. Read-only; the same rows the audit search shows a supervisor."""
    tz = ZoneInfo(estate_timezone(request))
    day = datetime.now(timezone.utc).astimezone(tz).date()
    start = utc_iso(datetime.combine(day, time(0), tz))
    end = utc_iso(datetime.combine(day + timedelta(days=1), time(0), tz))
    with request.app.state.store.read() as db:
        if not db["card_moves"].exists():
            return {"day": day.isoformat(), "items": []}
        rows = list(db.query(
            "SELECT m.id, m.at, m.uid, m.move, m.to_status, m.who, m.amount_cents, m.related_uid, c.card_type,"
            " c.holder_name, c.holder_unit FROM card_moves m LEFT JOIN cards c ON c.uid = m.uid"
            " WHERE m.at >= ? AND m.at < ? ORDER BY m.at DESC, m.id DESC LIMIT 200", [start, end]))
    return {"day": day.isoformat(), "items": rows}


@router.get("/clerk/static/{name}")
def clerk_static(name: str, v: str | None = None, _: Principal = Depends(_staff)) -> FileResponse:
    if name not in FILES:
        raise NotFound("no static file {name}", name=name)
    return FileResponse(STATIC / name, media_type=FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, v)})

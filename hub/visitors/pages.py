"""The visitor page (/visitors): the guard's and the visitor desk's registration form, the
pass it gives, the visitors expected and those inside now.

Like the clerk's page (hub.people.pages), it renders no visitor data itself: its script
reads and writes the visitors API (hub.visitors.views) with the session cookie, so the page
shows nothing the API would not give the same person, and every rule (the register's
units, the watch list, who may override) is the API's. The one read added here is the
host unit as it is typed: the register's unit API is the clerk's (it lists the people and
cards of a unit), so the guard's form asks only whether unit codes beginning with the text
exist, and gets the codes, nothing more.

What the page decides for itself, because it is about the form and not a rule:
- ``form_opened_at`` is the moment the first thing is typed into an empty form (the page
  sits open all shift, so its loading is not when a visitor's registration began);
- the quick leaving choices are times in the estate's timezone ("tonight": 23:59 of the
  estate's day; a typed time already past today is tomorrow's), and a QR pass ends at the
  expected leaving time when that is still ahead (else the API's default length);
- a registration whose pass is then refused (a card not in stock) is not registered again:
  the next submit asks only for its pass;
- arrivals and departures are offered to the roles the API lets do them (the gate's:
  guard, supervisor, admin), the watch-list override only to those it takes it from.

Scripts and style are files (the hub's CSP forbids inline ones), linked by their content's
digest (hub.web.assets) so a new version is a new URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from hub.auth import Principal, Role, require
from hub.errors import NotFound
from hub.i18n.validation import N_
from hub.people.registry import units_typed
from hub.visitors import service
from hub.visitors.models import ID_TYPES
from hub.web import assets
from hub.web.shell import page

STATIC = assets.STATIC
FILES = {"visitors.css": "text/css", "visitors.js": "text/javascript"}
#: who works the page: the guards at the gates, the visitor desk (clerks) and their supervisor
#: (admin may do everything)
_desk = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK)
#: who may let a watch-listed visitor in, with a reason (the API's rule; shown to them only)
OVERRIDERS = service.OVERRIDERS

#: the purposes offered as the guard types (a suggestion list: any text is taken)
PURPOSES = [N_("Visiting family or friends"), N_("Parcel or food delivery"), N_("Renovation"), N_("Repair or maintenance"),
            N_("House viewing"), N_("Housekeeping")]
#: the quick choices of when the visitor is expected to leave (the script turns them into times)
LEAVE_CHOICES = [("1h", N_("In 1 hour")), ("2h", N_("In 2 hours")), ("4h", N_("In 4 hours")),
                 ("tonight", N_("Tonight (by 23:59)")), ("at", N_("At a time"))]

router = APIRouter(include_in_schema=False)


def static_url(name: str) -> str:
    """``/visitors/static/visitors.js?v=<digest>``: kept by the browser until the file changes."""
    return f"/visitors/static/{name}?v={assets.digest(name)}"


def id_types() -> list[tuple[str, str]]:
    """The document kinds the visitors API takes, each with its name (a msgid)."""
    return list(ID_TYPES.items())


@router.get("/visitors", response_class=HTMLResponse)
def visitors_page(request: Request, who: Principal = Depends(_desk)) -> HTMLResponse:
    return page(request, "visitors.html", who, current="nav-visitors", static_url=static_url,
                id_types=id_types(), purposes=PURPOSES, leave_choices=LEAVE_CHOICES,
                can_override=who.role in OVERRIDERS, ahead=who.role not in service.AT_THE_GATE)


@router.get("/visitors/units")
def host_units(request: Request, q: str = Query(default="", max_length=32),
               _: Principal = Depends(_desk)) -> dict[str, Any]:
    """Unit codes beginning with ``q`` (upper-cased, as the register keeps them) and whether
    ``q`` is one: the host unit's check as it is typed. Codes only: who lives there is not
    the gate's to read."""
    with request.app.state.store.read() as db:
        return units_typed(db, q)


@router.get("/visitors/static/{name}")
def visitors_static(name: str, v: str | None = None, _: Principal = Depends(_desk)) -> FileResponse:
    if name not in FILES:
        raise NotFound("no static file {name}", name=name)
    return FileResponse(STATIC / name, media_type=FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, v)})

"""The complaint pages, inside the shell every page shares:

- ``/complaints``: the service desk's page: register a complaint by keyboard (a phone call
  in under two minutes), then forward it; what is due soon and what is late;
- ``/complaints/queue``: a department's queue, due soonest first: sign the coordination
  sheet, record the result;
- ``/complaints/supervise``: the supervisor's and the manager's: due soon, late, escalated;
- ``/complaints/month/{YYYY-MM}``: the month's figures with their formulas, the counts, the
  year against the targets; CSV, XLSX, print and filing;
- ``/complaints/follow-ups``: the follow-up visits due, and the visit's form;
- ``/complaints/{id}``: one complaint: its facts, steps and deadlines, and what may be done.

Like the visitor page (hub.visitors.pages), the pages render no complaint data themselves:
their script reads and writes the complaints API (hub.complaints.views, described in
hub/complaints/API.md) with the session cookie, so a page shows nothing the API would not
give the same person (contacts masked in lists, a department's own complaints only) and every
rule is the API's. The one read added here is the complainant's unit as it is typed: unit
codes beginning with the text, and whether the text is one, nothing more.

Script and style are files (the hub's CSP forbids inline ones), linked by their content's
digest (hub.web.assets) so a new version is a new URL.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from hub.auth import Principal, Role, require
from hub.complaints.report import check_month
from hub.errors import NotFound
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.validation import N_
from hub.people.registry import units_typed
from hub.web import assets
from hub.web.shell import estate_timezone, page

FILES = {"complaints.css": "text/css", "complaints.js": "text/javascript"}


#: the service desk: who registers and forwards (the clerks at the desk, their shift leader,
#: the supervisor and the manager; admin may do everything)
DESK_ROLES = (Role.CLERK, Role.SHIFT_LEADER, Role.SUPERVISOR, Role.MANAGER)
#: who follows every complaint: due soon, late, escalated, the month
OVERSEERS = (Role.SUPERVISOR, Role.MANAGER, Role.SHIFT_LEADER)
#: who files a month (the API decides; the page offers the button to these)
FILERS = (Role.SUPERVISOR, Role.MANAGER)
#: a department's staff (their token's department scopes what the API gives them)
DEPARTMENT = (Role.DEPARTMENT,)
#: the follow-up visits: the desk and the overseers
VISIT_ROLES = DESK_ROLES

_desk = require(*DESK_ROLES)
_overseer = require(*OVERSEERS)
_queue = require(*DEPARTMENT, *OVERSEERS)
_visits = require(*VISIT_ROLES)
_anyone = require(*DESK_ROLES, *DEPARTMENT)

#: channels, severities and the desk's quick choices (values are the API's; names msgids)
CHANNELS = [("phone", N_("Phone")), ("visit", N_("Visit in person")), ("letter", N_("Letter")),
            ("online", N_("Online"))]
SEVERITIES = [("general", N_("General")), ("minor", N_("Minor")), ("major", N_("Major"))]
#: the five points of a follow-up visit (the API's field names, and what the visitor asks)
FIVE_POINTS = [("quality", N_("Quality of the work")), ("effect", N_("Effect")),
               ("satisfaction", N_("Satisfaction")), ("shortcomings", N_("Shortcomings")),
               ("suggestions", N_("Suggestions"))]
#: the most msgids one ``/complaints/words`` asks for, and the longest
MAX_WORDS, MAX_WORD = 400, 1000

router = APIRouter(include_in_schema=False)


def static_url(name: str) -> str:
    """``/complaints/static/complaints.js?v=<digest>``: kept by the browser until it changes."""
    return f"/complaints/static/{name}?v={assets.digest(name)}"


def _common(who: Principal) -> dict[str, Any]:
    return {"static_url": static_url, "channels": CHANNELS, "severities": SEVERITIES,
            "five_points": FIVE_POINTS, "role": who.role.value,
            "oversees": who.role in OVERSEERS or who.role == Role.ADMIN,
            "desk": who.role in DESK_ROLES or who.role == Role.ADMIN}


def _month_now(request: Request) -> str:
    return datetime.now(timezone.utc).astimezone(ZoneInfo(estate_timezone(request))).strftime("%Y-%m")


def _around(month: str) -> tuple[str, str]:
    y, m = int(month[:4]), int(month[5:])
    prev = f"{y - 1}-12" if m == 1 else f"{y}-{m - 1:02d}"
    nxt = f"{y + 1}-01" if m == 12 else f"{y}-{m + 1:02d}"
    return prev, nxt


@router.get("/complaints", response_class=HTMLResponse)
def desk_page(request: Request, who: Principal = Depends(_anyone)) -> HTMLResponse:
    if who.role in DEPARTMENT:  # a department's page is its queue
        return RedirectResponse("/complaints/queue", status_code=303)  # type: ignore[return-value]
    return page(request, "complaints.html", who, current="nav-complaints", view="desk",
                month=_month_now(request), **_common(who))


@router.get("/complaints/queue", response_class=HTMLResponse)
def queue_page(request: Request, who: Principal = Depends(_queue)) -> HTMLResponse:
    return page(request, "complaints_queue.html", who, current="nav-complaints", view="queue",
                month=_month_now(request), **_common(who))


@router.get("/complaints/supervise", response_class=HTMLResponse)
def supervise_page(request: Request, who: Principal = Depends(_overseer)) -> HTMLResponse:
    return page(request, "complaints_supervise.html", who, current="nav-complaints", view="supervise",
                month=_month_now(request), **_common(who))


@router.get("/complaints/month/{month}", response_class=HTMLResponse)
def month_page(request: Request, month: str, who: Principal = Depends(_overseer)) -> HTMLResponse:
    check_month(month)  # the report's own check: one wording of the refusal
    month = datetime.strptime(month, "%Y-%m").strftime("%Y-%m")  # 2026-1 is 2026-01
    prev_month, next_month = _around(month)
    return page(request, "complaints_month.html", who, current="nav-complaints", view="month",
                month=month, report_month=month, prev_month=prev_month,
                next_month=next_month if next_month <= _month_now(request) else None,
                can_file=(who.role in FILERS or who.role == Role.ADMIN) and month < _month_now(request),
                **_common(who))


@router.get("/complaints/follow-ups", response_class=HTMLResponse)
def follow_ups_page(request: Request, who: Principal = Depends(_visits)) -> HTMLResponse:
    return page(request, "complaints_followups.html", who, current="nav-complaints", view="followups",
                month=_month_now(request), **_common(who))


@router.get("/complaints/units")
def complaint_units(request: Request, q: str = Query(default="", max_length=32),
                    _: Principal = Depends(_desk)) -> dict[str, Any]:
    """Unit codes beginning with ``q`` and whether ``q`` is one: the complainant's unit
    checked as it is typed. Codes only: who lives there is the register's."""
    with request.app.state.store.read() as db:
        return units_typed(db, q)


@router.post("/complaints/words")
def words(request: Request, msgids: list[str] = Body(default=[], max_length=MAX_WORDS),
          _: Principal = Depends(_anyone)) -> dict[str, str]:
    """The reader's language for msgids the complaints API hands over (its channels',
    categories' and departments' names, the month's figures and formulas): those are the
    hub's catalog (``messages``), not the page scripts' (``js``). Catalog text only: nothing
    of the estate's records."""
    code = language_of(request)
    return {m: gettext(code, m) for m in msgids if isinstance(m, str) and 0 < len(m) <= MAX_WORD}


@router.get("/complaints/static/{name}")
def complaints_static(name: str, v: str | None = None, _: Principal = Depends(_anyone)) -> FileResponse:
    if name not in FILES:
        raise NotFound("no static file {name}", name=name)
    return FileResponse(assets.STATIC / name, media_type=FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, v)})


@router.get("/complaints/{complaint_id}", response_class=HTMLResponse)
def complaint_page(request: Request, complaint_id: str, who: Principal = Depends(_anyone)) -> HTMLResponse:
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", complaint_id):
        raise NotFound("no complaint {id}", id=complaint_id)
    return page(request, "complaints_one.html", who, current="nav-complaints", view="complaint",
                complaint_id=complaint_id, month=_month_now(request),
                is_department=who.role in DEPARTMENT, **_common(who))

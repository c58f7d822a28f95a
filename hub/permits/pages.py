"""The renovation pages, inside the shell every page shares:

- ``/permits``: the desk's page: apply for a permit by keyboard (the unit checked as it is
  typed), find a permit by number or unit and make its moves (extend, suspend, resume,
  report lost, reissue, exit with the inspection and the deposit);
- ``/permits/engineering``: the engineering department's: drawings to approve (permits
  applied for), suspensions to approve;
- ``/permits/month/{YYYY-MM}``: the month's figures (permits by state, extensions,
  suspensions, violations by level, slips) with their CSV and XLSX files.

The violations page (hub.violations.pages) and the release slip pages (hub.slips.pages)
share this page's script and style, served here. Like the visitor and complaint pages, no
page renders records itself: the script reads and writes the permits, violations and slips
APIs (hub/permits/API.md, hub/violations/API.md, hub/slips/API.md) with the session
cookie, so a page shows nothing the API would not give the same person and every rule is
the API's. The one read added here is the unit as it is typed: unit codes beginning with
the text, and whether the text is one, nothing more.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from functools import partial
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response

from hub.auth import Principal, Role, require
from hub.errors import NotFound
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.validation import N_
from hub.people.registry import units_typed
from hub.web import assets
from hub.web.downloads import Sheet, csv_bytes, download, xlsx_bytes
from hub.web.shell import estate_timezone, page

FILES = {"permits.css": "text/css", "permits.js": "text/javascript"}


def roles(*names: str) -> tuple[Role, ...]:
    """The roles of these names that the hub has (manager and engineering come with the
    complaints' and the permits' roles in hub.auth)."""
    return tuple(Role(n) for n in names if n in {r.value for r in Role})


#: the renovation desk: the clerks, their supervisor and the manager (admin may do everything)
DESK = roles("clerk", "supervisor", "manager")
#: the engineering department (drawings, suspensions); the supervisor and manager watch it
ENGINEERING = roles("engineering", "supervisor", "manager")
#: the month's figures
FIGURES = roles("clerk", "supervisor", "manager", "engineering")
#: whoever opens any renovation page (the guard: the slip check)
ANYONE = tuple(dict.fromkeys((*DESK, *ENGINEERING, *FIGURES, *roles("guard"))))

_desk = require(*DESK)
_engineering = require(*ENGINEERING)
_figures = require(*FIGURES)
_anyone = require(*ANYONE)

router = APIRouter(include_in_schema=False)


def static_url(name: str) -> str:
    """``/permits/static/permits.js?v=<digest>``: kept by the browser until it changes."""
    return f"/permits/static/{name}?v={assets.digest(name)}"


def month_now(request: Request) -> str:
    return datetime.now(timezone.utc).astimezone(ZoneInfo(estate_timezone(request))).strftime("%Y-%m")


def common(request: Request, who: Principal, view: str) -> dict[str, Any]:
    """What every renovation page's template is given (its sub-navigation offers only the
    pages the reader's role may open)."""
    role = who.role
    admin = role == Role.ADMIN
    return {"static_url": static_url, "view": view, "role": role.value, "month": month_now(request),
            "may_desk": admin or role in DESK, "may_engineering": admin or role in ENGINEERING,
            "may_figures": admin or role in FIGURES, "may_manage": admin or role.value == "manager",
            "may_check": admin or role.value in ("guard", "supervisor"),
            "may_violations": admin or role.value in ("clerk", "supervisor", "manager", "engineering")}


@router.get("/permits", response_class=HTMLResponse)
def desk_page(request: Request, who: Principal = Depends(_desk)) -> HTMLResponse:
    return page(request, "permits.html", who, current="nav-permits", **common(request, who, "desk"))


@router.get("/permits/engineering", response_class=HTMLResponse)
def engineering_page(request: Request, who: Principal = Depends(_engineering)) -> HTMLResponse:
    return page(request, "permits_engineering.html", who, current="nav-permits",
                **common(request, who, "engineering"))


#: the permits' own figures when hub.permits.report has none yet: (key, msgid, state or move)
STATE_FIGURES = [("permits_applied", N_("Permits applied for, not yet approved"), "applied"),
                 ("permits_active", N_("Permits active"), "approved"),
                 ("permits_suspended", N_("Permits suspended"), "suspended"),
                 ("permits_ended", N_("Permits ended"), "ended")]
MOVE_FIGURES = [("applications", N_("Applications"), "apply"), ("approvals", N_("Approvals"), "approve"),
                ("extensions", N_("Extensions"), "extend"), ("suspensions", N_("Suspensions"), "suspend"),
                ("resumptions", N_("Resumptions"), "resume"), ("exits", N_("Exits"), "exit")]
#: a figure: (key, its name as a msgid, the number)
Row = tuple[str, str, "int | float"]


def _month_bounds(month: str, tz: str) -> tuple[str, str]:
    """The month's first instant and the next month's, in UTC ISO (the moves' ``at``)."""
    y, m = int(month[:4]), int(month[5:])
    start = datetime(y, m, 1, tzinfo=ZoneInfo(tz))
    end = datetime(y + (m == 12), m % 12 + 1, 1, tzinfo=ZoneInfo(tz))
    return start.astimezone(timezone.utc).isoformat(), end.astimezone(timezone.utc).isoformat()


def _table(db: Any, name: str) -> bool:
    return bool(db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [name]).fetchone())


def permit_figures(db: Any, month: str, tz: str) -> list[Row]:
    """The month's permit figures: hub.permits.report's when it has them, else counted here
    from the permits (their state now) and their moves in the month."""
    try:
        from hub.permits import report  # type: ignore[attr-defined]

        return [tuple(r) for r in report.figures(db, month)]  # type: ignore[misc]
    except (ImportError, AttributeError):
        pass
    out: list[Row] = []
    if _table(db, "permits"):
        states = dict(db.execute("SELECT state, count(*) FROM permits GROUP BY state").fetchall())
        out += [(key, label, states.get(state, 0)) for key, label, state in STATE_FIGURES]
    if _table(db, "permit_moves"):
        start, end = _month_bounds(month, tz)
        moves = dict(db.execute("SELECT move, count(*) FROM permit_moves WHERE at >= ? AND at < ? GROUP BY move",
                                [start, end]).fetchall())
        out += [(key, label, moves.get(move, 0)) for key, label, move in MOVE_FIGURES]
    return out


def other_figures(db: Any, month: str) -> list[Row]:
    """The month's violations and release slips (hub.slips.report joins both)."""
    try:
        from hub.slips import report as slips_report

        return [tuple(r) for r in slips_report.figures(db, month)]  # type: ignore[misc]
    except (ImportError, AttributeError):
        return []


def heading(key: str, name: str, say: Any) -> str:
    """A figure's name in the reader's language (the slips report names its own)."""
    try:
        from hub.slips import report as slips_report

        return slips_report._heading(key, name, say)
    except (ImportError, AttributeError):
        return say(name)


def month_figures(request: Request, month: str) -> list[tuple[str, str, int | float]]:
    """(key, name in the reader's language, number) of every figure of the month."""
    tz = estate_timezone(request)
    say = partial(gettext, language_of(request))
    with request.app.state.store.read() as db:
        rows = permit_figures(db, month, tz) + other_figures(db, month)
    return [(key, heading(key, name, say), value) for key, name, value in rows]


@router.get("/permits/month/{month}")
def month_page(request: Request, month: str, who: Principal = Depends(_figures)) -> Response:
    """The page; ``YYYY-MM.csv`` and ``YYYY-MM.xlsx`` the same figures as files, headings in
    the reader's language."""
    found = re.fullmatch(r"(\d{4})-(\d{2})(?:\.(csv|xlsx))?", month)
    if not found or not 1 <= int(found.group(2)) <= 12:
        raise NotFound("no month {month}: write it as YYYY-MM", month=month)
    month, kind = f"{found.group(1)}-{found.group(2)}", found.group(3)
    figures = month_figures(request, month)
    if kind:
        say = partial(gettext, language_of(request))
        rows = [[say(N_("Month")), month], [say(N_("Figure")), say(N_("Count"))],
                *([label, value] for _, label, value in figures)]
        name = f"renovation-{month}.{kind}"
        if kind == "csv":
            return download(csv_bytes(rows[0], rows[1:]), name, "csv")
        return download(xlsx_bytes([Sheet(month, rows, widths={"A": 40})]), name, "xlsx")
    return page(request, "permits_month.html", who, current="nav-permits", report_month=month, figures=figures,
                **common(request, who, "month"))


@router.get("/permits/units")
def permit_units(request: Request, q: str = Query(default="", max_length=32),
                 who: Principal = Depends(_anyone)) -> dict[str, Any]:
    """Unit codes beginning with ``q`` and whether ``q`` is one: the unit checked as it is
    typed; for a unit that is one, its registered owners' names and ids (the desk records
    which owner applies: the permits API checks the applicant against them). Nothing more
    of who lives there: that is the register's."""
    with request.app.state.store.read() as db:
        found = units_typed(db, q)
    text, known = found["q"], found["known"]
    owners: list[dict[str, Any]] = []
    if known and (who.role == Role.ADMIN or who.role in DESK) and db_has_people(request):
        with request.app.state.store.read() as db:
            owners = [{"person_id": r[0], "name": r[1]} for r in
                      db.execute("SELECT id, name FROM people WHERE unit_code = ? AND role = 'owner' ORDER BY id",
                                 [text]).fetchall()]
    return {**found, "owners": owners}


def db_has_people(request: Request) -> bool:
    with request.app.state.store.read() as db:
        return db["people"].exists()


@router.get("/permits/static/{name}")
def permits_static(name: str, v: str | None = None, _: Principal = Depends(_anyone)) -> FileResponse:
    if name not in FILES:
        raise NotFound("no static file {name}", name=name)
    return FileResponse(assets.STATIC / name, media_type=FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, v)})

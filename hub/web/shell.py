"""What every page shares: the header (estate, who is signed in and as what, language, sign
out), the links their role may use, and the page scripts' catalog, estate timezone and
language. Pages render through ``page()`` so none of this is repeated per page.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse

from hub.access.plan import calendar
from hub.auth import ROLE_NAMES, Principal, Role
from hub.i18n.choice import language_of
from hub.i18n.pages import render
from hub.i18n.validation import N_



@dataclass(frozen=True)
class Link:
    id: str
    href: str
    label: str  # a msgid: the template translates it
    roles: frozenset[Role]


def _links(month: str) -> list[Link]:
    staff = frozenset({Role.ADMIN, Role.CLERK, Role.SUPERVISOR})
    return [
        Link("nav-live", "/live", N_("Live entries"), frozenset({Role.ADMIN, Role.GUARD, Role.SUPERVISOR})),
        Link("nav-visitors", "/visitors", N_("Visitors"), frozenset({Role.ADMIN, Role.GUARD, Role.SUPERVISOR, Role.CLERK})),
        Link("nav-duty", "/duty", N_("Duty log"), frozenset({Role.ADMIN, Role.GUARD, Role.SUPERVISOR})),
        Link("nav-clerk", "/clerk", N_("Card centre"), staff),
        Link("nav-report", f"/clerk/stock/{month}", N_("Monthly report"), staff),
        Link("nav-audit", "/clerk/audit", N_("Audit log"), frozenset({Role.ADMIN, Role.SUPERVISOR})),
        Link("nav-calendar", "/calendar", N_("Working calendar"), frozenset({Role.ADMIN, Role.SUPERVISOR, Role.MANAGER})),
        Link("nav-complaints", "/complaints", N_("Complaints"), frozenset({Role.ADMIN, Role.CLERK, Role.SUPERVISOR, Role.MANAGER, Role.SHIFT_LEADER, Role.DEPARTMENT})),
        Link("nav-permits", "/permits", N_("Renovation"), frozenset(r for r in Role if r.value in {"admin", "clerk", "supervisor", "manager"})),
        Link("nav-engineering", "/permits/engineering", N_("Engineering approvals"), frozenset(r for r in Role if r.value == "engineering")),
        Link("nav-violations", "/violations", N_("Violations"), frozenset(r for r in Role if r.value in {"admin", "clerk", "supervisor", "manager", "engineering"})),
        Link("nav-slips", "/slips", N_("Release slips"), frozenset(r for r in Role if r.value in {"admin", "clerk", "supervisor", "manager"})),
        Link("nav-slip-check", "/slips/check", N_("Check a slip"), frozenset(r for r in Role if r.value in {"admin", "guard", "supervisor"})),
    ]


def estate_timezone(request: Request) -> str:
    with request.app.state.store.read() as db:
        return calendar(db)[0]


def this_month(tz: str) -> str:
    return datetime.now(timezone.utc).astimezone(ZoneInfo(tz)).strftime("%Y-%m")


def page(request: Request, template: str, who: Principal | None, *, status: int = 200, current: str = "",
         headers: dict[str, str] | None = None, **context: Any) -> HTMLResponse:
    """``template`` (which extends _shell.html) in the reader's language, with the shell's context."""
    code = language_of(request)
    tz = estate_timezone(request)
    links = [] if who is None else [link for link in _links(this_month(tz)) if who.role in link.roles]
    html = render(code, template, site=request.app.state.config.hub.site, who=who,
                  role_name=ROLE_NAMES.get(who.role, "") if who else "", links=links, current=current,
                  estate_tz=tz, here=request.url.path, **context)
    return HTMLResponse(html, status_code=status, headers={"Cache-Control": "no-store", **(headers or {})})


#: a browser's error pages: their titles by status
PROBLEMS = {403: N_("Not for your role"), 404: N_("Nothing here"), 413: N_("Too large"),
            500: N_("Something went wrong")}


def wants_page(request: Request) -> bool:
    """A browser navigating (not a script calling the API): it gets a page, not JSON."""
    return (request.method in ("GET", "HEAD") and not request.url.path.startswith("/api/")
            and "text/html" in request.headers.get("accept", ""))


def problem_page(request: Request, status: int, detail: str) -> HTMLResponse:
    cred = request.scope.get("state", {}).get("credential")
    return page(request, "error.html", cred.principal if cred is not None else None, status=status,
                title=PROBLEMS.get(status, PROBLEMS[500]), detail=detail)

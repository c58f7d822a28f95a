"""The audit log, searchable: ``GET /api/v1/audit`` and the page ``/clerk/audit``
(supervisor), by card, person, unit, clerk and dates, to answer "who issued this card, and
when". The page is rendered here (escaped by Jinja, no script), from the same search.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub import audit
from hub.access.plan import calendar
from hub.auth import Principal, Role, require
from hub.errors import BadInput
from hub.stock.ledger import utc_iso
from hub.stock.report import zone
from protocols.uid import InvalidUid, normalise_uid

TEMPLATES = Environment(loader=FileSystemLoader(Path(__file__).resolve().parent.parent / "templates"),
                        autoescape=select_autoescape(["html"]))

router = APIRouter(prefix="/api/v1/audit", tags=["audit"])
pages = APIRouter(include_in_schema=False)
_supervisor = require(Role.SUPERVISOR)

_Q = {"max_length": 100}


def _estate_tz(request: Request) -> str:
    with request.app.state.store.read() as db:
        return calendar(db)[0]


def _instant(value: str | None, field: str, tz_name: str, end: bool) -> str | None:
    """A date (YYYY-MM-DD, the estate's day; ``until`` includes it) or a time with an offset."""
    if not value:
        return None
    value = value.strip()
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            if end:
                day += timedelta(days=1)
            return utc_iso(datetime.combine(day, time(0), zone(tz_name)))
        at = datetime.fromisoformat(value)
    except ValueError:
        raise BadInput(f"{field} must be a date YYYY-MM-DD or a time with an offset, not {value!r}",
                       field=field) from None
    if at.tzinfo is None:
        raise BadInput(f"{field} needs a timezone offset", field=field)
    return utc_iso(at)


def _card(value: str | None) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return normalise_uid(value)
    except InvalidUid as exc:
        raise BadInput(str(exc), rule="bad_uid", field="card") from None


def _search(request: Request, card: str | None, person: str | None, unit: str | None, clerk: str | None,
            since: str | None, until: str | None, action: str | None, limit: int) -> list[dict[str, Any]]:
    tz = _estate_tz(request)
    args = dict(card=_card(card), person=(person or "").strip() or None, unit=(unit or "").strip() or None,
                clerk=(clerk or "").strip() or None, since=_instant(since, "since", tz, False),
                until=_instant(until, "until", tz, True), action=(action or "").strip() or None, limit=limit)
    with request.app.state.store.read() as db:
        return audit.search(db, **args)


@router.get("")
def search(request: Request, card: str | None = Query(default=None, **_Q),
           person: str | None = Query(default=None, description="a person id, or part of a holder's name", **_Q),
           unit: str | None = Query(default=None, **_Q),
           clerk: str | None = Query(default=None, description="role:name, or the name", **_Q),
           since: str | None = Query(default=None, description="YYYY-MM-DD (estate's day) or a time with offset", **_Q),
           until: str | None = Query(default=None, description="YYYY-MM-DD (included) or a time with offset", **_Q),
           action: str | None = Query(default=None, description="issue, return, paper_move, stocktake, ...", **_Q),
           limit: int = Query(default=200, ge=1, le=audit.MAX_SEARCH),
           _: Principal = Depends(_supervisor)) -> dict[str, Any]:
    """Audit rows newest first; a card move's row has ``move_at`` (when it happened) and the
    ``holder`` it was issued to."""
    return {"items": _search(request, card, person, unit, clerk, since, until, action, limit)}


@pages.get("/clerk/audit", response_class=HTMLResponse)
def audit_page(request: Request, card: str | None = Query(default=None, **_Q),
               person: str | None = Query(default=None, **_Q), unit: str | None = Query(default=None, **_Q),
               clerk: str | None = Query(default=None, **_Q), since: str | None = Query(default=None, **_Q),
               until: str | None = Query(default=None, **_Q), action: str | None = Query(default=None, **_Q),
               who: Principal = Depends(_supervisor)) -> HTMLResponse:
    asked = {"card": card, "person": person, "unit": unit, "clerk": clerk, "since": since, "until": until,
             "action": action}
    error, items = None, []
    if any((v or "").strip() for v in asked.values()):
        try:
            items = _search(request, card, person, unit, clerk, since, until, action, 200)
        except BadInput as exc:
            error = exc.detail
    html = TEMPLATES.get_template("clerk_audit.html").render(
        who=who.who, site=request.app.state.config.hub.site, asked={k: v or "" for k, v in asked.items()},
        items=items, error=error, searched=any((v or "").strip() for v in asked.values()))
    return HTMLResponse(html, status_code=422 if error else 200, headers={"Cache-Control": "no-store"})

"""The audit log, searchable: ``GET /api/v1/audit`` and the page ``/clerk/audit``
(supervisor), by card, person, unit, clerk and dates, to answer "who issued this card, and
when". The page is rendered here (escaped by Jinja, no script), from the same search.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse

from hub import audit
from hub.access.plan import calendar
from hub.auth import Principal, Role, require
from hub.errors import BadInput
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.validation import N_
from hub.stock.ledger import utc_iso
from hub.stock.report import zone
from protocols.uid import InvalidUid, normalise_uid

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
        raise BadInput("{what} must be a date YYYY-MM-DD or a time with an offset, not {value}",
                       field=field, what=field, value=repr(value)) from None
    if at.tzinfo is None:
        raise BadInput("{what} needs a timezone offset", field=field, what=field)
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


#: the actions a supervisor looks for, as they read them (msgids); others show as recorded
ACTION_NAMES = {
    "issue": N_("Card issued"), "personalise": N_("Card personalised"), "report_lost": N_("Reported lost"),
    "damage": N_("Damaged card taken back"), "return": N_("Card taken back"), "scrap": N_("Card scrapped"),
    "suspend": N_("Card suspended"), "resume": N_("Card resumed"), "revoke": N_("Card revoked"),
    "refund_deposit": N_("Deposit refunded"), "forfeit_deposit": N_("Deposit forfeited"),
    "restock": N_("Back in stock"), "expire": N_("Card expired"), "renew": N_("Card renewed"),
    "transfer": N_("Moved to another card type"), "photo": N_("Photo saved"), "paper_move": N_("Paper record entered"),
    "stocktake": N_("Stocktake"), "stock_delivery": N_("Blank cards delivered"), "stock_scrap": N_("Blank cards scrapped"),
    "stock_report_filed": N_("Monthly report filed"), "move_out": N_("Household moved out"),
}


@pages.get("/clerk/audit", response_class=HTMLResponse)
def audit_page(request: Request, card: str | None = Query(default=None, **_Q),
               person: str | None = Query(default=None, **_Q), unit: str | None = Query(default=None, **_Q),
               clerk: str | None = Query(default=None, **_Q), since: str | None = Query(default=None, **_Q),
               until: str | None = Query(default=None, **_Q), action: str | None = Query(default=None, **_Q),
               who: Principal = Depends(_supervisor)) -> HTMLResponse:
    """The search form and its results inside the shell, in the reader's language; a refused
    search is said beside the form, on the field it names."""
    from hub.people.pages import static_url
    from hub.web.shell import page

    asked = {"card": card, "person": person, "unit": unit, "clerk": clerk, "since": since, "until": until,
             "action": action}
    searched = any((v or "").strip() for v in asked.values())
    error, error_field, items = None, None, []
    if searched:
        try:
            items = _search(request, card, person, unit, clerk, since, until, action, 200)
        except BadInput as exc:
            error, error_field = exc.in_language(partial(gettext, language_of(request))), exc.field
    return page(request, "clerk_audit.html", who, status=422 if error else 200, current="nav-audit",
                static_url=static_url, asked={k: v or "" for k, v in asked.items()}, items=items, error=error,
                error_field=error_field, searched=searched, action_names=ACTION_NAMES)

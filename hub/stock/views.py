"""HTTP routes for the card stock, stocktakes and the monthly inventory report (clerk,
supervisor), and beside them the month's money ledger, paper moves (supervisor) and the
audit search (supervisor, hub.web.audit).

``router`` and ``pages`` are what hub.cards.moves_views.card_centre_routers includes: each
gathers the routers below, so a new card centre route needs no change elsewhere.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Literal

from datetime import datetime

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.access.plan import calendar
from hub.auth import Principal, Role, require
from hub.params import Year
from hub.errors import Forbidden
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.params import RowId
from hub.stock import export, ledger, money, paper, report, stocktake
from hub.web.downloads import download
from protocols.cards import CardType

stock_router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
money_router = APIRouter(prefix="/api/v1/money", tags=["money"])
paper_router = APIRouter(prefix="/api/v1/paper-moves", tags=["paper moves"])
router = APIRouter()  # all of the above (and the audit search), gathered at the end of this module
pages = APIRouter(include_in_schema=False)

_staff = require(Role.CLERK, Role.SUPERVISOR)
_supervisor = require(Role.SUPERVISOR)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Delivery(_Body):
    card_type: CardType
    qty: int = Field(gt=0, le=ledger.MAX_DELIVERY)
    ref: str = Field(min_length=1, max_length=64)


class ScrapBlanks(_Body):
    card_type: CardType
    qty: int = Field(gt=0, le=ledger.MAX_DELIVERY)
    reason: str = Field(min_length=1, max_length=500)


class FileReport(_Body):
    note: str | None = Field(default=None, max_length=1000)


_TZ = Query(default=None, max_length=64,
            description="timezone for month bounds and the due date; default: the estate's (access calendar)")


def _say(request: Request) -> export.Say:
    """The files' words in the language of whoever asked (a page's link: the person's)."""
    return partial(gettext, language_of(request))


def _zone(request: Request, tz: str | None) -> str:
    """The month of a report is the estate's month: one timezone for schedules and reports."""
    if tz:
        return tz
    with request.app.state.store.read() as db:
        return calendar(db)[0]


@stock_router.post("/deliveries", status_code=201)
def delivery(request: Request, body: Delivery, who: Principal = Depends(_staff)) -> dict[str, Any]:
    entry = ledger.receive_delivery(request.app.state.store, who.who, body.card_type.value, body.qty, body.ref)
    return {"entry": entry, **levels(request, who)}


@stock_router.post("/scrap", status_code=201)
def scrap(request: Request, body: ScrapBlanks, who: Principal = Depends(_staff)) -> dict[str, Any]:
    entry = ledger.scrap_blanks(request.app.state.store, who.who, body.card_type.value, body.qty, body.reason)
    return {"entry": entry, **levels(request, who)}


class Limits(_Body):
    min_level: int = Field(ge=0, le=ledger.MAX_DELIVERY)
    max_level: int = Field(ge=0, le=ledger.MAX_DELIVERY)


@stock_router.get("/levels")
def levels(request: Request, _: Principal = Depends(_staff)) -> dict[str, Any]:
    with request.app.state.store.read() as db:
        return {"in_stock": ledger.in_stock(db), "levels": ledger.levels(db)}


@stock_router.put("/limits/{card_type}")
def set_limits(request: Request, card_type: CardType, body: Limits, who: Principal = Depends(_staff)) -> dict[str, Any]:
    ledger.set_limits(request.app.state.store, who.who, card_type.value, body.min_level, body.max_level)
    return levels(request, who)


def _report(request: Request, month: str, tz: str) -> report.MonthlyReport:
    year, mon = report.parse_month(month)
    zone = _zone(request, tz)
    with request.app.state.store.read() as db:
        return report.compute(db, year, mon, zone)


@stock_router.get("/reports/{month}")
def monthly(request: Request, month: str, tz: str | None = _TZ, format: Literal["json", "csv", "xlsx", "html"] = "json",
            _: Principal = Depends(_staff)) -> Any:
    rep = _report(request, month, tz)
    name = f"card-inventory-{rep.month}"
    if format == "csv":
        return download(export.to_csv(rep, _say(request)), f"{name}.csv", "csv")
    if format == "xlsx":
        return download(export.to_xlsx(rep, _say(request)), f"{name}.xlsx", "xlsx")
    if format == "html":
        return HTMLResponse(export.to_html(rep, language_of(request)))
    return rep.as_dict()


@stock_router.post("/reports/{month}/file")
def file_report(request: Request, month: str, tz: str | None = _TZ, body: FileReport | None = Body(default=None),
                who: Principal = Depends(_staff)) -> dict[str, Any]:
    year, mon = report.parse_month(month)
    zone = _zone(request, tz)
    rep = report.file_report(request.app.state.store, who.who, year, mon, zone, body.note if body else None)
    return rep.as_dict()


@stock_router.get("/years/{year}")
def year_summary(request: Request, year: Year, tz: str | None = _TZ, _: Principal = Depends(_staff)) -> dict[str, Any]:
    zone = _zone(request, tz)
    with request.app.state.store.read() as db:
        return report.late_or_wrong(db, year, zone)


@pages.get("/clerk/stock/{month}", response_class=HTMLResponse)
def printable(request: Request, month: str, tz: str | None = _TZ, who: Principal = Depends(_staff)) -> HTMLResponse:
    """The printable report page (a browser with the session cookie), inside the shell."""
    return export.report_page(request, who, _report(request, month, tz))


# --- stocktakes ---------------------------------------------------------------------------


class Stocktake(_Body):
    card_type: CardType
    counted: int = Field(ge=0, le=stocktake.MAX_COUNT, description="blanks of the type physically in the drawer")
    note: str | None = Field(default=None, max_length=500)
    at: AwareDatetime | None = Field(
        default=None, description="when the count was made, if earlier than now (a count on paper): supervisor only, "
                                  "not in the future, not in a filed month")


class Decision(_Body):
    reason: str = Field(min_length=1, max_length=500, description="why the difference is booked, or is not")


def _paper_time(request: Request, who: Principal, at: datetime | None, tz: str) -> None:
    """A time other than now is a paper entry: a supervisor's, in an open month, not ahead."""
    if at is None:
        return
    if who.role not in (Role.SUPERVISOR, Role.ADMIN):
        raise Forbidden("only a supervisor may enter a time other than now (a paper entry)",
                        rule="paper_move_supervisor_only", field="at")
    with request.app.state.store.read() as db:
        paper.check_time(db, at, tz)


@stock_router.post("/stocktakes", status_code=201)
def record_stocktake(request: Request, body: Stocktake, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """The clerk's physical count of one card type. A difference from the books is pending
    until a supervisor approves (it becomes an adjustment) or refuses it."""
    zone = _zone(request, None)
    _paper_time(request, who, body.at, zone)
    count = stocktake.record_count(request.app.state.store, who.who, body.card_type.value, body.counted, body.note,
                                   at=body.at, tz_name=zone)
    return count.as_dict()


@stock_router.get("/stocktakes")
def list_stocktakes(request: Request, state: Literal["matched", "pending", "approved", "refused"] | None = None,
                    limit: int = Query(default=200, ge=1, le=1000), _: Principal = Depends(_staff)) -> dict[str, Any]:
    with request.app.state.store.read() as db:
        return {"items": [c.as_dict() for c in stocktake.counts(db, state, limit)]}


@stock_router.post("/stocktakes/{count_id}/approve")
def approve_stocktake(request: Request, count_id: RowId, body: Decision,
                      who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    return stocktake.decide(request.app.state.store, who.who, count_id, True, body.reason,
                            tz_name=_zone(request, None)).as_dict()


@stock_router.post("/stocktakes/{count_id}/refuse")
def refuse_stocktake(request: Request, count_id: RowId, body: Decision,
                     who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    return stocktake.decide(request.app.state.store, who.who, count_id, False, body.reason,
                            tz_name=_zone(request, None)).as_dict()


# --- the month's money ----------------------------------------------------------------------


@money_router.get("/reports/{month}")
def money_report(request: Request, month: str, tz: str | None = _TZ,
                 format: Literal["json", "csv", "xlsx"] = "json", _: Principal = Depends(_staff)) -> Any:
    """Deposits taken, refunded and forfeited and fees, per card type and per clerk, each
    line with its receipt; amounts in fen. ``deposits.reconciles`` checks the moves against
    the cards' own deposits."""
    year, mon = report.parse_month(month)
    zone = _zone(request, tz)
    with request.app.state.store.read() as db:
        rep = money.compute(db, year, mon, zone)
    name = f"card-money-{rep.month}"
    if format == "csv":
        return download(export.money_csv(rep, _say(request)), f"{name}.csv", "csv")
    if format == "xlsx":
        return download(export.money_xlsx(rep, _say(request)), f"{name}.xlsx", "xlsx")
    # a month holds thousands of lines of plain values: encoded as they are (FastAPI's
    # jsonable_encoder would walk every one first, most of the request's time), same bytes
    return JSONResponse(rep.as_dict())


# --- paper moves ------------------------------------------------------------------------------


class PaperMove(_Body):
    move: str = Field(max_length=32, description="the move's name, as its own endpoint: issue, return, report_lost, "
                                                 "damage, scrap, restock, delivery, scrap_blanks, ...")
    uid: str | None = Field(default=None, max_length=64, description="the card (not for issue, whose body has it, "
                                                                      "nor for delivery and scrap_blanks)")
    at: AwareDatetime = Field(description="when the move really happened: not in the future, not in a filed month")
    paper_reason: str = Field(min_length=1, max_length=500, description="why it is entered late")
    body: dict[str, Any] = Field(default_factory=dict, description="the body the move's own endpoint takes")


@paper_router.post("", status_code=201)
def paper_move(request: Request, body: PaperMove, who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    """A move made on paper, entered by a supervisor with its real time; every report counts
    it by that time in the estate's timezone."""
    return paper.record(request.app.state.store, who.who, body.move, body.uid, body.at, body.paper_reason, body.body,
                        tz_name=_zone(request, None))


@paper_router.get("")
def paper_move_kinds(_: Principal = Depends(_supervisor)) -> dict[str, Any]:
    return {"moves": paper.paper_moves()}


def _gather() -> None:
    from hub.web import audit as audit_views

    for r in (stock_router, money_router, paper_router, audit_views.router):
        router.include_router(r)
    pages.include_router(audit_views.pages)


_gather()

"""HTTP routes for the card stock and the monthly inventory report (clerk, supervisor)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Body, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hub.access.plan import calendar
from hub.auth import Principal, Role, require
from hub.params import Year
from hub.stock import export, ledger, report
from protocols.cards import CardType

router = APIRouter(prefix="/api/v1/stock", tags=["stock"])
pages = APIRouter(include_in_schema=False)

_staff = require(Role.CLERK, Role.SUPERVISOR)


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


def _zone(request: Request, tz: str | None) -> str:
    """The month of a report is the estate's month: one timezone for schedules and reports."""
    if tz:
        return tz
    with request.app.state.store.read() as db:
        return calendar(db)[0]


@router.post("/deliveries", status_code=201)
def delivery(request: Request, body: Delivery, who: Principal = Depends(_staff)) -> dict[str, Any]:
    entry = ledger.receive_delivery(request.app.state.store, who.who, body.card_type.value, body.qty, body.ref)
    return {"entry": entry, **levels(request, who)}


@router.post("/scrap", status_code=201)
def scrap(request: Request, body: ScrapBlanks, who: Principal = Depends(_staff)) -> dict[str, Any]:
    entry = ledger.scrap_blanks(request.app.state.store, who.who, body.card_type.value, body.qty, body.reason)
    return {"entry": entry, **levels(request, who)}


class Limits(_Body):
    min_level: int = Field(ge=0, le=ledger.MAX_DELIVERY)
    max_level: int = Field(ge=0, le=ledger.MAX_DELIVERY)


@router.get("/levels")
def levels(request: Request, _: Principal = Depends(_staff)) -> dict[str, Any]:
    with request.app.state.store.read() as db:
        return {"in_stock": ledger.in_stock(db), "levels": ledger.levels(db)}


@router.put("/limits/{card_type}")
def set_limits(request: Request, card_type: CardType, body: Limits, who: Principal = Depends(_staff)) -> dict[str, Any]:
    ledger.set_limits(request.app.state.store, who.who, card_type.value, body.min_level, body.max_level)
    return levels(request, who)


def _report(request: Request, month: str, tz: str) -> report.MonthlyReport:
    year, mon = report.parse_month(month)
    zone = _zone(request, tz)
    with request.app.state.store.read() as db:
        return report.compute(db, year, mon, zone)


@router.get("/reports/{month}")
def monthly(request: Request, month: str, tz: str | None = _TZ, format: Literal["json", "csv", "xlsx", "html"] = "json",
            _: Principal = Depends(_staff)) -> Any:
    rep = _report(request, month, tz)
    name = f"card-inventory-{rep.month}"
    if format == "csv":
        return Response(export.to_csv(rep), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "xlsx":
        return Response(export.to_xlsx(rep),
                        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
    if format == "html":
        return HTMLResponse(export.to_html(rep))
    return rep.as_dict()


@router.post("/reports/{month}/file")
def file_report(request: Request, month: str, tz: str | None = _TZ, body: FileReport | None = Body(default=None),
                who: Principal = Depends(_staff)) -> dict[str, Any]:
    year, mon = report.parse_month(month)
    zone = _zone(request, tz)
    rep = report.file_report(request.app.state.store, who.who, year, mon, zone, body.note if body else None)
    return rep.as_dict()


@router.get("/years/{year}")
def year_summary(request: Request, year: Year, tz: str | None = _TZ, _: Principal = Depends(_staff)) -> dict[str, Any]:
    zone = _zone(request, tz)
    with request.app.state.store.read() as db:
        return report.late_or_wrong(db, year, zone)


@pages.get("/clerk/stock/{month}", response_class=HTMLResponse)
def printable(request: Request, month: str, tz: str | None = _TZ, _: Principal = Depends(_staff)) -> HTMLResponse:
    """The printable report page (a browser with the session cookie)."""
    return HTMLResponse(export.to_html(_report(request, month, tz)))

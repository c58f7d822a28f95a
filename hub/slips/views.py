"""The release slips' HTTP API (JSON): see hub/slips/API.md.

Issuing and cancelling: the desk (clerk), supervisor, manager; a move-out past owed fees
only by the manager, with a reason (hub.slips.rules). Reading and checking at a gate: the
guard too. The finance import and the month's figures: supervisor and manager. Admin may do
everything.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from hub.auth import Principal, Role, require
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.validation import N_
from hub.people.importer import MAX_BYTES
from hub.slips import fees, report, service
from hub.slips.models import CancelIn, CheckIn, SlipIn
from hub.visitors.passes import qr_svg
from hub.web.downloads import download

router = APIRouter(prefix="/api/v1/slips", tags=["slips"])

_issuers = require(Role.CLERK, Role.SUPERVISOR, Role.MANAGER)
_readers = require(Role.CLERK, Role.SUPERVISOR, Role.MANAGER, Role.GUARD, Role.SHIFT_LEADER)
_checkers = require(Role.GUARD, Role.SUPERVISOR, Role.MANAGER, Role.SHIFT_LEADER)
_finance = require(Role.SUPERVISOR, Role.MANAGER)

Number = Path(max_length=32, pattern=r"^[A-Za-z0-9-]+$")


def _ctx(request: Request) -> service.Slips:
    return request.app.state.slips


@router.post("", status_code=201)
def issue(request: Request, body: SlipIn, who: Principal = Depends(_issuers)) -> dict[str, Any]:
    return service.issue(_ctx(request), who, body)


@router.get("")
def listing(request: Request, date: str | None = Query(default=None, max_length=10),
            unit: str | None = Query(default=None, max_length=64), state: str | None = Query(default=None, max_length=16),
            limit: int = Query(default=100, ge=1, le=service.MAX_LIST),
            who: Principal = Depends(_readers)) -> dict[str, Any]:
    return {"items": service.listing(_ctx(request), day=date, unit=unit, state=state, limit=limit)}


@router.post("/check")
def check(request: Request, body: CheckIn, who: Principal = Depends(_checkers)) -> dict[str, Any]:
    return service.check(_ctx(request), who, body)


@router.post("/fees/import")
async def import_fees(request: Request, file: UploadFile = File(...), dry_run: bool = Query(default=True),
                      who: Principal = Depends(_finance)) -> JSONResponse:
    data = await file.read(MAX_BYTES + 1)
    ctx = _ctx(request)
    now = datetime.now(timezone.utc)
    with ctx.store.read() as db:
        today = now.astimezone(service.zone(db)).date()
    rep = await run_in_threadpool(fees.run_import, ctx.store, who.who, data, file.filename or "", today, now, dry_run)
    say = partial(gettext, language_of(request))
    body = rep.as_dict(say)
    if not rep.ok:
        body.update(error="import_rows_invalid",
                    detail=say(N_("{count} problem(s); nothing was imported")).format(count=len(rep.errors)))
    return JSONResponse(body, status_code=200 if rep.ok or dry_run else 422)


@router.get("/fees/{unit}")
def fee_position(request: Request, unit: str = Path(max_length=64), who: Principal = Depends(_issuers)) -> dict[str, Any]:
    return service.fee_position(_ctx(request), unit)


@router.get("/figures")
def figures(request: Request, month: str = Query(max_length=7), format: str = Query(default="json", max_length=4),
            who: Principal = Depends(_finance)) -> Any:
    with _ctx(request).store.read() as db:
        rows = report.figures(db, month)
    say = partial(gettext, language_of(request))
    if format == "csv":
        return download(report.to_csv(month, rows, say), f"slips-violations-{month}.csv", "csv")
    if format == "xlsx":
        return download(report.to_xlsx(month, rows, say), f"slips-violations-{month}.xlsx", "xlsx")
    return report.as_json(month, rows)


@router.get("/{number}")
def get(request: Request, number: str = Number, who: Principal = Depends(_readers)) -> dict[str, Any]:
    return service.get(_ctx(request), number)


@router.get("/{number}/qr.svg")
def qr(request: Request, number: str = Number, who: Principal = Depends(_issuers)) -> Response:
    slip = service.get(_ctx(request), number)
    return Response(qr_svg(slip["qr"]), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.post("/{number}/cancel")
def cancel(request: Request, body: CancelIn, number: str = Number, who: Principal = Depends(_issuers)) -> dict[str, Any]:
    return service.cancel(_ctx(request), who, number, body)

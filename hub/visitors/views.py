"""The visitors' HTTP API (JSON). The pages (hub.visitors.pages) are built on these routes.

Who may do what: registering, by a guard or supervisor at the gatehouse, or ahead of time by
the desk (clerk) or a resident app's token for its own unit; a visit's arrival and leaving,
by the guard or supervisor; passes, by the guard, supervisor or desk; the watch list, read
by guards and supervisors and changed by supervisors; the monthly figures, by the desk and
supervisors. Admin may do everything.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response

from hub.auth import Principal, Role, require
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.params import MAX_ROW
from hub.visitors import report, service, watchlist
from hub.visitors.models import ArriveIn, LeaveIn, PassIn, RevokeIn, VisitIn, WatchIn
from hub.visitors.passes import qr_svg
from hub.web.downloads import download

router = APIRouter(prefix="/api/v1", tags=["visitors"])

_registrars = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK, Role.RESIDENT_APP)
_readers = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK, Role.RESIDENT_APP)
_gate = require(Role.GUARD, Role.SUPERVISOR)
_issuers = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK)
_watchers = require(Role.GUARD, Role.SUPERVISOR)
_supervisor = require(Role.SUPERVISOR)
_figures = require(Role.SUPERVISOR, Role.CLERK)

VisitId = Path(ge=1, le=MAX_ROW)
PassIdPath = Path(pattern=r"^[0-9A-Fa-f]{32}$")


def _ctx(request: Request) -> service.Visitors:
    return request.app.state.visitors


@router.post("/visits", status_code=201)
def register(request: Request, body: VisitIn, who: Principal = Depends(_registrars)) -> dict[str, Any]:
    return service.register(_ctx(request), who, body)


@router.get("/visits")
def list_visits(request: Request, q: str | None = Query(default=None, max_length=64),
                state: str | None = Query(default=None, max_length=16),
                limit: int = Query(default=50, ge=1, le=service.MAX_LIST),
                who: Principal = Depends(_readers)) -> list[dict[str, Any]]:
    return service.list_visits(_ctx(request), who, q, state, limit)


@router.get("/visits/report/{month}")
def figures(request: Request, month: str = Path(max_length=16), who: Principal = Depends(_figures)) -> Any:
    """JSON; ``2026-11.csv`` and ``2026-11.xlsx`` give the files, headings in the reader's language."""
    name, _, kind = month.partition(".")
    if kind not in ("", "csv", "xlsx"):
        kind, name = "", month  # refused by the month's check below
    report.check_month(name)
    with _ctx(request).store.read() as db:
        fig = report.figures(db, name)
    say = partial(gettext, language_of(request))
    if kind == "csv":
        return download(report.to_csv(fig, say), f"visitors-{name}.csv", "csv")
    if kind == "xlsx":
        return download(report.to_xlsx(fig, say), f"visitors-{name}.xlsx", "xlsx")
    return fig


@router.get("/visits/{visit_id}")
def get_visit(request: Request, visit_id: int = VisitId, who: Principal = Depends(_readers)) -> dict[str, Any]:
    return service.get_visit(_ctx(request), who, visit_id)


@router.post("/visits/{visit_id}/arrive")
def arrive(request: Request, body: ArriveIn | None = None, visit_id: int = VisitId,
           who: Principal = Depends(_gate)) -> dict[str, Any]:
    return service.arrive(_ctx(request), who, visit_id, body or ArriveIn())


@router.post("/visits/{visit_id}/leave")
def leave(request: Request, body: LeaveIn | None = None, visit_id: int = VisitId,
          who: Principal = Depends(_gate)) -> dict[str, Any]:
    return service.leave(_ctx(request), who, visit_id, body or LeaveIn())


@router.post("/visits/{visit_id}/passes", status_code=201)
def add_pass(request: Request, body: PassIn | None = None, visit_id: int = VisitId,
             who: Principal = Depends(_issuers)) -> dict[str, Any]:
    return service.add_pass(_ctx(request), who, visit_id, body or PassIn())


@router.post("/passes/{pass_id}/revoke")
def revoke_pass(request: Request, body: RevokeIn | None = None, pass_id: str = PassIdPath,
                who: Principal = Depends(_issuers)) -> dict[str, Any]:
    return service.revoke_pass(_ctx(request), who, pass_id, (body or RevokeIn()).reason)


@router.get("/passes/{pass_id}/qr.svg")
def pass_qr(request: Request, pass_id: str = PassIdPath, who: Principal = Depends(_issuers)) -> Response:
    text = service.pass_text(_ctx(request), who, pass_id)
    return Response(qr_svg(text), media_type="image/svg+xml", headers={"Cache-Control": "private, no-store"})


@router.get("/watchlist")
def list_watch(request: Request, who: Principal = Depends(_watchers)) -> list[dict[str, Any]]:
    return watchlist.listing(_ctx(request).store)


@router.post("/watchlist", status_code=201)
def add_watch(request: Request, body: WatchIn, who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    ctx = _ctx(request)
    return watchlist.add(ctx.store, ctx.keys, who.who, body)


@router.delete("/watchlist/{entry_id}")
def remove_watch(request: Request, entry_id: int = Path(ge=1, le=MAX_ROW),
                 who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    return watchlist.remove(_ctx(request).store, who.who, entry_id)

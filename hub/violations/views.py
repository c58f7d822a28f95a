"""The violations' HTTP API (JSON). Recording and reading: staff at the desk and the gates;
measures and handling: supervisor, manager, clerk; the penalty: the manager only (the rule
is in hub.violations.rules, so even admin is refused); figures and the copy for finance:
supervisor and manager. Admin may do everything else."""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import FileResponse, Response

from hub import photos
from hub.auth import Principal, Role, require
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.params import RowId
from hub.violations import service
from hub.violations.models import HandledIn, MeasureIn, PenaltyIn, ViolationIn
from hub.web.downloads import download

router = APIRouter(prefix="/api/v1/violations", tags=["violations"])

_recorders = require(Role.GUARD, Role.CLERK, Role.SUPERVISOR, Role.MANAGER, Role.SHIFT_LEADER)
_handlers = require(Role.CLERK, Role.SUPERVISOR, Role.MANAGER, Role.SHIFT_LEADER)
_penalisers = require(Role.MANAGER)
_figures = require(Role.SUPERVISOR, Role.MANAGER)


def _store(request: Request):
    return request.app.state.store


def photo_dir(request: Request):
    cfg = request.app.state.config.hub
    return photos.photo_dir_of(cfg.db_path, cfg.photo_dir)


@router.post("", status_code=201)
def record(request: Request, body: ViolationIn, who: Principal = Depends(_recorders)) -> dict[str, Any]:
    return service.record(_store(request), who, body)


@router.get("")
def listing(request: Request, unit: str | None = Query(default=None, max_length=64),
            month: str | None = Query(default=None, max_length=7), level: str | None = Query(default=None, max_length=16),
            category: str | None = Query(default=None, max_length=16),
            state: str | None = Query(default=None, max_length=16),
            limit: int = Query(default=100, ge=1, le=service.MAX_LIST),
            who: Principal = Depends(_recorders)) -> dict[str, Any]:
    return {"items": service.listing(_store(request), unit=unit, month=month, level=level, category=category,
                                     state=state, limit=limit)}


@router.get("/figures")
def figures(request: Request, month: str = Query(max_length=7), who: Principal = Depends(_figures)) -> dict[str, Any]:
    with _store(request).read() as db:
        return service.figures(db, month)


@router.get("/finance.csv")
def finance(request: Request, month: str = Query(max_length=7), who: Principal = Depends(_figures)) -> Response:
    service.check_month(month)
    with _store(request).read() as db:
        body = service.finance_csv(db, month, partial(gettext, language_of(request)))
    return download(body, f"violations-finance-{month}.csv", "csv")


@router.get("/{violation_id}")
def get(request: Request, violation_id: RowId, who: Principal = Depends(_recorders)) -> dict[str, Any]:
    return service.get(_store(request), violation_id)


@router.post("/{violation_id}/measures")
def measure(request: Request, body: MeasureIn, violation_id: RowId,
            who: Principal = Depends(_handlers)) -> dict[str, Any]:
    return service.add_measure(_store(request), who, violation_id, body)


@router.post("/{violation_id}/penalty")
def penalty(request: Request, body: PenaltyIn, violation_id: RowId,
            who: Principal = Depends(_penalisers)) -> dict[str, Any]:
    return service.set_penalty(_store(request), who, violation_id, body)


@router.post("/{violation_id}/handled")
def handled(request: Request, violation_id: RowId, body: HandledIn | None = None,
            who: Principal = Depends(_handlers)) -> dict[str, Any]:
    return service.mark_handled(_store(request), who, violation_id, body or HandledIn())


@router.post("/{violation_id}/photos", status_code=201)
async def add_photo(request: Request, violation_id: RowId, photo: UploadFile = File(...),
                    who: Principal = Depends(_recorders)) -> dict[str, Any]:
    service.get(_store(request), violation_id)  # 404 before keeping a photo for nothing
    data = await photo.read(photos.MAX_BYTES + 1)
    stored = photos.store_photo(photo_dir(request), data, photo.content_type)
    return service.add_photo(_store(request), who, violation_id, stored.photo_id)


@router.get("/{violation_id}/photos/{photo_id}")
def get_photo(request: Request, violation_id: RowId, photo_id: str = Path(max_length=80),
              who: Principal = Depends(_recorders)) -> FileResponse:
    service.photo_of(_store(request), violation_id, photo_id)
    path, ctype = photos.photo_path(photo_dir(request), photo_id)
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, no-store"})

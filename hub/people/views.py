"""HTTP routes for units, people, photos, the household file and bulk import.

Roles: the clerk and supervisor keep the register; a household file opens only for the
supervisor (admin always) with a reason; a holder's photo is shown to any staff role,
guards included (they compare the face at the gate), and to nobody without a token; a guard
limited to some gates sees only the photos of people whose cards were seen at those gates
(anyone else's is "no photo", so counting ids reveals nothing).
"""

from __future__ import annotations

from datetime import date
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, File, Query, Request, UploadFile
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from hub import photos
from hub.auth import Principal, Role, require
from hub.errors import NotFound
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.validation import N_
from hub.params import RowId
from hub.people import files, importer, registry
from hub.people.registry import PersonIn, PersonPatch, UnitIn

router = APIRouter(prefix="/api/v1", tags=["people"])

_staff = require(Role.CLERK, Role.SUPERVISOR)
_any_staff = require(Role.CLERK, Role.SUPERVISOR, Role.GUARD)
_manager = require(Role.SUPERVISOR)


class FileRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field(default="", max_length=1000)


class MoveOut(BaseModel):
    model_config = ConfigDict(extra="forbid")

    on: date
    reason: str | None = Field(default=None, max_length=500)


def photo_dir(request: Request):
    cfg = request.app.state.config.hub
    return photos.photo_dir_of(cfg.db_path, cfg.photo_dir)


@router.post("/units", status_code=201)
def add_unit(request: Request, body: UnitIn, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return registry.add_unit(request.app.state.store, who.who, body)


@router.get("/units/{code}")
def get_unit(request: Request, code: str, _: Principal = Depends(_staff)) -> dict[str, Any]:
    return registry.get_unit(request.app.state.store, code)


@router.post("/people", status_code=201)
def add_person(request: Request, body: PersonIn, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return registry.add_person(request.app.state.store, who.who, body)


@router.get("/people/{pid}")
def get_person(request: Request, pid: RowId, _: Principal = Depends(_staff)) -> dict[str, Any]:
    return registry.get_person(request.app.state.store, pid)


@router.patch("/people/{pid}")
def update_person(request: Request, pid: RowId, body: PersonPatch, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return registry.update_person(request.app.state.store, who.who, pid, body)


@router.get("/search")
def search(request: Request, q: str = Query(default="", max_length=100), _: Principal = Depends(_staff)) -> dict[str, Any]:
    return registry.search(request.app.state.store, q)


@router.post("/people/{pid}/photo", status_code=201)
async def upload_photo(request: Request, pid: RowId, photo: UploadFile = File(...),
                       who: Principal = Depends(_staff)) -> dict[str, Any]:
    registry.get_person(request.app.state.store, pid)  # 404 before reading a body for nobody
    data = await photo.read(photos.MAX_BYTES + 1)
    stored = photos.store_photo(photo_dir(request), data, photo.content_type)
    registry.set_photo(request.app.state.store, who.who, pid, stored.photo_id)
    return {"person_id": pid, "content_type": stored.content_type, "width": stored.width, "height": stored.height,
            "size": stored.size}


def _send_photo(request: Request, photo_id: str | None) -> FileResponse:
    if not photo_id:
        raise NotFound("no photo yet", rule="no_photo")
    path, ctype = photos.photo_path(photo_dir(request), photo_id)
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": "private, no-store"})


@router.get("/people/{pid}/photo")
def get_photo(request: Request, pid: RowId, who: Principal = Depends(_any_staff)) -> FileResponse:
    return _send_photo(request, registry.photo_of(request.app.state.store, pid, _limit(who)))


@router.get("/cards/{uid}/photo")
def get_card_photo(request: Request, uid: str, who: Principal = Depends(_any_staff)) -> FileResponse:
    """The holder's photo for the guard's live page: the card names its holder in the register."""
    return _send_photo(request, registry.photo_of_card(request.app.state.store, uid, _limit(who)))


def _limit(who: Principal) -> frozenset[str]:
    """The gates whose sightings bound the photos ``who`` may see; empty: no bound."""
    return who.gates if who.role == Role.GUARD else frozenset()


@router.post("/households/{household_id}/file")
def read_file(request: Request, household_id: RowId, body: FileRead, who: Principal = Depends(_manager)) -> dict[str, Any]:
    """POST, not GET: reading the file writes its record, and the reason is in the body (not in logs)."""
    return files.read_household_file(request.app.state.store, who, household_id, body.reason)


@router.get("/households/{household_id}/reads")
def file_reads(request: Request, household_id: RowId, _: Principal = Depends(_manager)) -> list[dict[str, Any]]:
    return files.reads_of(request.app.state.store, household_id)


@router.post("/households/{household_id}/move-out")
def move_out(request: Request, household_id: RowId, body: MoveOut, who: Principal = Depends(_staff)) -> dict[str, Any]:
    registry.move_out(request.app.state.store, who.who, household_id, body.on, body.reason)
    return {"household_id": household_id, "move_out_date": body.on.isoformat()}


@router.post("/import/{kind}")
async def bulk_import(request: Request, kind: str, file: UploadFile = File(...), dry_run: bool = Query(default=True),
                      who: Principal = Depends(_staff)) -> JSONResponse:
    """Dry run by default; a real run with any bad row imports nothing and answers 422."""
    data = await file.read(importer.MAX_BYTES + 1)
    # parsing a spreadsheet takes seconds of CPU: off the event loop, so every other request goes on
    rep = await run_in_threadpool(importer.run_import, request.app.state.store, who.who, kind, data,
                                  file.filename or "", dry_run)
    status = 200 if rep.ok or dry_run else 422
    say = partial(gettext, language_of(request))
    body = rep.as_dict(say)
    if not rep.ok:
        body.update(error="import_rows_invalid",
                    detail=say(N_("{count} problem(s); nothing was imported")).format(count=len(rep.errors)))
    return JSONResponse(body, status_code=status)

"""HTTP routes of the duty log. Guards, supervisors and admin read and write it; an IC card
clerk has no part in it. Bodies are strict: an unknown key is a 422 naming it.

- GET  /api/v1/duty/entries[?shift=2026-11-29T18:00 | ?date=2026-11-29 | ?open=true]
- POST /api/v1/duty/entries {"kind": "note"|"handover"|"incident", "text", "incident_kind"}
- POST /api/v1/duty/entries/{id}/close {"note": what was done}
- POST /api/v1/duty/incidents/{id}/reported {"to": whom, "at": optional}
- GET  /api/v1/duty/handover[?shift=]
- POST /api/v1/duty/handover/accept {"shift": optional, "note": optional}
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Query, Request

from hub.auth import Principal, Role, require
from hub.dutylog import service
from hub.dutylog.models import AcceptHandover, CloseEntry, NewEntry, ReportIncident
from hub.params import RowId

router = APIRouter(prefix="/api/v1/duty", tags=["duty log"])

#: the duty desk: guards, the supervisor (and admin, always)
DUTY_ROLES = (Role.GUARD, Role.SUPERVISOR)
desk = require(*DUTY_ROLES)


def _settings(request: Request) -> service.Settings:
    return request.app.state.duty


def _store(request: Request):
    return request.app.state.store


@router.get("/entries")
def list_entries(request: Request, shift: str | None = Query(default=None, max_length=16),
                 day: date | None = Query(default=None, alias="date"), open: bool = False,
                 _: Principal = Depends(desk)) -> dict[str, Any]:
    return service.list_entries(_store(request), _settings(request), shift=shift, day=day, open_only=open)


@router.post("/entries", status_code=201)
def write_entry(request: Request, body: NewEntry, who: Principal = Depends(desk)) -> dict[str, Any]:
    return service.write_entry(_store(request), _settings(request), who, body)


@router.post("/entries/{entry_id}/close")
def close_entry(request: Request, entry_id: RowId, body: CloseEntry, who: Principal = Depends(desk)) -> dict[str, Any]:
    return service.close_entry(_store(request), _settings(request), who, entry_id, body.note)


@router.post("/incidents/{entry_id}/reported")
def report_incident(request: Request, entry_id: RowId, body: ReportIncident,
                    who: Principal = Depends(desk)) -> dict[str, Any]:
    return service.report_incident(_store(request), _settings(request), who, entry_id, body.to, body.at)


@router.get("/handover")
def handover(request: Request, shift: str | None = Query(default=None, max_length=16),
             who: Principal = Depends(desk)) -> dict[str, Any]:
    return service.handover(_store(request), _settings(request), who, shift)


@router.post("/handover/accept")
def accept_handover(request: Request, body: AcceptHandover, who: Principal = Depends(desk)) -> dict[str, Any]:
    return service.accept_handover(_store(request), _settings(request), who, body.shift, body.note)

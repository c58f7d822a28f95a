"""HTTP routes for access levels, schedules, the estate calendar and cards' levels.

Supervisors (and admin) change schedules, holidays, levels and card-type defaults; clerks
read them and set which levels a card has. Bodies are strict: an unknown key is a 422
naming it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response

from hub.access import service
from hub.access.models import CalendarBody, LevelBody, LevelList, NewHoliday, NewLevel, NewSchedule, ScheduleBody
from hub.auth import Principal, Role, require

router = APIRouter(prefix="/api/v1", tags=["access"])

_reader = require(Role.CLERK, Role.SUPERVISOR)
_writer = require(Role.SUPERVISOR)


def _store(request: Request):
    return request.app.state.store


# --- calendar ----------------------------------------------------------------------------


@router.get("/access/calendar")
def get_calendar(request: Request, _: Principal = Depends(_reader)) -> dict[str, Any]:
    return service.get_calendar(_store(request))


@router.put("/access/calendar")
def put_calendar(request: Request, body: CalendarBody, who: Principal = Depends(_writer)) -> dict[str, Any]:
    return service.set_timezone(_store(request), who.who, body.timezone)


@router.get("/access/holidays")
def list_holidays(request: Request, _: Principal = Depends(_reader)) -> list[dict[str, Any]]:
    return service.get_calendar(_store(request))["holidays"]


@router.post("/access/holidays", status_code=201)
def add_holiday(request: Request, body: NewHoliday, who: Principal = Depends(_writer)) -> dict[str, Any]:
    return service.add_holiday(_store(request), who.who, body.date, body.name)


@router.delete("/access/holidays/{day}", status_code=204)
def remove_holiday(request: Request, day: str, who: Principal = Depends(_writer)) -> Response:
    service.remove_holiday(_store(request), who.who, day)
    return Response(status_code=204)


# --- schedules ---------------------------------------------------------------------------


@router.get("/access/schedules")
def list_schedules(request: Request, _: Principal = Depends(_reader)) -> list[dict[str, Any]]:
    return service.list_schedules(_store(request))


@router.post("/access/schedules", status_code=201)
def create_schedule(request: Request, body: NewSchedule, who: Principal = Depends(_writer)) -> dict[str, Any]:
    rest = ScheduleBody.model_validate(body.model_dump(exclude={"name"}))
    return service.create_schedule(_store(request), who.who, body.name, rest)


@router.get("/access/schedules/{name}")
def get_schedule(request: Request, name: str, _: Principal = Depends(_reader)) -> dict[str, Any]:
    return service.get_schedule(_store(request), name)


@router.put("/access/schedules/{name}")
def put_schedule(request: Request, name: str, body: ScheduleBody, who: Principal = Depends(_writer)) -> dict[str, Any]:
    return service.update_schedule(_store(request), who.who, name, body)


@router.delete("/access/schedules/{name}", status_code=204)
def delete_schedule(request: Request, name: str, who: Principal = Depends(_writer)) -> Response:
    service.delete_schedule(_store(request), who.who, name)
    return Response(status_code=204)


# --- levels ------------------------------------------------------------------------------


@router.get("/access/levels")
def list_levels(request: Request, _: Principal = Depends(_reader)) -> list[dict[str, Any]]:
    return service.list_levels(_store(request))


@router.post("/access/levels", status_code=201)
def create_level(request: Request, body: NewLevel, who: Principal = Depends(_writer)) -> dict[str, Any]:
    rest = LevelBody.model_validate(body.model_dump(exclude={"name"}))
    return service.create_level(_store(request), who.who, body.name, rest)


@router.get("/access/levels/{name}")
def get_level(request: Request, name: str, _: Principal = Depends(_reader)) -> dict[str, Any]:
    return service.get_level(_store(request), name)


@router.put("/access/levels/{name}")
def put_level(request: Request, name: str, body: LevelBody, who: Principal = Depends(_writer)) -> dict[str, Any]:
    return service.update_level(_store(request), who.who, name, body)


@router.delete("/access/levels/{name}", status_code=204)
def delete_level(request: Request, name: str, who: Principal = Depends(_writer)) -> Response:
    service.delete_level(_store(request), who.who, name)
    return Response(status_code=204)


# --- card-type defaults ------------------------------------------------------------------


@router.get("/access/card-types")
def get_type_defaults(request: Request, _: Principal = Depends(_reader)) -> dict[str, list[str]]:
    return service.type_defaults(_store(request))


@router.put("/access/card-types/{card_type}")
def put_type_defaults(request: Request, card_type: str, body: LevelList,
                      who: Principal = Depends(_writer)) -> dict[str, Any]:
    return service.set_type_defaults(_store(request), who.who, card_type, body.levels)


# --- a card's levels ---------------------------------------------------------------------


@router.get("/cards/{uid}/access")
def get_card_access(request: Request, uid: str, _: Principal = Depends(_reader)) -> dict[str, Any]:
    return service.card_access(_store(request), uid)


@router.put("/cards/{uid}/access")
def put_card_access(request: Request, uid: str, body: LevelList, who: Principal = Depends(_reader)) -> dict[str, Any]:
    return service.set_card_levels(_store(request), who.who, uid, body.levels)


@router.delete("/cards/{uid}/access")
def reset_card_access(request: Request, uid: str, who: Principal = Depends(_reader)) -> dict[str, Any]:
    """Back to the card type's default levels."""
    return service.set_card_levels(_store(request), who.who, uid, None)

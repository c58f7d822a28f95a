"""HTTP routes of the estate's working calendar (hub.workcal). Everyone on the staff who
counts a deadline may read it; the supervisor and the manager (and admin) change it.

- GET    /api/v1/calendar?year=YYYY        the year's holidays and make-up working days (each
                                           with kind, name, its name in the reader's language,
                                           source), the working periods and weekdays
- PUT    /api/v1/calendar/days/{date}      {"kind": "holiday"|"workday", "name", "reason"?}
- DELETE /api/v1/calendar/days/{date}[?reason=]   the day follows the working weekdays again
- POST   /api/v1/calendar/seed/{year}      the year's days from chinesecalendar
"""

from __future__ import annotations

from datetime import date, datetime, timezone
from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request

from hub.auth import Principal, Role, require
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.workcal import service
from hub.workcal.models import SetDay

router = APIRouter(prefix="/api/v1/calendar", tags=["working calendar"])

#: who reads the calendar: whoever works to a deadline on it
READERS = (Role.SUPERVISOR, Role.MANAGER, Role.SHIFT_LEADER, Role.DEPARTMENT, Role.CLERK, Role.GUARD)
#: who changes it
EDITORS = (Role.SUPERVISOR, Role.MANAGER)
read = require(*READERS)
edit = require(*EDITORS)


def _named(request: Request, view: dict[str, Any]) -> dict[str, Any]:
    """Each day's name as the reader reads it (a seeded name is a msgid; a typed one stays)."""
    say = partial(gettext, language_of(request))
    for d in view["days"]:
        d["label"] = say(d["name"])
    return view


@router.get("")
def get_year(request: Request, year: int | None = Query(default=None, ge=service.FIRST_YEAR, le=service.LAST_YEAR),
             _: Principal = Depends(read)) -> dict[str, Any]:
    store = request.app.state.store
    with store.read() as db:
        if year is None:
            year = datetime.now(timezone.utc).astimezone(service.load_calendar(db).tz).year
        return _named(request, service.year_view(db, year))


@router.put("/days/{day}")
def put_day(request: Request, day: date, body: SetDay, who: Principal = Depends(edit)) -> dict[str, Any]:
    with request.app.state.store.tx() as db:
        return service.set_day(db, who.who, day, body)


@router.delete("/days/{day}")
def delete_day(request: Request, day: date, reason: str | None = Query(default=None, max_length=200),
               who: Principal = Depends(edit)) -> dict[str, Any]:
    with request.app.state.store.tx() as db:
        return service.remove_day(db, who.who, day, reason)


@router.post("/seed/{year}")
def seed_year(request: Request, year: int = Path(ge=service.FIRST_YEAR, le=service.LAST_YEAR), who: Principal = Depends(edit)) -> dict[str, Any]:
    with request.app.state.store.tx() as db:
        return service.seed_year(db, year, who.who)

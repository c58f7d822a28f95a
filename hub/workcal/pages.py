"""The working calendar's page (/calendar, inside the shell every page shares) for the
supervisor and the manager, and its static files.

The page renders no calendar data itself: its script reads and writes /api/v1/calendar
(hub.workcal.views) with the session cookie. Script and style are files (the hub's CSP
forbids inline ones), linked with their content's digest so a new version is a new URL.
"""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, HTMLResponse

from hub.auth import Principal
from hub.errors import NotFound
from hub.web import assets
from hub.web.shell import estate_timezone, page
from hub.workcal import service
from hub.workcal.views import edit

FILES = {"calendar.js": "text/javascript", "calendar.css": "text/css"}

router = APIRouter(include_in_schema=False)


def static_url(name: str) -> str:
    return f"/calendar/static/{name}?v={assets.digest(name)}"


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(request: Request, year: int | None = Query(default=None, ge=service.FIRST_YEAR, le=service.LAST_YEAR),
                  who: Principal = Depends(edit)) -> HTMLResponse:
    if year is None:
        year = datetime.now(timezone.utc).astimezone(ZoneInfo(estate_timezone(request))).year
    return page(request, "calendar.html", who, current="nav-calendar", static_url=static_url, year=year)


@router.get("/calendar/static/{name}")
def calendar_static(name: str, v: str | None = None, _: Principal = Depends(edit)) -> FileResponse:
    if name not in FILES:
        raise NotFound("no static file {name}", name=name)
    return FileResponse(assets.STATIC / name, media_type=FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, v)})

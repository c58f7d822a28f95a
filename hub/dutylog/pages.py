"""The duty desk's page (/duty, inside the shell every page shares) and its static files.

The page renders no log data itself: its script reads and writes the duty API
(hub.dutylog.views) with the session cookie, so the page shows nothing the API would refuse.
Script and style are files (the hub's CSP forbids inline ones), linked with their content's
digest so a new version is a new URL.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse

from hub.auth import Principal
from hub.dutylog.models import EntryKind, IncidentKind
from hub.dutylog.views import desk
from hub.errors import NotFound
from hub.web import assets
from hub.web.shell import page

FILES = {"duty.js": "text/javascript", "duty.css": "text/css"}

router = APIRouter(include_in_schema=False)


def static_url(name: str) -> str:
    return f"/duty/static/{name}?v={assets.digest(name)}"


@router.get("/duty", response_class=HTMLResponse)
def duty_page(request: Request, who: Principal = Depends(desk)) -> HTMLResponse:
    return page(request, "duty.html", who, current="nav-duty", static_url=static_url,
                entry_kinds=[k.value for k in EntryKind], incident_kinds=[k.value for k in IncidentKind])


@router.get("/duty/static/{name}")
def duty_static(name: str, v: str | None = None, _: Principal = Depends(desk)) -> FileResponse:
    if name not in FILES:
        raise NotFound("no static file {name}", name=name)
    return FileResponse(assets.STATIC / name, media_type=FILES[name],
                        headers={"Cache-Control": assets.cache_control(name, v)})

"""The IC card clerk's page and its static files.

The page renders no register data itself: its script reads and writes the same JSON API as
any client, with the session cookie, so the page can show nothing the API would refuse.
Scripts and styles are files (the hub's CSP forbids inline ones).
"""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub.auth import Principal, Role, require
from hub.cards.rules import DEPOSIT_TYPES
from hub.errors import NotFound
from protocols.cards import CardType

HERE = Path(__file__).resolve().parent.parent
_env = Environment(loader=FileSystemLoader(HERE / "templates"), autoescape=select_autoescape(["html"]))
STATIC = HERE / "static"
FILES = {"clerk.css": "text/css", "clerk.js": "text/javascript", "clerk_print.js": "text/javascript"}

router = APIRouter(include_in_schema=False)
_staff = require(Role.CLERK, Role.SUPERVISOR)


@router.get("/clerk", response_class=HTMLResponse)
def clerk_page(request: Request, who: Principal = Depends(_staff)) -> HTMLResponse:
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    html = _env.get_template("clerk_home.html").render(
        who=who.who, site=request.app.state.config.hub.site, month=month,
        card_types=[t.value for t in CardType], deposit_types=sorted(t.value for t in DEPOSIT_TYPES),
    )
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


@router.get("/clerk/static/{name}")
def clerk_static(name: str, _: Principal = Depends(_staff)) -> FileResponse:
    if name not in FILES:
        raise NotFound(f"no static file {name}")
    return FileResponse(STATIC / name, media_type=FILES[name], headers={"Cache-Control": "no-cache"})

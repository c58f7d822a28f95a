"""HTTP routes of the enrolment desk: the stations, a station's taps as they come, a UID's standing.

All for the clerk, the supervisor and admin. The stream is server-sent events whose ids
are the presentations' seq: a page that reconnects resumes after the last tap it saw, and
is never sent one older than standing.MAX_AGE_S (the clerk has moved on by then).
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub.auth import Principal, Role, require
from hub.cards.service import canonical
from hub.enroll import store as desk
from hub.enroll.standing import received_recently, standing
from hub.errors import Forbidden, NotFound
from hub.events.bus import last_event_id, sse_response
from hub.gates import service as gates
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of

router = APIRouter(prefix="/api/v1/enroll", tags=["enrolment desk"])
static_router = APIRouter(include_in_schema=False)

_clerks = require(Role.CLERK, Role.SUPERVISOR)

SCRIPT = Path(__file__).resolve().parent.parent / "static" / "enroll.js"


def _stations(request: Request, who: Principal) -> list[dict]:
    stale_s = request.app.state.config.hub.gate_stale_s
    return [
        {"gate_id": g["gate_id"], "online": g["online"], "doors": sorted(g["doors"]), "last_seen": g["last_seen"]}
        for g in gates.list_gates(request.app.state.store, stale_s)
        if g["role"] == "enroll" and who.may_use_gate(g["gate_id"])
    ]


@router.get("/stations")
def list_stations(request: Request, who: Principal = Depends(_clerks)) -> list[dict]:
    """The desk stations (gates whose status says role "enroll") this token may use."""
    return _stations(request, who)


@router.get("/cards/{uid}")
def card_standing(request: Request, uid: str, _: Principal = Depends(_clerks)) -> dict:
    """The standing of a UID the clerk typed, in the same words as a tapped one."""
    uid = canonical(uid)
    with request.app.state.store.read() as db:
        return standing(uid, desk.card_row(db, uid), partial(gettext, language_of(request)))


@router.get("/stations/{gate_id}/stream")
async def stream(request: Request, gate_id: str, who: Principal = Depends(_clerks)) -> StreamingResponse:
    """Taps at one station from now on (or after Last-Event-ID), each with the UID's standing."""
    if not who.may_use_gate(gate_id):
        raise Forbidden("{who} may not use station {gate_id}", rule="gate_not_allowed", who=who.who, gate_id=gate_id)
    if not any(s["gate_id"] == gate_id for s in await run_in_threadpool(_stations, request, who)):
        raise NotFound("no enrolment station {gate_id}", rule="unknown_station", field="gate_id", gate_id=gate_id)
    store = request.app.state.store
    say = partial(gettext, language_of(request))

    def now_seq() -> int:
        with store.read() as db:
            return desk.last_seq(db, gate_id)

    def read(seq: int) -> list[dict]:
        with store.read() as db:
            return desk.after(db, gate_id, seq, say=say)

    def fresh(row: dict) -> bool:
        return received_recently(row["received_at"], datetime.now(timezone.utc))

    # fixed before the response starts, so a tap made once the page sees the stream open is sent
    start = last_event_id(request)
    if start is None:
        start = await run_in_threadpool(now_seq)
    return sse_response(request, start, read, "presented", keep=fresh)


@static_router.get("/enroll/static/enroll.js")
def script(_: Principal = Depends(_clerks)) -> FileResponse:
    return FileResponse(SCRIPT, media_type="text/javascript", headers={"Cache-Control": "no-cache"})


routers = [router, static_router]

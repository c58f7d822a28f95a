"""HTTP routes for alarms: the list, an acknowledgement with its note, and the live stream
(server-sent events, event name ``alarm``: each change of an alarm, its state as it is now).

The stream's ids are the alarms' change numbers (models: ``version``): a console that
reconnects with Last-Event-ID gets the latest state of every alarm changed meanwhile.
Without it (or ``after``) the stream starts at the newest change: the list comes first.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from hub.alarms import service
from hub.auth import Principal, Role, require
from hub.events.bus import last_event_id, sse_response
from hub.params import MAX_ROW, RowId

router = APIRouter(prefix="/api/v1/alarms", tags=["alarms"])

#: who answers alarms: guards (of their gates) and supervisors (admin always may)
_answerers = require(Role.GUARD, Role.SUPERVISOR)


class Acknowledgement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: what the person found or did; required (service: note_required)
    note: str = Field(default="", max_length=4 * service.MAX_NOTE)


@router.get("")
def list_alarms(request: Request, state: Literal["open", "all"] = "open",
                limit: int = Query(default=100, ge=1, le=service.MAX_LIST),
                who: Principal = Depends(_answerers)) -> list[dict]:
    with request.app.state.store.read() as db:
        return service.list_alarms(db, state, who.gates, limit)


def stream_start(store, who: Principal, after: int | None) -> int:
    if after is not None:
        return after
    with store.read() as db:
        return service.last_version(db)


def alarms_after(store, who: Principal, version: int) -> list[dict]:
    with store.read() as db:
        return service.changed_after(db, version, who.gates)


@router.get("/stream")
async def stream(request: Request, after: int | None = Query(default=None, ge=0, le=MAX_ROW),
                 who: Principal = Depends(_answerers)) -> StreamingResponse:
    store = request.app.state.store
    resume = last_event_id(request)
    start = await run_in_threadpool(stream_start, store, who, resume if resume is not None else after)
    return sse_response(request, start, lambda version: alarms_after(store, who, version), "alarm",
                        share=("alarms", who.gates))


@router.get("/{alarm_id}")
def get_alarm(request: Request, alarm_id: RowId, who: Principal = Depends(_answerers)) -> dict:
    with request.app.state.store.read() as db:
        return service.get_alarm(db, who, alarm_id)


@router.post("/{alarm_id}/ack")
def acknowledge(request: Request, alarm_id: RowId, body: Acknowledgement,
                who: Principal = Depends(_answerers)) -> dict:
    with request.app.state.store.tx() as db:
        return service.acknowledge(db, who, alarm_id, body.note, datetime.now(timezone.utc))

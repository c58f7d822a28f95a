"""HTTP routes for events: the newest N, and the live stream (server-sent events).

The stream's event ids are the hub's ingest sequence (events.seq). A browser's EventSource
resends the last id it saw in Last-Event-ID when it reconnects, and the stream then starts
right after it, so a guard's page misses nothing across a network blip or a hub restart.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub.auth import Principal, Role, require
from hub.events import store as events
from hub.events.bus import last_event_id, sse_response
from hub.params import MAX_ROW

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_viewers = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK)

BACKLOG = 20


@router.get("")
def list_events(
    request: Request, limit: int = Query(default=50, ge=1, le=events.MAX_LIMIT), who: Principal = Depends(_viewers)
) -> list[dict]:
    with request.app.state.store.read() as db:
        return events.newest(db, limit, who.gates)


@router.get("/stream")
async def stream(
    request: Request, after: int | None = Query(default=None, ge=0, le=MAX_ROW), who: Principal = Depends(_viewers)
) -> StreamingResponse:
    """Events as they are stored. Without Last-Event-ID or ``after``: the last few, then live."""
    store = request.app.state.store

    def read(seq: int) -> list[dict]:
        with store.read() as db:
            return events.after(db, seq, gate_ids=who.gates)

    def backlog_start() -> int:
        with store.read() as db:
            return max(0, events.last_seq(db) - BACKLOG)

    start = last_event_id(request)
    if start is None:
        start = after if after is not None else await run_in_threadpool(backlog_start)
    return sse_response(request, start, read, "gate-event", share=("events", who.gates))

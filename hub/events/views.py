"""HTTP routes for events: the newest N, and the live stream (server-sent events).

The stream's event ids are the hub's ingest sequence (events.seq). A browser's EventSource
resends the last id it saw in Last-Event-ID when it reconnects, and the stream then starts
right after it, so a guard's page misses nothing across a network blip or a hub restart.
"""

from __future__ import annotations

import asyncio
import json

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub.auth import Principal, Role, require
from hub.events import store as events

router = APIRouter(prefix="/api/v1/events", tags=["events"])

_viewers = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK)

BACKLOG = 20
KEEPALIVE_S = 15.0


@router.get("")
def list_events(
    request: Request, limit: int = Query(default=50, ge=1, le=events.MAX_LIMIT), who: Principal = Depends(_viewers)
) -> list[dict]:
    with request.app.state.store.read() as db:
        return events.newest(db, limit, who.gates)


def _start_after(request: Request, after: int | None) -> int | None:
    header = request.headers.get("last-event-id", "").strip()
    if header.isdigit():
        return int(header)
    return after


def _sse(row: dict) -> str:
    return f"id: {row['seq']}\nevent: gate-event\ndata: {json.dumps(row, separators=(',', ':'))}\n\n"


@router.get("/stream")
async def stream(
    request: Request, after: int | None = Query(default=None, ge=0), who: Principal = Depends(_viewers)
) -> StreamingResponse:
    """Events as they are stored. Without Last-Event-ID or ``after``: the last few, then live."""
    store = request.app.state.store
    bus = request.app.state.bus
    start = _start_after(request, after)

    def read(seq: int) -> list[dict]:
        with store.read() as db:
            return events.after(db, seq, gate_ids=who.gates)

    def backlog_start() -> int:
        with store.read() as db:
            return max(0, events.last_seq(db) - BACKLOG)

    async def body():
        pair = bus.listen()
        _, wake = pair
        try:
            last = start if start is not None else await run_in_threadpool(backlog_start)
            yield "retry: 2000\n\n"
            while not request.app.state.closing.is_set():
                wake.clear()
                rows = await run_in_threadpool(read, last)
                for row in rows:
                    last = row["seq"]
                    yield _sse(row)
                if rows:
                    continue
                try:
                    await asyncio.wait_for(wake.wait(), KEEPALIVE_S)
                except TimeoutError:
                    if await request.is_disconnected():
                        return
                    yield ": keepalive\n\n"
        finally:
            bus.forget(pair)

    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body(), media_type="text/event-stream", headers=headers)

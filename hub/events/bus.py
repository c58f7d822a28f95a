"""Wakes live pages when an event is stored, and streams what is new as server-sent events.

The hub's MQTT intake calls ``notify`` once a transaction that stored events has committed
(once per transaction, however many events it held: Store.after_commit); each open stream
waits on an asyncio.Event on the server's loop and then reads what is new from the store,
so every committed event reaches every stream once, whatever the number of wake-ups.
The bus carries no data, so a slow browser can never make it grow. Every live stream (the
guards' passes, a desk's taps) is ``sse_response``: ids are the store's own sequence, so a
browser that reconnects with Last-Event-ID resumes exactly after what it saw.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Callable

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub import frontdoor

KEEPALIVE_S = 15.0
RETRY_MS = 2000


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()

    def listen(self) -> tuple[asyncio.AbstractEventLoop, asyncio.Event]:
        pair = (asyncio.get_running_loop(), asyncio.Event())
        with self._lock:
            self._waiters.add(pair)
        return pair

    def forget(self, pair: tuple[asyncio.AbstractEventLoop, asyncio.Event]) -> None:
        with self._lock:
            self._waiters.discard(pair)

    def notify(self) -> None:
        """Safe from any thread."""
        with self._lock:
            waiters = list(self._waiters)
        for loop, ev in waiters:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # that loop has closed
                self.forget((loop, ev))


def last_event_id(request: Request) -> int | None:
    header = request.headers.get("last-event-id", "").strip()
    return int(header) if header.isdigit() else None


def _message(row: dict, event: str) -> str:
    return f"id: {row['seq']}\nevent: {event}\ndata: {json.dumps(row, separators=(',', ':'))}\n\n"


def sse_response(
    request: Request,
    start: int,
    read: Callable[[int], list[dict]],
    event: str,
    keep: Callable[[dict], bool] = lambda row: True,
) -> StreamingResponse:
    """Rows with ``seq`` above ``start`` as they are stored; ``read(seq)`` runs in a thread."""
    bus: EventBus = request.app.state.bus
    closing: threading.Event = request.app.state.closing

    async def body():
        pair = bus.listen()
        _, wake = pair
        last = start
        try:
            yield f"retry: {RETRY_MS}\n\n"
            checked = time.monotonic()
            while not closing.is_set():
                if time.monotonic() - checked >= frontdoor.RECHECK_S:  # a logout or a revoke ends the stream too
                    if not await frontdoor.still_admitted(request):
                        return
                    checked = time.monotonic()
                wake.clear()
                rows = await run_in_threadpool(read, last)
                if rows:
                    last = rows[-1]["seq"]
                    # a read's rows as one write: a catch-up of hundreds is one send, not one
                    # each; then a turn for the loop, so a client gone (a page reloaded) ends
                    # the stream before the next read rather than after every row is sent
                    text = "".join(_message(row, event) for row in rows if keep(row))
                    if text:
                        yield text
                    await asyncio.sleep(0)
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

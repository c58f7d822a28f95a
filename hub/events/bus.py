"""Wakes live pages when an event is stored, and streams what is new as server-sent events.

The hub's MQTT intake calls ``notify`` once a transaction that stored events has committed
(once per transaction, however many events it held: Store.after_commit); each open stream
waits on an asyncio.Event on the server's loop and then reads what is new from the store,
so every committed event reaches every stream once, whatever the number of wake-ups.
The bus carries no data, so a slow browser can never make it grow. Every live stream (the
guards' passes, a desk's taps) is ``sse_response``: ids are the store's own sequence, so a
browser that reconnects with Last-Event-ID resumes exactly after what it saw.

Streams that would read the same rows share one read (``share``: every console of a gate's
guards, every supervisor's alarms): with 20 consoles each woken stream read for itself, and
an alarm reached the last console 400 ms after the first (BENCHMARKS.md, alarms). A read is
shared only with streams woken before it began: the bus counts its wake-ups (``generation``,
counted after the commit that asks for one), and a stream takes another's read only if it
began at or after the count the stream saw when it last woke, so it has seen every commit
the stream was woken for.
"""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Callable, Hashable

from fastapi import Request
from fastapi.responses import StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub import frontdoor

KEEPALIVE_S = 15.0
RETRY_MS = 2000
#: shared reads remembered (each the newest of one scope and start): scopes times a few
MAX_SHARED = 256

Rows = list[dict]


class EventBus:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()
        #: wake-ups sent so far; a read begun at this count has seen every commit notified up to it
        self.generation = 0
        # (share, start) -> (the generation it began at, the read); used on the server's loop only
        self._reads: dict[tuple[Hashable, int], tuple[int, asyncio.Future[Rows]]] = {}

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
            self.generation += 1
            waiters = list(self._waiters)
        for loop, ev in waiters:
            try:
                loop.call_soon_threadsafe(ev.set)
            except RuntimeError:  # that loop has closed
                self.forget((loop, ev))

    async def read_shared(self, share: Hashable, start: int, fresh_from: int, read: Callable[[int], Rows]) -> Rows:
        """``read(start)`` in a worker thread, or the rows of one that another stream of the same
        ``share`` began at generation ``fresh_from`` or later. Shielded: a stream that goes away
        does not cancel the read others wait on."""
        loop = asyncio.get_running_loop()
        held = self._reads.get((share, start))
        if held is not None and held[0] >= fresh_from and held[1].get_loop() is loop:
            return await asyncio.shield(held[1])
        begun = self.generation
        future = asyncio.ensure_future(run_in_threadpool(read, start))
        self._reads[(share, start)] = (begun, future)
        if len(self._reads) > MAX_SHARED:
            done = sorted((g, k) for k, (g, f) in self._reads.items() if f.done())
            for _, k in done[: len(self._reads) - MAX_SHARED]:
                del self._reads[k]
        return await asyncio.shield(future)


def last_event_id(request: Request) -> int | None:
    header = request.headers.get("last-event-id", "").strip()
    return int(header) if header.isdigit() else None


def _message(row: dict, event: str) -> str:
    return f"id: {row['seq']}\nevent: {event}\ndata: {json.dumps(row, separators=(',', ':'))}\n\n"


def sse_response(
    request: Request,
    start: int,
    read: Callable[[int], Rows],
    event: str,
    keep: Callable[[dict], bool] = lambda row: True,
    share: Hashable | None = None,
) -> StreamingResponse:
    """Rows with ``seq`` above ``start`` as they are stored; ``read(seq)`` runs in a thread.
    ``share``: a key naming everything ``read`` depends on besides ``seq`` (the viewer's
    scope), for streams that may share reads (EventBus.read_shared); the first read is the
    stream's own (a caller may have made it already)."""
    bus: EventBus = request.app.state.bus
    closing: threading.Event = request.app.state.closing

    async def body():
        pair = bus.listen()
        _, wake = pair
        last = start
        first = True
        try:
            yield f"retry: {RETRY_MS}\n\n"
            checked = time.monotonic()
            while not closing.is_set():
                if time.monotonic() - checked >= frontdoor.RECHECK_S:  # a logout or a revoke ends the stream too
                    if not await frontdoor.still_admitted(request):
                        return
                    checked = time.monotonic()
                wake.clear()
                # every wake-up so far is counted in this (counted before it is sent), and a
                # later one wakes this loop again: a read begun here or later has seen them all
                fresh_from = bus.generation
                if share is None or first:
                    rows = await run_in_threadpool(read, last)
                    first = False
                else:
                    rows = await bus.read_shared(share, last, fresh_from, read)
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

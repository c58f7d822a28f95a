"""Wakes live pages when an event is stored.

The MQTT thread calls ``notify`` after the event's transaction commits; each open stream
waits on an asyncio.Event on the server's loop and then reads what is new from the store.
The bus carries no data, so a slow browser can never make it grow.
"""

from __future__ import annotations

import asyncio
import threading


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

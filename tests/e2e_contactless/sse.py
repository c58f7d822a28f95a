"""A server-sent events reader for tests: reads a stream in a thread, hands out whole events.

Plain http.client, so that ``close()`` can shut the socket down under the blocked reader and
the hub sees the page go away at once (as when a browser tab closes).
"""

from __future__ import annotations

import http.client
import json
import queue
import socket
import threading
from urllib.parse import urlsplit


class SseReader:
    """``GET path`` as an event stream; ``next()`` the next event as {"id", "event", "data"}."""

    def __init__(self, base_url: str, path: str, headers: dict[str, str]) -> None:
        url = urlsplit(base_url)
        self._conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
        self._conn.request("GET", path, headers={"Accept": "text/event-stream", **headers})
        self._response = self._conn.getresponse()
        self.status = self._response.status
        self._conn.sock.settimeout(None)
        self._events: queue.Queue[dict] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="sse", daemon=True)
        if self.status == 200:
            self._thread.start()

    def _run(self) -> None:
        event: dict = {}
        try:
            for raw in self._response:
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if "data" in event:
                        event["data"] = json.loads(event["data"])
                        self._events.put(event)
                    event = {}
                elif not line.startswith(":"):
                    key, _, value = line.partition(":")
                    event[key] = value[1:] if value.startswith(" ") else value
        except Exception:  # noqa: BLE001 - http.client fails in several ways on a socket shut under it
            pass  # closed by the test or the hub

    def next(self, timeout: float = 10.0, what: str = "an event") -> dict:
        try:
            return self._events.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no server-sent event within {timeout} s: expected {what}") from None

    def nothing(self, within: float) -> None:
        try:
            extra = self._events.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError(f"expected no event, got {extra}")

    def close(self) -> None:
        sock = self._conn.sock
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        self._conn.close()
        if self._thread.is_alive():
            self._thread.join(3)

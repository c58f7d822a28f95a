"""A hub stopping with live streams open ends them at once, instead of holding uvicorn's
graceful shutdown until it times out and cancels them (hub.app.HubServer)."""

from __future__ import annotations

import logging
import threading

import httpx


class _Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.texts.append(record.getMessage())


def test_stopping_the_hub_ends_its_open_streams_without_cancelling_them(hub) -> None:
    opened, ended = threading.Barrier(4), []

    def watch(path: str) -> None:
        client = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"), timeout=30)
        with client.stream("GET", path) as r:
            assert r.status_code == 200
            lines = r.iter_lines()
            assert next(lines).startswith("retry:")
            opened.wait(30)
            for _ in lines:  # until the hub ends the stream
                pass
        ended.append(path)

    paths = ["/api/v1/events/stream", "/api/v1/alarms/stream", "/api/v1/events/stream"]
    threads = [threading.Thread(target=watch, args=(p,), daemon=True) for p in paths]
    for t in threads:
        t.start()
    opened.wait(30)
    records = _Records()
    uvicorn_log = logging.getLogger("uvicorn.error")
    uvicorn_log.addHandler(records)
    try:
        hub.stop()
    finally:
        uvicorn_log.removeHandler(records)
    for t in threads:
        t.join(30)
    assert sorted(ended) == sorted(paths), f"streams still open after the hub stopped: {ended}"
    assert not [t for t in records.texts if "Cancel" in t], f"streams were cancelled, not ended: {records.texts}"

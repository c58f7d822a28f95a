"""Simulated reader and relay, for the demo and for unit tests of pure logic only."""

from __future__ import annotations

import logging
import queue

import time

from drivers.base import CardReader, CodeRead, Relay, ReaderSink
from protocols.uid import normalise_uid

log = logging.getLogger(__name__)


class SimReader(CardReader):
    """A reader whose cards come from ``tap()`` (the demo's simulated residents)."""

    repeat_window_s = 0.0

    def __init__(self, name: str, sink: ReaderSink) -> None:
        super().__init__(name, sink)
        self._taps: queue.Queue[str] = queue.Queue()

    def tap(self, uid: str) -> None:
        self._taps.put(normalise_uid(uid))

    def scan(self, text: str) -> None:
        """A visitor's QR pass held under this reader's scanner (the demo's simulated visitors)."""
        self.sink.code_read(CodeRead(self.name, text, time.monotonic()))

    def _open(self) -> None:
        pass

    def _poll(self) -> list[str]:
        try:
            return [self._taps.get(timeout=0.2)]
        except queue.Empty:
            return []

    def _close(self) -> None:
        pass


class SimRelay(Relay):
    """Records every drive of the output (True: energised) so a test of pure logic can look; logs for the demo."""

    def __init__(self, name: str, on_state=None, *, fail_safe: bool = False) -> None:
        super().__init__(name, on_state, fail_safe=fail_safe)
        self.history: list[bool] = []

    def _set(self, on: bool) -> None:
        self.history.append(on)
        log.info("relay %s %s", self.name, "OPEN" if on != self.fail_safe else "closed")

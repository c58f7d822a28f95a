"""Events into the outbox on a thread of their own, so a slow disk never holds up a decision.

The decision loop pulses the relay, then hands the event here and takes the next tap at
once. This thread commits what it has been handed, oldest first, as one transaction (one
fsync) for everything that queued up meanwhile: on a card whose fsync stalls for 80 ms the
next resident no longer waits for the previous resident's event (measured in bench/tap.py).

What a SIGKILL can lose is what it could lose before: an event whose relay pulse happened
and whose commit had not finished. The window still opens at the pulse and closes at the
commit, which starts as soon as this thread is woken (microseconds), so with a healthy disk
it is the one event being committed, as before. During a stalled commit the window is the
stall: events of taps decided during it wait for the next commit. Before, those taps waited
undecided in the loop's queue (their doors shut) and a kill lost them as reads; now their
doors open and a kill loses their events. Nothing committed is ever lost, and nothing is
published before its commit (the sender reads only the outbox). A clean stop commits
everything handed over before the outbox closes. A disk that hangs outright (no error, no
answer) shows in ``stalled_s``, which the agent's watchdog check reads: the agent is
restarted, as it was when the write sat in the decision loop, instead of piling events up
in memory for ever.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Callable

from gate_agent.outbox import Outbox
from protocols.messages import GateEvent

log = logging.getLogger(__name__)

#: at most this many events in one transaction (a long stall's backlog is split)
MAX_BATCH = 500


class EventWriter:
    def __init__(self, outbox: Outbox, written: Callable[[], None] = lambda: None) -> None:
        """``written()`` is called after each commit (the MQTT link's kick: send what is new)."""
        self._outbox = outbox
        self._written = written
        self._queue: deque[GateEvent] = deque()
        self._cv = threading.Condition()
        self._handed = 0
        self._done = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        self._busy_since: float | None = None  # monotonic start of the commit under way

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="outbox-writer", daemon=True)
        self._thread.start()

    def put(self, event: GateEvent) -> None:
        """Hand ``event`` over; returns at once (no disk, no lock held by a commit)."""
        with self._cv:
            self._queue.append(event)
            self._handed += 1
            self._cv.notify_all()

    @property
    def pending(self) -> int:
        """Events handed over and not yet in the outbox."""
        with self._cv:
            return self._handed - self._done

    @property
    def stalled_s(self) -> float:
        """How long the commit under way has been running (0 when none is)."""
        since = self._busy_since
        return 0.0 if since is None else time.monotonic() - since

    def drain(self, timeout: float = 10.0) -> bool:
        """Wait until every event handed over so far is in the outbox; False on timeout."""
        with self._cv:
            target = self._handed
            if self._thread is None or not self._thread.is_alive():
                return self._done >= target
            return self._cv.wait_for(lambda: self._done >= target, timeout)

    def close(self, timeout: float = 10.0) -> None:
        """Commit what was handed over, then stop the thread."""
        if not self.drain(timeout):
            log.error("outbox writer: %d events not written before stop", self.pending)
        with self._cv:
            self._closing = True
            self._cv.notify_all()
        if self._thread is not None:
            self._thread.join(timeout)

    def _run(self) -> None:
        while True:
            with self._cv:
                self._cv.wait_for(lambda: self._queue or self._closing)
                if not self._queue:
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), MAX_BATCH))]
            self._busy_since = time.monotonic()
            try:
                self._outbox.put_many(batch)
            except Exception:  # noqa: BLE001 - the thread must outlive one bad batch
                log.exception("outbox writer could not keep %d events", len(batch))
            finally:
                self._busy_since = None
            with self._cv:
                self._done += len(batch)
                self._cv.notify_all()
            try:
                self._written()
            except Exception:  # noqa: BLE001
                log.exception("outbox writer: the after-write callback failed")

"""Checks that run every few seconds: an alarm left unanswered, a visitor overstaying, a
remote open the gate never acknowledged, an incident not reported up in time.

Each domain registers its check with ``every``; one thread runs them, each on its own
interval and in its own transaction, so one failing check is logged and the others go on.
A check takes ``(db, now)`` and is pure over the database apart from its writes: tests call
it directly with a chosen ``now`` instead of waiting for the thread.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Callable

import sqlite_utils

from hub.db import Store

log = logging.getLogger(__name__)

Check = Callable[[sqlite_utils.Database, datetime], None]


@dataclass
class _Job:
    name: str
    every_s: float
    check: Check
    due: float = 0.0


class Ticker:
    def __init__(self, store: Store, clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self.store = store
        self.clock = clock
        self._jobs: list[_Job] = []
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None

    def every(self, seconds: float, name: str, check: Check) -> None:
        self._jobs.append(_Job(name, seconds, check))

    def run_due(self) -> None:
        """Run every check that is due now (the thread's step; tests may call it)."""
        now_m = time.monotonic()
        for job in self._jobs:
            if now_m < job.due:
                continue
            job.due = now_m + job.every_s
            try:
                with self.store.tx() as db:
                    job.check(db, self.clock())
            except Exception:  # noqa: BLE001 - one broken check must not stop the others
                log.exception("check %s failed", job.name)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ticker", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def poke(self) -> None:
        """Run the checks now rather than at their next turn (e.g. after a command is sent)."""
        for job in self._jobs:
            job.due = 0.0
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self.run_due()
            soonest = min((j.due for j in self._jobs), default=time.monotonic() + 1.0)
            self._wake.wait(max(0.05, min(1.0, soonest - time.monotonic())))
            self._wake.clear()

"""A thread that does its work whenever a card change wakes it (hub.gates.acl's wakers), and
once a second in case a wake was missed: the shape of the ACL publisher and the projector."""

from __future__ import annotations

import logging
import threading

from hub.gates import acl

log = logging.getLogger(__name__)

#: how often the work is done unasked (a wake missed, a job left by a hub that stopped)
EVERY_S = 1.0


class WokenThread:
    """Subclasses name the thread and define ``work``; a failure is logged and tried again."""

    name = "woken"

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def work(self) -> None:
        raise NotImplementedError

    @property
    def stopping(self) -> bool:
        return self._stop.is_set()

    def start(self) -> None:
        acl.add_waker(self._wake)
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        acl.remove_waker(self._wake)
        self._stop.set()
        self._wake.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.work()
            except Exception:
                log.exception("%s failed; trying again shortly", self.name)
            self._wake.wait(EVERY_S)
            self._wake.clear()

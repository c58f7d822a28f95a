"""A reader sink that records what a driver reports, with bounded waits on its queues."""

from __future__ import annotations

import queue
import threading

from drivers.base import CardRead


class RecordingSink:
    def __init__(self) -> None:
        self.reads: queue.Queue[CardRead] = queue.Queue()
        self.states: list[tuple[str, bool, str | None]] = []
        self._state_changed = threading.Condition()

    # -- ReaderSink --------------------------------------------------------------------
    def card_read(self, read: CardRead) -> None:
        self.reads.put(read)

    def device_state(self, device: str, ok: bool, problem: str | None) -> None:
        with self._state_changed:
            self.states.append((device, ok, problem))
            self._state_changed.notify_all()

    # -- for tests ---------------------------------------------------------------------
    def next_read(self, timeout: float = 10.0) -> CardRead:
        try:
            return self.reads.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no card read within {timeout} s; states so far: {self.states}") from None

    def no_read(self, within: float) -> None:
        """Assert that nothing is read for ``within`` seconds (the absence is the point)."""
        try:
            extra = self.reads.get(timeout=within)
        except queue.Empty:
            return
        raise AssertionError(f"unexpected card read {extra}")

    def wait_state(self, ok: bool, timeout: float = 15.0, after: int = 0) -> tuple[str, bool, str | None]:
        """The first state report with ``ok`` at index ``after`` or later."""
        with self._state_changed:
            found = self._state_changed.wait_for(
                lambda: next((s for s in self.states[after:] if s[1] is ok), None), timeout
            )
        if not found:
            raise AssertionError(f"no device_state ok={ok} within {timeout} s; states: {self.states[after:]}")
        return found

"""A sink that records what readers report, with bounded waits on real events."""

from __future__ import annotations

import os
import queue
import threading
from pathlib import Path

import pytest

from drivers.base import CardRead


class RecordingSink:
    def __init__(self) -> None:
        self.reads: queue.Queue[CardRead] = queue.Queue()
        self._states: queue.Queue[tuple[str, bool, str | None]] = queue.Queue()
        self.states: list[tuple[str, bool, str | None]] = []
        self._lock = threading.Lock()

    def card_read(self, read: CardRead) -> None:
        self.reads.put(read)

    def device_state(self, device: str, ok: bool, problem: str | None) -> None:
        with self._lock:
            self.states.append((device, ok, problem))
        self._states.put((device, ok, problem))

    def next_read(self, timeout: float = 3.0) -> CardRead:
        try:
            return self.reads.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError(f"no card read within {timeout} s") from None

    def no_more_reads(self) -> list[CardRead]:
        left = []
        while not self.reads.empty():
            left.append(self.reads.get_nowait())
        return left

    def wait_state(self, ok: bool, timeout: float = 5.0) -> tuple[str, bool, str | None]:
        """The next reported state equal to ``ok`` (earlier other states are skipped)."""
        seen = []
        try:
            while True:
                state = self._states.get(timeout=timeout)
                if state[1] == ok:
                    return state
                seen.append(state)
        except queue.Empty:
            raise AssertionError(f"reader never reported ok={ok} within {timeout} s; saw {seen}") from None


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()


class StateLog:
    """Records a relay's on_state callbacks."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bool, str | None]] = []

    def __call__(self, name: str, ok: bool, problem: str | None) -> None:
        self.calls.append((name, ok, problem))


@pytest.fixture
def state_log() -> StateLog:
    return StateLog()


def point(link: Path, target: str) -> None:
    """Atomically (re)point a symlink, as udev does for /dev/serial/by-id names."""
    tmp = link.with_name(link.name + ".new")
    if tmp.is_symlink():
        tmp.unlink()
    os.symlink(target, tmp)
    os.replace(tmp, link)

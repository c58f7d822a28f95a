"""Bounded waits with a message that says what did not happen."""

from __future__ import annotations

import time
from typing import Callable, TypeVar

T = TypeVar("T")


def wait_for(check: Callable[[], T], timeout: float = 5.0, what: str = "condition", interval: float = 0.02) -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` naming ``what``.

    For state with no event to await (an HTTP API, a file); where a queue or event exists,
    wait on that instead.
    """
    deadline = time.monotonic() + timeout
    last: T | None = None
    while True:
        last = check()
        if last:
            return last
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}; last value: {last!r}")
        time.sleep(interval)

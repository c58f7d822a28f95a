"""Does the re-projection jobs of hub.gates.acl.schedule_reproject, in small steps.

A change that touches every card (a holiday, a card-type default, a level edit) would hold
the store lock for seconds if it re-projected them all in its own transaction, and every
tap, event and revocation would wait. Instead its transaction writes a job, and this
thread does it after commit, a step per transaction: as many cards as fit in ``BUDGET_S``
(sized by time, from the pace of the steps before, not by a fixed count), then the lock
is let go for at least as long again, so other writers get their turn whatever the lock's
fairness, and the WAL is checkpointed outside the lock (hub.db, _Checkpointer). The job's
progress is written in each step's transaction: a hub killed mid-job resumes where it was.
The rows each step writes are published as deltas as usual.
"""

from __future__ import annotations

import gc
import logging
import threading
import time
from contextlib import contextmanager
from typing import Iterator

from hub.db import Store
from hub.gates import acl
from hub.gates.woken import WokenThread

log = logging.getLogger(__name__)

#: the most a step aims to hold the store lock; a step stops after the card that passes it
BUDGET_S = 0.015
#: cards a step reads at most (its plan and rows are read for these before the clock runs out)
MAX_BATCH = 2_000


class StepSizer:
    """How many cards the next step should take: what the last steps did per second, times
    the budget, so a slow step (many gates, a busy disk) shrinks the next one."""

    def __init__(self, budget_s: float = BUDGET_S, first: int = 32, most: int = MAX_BATCH) -> None:
        self.budget_s = budget_s
        self.most = most
        self.size = first

    def next(self) -> int:
        return self.size

    def record(self, cards: int, seconds: float) -> None:
        """Shrink halfway to what the budget held at this pace (one step slowed by a busy disk
        does not collapse the size); grow at most twofold. A step that found little to change
        (cards whose entries a holiday leaves alone) is fast, and jumping to its pace would
        make the next step read hundreds of cards' rows, plans and entries before its first
        check of the clock: one long hold, where the cards start to change again."""
        if cards <= 0:
            return
        pace = cards / max(seconds, 1e-6)
        want = int(pace * self.budget_s) + 1
        size = (self.size + want) // 2 if want < self.size else min(want, 2 * self.size)
        self.size = max(1, min(self.most, size))


def step(store: Store, sizer: StepSizer) -> tuple[int, float]:
    """One step in its own transaction: (cards done, seconds the transaction held the lock,
    from its first statement to the end of its commit).

    No garbage collection starts inside it: a step allocates thousands of objects, so the
    collector's thresholds are crossed in steps more than anywhere, and a full collection
    of the hub's heap takes tens of milliseconds, all of them under the lock. It runs after
    the step instead, with the lock let go. (Other threads' collections wait too, for the
    step's few milliseconds.)"""
    with _no_collection():
        with store.tx() as db:
            start = time.perf_counter()
            done = acl.reproject_step(db, sizer.next(), start + sizer.budget_s)
        held = time.perf_counter() - start
    sizer.record(done, held)
    if gc.isenabled():  # the young generations' collection the step put off (a full one, if
        gc.collect(1)   # due, follows the collector's own thresholds, also outside the lock)
    return done, held


_gc_lock = threading.Lock()
_gc_off = {"depth": 0, "was_on": False}  # steps inside _no_collection, and the collector before the first


@contextmanager
def _no_collection() -> Iterator[None]:
    """The collector off for the process while any thread is inside (it is process-wide:
    a step on another thread must not turn it back on under this one's feet)."""
    with _gc_lock:
        if _gc_off["depth"] == 0:
            _gc_off["was_on"] = gc.isenabled()
            gc.disable()
        _gc_off["depth"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_off["depth"] -= 1
            if _gc_off["depth"] == 0 and _gc_off["was_on"]:
                gc.enable()


def drain(store: Store, sizer: StepSizer | None = None, pause: bool = True) -> list[float]:
    """Every job to its end, step by step, on this thread; the lock hold of each step.

    For the projector's thread, the CLI and tests that need the gates' lists up to date."""
    sizer = sizer or StepSizer()
    holds: list[float] = []
    while True:
        done, held = step(store, sizer)
        holds.append(held)
        if done == 0:
            with store.read_latest() as db:
                if not acl.pending_work(db):
                    return holds
        if pause:
            time.sleep(max(held, 0.002))  # the others' turn at the lock


class Projector(WokenThread):
    """The thread; started and stopped with the hub like hub.gates.publisher.AclPublisher."""

    name = "acl-projector"

    def __init__(self, store: Store) -> None:
        super().__init__()
        self.store = store
        self.sizer = StepSizer()
        self.steps = 0
        self.longest_hold_s = 0.0

    def work(self) -> None:
        self._work()

    def _work(self) -> None:
        with self.store.read_latest() as db:
            if not acl.pending_work(db):
                return
        while not self.stopping:
            done, held = step(self.store, self.sizer)
            self.steps += 1
            self.longest_hold_s = max(self.longest_hold_s, held)
            if done == 0:
                with self.store.read_latest() as db:
                    if not acl.pending_work(db):
                        return
            time.sleep(max(held, 0.002))  # the others' turn at the lock

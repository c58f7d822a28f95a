"""What keeps every step of a re-projection short (hub.gates.projector): the step size
shrinks after a step that ran long and grows at most twofold after a quick one,
and no garbage collection starts while a step holds the store lock."""

from __future__ import annotations

import gc
from datetime import date

import pytest

from hub.access import service as access
from hub.gates import projector

from .test_projector import _assert_one_shot, _estate, _jobs


def test_a_step_that_ran_long_shrinks_the_next_halfway_to_what_fits_the_budget():
    sizer = projector.StepSizer(budget_s=0.015, first=400)
    sizer.record(400, 0.060)  # 4x the budget: 101 cards fit
    assert sizer.next() == (400 + 101) // 2
    sizer.record(sizer.next(), 0.060)  # still too slow a pace: smaller again
    assert sizer.next() < (400 + 101) // 2


def test_a_quick_step_lets_the_next_grow_at_most_twofold():
    sizer = projector.StepSizer(budget_s=0.015, first=40)
    sizer.record(40, 0.0001)  # cards that changed nothing: thousands would "fit"
    assert sizer.next() == 80
    for _ in range(20):
        sizer.record(sizer.next(), 0.0001)
    assert sizer.next() == projector.MAX_BATCH  # never beyond the most a step reads


def test_the_size_stays_at_least_one_and_an_empty_step_changes_nothing():
    sizer = projector.StepSizer(budget_s=0.015, first=10)
    for _ in range(5):
        sizer.record(1, 5.0)  # one card took 5 s: a stalled disk
    assert sizer.next() == 1
    sizer.record(0, 0.0)
    assert sizer.next() == 1


@pytest.fixture
def eager_gc():
    """A collection on (nearly) every allocation of a container, for the test's length."""
    old = gc.get_threshold()
    gc.set_threshold(1, 1, 1)
    yield
    gc.set_threshold(*old)


def test_no_collection_starts_while_a_step_holds_the_lock(tmp_path, eager_gc):
    store = _estate(tmp_path / "hub.db", n=1500)
    access.add_holiday(store, "t", date(2031, 10, 1), "National Day")
    assert _jobs(store)
    inside, outside = [], []

    def seen(phase, info):
        if phase == "start":
            (inside if store.tx_serial is not None else outside).append(info["generation"])

    gc.callbacks.append(seen)
    try:
        # the instrument sees a collection inside an ordinary transaction that allocates
        with store.tx() as db:
            [dict(a=i) for i in range(100)]
            db.execute("SELECT 1")
        assert inside, "a transaction that allocates should see a collection with these thresholds"
        inside.clear()
        sizer = projector.StepSizer()
        steps = 0
        while _jobs(store):
            projector.step(store, sizer)
            steps += 1
    finally:
        gc.callbacks.remove(seen)
    assert steps > 1 and outside, (steps, len(outside))
    assert inside == [], f"{len(inside)} collections started under the lock"
    store.close()
    _assert_one_shot(tmp_path / "hub.db", tmp_path, listed=1500)


def test_steps_on_two_threads_leave_the_collector_on_whichever_ends_first():
    import threading

    assert gc.isenabled()
    for first_out in ("a", "b"):
        inside = {name: threading.Event() for name in "ab"}
        leave = {name: threading.Event() for name in "ab"}
        seen_off = []

        def hold(name):
            with projector._no_collection():
                inside[name].set()
                leave[name].wait(5)
                seen_off.append(not gc.isenabled())

        threads = {name: threading.Thread(target=hold, args=(name,)) for name in "ab"}
        threads["a"].start()
        assert inside["a"].wait(5)
        threads["b"].start()
        assert inside["b"].wait(5)
        second_out = "b" if first_out == "a" else "a"
        leave[first_out].set()
        threads[first_out].join(5)
        assert not gc.isenabled(), "one step still runs: the collector stays off"
        leave[second_out].set()
        threads[second_out].join(5)
        assert seen_off == [True, True]
        assert gc.isenabled(), f"left off after {first_out} ended first"

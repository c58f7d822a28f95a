"""Re-projection of every card after a holiday is added: the longest store-lock hold.

An estate of 100,000 cards (bench.fixtures' mix: owners, family, tenants, helpers and
workers, some revoked or lost) whose every level keeps the estate's holidays (residents
all day, helpers and workers in working hours), listed at GATES gates. Adding a holiday
changes every card's entry at every gate. The hub's way (hub.access.service.add_holiday:
a job written in the change's transaction, then hub.gates.projector's steps with pauses
between them, as its thread does) is timed step by step: each step's hold of the store
lock, from its first statement to the end of its commit. Meanwhile a clerk suspends and
resumes a card every 100 ms (a single card's change, synchronous), and the wait for each
is timed. Baseline, same run, on a copy of the same file: the one-shot projection of every
card in the change's own transaction (hub.gates.acl.reproject, as before), its hold and
the same clerk's waits. Both must end with the same checksum at every gate.
"""

from __future__ import annotations

import gc
import threading
import time
from datetime import date, datetime, timezone
from pathlib import Path

from bench import fixtures
from bench.common import Result, percentile, ratio
from bench.hubfiles import CACHE, cached_db, copy_db
from hub.access import service as access
from hub.access.models import LevelBody, ScheduleBody
from hub.cards import moves
from hub.db import Store
from hub.gates import acl, projector

NAME = "reproject"
TITLE = "Re-projection of 100,000 cards after a holiday: lock holds"

N = 100_000
GATES = ("east", "north", "south", "west")
WHO = "bench"


def estate_db(n: int = N, gates: tuple[str, ...] = GATES) -> tuple[Path, float]:
    """A hub file with ``n`` cards of the estate mix and their lists at ``gates``, every
    level keeping holidays; built once per schema and copied for each run. (path, build s
    or 0 if cached). Cards are written as rows (this measures the lists, not issuing)."""
    return cached_db(f"estate-{n}-{'-'.join(gates)}", lambda store: _build_estate(store, n, gates))


def _build_estate(store: Store, n: int, gates: tuple[str, ...]) -> None:
    now = datetime.now(timezone.utc).isoformat()
    with store.tx() as db:
        db.conn.executemany(
            "INSERT INTO cards (uid, status, card_type, holder_name, holder_unit, valid_from, valid_until, "
            "created_at, updated_at, issued_at, issued_by) VALUES (?, ?, ?, ?, 'A-12-03', ?, ?, ?, ?, ?, ?)",
            [(e.uid, e.status.value, e.card_type.value, f"Holder {i}",
              e.valid_from.isoformat() if e.valid_from else None, e.valid_until.isoformat() if e.valid_until else None,
              now, now, now, WHO) for i, e in enumerate(fixtures.entries(n))])
    day = [{"start": "00:00", "end": "00:00"}]  # an end at the start: the whole day
    access.create_schedule(store, WHO, "all-day", ScheduleBody(windows=day, holiday_windows=day))
    access.create_schedule(store, WHO, "work-hours", ScheduleBody(
        timezone="Asia/Hong_Kong", windows=[{"days": [0, 1, 2, 3, 4], "start": "08:00", "end": "18:00"},
                                            {"days": [5], "start": "08:00", "end": "12:00"}]))
    everywhere = [{"gate_id": "*"}]
    access.create_level(store, WHO, "all-day-residents", LevelBody(items=everywhere, schedule="all-day"))
    access.create_level(store, WHO, "working-hours", LevelBody(items=everywhere, schedule="work-hours"))
    for ctype in ("owner", "resident", "tenant"):
        access.set_type_defaults(store, WHO, ctype, ("all-day-residents",))
    for ctype in ("domestic_helper", "renovation_worker"):
        access.set_type_defaults(store, WHO, ctype, ("working-hours",))
    with store.tx() as db:
        for g in gates:
            acl.ensure_gate(db, g)
    projector.drain(store, pause=False)


class Clerk:
    """Suspends and resumes one card every 100 ms; the time each change takes (its wait for
    the lock included): what a revocation at the desk would see."""

    def __init__(self, store: Store, uid: str) -> None:
        self.store = store
        self.uid = uid
        self.waits: list[float] = []
        self._suspended = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> "Clerk":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(10)
        if self._suspended:  # the card as it was, so both ways end with the same lists
            moves.resume(self.store, WHO, self.uid, "bench")

    def _run(self) -> None:
        while not self._stop.wait(0.1):
            t0 = time.perf_counter()
            (moves.resume if self._suspended else moves.suspend)(self.store, WHO, self.uid, "bench")
            self.waits.append(time.perf_counter() - t0)
            self._suspended = not self._suspended


class _FullCollections:
    """The pauses of the full (oldest generation) collections while it is open: each stops
    every thread, so one inside a step would be a long hold whatever the step's size."""

    def __init__(self) -> None:
        self.pauses: list[float] = []
        self._started = 0.0

    def _seen(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._started = time.perf_counter()
        elif info["generation"] == 2:
            self.pauses.append(time.perf_counter() - self._started)

    def __enter__(self) -> "_FullCollections":
        gc.callbacks.append(self._seen)
        return self

    def __exit__(self, *exc: object) -> None:
        gc.callbacks.remove(self._seen)


def _heads(store: Store) -> dict[str, str]:
    with store.read() as db:
        return {g: acl.head(db, g)[1] for g in GATES}


def _clerk_card(store: Store) -> str:
    with store.read() as db:
        return db.execute("SELECT uid FROM cards WHERE status = 'active' AND card_type = 'owner' "
                          "ORDER BY uid DESC LIMIT 1").fetchone()[0]


def run(workdir: Path) -> Result:
    src, built_s = estate_db()
    holiday = date(2031, 10, 1)

    # -- baseline: one transaction re-projects every card -------------------------------------
    base_store = Store.open(copy_db(src, workdir / "base" / "hub.db"))
    uid = _clerk_card(base_store)
    with Clerk(base_store, uid) as base_clerk:
        time.sleep(0.5)
        t0 = time.perf_counter()
        with base_store.tx() as db:
            start = time.perf_counter()
            db["access_holidays"].insert({"day": holiday.isoformat(), "name": "National Day"})
            with_all = acl.reproject(db, [r[0] for r in db.execute("SELECT uid FROM cards")])
        one_shot_hold = time.perf_counter() - start
        one_shot_s = time.perf_counter() - t0
        time.sleep(0.5)
    base_heads = _heads(base_store)
    base_store.close()

    # -- the hub's way: a job, then steps ---------------------------------------------------------
    store = Store.open(copy_db(src, workdir / "steps" / "hub.db"))
    with Clerk(store, uid) as clerk:
        time.sleep(0.5)
        t0 = time.perf_counter()
        t_tx = time.perf_counter()
        access.add_holiday(store, WHO, holiday, "National Day")
        change_s = time.perf_counter() - t_tx
        with _FullCollections() as full:
            holds = projector.drain(store)  # as the projector's thread: a pause after each step
        steps_s = time.perf_counter() - t0
        time.sleep(0.5)
    heads = _heads(store)
    with store.read() as db:
        pairs = db.execute("SELECT COUNT(*) FROM acl_state").fetchone()[0]
    store.close()
    if heads != base_heads:
        raise AssertionError(f"the steps ended at {heads}, the one-shot projection at {base_heads}")

    r = Result(NAME, TITLE, ["what", "seconds", "ratio vs one-shot"])
    r.add("baseline: one-shot re-projection, the lock held throughout", one_shot_hold, "1.00x")
    r.add("steps: the change's own transaction (holiday + job)", change_s, ratio(change_s, one_shot_hold))
    r.add("steps: longest single lock hold", max(holds), ratio(max(holds), one_shot_hold))
    r.add("steps: p99 lock hold", percentile(holds, 99), ratio(percentile(holds, 99), one_shot_hold))
    r.add("steps: every card at every gate, start to end (pauses included)", steps_s, ratio(steps_s, one_shot_s))
    r.add("steps: lock held in total", sum(holds), ratio(sum(holds), one_shot_hold))
    r.add("clerk's card change during the one-shot: longest", max(base_clerk.waits), "")
    r.add("clerk's card change during the steps: longest", max(clerk.waits),
          ratio(max(clerk.waits), max(base_clerk.waits)))
    r.add("clerk's card change during the steps: p99", percentile(clerk.waits, 99), "")
    r.key = max(holds)
    r.key_label = "longest lock hold s"
    r.notes.append(f"{N:,} cards at {len(GATES)} gates: {pairs:,} entries, {with_all:,} changed by the holiday; "
                   f"{len(holds)} steps (budget {projector.BUDGET_S * 1000:.0f} ms each); the same checksum at "
                   f"every gate both ways")
    r.notes.append(f"full garbage collections during the steps: {len(full.pauses)}, pausing every thread "
                   f"{', '.join(f'{p * 1000:.0f}' for p in full.pauses) or '-'} ms (none starts inside a step: "
                   "hub.gates.projector.step)")
    longest = holds.index(max(holds))
    r.notes.append(f"the longest hold was step {longest + 1} of {len(holds)} (the first: 1; the sweep's end: "
                   f"{len(holds)}); holds over 50 ms: {sum(h > 0.05 for h in holds)}")
    r.notes.append(f"clerk: {len(clerk.waits)} changes during the steps, {len(base_clerk.waits)} during the one-shot")
    if built_s:
        r.notes.append(f"estate file built in {built_s:.1f} s, cached in {CACHE}")
    return r

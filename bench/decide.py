"""The gate's decision for one card, from a 30,000-card cache on a real SQLite file.

Measured: AclStore.get (a primary-key SELECT and a pydantic parse of the entry's JSON)
followed by decide(), one call at a time, timed per call. Baseline: the same decide() with
the entry taken from a Python dict, so the ratio is what the durable cache costs per tap.
Also shown apart: get alone, decide alone, and what the agent's loop does per tap (get, the
anti-passback lookup in state.db, decide).
"""

from __future__ import annotations

import random
import time
from datetime import datetime, timezone
from pathlib import Path

from bench import fixtures
from bench.common import Result, median, percentile, ratio
from gate_agent.acl_store import AclStore, LocalState
from gate_agent.decide import decide
from protocols.cards import CardStatus
from protocols.messages import Direction

NAME = "decide"
TITLE = "Decision from the 30,000-card cache"

#: a Tuesday, 10:00 in Hong Kong: inside the scheduled cards' hours, so they take the whole path
NOW = datetime(2026, 11, 24, 2, 0, tzinfo=timezone.utc)
PER_CASE = 5_000
MIXED = 20_000


def _time(fn, uids: list[str]) -> list[float]:
    """Per-call microseconds of fn(uid)."""
    out = []
    pc = time.perf_counter_ns
    for uid in uids:
        t0 = pc()
        fn(uid)
        out.append((pc() - t0) / 1000.0)
    return out


def run(workdir: Path) -> Result:
    items = fixtures.entries()
    fixtures.filled_cache(workdir / "agent", items)
    store = AclStore(workdir / "agent", fixtures.GATE)
    state = LocalState(workdir / "agent")
    table = {e.uid: e for e in items}
    rnd = random.Random(1)
    plain = [e.uid for e in items if e.schedule is None and e.status == CardStatus.ACTIVE and e.doors is None]
    scheduled = [e.uid for e in items if e.schedule is not None and e.status == CardStatus.ACTIVE]
    unknown = [fixtures.uid_of(fixtures.N_CARDS + i) for i in range(PER_CASE)]
    cases = {
        "active card, any time": [rnd.choice(plain) for _ in range(PER_CASE)],
        "card with a schedule": [rnd.choice(scheduled) for _ in range(PER_CASE)],
        "unknown card": unknown,
        "mixed (90% listed, 10% unknown)": [
            rnd.choice(items).uid if rnd.random() < 0.9 else rnd.choice(unknown) for _ in range(MIXED)
        ],
    }
    door, way = fixtures.DOOR, Direction.IN

    def from_dict(uid: str):
        return decide(table.get(uid), door, way, NOW, None, "card")

    def from_store(uid: str):
        return decide(store.get(uid), door, way, NOW, None, "card")

    def as_agent(uid: str):
        entry = store.get(uid)
        last = state.last_direction(uid) if entry is not None else None
        return decide(entry, door, way, NOW, last, "card")

    # the answers must be the same before any figure means anything
    for uid in cases["mixed (90% listed, 10% unknown)"][:2000]:
        if from_dict(uid) != from_store(uid):
            raise AssertionError(f"store and dict disagree on {uid}")
    granted = sum(from_store(u)[0].value == "granted" for u in cases["card with a schedule"][:500])
    if granted == 0:
        raise AssertionError("no scheduled card was granted at NOW: the schedule path was not measured")

    r = Result(NAME, TITLE, ["path", "cards", "median µs", "p99 µs", "decisions/s", "ratio (median) vs dict"])
    mixed_store = 0.0
    for case, uids in cases.items():
        _time(from_store, uids[:500])  # warm the page cache and pydantic
        base = _time(from_dict, uids)
        got = _time(from_store, uids)
        bm = median(base)
        r.add("baseline: dict + decide", case, bm, percentile(base, 99), len(base) / (sum(base) / 1e6), "1.00x")
        r.add("AclStore.get + decide", case, median(got), percentile(got, 99), len(got) / (sum(got) / 1e6),
              ratio(median(got), bm))
        if case.startswith("mixed"):
            mixed_store = median(got)
            base_m = bm
            uids_m = uids
    parts = {
        "AclStore.get alone": lambda uid: store.get(uid),
        "decide alone (entry in hand)": lambda uid, t=table: decide(t.get(uid), door, way, NOW, None, "card"),
        "agent's loop: get + passback lookup + decide": as_agent,
    }
    for label, fn in parts.items():
        got = _time(fn, uids_m)
        r.add(label, "mixed", median(got), percentile(got, 99), len(got) / (sum(got) / 1e6), ratio(median(got), base_m))
    store.close()
    state.close()
    r.key = mixed_store
    r.key_label = "mixed AclStore.get + decide median µs"
    r.notes.append(f"{len(items):,} entries in acl.db ({(workdir / 'agent' / 'acl.db').stat().st_size / 1e6:.1f} MB); "
                   f"{PER_CASE:,} decisions per case, {MIXED:,} mixed; now = {NOW.isoformat()}")
    return r

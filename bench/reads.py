"""Reads on a hub with a large events table: a guard's newest 50 for a quiet gate, and a
card revocation while the slowest page query runs.

A hub file with 40 registered gates, a few issued cards and N events (a year at one event
every 16 s; 38 busy gates, one quiet gate with 0.01% of the events, one with none yet),
the events written in one transaction with executemany (the build, not measured). Then, in
process, through ``Store.read`` and ``hub.events.store.newest`` as the API calls them:

- the guard's newest 50 for the quiet gate and for the gate with no events; baseline, same
  run: the newest 50 of all (an admin's list). "Before" rows run the query as it was before
  the gate index (one IN over the guard's gates, the gate index kept out with ``+``), so it
  walks the time index: the same plan an older hub file has.
- a revocation (``hub.cards.service.revoke``: the card, 40 gates' lists, the move record,
  one fsync'd commit) while another thread runs that walk of the time index again and
  again through ``Store.read``; baseline, same run: a revocation with nothing else running.
  "Before": the same walk holding the store's lock, as every read did before reads had
  their own connections.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

from bench.common import Result, median, percentile, ratio
from hub.cards import moves, service
from hub.db import Store
from hub.events import store as events
from hub.gates import acl

NAME = "reads"
TITLE = "A guard's newest 50 and a revocation on a hub with a year of events"

N = 2_000_000
GATES = 40
QUIET, EMPTY = "gate-quiet", "gate-empty"
BUSY = [f"gate{g:02d}" for g in range(GATES - 2)]
QUIET_EVERY = 10_000  # 0.01% of the events
CARDS = 30
ROUNDS = 200
START = datetime(2025, 11, 1, tzinfo=timezone.utc)
STEP = timedelta(days=365) / N


def _uid(i: int) -> str:
    return f"0B{i:06X}"


def build(path: Path, n: int = N) -> float:
    """The hub file: gates and cards through the hub's own code, events in bulk. Seconds."""
    t0 = time.perf_counter()
    store = Store.open(path)
    with store.tx() as db:
        for gate in [*BUSY, QUIET, EMPTY]:
            acl.ensure_gate(db, gate)
    for i in range(CARDS):
        moves.issue_card(store, "clerk:bench", {"uid": _uid(i), "card_type": "owner",
                                                "holder": {"name": f"Holder {i}", "unit": f"A-{i % 30:02d}-01"}})
    store.close()

    def rows():
        for i in range(n):
            at = (START + STEP * i).isoformat()
            gate = QUIET if i % QUIET_EVERY == QUIET_EVERY // 2 else BUSY[i % len(BUSY)]
            uid = _uid(i % CARDS) if i % 4 else f"0C{(i * 7919) % 100_000:06X}"  # a quarter unknown cards
            yield (f"ev-{i:09d}", gate, f"{gate}-in", "r1", "in", "decision", uid, "granted", "valid_card",
                   at, at, 1, "{}", at)

    load_events(path, rows())
    return time.perf_counter() - t0


def load_events(path: Path, rows, reindex: bool = False) -> None:
    """Events in bulk, one transaction: tuples of (event_id, gate_id, door_id, reader,
    direction, kind, uid, decision, reason, at, at_utc, acl_rev, detail, received_at).

    With ``reindex`` the events table's secondary indexes are dropped first and made again
    from hub.events.store's SCHEMA afterwards (one sort each instead of millions of
    scattered inserts: minutes saved on a year of events; the same indexes in the end)."""
    conn = sqlite3.connect(path, isolation_level=None)
    # no other connection is open: out of WAL, new pages are written once, not to the WAL and
    # then again to the file (the hub puts it back in WAL when it opens the file)
    conn.execute("PRAGMA journal_mode=DELETE")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    indexes = [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'events' AND sql IS NOT NULL")]
    if reindex:
        for name in indexes:
            conn.execute(f"DROP INDEX {name}")
    conn.execute("BEGIN")
    conn.executemany(
        """INSERT INTO events (event_id, gate_id, door_id, reader, direction, kind, uid, decision, reason,
               at, at_utc, acl_rev, detail, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
    conn.execute("COMMIT")
    if reindex:
        conn.executescript(events.SCHEMA)
    conn.close()


def _before(db, limit: int, gates: frozenset[str]) -> list:
    """The guard's list as the hub ran it before the gate index: one IN, in time order."""
    marks = ",".join("?" * len(gates))
    return list(db.query(f"{events._SELECT} WHERE +e.gate_id IN ({marks}) ORDER BY e.at_utc DESC, e.seq DESC "
                         "LIMIT ?", [*sorted(gates), limit]))


def _timed(store: Store, fn, rounds: int) -> list[float]:
    out = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        with store.read() as db:
            fn(db)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _revocations(store: Store, uids: list[str]) -> list[float]:
    out = []
    for uid in uids:
        t0 = time.perf_counter()
        service.revoke(store, "clerk:bench", uid)
        out.append((time.perf_counter() - t0) * 1000)
    return out


def _under_slow_reads(store: Store, uids: list[str], hold_lock: bool) -> tuple[list[float], list[float], int]:
    """Revocations while another thread walks the time index, over and over; (revocation ms,
    slow read ms, how many revocations began while a slow read was running)."""
    stop, running = threading.Event(), threading.Event()
    slow: list[float] = []

    def walk() -> None:
        while not stop.is_set():
            t0 = time.perf_counter()
            if hold_lock:
                with store._lock, store.read() as db:
                    running.set()
                    _before(db, 50, frozenset({EMPTY}))
            else:
                with store.read() as db:
                    running.set()
                    _before(db, 50, frozenset({EMPTY}))
            running.clear()
            slow.append((time.perf_counter() - t0) * 1000)

    t = threading.Thread(target=walk, daemon=True)
    t.start()
    out, overlapped = [], 0
    for uid in uids:
        running.wait(60)
        time.sleep(0.05)  # well inside the walk (it takes far longer), not at its very start
        overlapped += running.is_set()
        out += _revocations(store, [uid])
    stop.set()
    t.join(120)
    return out, slow, overlapped


def run(workdir: Path) -> Result:
    path = workdir / "hub.db"
    built_s = build(path)
    size_mb = path.stat().st_size / 1e6
    store = Store.open(path)
    try:
        admin = _timed(store, lambda db: events.newest(db, 50), ROUNDS)
        quiet = _timed(store, lambda db: events.newest(db, 50, frozenset({QUIET})), ROUNDS)
        empty = _timed(store, lambda db: events.newest(db, 50, frozenset({EMPTY})), ROUNDS)
        quiet_before = _timed(store, lambda db: _before(db, 50, frozenset({QUIET})), 5)
        empty_before = _timed(store, lambda db: _before(db, 50, frozenset({EMPTY})), 3)
        with store.read() as db:
            assert len(events.newest(db, 50, frozenset({QUIET}))) == 50
            assert events.newest(db, 50, frozenset({QUIET})) == [
                events.event_view(r) for r in _before(db, 50, frozenset({QUIET}))]
            assert events.newest(db, 50, frozenset({EMPTY})) == []
        uids = [_uid(i) for i in range(CARDS)]
        alone = _revocations(store, uids[:10])
        during, slow, overlapped = _under_slow_reads(store, uids[10:25], hold_lock=False)
        locked, slow_locked, overlapped_locked = _under_slow_reads(store, uids[25:28], hold_lock=True)
    finally:
        store.close()

    r = Result(NAME, TITLE, ["what", "count", "p50 ms", "p95 ms", "max ms", "ratio (p95 / baseline p95)"])
    base = percentile(admin, 95)
    r.add("baseline: newest 50 of all (admin)", len(admin), median(admin), base, max(admin), "1.00x")
    r.add("guard, quiet gate (0.01% of events): newest 50", len(quiet), median(quiet), percentile(quiet, 95),
          max(quiet), ratio(percentile(quiet, 95), base))
    r.add("guard, gate with no events yet: newest 50", len(empty), median(empty), percentile(empty, 95),
          max(empty), ratio(percentile(empty, 95), base))
    r.add("before: quiet gate, time index walk", len(quiet_before), median(quiet_before),
          percentile(quiet_before, 95), max(quiet_before), ratio(percentile(quiet_before, 95), base))
    r.add("before: gate with no events, time index walk", len(empty_before), median(empty_before),
          percentile(empty_before, 95), max(empty_before), ratio(percentile(empty_before, 95), base))
    rbase = percentile(alone, 95)
    r.add("baseline: revocation, nothing else running", len(alone), median(alone), rbase, max(alone), "1.00x")
    r.add("revocation while the slow walk runs (own read connection)", len(during), median(during),
          percentile(during, 95), max(during), ratio(percentile(during, 95), rbase))
    r.add("before: revocation while the slow walk holds the store lock", len(locked), median(locked),
          percentile(locked, 95), max(locked), ratio(percentile(locked, 95), rbase))
    r.key = percentile(quiet, 95)
    r.key_label = "quiet gate p95 ms"
    r.notes += [
        f"{N:,} events, {GATES} gates, {CARDS} cards; file of {size_mb:.0f} MB built in {built_s:.0f} s",
        f"the slow walk (the gate with no events, before the index) took p50 {median(slow):.0f} ms through "
        f"its own read connection; {overlapped} of {len(during)} revocations began while it was running "
        f"({overlapped_locked} of {len(locked)} with it holding the lock)",
        "in process, one thread at a time besides the walk; the API adds its own HTTP and JSON time",
    ]
    return r

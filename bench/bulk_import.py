"""Bulk card import of 100,000 cards: dry run and real run, and the longest write-lock hold.

A hub file with an 11,000-unit register and two gates (the build: units in bulk, not
measured), and the old system's file of 100,000 cards (owners, family, tenants with
validity and deposits, helpers, staff, temporary; 2% lost, 1% revoked) as CSV and XLSX.
Then, each on the same bytes:

- baseline, same run: ``csv.reader`` over the file and a bare ``executemany`` of the same
  rows into a cards table of the same schema in a fresh file, one fsync'd transaction: what
  parsing and storing costs with no checks;
- the dry run (hub.cards.bulk_import.check_file: read, load what the hub knows, check);
- the real run (check, then write_cards: cards, moves, deposits, audit, the re-projection
  job), with the time the write transaction held the store's lock (every other writer
  waits that long: one transaction, since the import is all or nothing);
- the same real run through the HTTP API on a running hub (upload, job, polling), on a
  fresh copy of the hub file;
- the XLSX dry run (openpyxl, read-only);
- after the real run, the projector bringing both gates' lists up to date in small steps
  (hub.gates.projector.drain): seconds and the longest step's lock hold.
"""

from __future__ import annotations

import csv
import io
import os
import resource
import shutil
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path

from bench.common import Result, ratio

NAME = "bulk_import"
TITLE = "Bulk card import: 100,000 cards from the old system's file"

N = 100_000
UNITS = 11_000
GATES = ["north", "south"]
HEADER = ["uid", "card_type", "name", "unit", "phone", "valid_from", "valid_until", "status", "deposit"]
# (card type, share in 100): what an estate's cards are made of
MIX = [("owner", 40), ("resident", 30), ("tenant", 15), ("domestic_helper", 5), ("staff", 5), ("temporary", 5)]


def _unit(i: int) -> str:
    return f"{chr(65 + i % 20)}-{(i // 20) % 30 + 1:02d}-{i // 600 + 1:02d}"


def rows(n: int = N) -> list[list[str]]:
    types = [t for t, share in MIX for _ in range(share)]
    out = [HEADER]
    for i in range(n):
        ctype = types[i % 100]
        ending = ctype in ("tenant", "temporary")
        status = "lost" if i % 50 == 7 else "revoked" if i % 100 == 3 else "active"
        out.append([f"04{i:06X}AA", ctype, f"Holder {i}", "" if ctype in ("staff", "temporary") else _unit(i % UNITS),
                    f"138{i:08d}", "2025-01-01", "2030-06-30" if ending else "", status,
                    "20000" if ending else ""])
    return out


def as_csv(table: list[list[str]]) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(table)
    return ("\ufeff" + out.getvalue()).encode()


def as_xlsx(table: list[list[str]]) -> bytes:
    """As Excel saves a sheet: shared strings and a <dimension> (openpyxl's write-only mode
    writes neither, and a reader then parses the whole sheet once just to size it)."""
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    for r in table:
        ws.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def build(path: Path) -> None:
    from hub.db import Store
    from hub.gates import acl

    store = Store.open(path)
    now = "2026-01-01T00:00:00+00:00"
    with store.tx() as db:
        db.conn.executemany("INSERT INTO units (code, building, floor, room, created_at) VALUES (?,?,?,?,?)",
                            [(_unit(i), _unit(i).split("-")[0], int(_unit(i).split("-")[1]), _unit(i).split("-")[2],
                              now) for i in range(UNITS)])
        for gate in GATES:
            acl.ensure_gate(db, gate)
    store.close()


def baseline(path: Path, data: bytes) -> float:
    """Parse the same bytes and store the same rows, unchecked: seconds."""
    from hub.cards.models import SCHEMA

    t0 = time.perf_counter()
    parsed = list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))[1:]
    now = "2026-01-01T00:00:00+00:00"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.executescript(SCHEMA)
    conn.execute("BEGIN IMMEDIATE")
    conn.executemany(
        "INSERT INTO cards (uid, status, card_type, holder_name, holder_unit, valid_from, valid_until, created_at, "
        "updated_at) VALUES (?,?,?,?,?,?,?,?,?)",
        [(r[0], r[7], r[1], r[2], r[3] or None, r[5] or None, r[6] or None, now, now) for r in parsed])
    conn.execute("COMMIT")
    conn.close()
    return time.perf_counter() - t0


def _timed_tx(store) -> list[float]:
    """Record how long each outer write transaction holds the store's lock."""
    holds: list[float] = []
    plain = store.tx

    @contextmanager
    def tx():
        with store._lock:  # the lock first, so only the hold is timed, not the wait for it
            t0 = time.perf_counter()
            with plain() as db:
                yield db
            holds.append(time.perf_counter() - t0)

    store.tx = tx
    return holds


def _over_http(path: Path, data: bytes) -> tuple[float, float]:
    """The real run through the API: (seconds from upload to the job done, the job's own seconds)."""
    import httpx

    from hub.app import start_hub
    from hub.auth import create_token
    from hub.config import HubConfig
    from hub.db import Store
    from tests.rigs.broker import free_port

    config = HubConfig.model_validate({"hub": {"site": "bench", "db_path": str(path), "http_port": free_port()}})
    store = Store.open(path)
    token = create_token(store, "supervisor", "bench")
    hub = start_hub(config, store, connect_mqtt=False)
    try:
        with httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=60) as api:
            t0 = time.perf_counter()
            r = api.post("/api/v1/cards/imports?dry_run=false", files={"file": ("old.csv", data, "text/csv")})
            r.raise_for_status()
            while True:
                job = api.get(r.json()["url"]).json()
                if job["finished_at"]:
                    break
                time.sleep(0.05)  # a client polling its job, as a clerk's page would
            took = time.perf_counter() - t0
        if job["state"] != "done" or job["written"] != N:
            raise SystemExit(f"the import over HTTP did not write every card: {job['state']} {job.get('error')}")
        return took, job["seconds"]
    finally:
        hub.stop()
        store.close()


def run(workdir: Path) -> Result:
    from hub.cards import bulk_import
    from hub.db import Store
    from hub.gates import projector

    table = rows()
    data = as_csv(table)
    xlsx = as_xlsx(table)
    hub_file = workdir / "hub.db"
    build(hub_file)
    fresh = workdir / "fresh.db"
    shutil.copy(hub_file, fresh)

    base = baseline(workdir / "baseline.db", data)

    store = Store.open(hub_file)
    t0 = time.perf_counter()
    _, checked = bulk_import.check_file(store, data, "old.csv")
    dry = time.perf_counter() - t0
    if not checked.ok or len(checked.cards) != N:
        raise SystemExit(f"the bench file has bad rows: {checked.errors[:3]}")
    t0 = time.perf_counter()
    _, checked_x = bulk_import.check_file(store, xlsx, "old.xlsx")
    dry_xlsx = time.perf_counter() - t0
    if len(checked_x.cards) != N:
        raise SystemExit(f"the XLSX bench file has bad rows: {checked_x.errors[:3]}")

    holds = _timed_tx(store)
    t0 = time.perf_counter()
    tab, checked = bulk_import.check_file(store, data, "old.csv")
    checked_at = time.perf_counter()
    bulk_import.write_cards(store, "bench", tab, "old.csv", checked, "bench")
    real = time.perf_counter() - t0
    write = time.perf_counter() - checked_at
    lock = max(holds)
    t0 = time.perf_counter()
    steps = projector.drain(store)
    converge = time.perf_counter() - t0
    with store.read() as db:
        listed = db.execute("SELECT COUNT(*) FROM acl_state").fetchone()[0]
    store.close()

    http_took, http_job = _over_http(fresh, data)

    res = Result(NAME, TITLE, ["what", "seconds", "ratio vs baseline", "notes"], key=real,
                 key_label="real run, 100,000 cards (s)")
    res.add("baseline: csv.reader + bare executemany, one transaction", base, "1.00x", "no checks, one table")
    res.add("dry run, CSV (read, load known, check)", dry, ratio(dry, base), "nothing written")
    res.add("real run, CSV (check + write)", real, ratio(real, base), f"write {write:.2f} s of it")
    res.add("longest write-lock hold of the real run", lock, ratio(lock, base), "one transaction: all or nothing")
    res.add("real run over HTTP (upload to job done)", http_took, ratio(http_took, base),
            f"the job's own {http_job:.2f} s")
    res.add("dry run, XLSX (openpyxl read-only)", dry_xlsx, ratio(dry_xlsx, base), f"{len(xlsx) / 1e6:.1f} MB file")
    res.add(f"gates' lists up to date after commit ({len(GATES)} gates)", converge, ratio(converge, base),
            f"{len(steps)} steps, longest hold {max(steps) * 1000:.0f} ms; {listed:,} entries")
    res.notes.append(f"{N:,} cards, {UNITS:,} units in the register, {len(GATES)} gates; CSV {len(data) / 1e6:.1f} MB; "
                     f"{os.cpu_count()} cores; peak RSS of the whole run (files, hub and all) "
                     f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    return res

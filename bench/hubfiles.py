"""Hub database files the benchmarks build once and copy for each run.

Building an estate (tens of thousands of cards, their lists at several gates) takes longer
than the measurement, so it is kept in ``CACHE`` under a name that carries a hash of the
hub's schema: a schema change builds afresh, and a build killed half way never counts.
"""

from __future__ import annotations

import hashlib
import importlib
import sqlite3
import tempfile
import time
from pathlib import Path
from typing import Callable

from hub.db import Store

CACHE = Path(tempfile.gettempdir()) / "gatehouse-bench-cache"


def schema_tag() -> str:
    from hub.schema import DOMAINS

    text = "".join(importlib.import_module(d).SCHEMA for d in DOMAINS)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def cached_db(name: str, build: Callable[[Store], None], tag: str | None = None) -> tuple[Path, float]:
    """The cached file ``name`` (made by ``build`` on a fresh store if missing): (path, build s
    or 0 if it was cached). The WAL is folded into the file before it is renamed into place.
    ``tag`` replaces the schema hash in the name (a caller that brings an older file up to
    the schema itself, where a rebuild costs far more than that)."""
    path = CACHE / f"{name}-{tag or schema_tag()}.db"
    if path.exists():
        return path, 0.0
    CACHE.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    for p in CACHE.glob(tmp.name + "*"):
        p.unlink()
    t0 = time.perf_counter()
    store = Store.open(tmp)
    try:
        build(store)
    finally:
        store.close()
    c = sqlite3.connect(str(tmp))
    c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    c.close()
    built = time.perf_counter() - t0
    tmp.rename(path)
    return path, built


def copy_db(src: Path, dst: Path) -> Path:
    """A consistent copy of ``src`` at ``dst`` (SQLite's backup: the WAL's rows included)."""
    dst.parent.mkdir(parents=True, exist_ok=True)
    s, d = sqlite3.connect(str(src)), sqlite3.connect(str(dst))
    s.backup(d)
    s.close()
    d.close()
    return dst

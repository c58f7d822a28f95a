"""The hub's SQLite file, through sqlite-utils.

One connection behind one lock: the hub's load (taps from dozens of gates, a few clerks)
is far below what a single SQLite writer does, and one lock makes every transaction
trivially serialisable across the HTTP thread pool and the MQTT thread. WAL and
synchronous=FULL so a power cut loses no committed event.

The database holds token and session hashes, password hashes, gate keys (sealed) and
people's details: the file and its -wal and -shm are made 0600 (owner only) when opened,
whatever the umask, and an older, wider file is narrowed.

Each domain declares its tables in a ``SCHEMA`` string (CREATE ... IF NOT EXISTS) and is
listed in hub.schema; ``Store.open`` applies them in order.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import sqlite_utils


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        on_disk = str(path) != ":memory:"
        if on_disk:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private(self.path, create=True)
        self._conn = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None, timeout=30)
        self._conn.row_factory = sqlite3.Row
        self._conn.execute("PRAGMA journal_mode=WAL")
        if on_disk:
            # SQLite gives -wal and -shm the database file's mode; files left by an older hub may be wider
            for suffix in ("-wal", "-shm"):
                _private(Path(f"{self.path}{suffix}"))
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self.db = sqlite_utils.Database(self._conn)
        self._lock = threading.RLock()
        self._depth = 0

    @classmethod
    def open(cls, path: str | Path) -> "Store":
        from hub.schema import apply_schema

        store = cls(path)
        apply_schema(store)
        return store

    @contextmanager
    def tx(self) -> Iterator[sqlite_utils.Database]:
        """A write transaction (nested calls join the outer one); rolled back on any error."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self.db
            except BaseException:
                self._depth -= 1
                # SQLite has already rolled back after some errors (SQLITE_FULL): a second
                # ROLLBACK would raise and hide the error that matters
                if outer and self._conn.in_transaction:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    @contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        with self._lock:
            yield self.db

    def close(self) -> None:
        with self._lock:
            self._conn.close()


PRIVATE = 0o600


def _private(path: Path, create: bool = False) -> None:
    """Make ``path`` owner-only (creating it empty, 0600 from the start, if ``create``)."""
    if create:
        os.close(os.open(path, os.O_RDWR | os.O_CREAT, PRIVATE))
    try:
        if os.stat(path).st_mode & 0o777 != PRIVATE:
            os.chmod(path, PRIVATE)
    except FileNotFoundError:
        pass

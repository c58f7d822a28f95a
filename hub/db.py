"""The hub's SQLite file, through sqlite-utils.

One writer connection behind one lock: every transaction (``tx``) is serialised across the
HTTP thread pool and the MQTT thread, which the hub's write load (taps from dozens of
gates, a few clerks) is far below. Reads (``read``) go through their own connections
(``PRAGMA query_only``), taken from a small pool: in WAL mode a reader sees the last
committed state without waiting for the writer, and the writer never waits for a reader,
so a slow page cannot delay a revocation or an event, nor another page. WAL and
synchronous=FULL so a power cut loses no committed event.

Each ``read`` is one read transaction: its queries see one consistent state. A ``read``
on the thread that holds the write transaction goes through the writer (it sees that
transaction's rows); a ``:memory:`` store has only the writer (a second connection to
``:memory:`` is another, empty database), so its reads take the lock, as every read did
before.

The database holds token and session hashes, password hashes, gate keys (sealed) and
people's details: the file and its -wal and -shm are made 0600 (owner only) when opened,
whatever the umask, and an older, wider file is narrowed.

Side effects of a write (waking live pages, counters, logs) are registered inside the
transaction with ``after_commit`` and run once it has committed, never for a rollback.
A ``savepoint`` inside a transaction lets one step fail alone (a poison message in a batch
of events: hub.mqtt) and drops the side effects that step had registered.

The WAL is folded into the database file by a thread of the store's own (``_Checkpointer``,
PASSIVE, once a second, on a connection of its own), never by a commit: SQLite's automatic
checkpoint runs inside the commit that crosses its threshold and copies megabytes under the
writer's lock (measured: the commits that held the lock 0.2-0.5 s during a re-projection).

Each domain declares its tables in a ``SCHEMA`` string (CREATE ... IF NOT EXISTS) and is
listed in hub.schema; ``Store.open`` applies them in order.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import weakref
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import sqlite_utils

log = logging.getLogger(__name__)

#: read connections kept open between reads; more are opened while more reads run at once
#: (the HTTP thread pool bounds how many) and closed again when they end
IDLE_READERS = 8

_Reader = tuple[sqlite3.Connection, sqlite_utils.Database]


class Store:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        on_disk = str(path) != ":memory:"
        if on_disk:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            _private(self.path, create=True)
        self._conn = _connect(str(path))
        self._conn.execute("PRAGMA journal_mode=WAL")
        if on_disk:
            # SQLite gives -wal and -shm the database file's mode; files left by an older hub may be wider
            for suffix in ("-wal", "-shm"):
                _private(Path(f"{self.path}{suffix}"))
        self._conn.execute("PRAGMA synchronous=FULL")
        self._conn.execute("PRAGMA foreign_keys=ON")
        self._checkpointer: _Checkpointer | None = None
        if on_disk:
            self._conn.execute("PRAGMA wal_autocheckpoint=0")  # _Checkpointer does it, off the lock
            self._checkpointer = _Checkpointer(self.path)
            weakref.finalize(self, self._checkpointer.stop)  # a store dropped unclosed stops it too
        self.db = sqlite_utils.Database(self._conn)
        self._lock = threading.RLock()
        self._depth = 0
        self._writing: int | None = None  # the thread inside tx(), if any
        self._shared = not on_disk
        self._pool_lock = threading.Lock()
        self._idle: list[_Reader] = []
        self._closed = False
        self._mine = threading.local()  # this thread's open read, so nested reads share it
        self._after: list[Callable[[], None]] = []  # the open transaction's after_commit hooks
        self._once: set[Callable[[], None]] = set()  # those of them registered with once=True
        self._savepoints = 0
        self._serial = 0  # counts outer transactions: tx_serial

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
                self._writing = threading.get_ident()
                self._serial += 1
            self._depth += 1
            hooks: list[Callable[[], None]] = []
            try:
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
                    try:
                        self._conn.execute("COMMIT")
                    except BaseException:
                        if self._conn.in_transaction:  # a COMMIT that failed (busy, full) leaves it open
                            self._conn.execute("ROLLBACK")
                        raise
                    hooks = self._after
            finally:
                if outer:
                    self._writing = None
                    self._after, self._once = [], set()
        if outer:
            self._renew_own_read()
            _run_hooks(hooks)

    @property
    def tx_serial(self) -> int | None:
        """Which transaction this thread is in (None: none), so a value read inside one can be
        reused for the rest of it: no other writer, in this process or another, can change
        the database until it ends (BEGIN IMMEDIATE holds SQLite's write lock)."""
        return self._serial if self._writing == threading.get_ident() else None

    def after_commit(self, fn: Callable[[], None], once: bool = False) -> None:
        """Run ``fn`` once the transaction this thread is in has committed (dropped if it rolls
        back), after the store's lock is released. With ``once``, an equal callable already
        waiting there is enough (a wake-up that each message of a batch asks for)."""
        if self._writing != threading.get_ident():
            raise RuntimeError("after_commit outside a transaction")
        if once:
            if fn in self._once:
                return
            self._once.add(fn)
        self._after.append(fn)

    @contextmanager
    def savepoint(self) -> Iterator[sqlite_utils.Database]:
        """A step inside this thread's transaction that an exception undoes alone (with the
        after_commit hooks it registered), leaving the transaction open for the next step.

        If SQLite itself rolled the whole transaction back (some storage errors do), the step
        raises sqlite3.OperationalError (a storage failure, hub.deadletters.store), because
        the steps before it are gone too."""
        if self._writing != threading.get_ident():
            raise RuntimeError("savepoint outside a transaction")
        self._savepoints += 1
        name = f"step{self._savepoints}"
        mark = len(self._after)
        self._conn.execute(f"SAVEPOINT {name}")
        try:
            yield self.db
        except BaseException as exc:
            self._drop_hooks(mark)
            if not self._conn.in_transaction:
                raise sqlite3.OperationalError("SQLite rolled the transaction back") from exc
            self._conn.execute(f"ROLLBACK TO {name}")
            self._conn.execute(f"RELEASE {name}")
            raise
        finally:
            self._savepoints -= 1
        if not self._conn.in_transaction:
            self._drop_hooks(mark)
            raise sqlite3.OperationalError("SQLite rolled the transaction back during a step")
        self._conn.execute(f"RELEASE {name}")

    @contextmanager
    def read(self) -> Iterator[sqlite_utils.Database]:
        """A read of the last committed state that neither waits for nor delays the writer.

        Nothing may be written through it (its connection is query_only)."""
        if self._shared or self._writing == threading.get_ident():
            with self._lock:
                yield self.db
            return
        held: _Reader | None = getattr(self._mine, "reader", None)
        if held is not None:
            yield held[1]
            return
        reader = self._checkout()
        self._mine.reader = reader
        try:
            reader[0].execute("BEGIN")
            yield reader[1]
        finally:
            self._mine.reader = None
            self._checkin(reader)

    @contextmanager
    def read_latest(self) -> Iterator[sqlite_utils.Database]:
        """A ``read`` that first lets a write transaction in progress commit: for a reader
        woken from inside that transaction (the ACL publisher), so it sees what woke it."""
        with self._lock:
            pass
        with self.read() as db:
            yield db

    @contextmanager
    def writer(self) -> Iterator[sqlite_utils.Database]:
        """The writer connection outside any transaction, under the lock: for schema scripts
        (``executescript`` commits whatever transaction is open, so it cannot run in ``tx``)
        and the writer's own settings (a read's connection is another connection)."""
        with self._lock:
            yield self.db

    def _drop_hooks(self, mark: int) -> None:
        if len(self._after) > mark:
            del self._after[mark:]
            self._once &= set(self._after)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
        with self._lock:
            self._conn.close()
        with self._pool_lock:
            self._closed = True
            idle, self._idle = self._idle, []
        for conn, _ in idle:
            conn.close()

    # -- the read pool ---------------------------------------------------------------------
    def _checkout(self) -> _Reader:
        with self._pool_lock:
            if self._closed:
                raise sqlite3.ProgrammingError("the store is closed")
            if self._idle:
                return self._idle.pop()
        conn = _connect(str(self.path))
        db = sqlite_utils.Database(conn)
        conn.execute("PRAGMA query_only=ON")
        return conn, db

    def _checkin(self, reader: _Reader) -> None:
        conn = reader[0]
        try:
            if conn.in_transaction:
                conn.execute("COMMIT")  # ends the snapshot: a read transaction has nothing to write
        except sqlite3.Error:
            conn.close()  # a statement still open on it (an unfinished cursor): not reused
            return
        with self._pool_lock:
            if not self._closed and len(self._idle) < IDLE_READERS:
                self._idle.append(reader)
                return
        conn.close()

    def _renew_own_read(self) -> None:
        """After a commit, a read this thread has open sees it (as when reads shared the writer)."""
        held: _Reader | None = getattr(self._mine, "reader", None)
        if held is None or not held[0].in_transaction:
            return
        try:
            held[0].execute("COMMIT")
            held[0].execute("BEGIN")
        except sqlite3.Error:
            pass  # a cursor still open on it: it keeps the state it began with


def add_columns(db: "sqlite_utils.Database", columns: list[tuple[str, str, str]]) -> None:
    """Give an older hub.db the columns (table, column, declaration) added since its tables
    were made: CREATE TABLE IF NOT EXISTS leaves an existing table as it was."""
    for table, column, decl in columns:
        have = {row[1] for row in db.conn.execute(f"PRAGMA table_info({table})")}
        if column not in have:
            db.conn.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")


def _run_hooks(hooks: list[Callable[[], None]]) -> None:
    """A hook that fails is logged: what it follows has committed, so the caller must not
    see an error (it would retry, or report a failure, for a write that was kept)."""
    for fn in hooks:
        try:
            fn()
        except Exception:  # noqa: BLE001 - see the docstring
            log.exception("an after-commit hook failed")


class _Checkpointer:
    """Once a second, a PASSIVE checkpoint: it waits for no reader or writer and none waits for it.

    It holds only the path (not the store), so an unclosed store can still be collected."""

    EVERY_S = 1.0

    def __init__(self, path: Path) -> None:
        self._path = path
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(5)

    def _run(self) -> None:
        conn: sqlite3.Connection | None = None
        try:
            while not self._stop.wait(self.EVERY_S):
                try:
                    if conn is None:  # mode=rw: a file removed meanwhile is not made again
                        conn = sqlite3.connect(f"{self._path.resolve().as_uri()}?mode=rw", uri=True, timeout=0)
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as exc:  # busy, or the disk full: the next second tries again
                    log.debug("WAL checkpoint of %s: %s", self._path, exc)
        finally:
            if conn is not None:
                conn.close()


def _connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.row_factory = sqlite3.Row
    return conn


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

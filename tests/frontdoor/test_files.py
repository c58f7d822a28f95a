"""What the hub writes to disk with secrets in it is readable by its owner only."""

from __future__ import annotations

import os
import stat

from hub.auth import create_token
from hub.db import Store


def _mode(path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_hub_db_and_its_wal_and_shm_are_0600_whatever_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        store = Store.open(tmp_path / "var" / "hub.db")
        create_token(store, "admin", "a")  # a write: the -wal file exists now
        files = sorted(p.name for p in (tmp_path / "var").iterdir())
        assert files == ["hub.db", "hub.db-shm", "hub.db-wal"]
        assert {f: _mode(tmp_path / "var" / f) for f in files} == {f: 0o600 for f in files}
        store.close()
    finally:
        os.umask(old)


def test_an_older_world_readable_database_is_narrowed(tmp_path):
    path = tmp_path / "hub.db"
    Store.open(path).close()
    for p in tmp_path.iterdir():
        os.chmod(p, 0o644)
    store = Store.open(path)
    create_token(store, "admin", "a")
    assert all(_mode(p) == 0o600 for p in tmp_path.iterdir()), {p.name: oct(_mode(p)) for p in tmp_path.iterdir()}
    store.close()

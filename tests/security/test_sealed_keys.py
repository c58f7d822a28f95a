"""Gate keys at rest: sealed in hub.db with a key file beside it, so a copied hub.db alone
opens nothing."""

from __future__ import annotations

import os
import shutil
import sqlite3
import stat

import pytest

from hub.db import Store
from hub.gates.keys import GateKeys
from hub.gates.service import register_gate
from hub.sealing import SealError


def _copy(src, dst) -> None:
    """A consistent copy of a live WAL database (what a backup script makes)."""
    s, d = sqlite3.connect(str(src)), sqlite3.connect(str(dst))
    s.backup(d)
    s.close()
    d.close()


def test_a_copied_hub_db_without_its_key_file_opens_no_gate_key(tmp_path) -> None:
    db_path = tmp_path / "var" / "hub.db"
    store = Store.open(db_path)
    keys = {g: register_gate(store, g, "test") for g in ("north", "south")}
    keys["north-2"] = register_gate(store, "north", "test", rotate=True)
    key_file = db_path.parent / "hub.key"
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600 and len(key_file.read_bytes()) == 32
    store.close()

    stolen = tmp_path / "stolen"
    stolen.mkdir()
    for name in os.listdir(db_path.parent):  # hub.db and its WAL files, but not hub.key
        if name.startswith("hub.db"):
            shutil.copy(db_path.parent / name, stolen / name)
    for name in os.listdir(stolen):
        blob = (stolen / name).read_bytes()
        for key in keys.values():
            assert key.encode() not in blob and key.upper().encode() not in blob, f"hex key readable in {name}"
            assert bytes.fromhex(key) not in blob, f"raw key readable in {name}"
    with sqlite3.connect(stolen / "hub.db") as conn:
        rows = conn.execute("SELECT gate_id, key_hex, keys_sealed FROM gates ORDER BY gate_id").fetchall()
    assert [(g, plain) for g, plain, _ in rows] == [("north", None), ("south", None)]
    assert all(sealed.startswith("aesgcm1:") for _, _, sealed in rows)

    # with the thief's own key file (made afresh beside the copy), nothing opens
    copy = Store.open(stolen / "hub.db")
    try:
        with pytest.raises(SealError):
            GateKeys(copy).keys("north")
    finally:
        copy.close()
    # with the hub's key file, everything does
    store = Store.open(db_path)
    try:
        assert GateKeys(store).keys("north") == [keys["north"], keys["north-2"]]
        assert GateKeys(store, key_file).keys("south") == [keys["south"]]
    finally:
        store.close()


def test_a_sealed_key_moved_to_another_gate_does_not_open(tmp_path) -> None:
    store = Store.open(tmp_path / "hub.db")
    try:
        register_gate(store, "north", "test")
        register_gate(store, "south", "test")
        with store.tx() as db:
            db.execute("UPDATE gates SET keys_sealed = (SELECT keys_sealed FROM gates WHERE gate_id = 'north'),"
                       " key_gen = key_gen + 1 WHERE gate_id = 'south'")
        with pytest.raises(SealError):
            GateKeys(store).keys("south")
    finally:
        store.close()


def test_plain_keys_of_an_older_hub_db_are_sealed_and_gone_from_the_file(tmp_path) -> None:
    db_path = tmp_path / "hub.db"
    store = Store.open(db_path)
    plain = "ab" * 32
    with store.tx() as db:  # as hub.db held gate keys before they were sealed
        db.execute("INSERT INTO gates (gate_id, key_hex, first_seen_at) VALUES ('north', ?, '2026-01-01')", [plain])
    store.close()
    store = Store.open(db_path)
    try:
        assert GateKeys(store).keys("north") == [plain]
        with store.writer() as db:
            assert db.execute("SELECT key_hex FROM gates").fetchone()[0] is None
            db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    for name in os.listdir(tmp_path):
        if name.startswith("hub.db"):
            assert plain.encode() not in (tmp_path / name).read_bytes(), f"the plain key is still in {name}"


def test_the_hub_config_names_its_secret_file(tmp_path) -> None:
    from hub.config import HubConfig

    cfg = HubConfig.model_validate({"hub": {"site": "demo", "db_path": str(tmp_path / "db" / "hub.db"),
                                            "secret_file": str(tmp_path / "keys" / "gate-keys.key")}})
    store = Store.open(cfg.hub.db_path)
    try:
        register_gate(store, "north", "test", secret_file=cfg.hub.secret_path)
    finally:
        store.close()
    assert (tmp_path / "keys" / "gate-keys.key").exists() and not (tmp_path / "db" / "hub.key").exists()
    default = HubConfig.model_validate({"hub": {"site": "demo", "db_path": str(tmp_path / "x" / "hub.db")}})
    assert default.hub.secret_path == tmp_path / "x" / "hub.key"


def test_cached_keys_follow_a_change_made_elsewhere_and_forget_one_rolled_back(tmp_path) -> None:
    """The hub caches every gate's keys against one epoch; the CLI (another process: here a
    second store on the same file) rotating a key must be believed at the next message, and
    a change rolled back must never be served."""
    hub_store, cli_store = Store.open(tmp_path / "hub.db"), Store.open(tmp_path / "hub.db")
    try:
        hub, cli = GateKeys(hub_store), GateKeys(cli_store)
        first = cli.register("north", "cli:test")
        assert hub.keys("north") == [first]  # read, then cached
        assert hub.keys("north") == [first]
        second = cli.register("north", "cli:test", rotate=True)
        assert hub.keys("north") == [first, second]  # the other process's change is seen
        cli.used("north", 1)  # the gate is heard with its new key: the old one is forgotten
        assert hub.keys("north") == [second]
        with pytest.raises(RuntimeError):
            with hub_store.tx():
                hub.retire("north", "cli:test")
                assert hub.keys("north") == []  # inside the change, the change is seen
                raise RuntimeError("rolled back")
        assert hub.keys("north") == [second]  # the rolled-back retirement is not served
        with hub_store.tx():  # in a batch (one transaction) the epoch is read once, the keys still right
            assert hub.keys("north") == [second] and hub.keys("south") == []
    finally:
        hub_store.close()
        cli_store.close()

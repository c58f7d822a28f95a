"""Re-projection in steps (hub.gates.acl.schedule_reproject, hub.gates.projector): a change
that touches thousands of cards leaves a durable job and the gates' lists converge, step by
step, to exactly what a one-shot projection of the same rows gives, whatever single-card
changes happen meanwhile, and across a hub killed mid-job."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import uuid
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from hub.access import service as access
from hub.access.models import LevelBody, ScheduleBody
from hub.cards import moves
from hub.db import Store
from hub.gates import acl, projector
from hub.gates.snapshots import snapshot_payloads
from protocols.acl import checksum_of_texts
from protocols.signing import new_key
from tests.conftest import ROOT
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

GATES = ("north", "south")
N = 3000  # x 2 gates: well over INLINE_PAIRS, so every change below becomes a job


def _uid(i: int) -> str:
    return f"5A{i:06X}"


def _estate(path: Path, n: int = N) -> Store:
    """Two gates, ``n`` owner cards whose default level keeps the estate's holidays at both."""
    store = Store.open(path)
    now = datetime.now(timezone.utc).isoformat()
    with store.tx() as db:
        for g in GATES:
            acl.ensure_gate(db, g)
        db.conn.executemany(
            "INSERT INTO cards (uid, status, card_type, holder_name, created_at, updated_at, issued_at) "
            "VALUES (?, 'active', 'owner', ?, ?, ?, ?)", [(_uid(i), f"H {i}", now, now, now) for i in range(n)])
    access.create_schedule(store, "t", "office", ScheduleBody(windows=[{"start": "07:00", "end": "19:00"}]))
    access.create_level(store, "t", "office", LevelBody(items=[{"gate_id": g} for g in GATES], schedule="office"))
    access.set_type_defaults(store, "t", "owner", ("office",))  # every card: a job
    projector.drain(store, pause=False)
    return store


def _resolved(db, entry: str) -> str:
    """A stored entry with the schedule it names (by id, in acl_schedules) written in whole."""
    sid = json.loads(entry)["schedule"]
    if not sid:
        return entry
    body = db.execute("SELECT body FROM acl_schedules WHERE id = ?", [sid]).fetchone()[0]
    return entry.replace(f'"{sid}"', body)


def _jobs(store: Store) -> bool:
    with store.read_latest() as db:
        return acl.pending_work(db)


def _assert_one_shot(path: Path, tmp_path: Path, listed: int | dict[str, int] = N) -> None:
    """The lists at ``path`` are what projecting every card at once from its rows gives."""
    copy = tmp_path / f"copy-{uuid.uuid4().hex[:6]}.db"
    src, dst = sqlite3.connect(path), sqlite3.connect(copy)
    src.backup(dst)
    src.close()
    dst.close()
    store = Store.open(copy)
    try:
        with store.tx() as db:
            assert not acl.pending_work(db), "a job is still pending"
            gates = [r[0] for r in db.execute("SELECT gate_id FROM gates")]
            before = {g: acl.head(db, g) for g in gates}
            rewritten = acl.reproject(db, [r["uid"] for r in db.query("SELECT uid FROM cards")])
            assert rewritten == 0, f"{rewritten} entries differ from the one-shot projection"
            for g in gates:
                texts = [r["entry"].encode() for r in db.query("SELECT entry FROM acl_state WHERE gate_id = ?", [g])]
                assert len(texts) == (listed[g] if isinstance(listed, dict) else listed), g
                assert before[g][1] == checksum_of_texts(texts), f"{g}'s head checksum is not its list's"
    finally:
        store.close()


def test_a_small_change_is_reprojected_at_once_and_a_big_one_becomes_a_job(tmp_path) -> None:
    store = _estate(tmp_path / "hub.db", n=1500)  # 3,000 (card, gate) pairs: over INLINE_PAIRS
    with store.tx() as db:
        acl.schedule_reproject(db, [_uid(i) for i in range(10)])  # 20 pairs: at once
        assert not acl.pending_work(db)
        acl.schedule_reproject(db, None)
        assert acl.pending_work(db)
        acl.schedule_reproject(db, None)  # the same sweep, not a second one
        assert db.execute("SELECT COUNT(*) FROM acl_sweeps").fetchone()[0] == 1
        assert acl.job_counts(db) == {"pending_cards": 0, "sweeps": 1}  # what the health view shows
    holds = projector.drain(store, pause=False)
    assert len(holds) >= 2 and not _jobs(store)
    with store.read() as db:
        assert acl.job_counts(db) == {"pending_cards": 0, "sweeps": 0}
    store.close()


def test_holiday_job_converges_to_the_one_shot_projection_with_revocations_meanwhile(tmp_path) -> None:
    path = tmp_path / "hub.db"
    store = _estate(path)
    heads = {}
    with store.read() as db:
        heads = {g: acl.head(db, g) for g in GATES}
    holiday = date(2031, 10, 1)
    access.add_holiday(store, "t", holiday, "National Day")
    assert _jobs(store), "3,000 cards x 2 gates should be left to the projector"
    with store.read() as db:
        assert {g: acl.head(db, g) for g in GATES} == heads, "nothing projected in the change's transaction"

    sizer = projector.StepSizer()
    for _ in range(3):
        assert projector.step(store, sizer)[0] > 0
    with store.read() as db:
        after = db.execute("SELECT after_uid FROM acl_sweeps").fetchone()[0]
    assert _uid(0) <= after < _uid(N - 10), "the job is under way and not done"
    # revocations both behind and ahead of the job's position, and a card's own levels
    revoked = [_uid(1), _uid(N - 3), _uid(N - 2)]
    for uid in revoked:
        moves.revoke(store, "t", uid, "lost wallet")
    access.set_card_levels(store, "t", _uid(N - 1), ())  # no gate any more
    with store.read() as db:  # synchronous: at the gates before the job gets there
        for g in GATES:
            entry = db.execute("SELECT entry FROM acl_state WHERE gate_id = ? AND uid = ?", [g, _uid(N - 3)]).fetchone()
            assert '"status":"revoked"' in entry[0]
    projector.drain(store, pause=False)

    with store.read() as db:
        for g in GATES:
            for uid in revoked:
                entry = db.execute("SELECT entry FROM acl_state WHERE gate_id = ? AND uid = ?", [g, uid]).fetchone()[0]
                assert '"status":"revoked"' in entry, f"{uid} un-revoked at {g} by a stale step"
                assert holiday.isoformat() in _resolved(db, entry)
            assert not db.execute("SELECT 1 FROM acl_state WHERE gate_id = ? AND uid = ?", [g, _uid(N - 1)]).fetchall()
            assert acl.head(db, g)[0] > heads[g][0] + N - 10  # each card moved once, published as deltas
    store.close()
    _assert_one_shot(path, tmp_path, listed=N - 1)


def test_a_level_of_some_cards_leaves_them_pending_once_and_they_converge(tmp_path) -> None:
    path = tmp_path / "hub.db"
    store = _estate(path)
    with store.tx() as db:
        for g in ("east", "west"):
            acl.ensure_gate(db, g)
    projector.drain(store, pause=False)
    special = [_uid(i) for i in range(0, N, 5)]  # 600 cards x 4 gates: a job, and under a quarter of the cards
    access.create_level(store, "t", "special", LevelBody(items=[{"gate_id": "*"}]))
    with store.tx() as db:
        issued = dict(db.execute("SELECT uid, issued_at FROM cards").fetchall())
        db.conn.executemany("INSERT INTO access_card_explicit (uid, issued_at) VALUES (?, ?)",
                            [(u, issued[u]) for u in special])
        db.conn.executemany("INSERT INTO access_card_levels (uid, level, position) VALUES (?, 'special', 0)",
                            [(u,) for u in special])
        acl.schedule_reproject(db, special)
    projector.drain(store, pause=False)

    access.update_level(store, "t", "special", LevelBody(items=[{"gate_id": "*"}], schedule="office"))
    with store.tx() as db:
        assert db.execute("SELECT COUNT(*) FROM acl_pending").fetchone()[0] == len(special)
        assert not db.execute("SELECT 1 FROM acl_sweeps").fetchall(), "a few cards: named, not a sweep"
        acl.schedule_reproject(db, special[:300])  # the same cards again: pending once
        assert db.execute("SELECT COUNT(*) FROM acl_pending").fetchone()[0] == len(special)
    projector.step(store, projector.StepSizer(first=50))
    moves.revoke(store, "t", special[-1], "stolen")  # still pending: its own change now, the step later
    projector.drain(store, pause=False)
    with store.read() as db:
        for g in ("north", "east"):
            entry = db.execute("SELECT entry FROM acl_state WHERE gate_id = ? AND uid = ?", [g, special[-1]]).fetchone()[0]
            assert '"status":"revoked"' in entry and '"windows"' in _resolved(db, entry)
    store.close()
    _assert_one_shot(path, tmp_path, listed={"north": N, "south": N, "east": len(special), "west": len(special)})


def test_a_new_gates_list_is_built_in_steps_and_sent_only_when_whole(tmp_path) -> None:
    path = tmp_path / "hub.db"
    store = _estate(path, n=acl.BUILD_INLINE + 1000)
    with store.tx() as db:
        acl.ensure_gate(db, "east")
        assert acl.building(db, "east")
        assert acl.head(db, "east")[0] == 0
    access.create_level(store, "t", "east", LevelBody(items=[{"gate_id": "east"}]))
    access.set_type_defaults(store, "t", "owner", ("office", "east"))  # every card again, now at east too
    assert snapshot_payloads(store, "east", new_key(), "site") is None, "a list half built is not sent"
    sizer = projector.StepSizer()
    for _ in range(3):
        projector.step(store, sizer)
    with store.read() as db:
        at = db.execute("SELECT after_uid FROM acl_sweeps WHERE gate_id = 'east'").fetchone()[0]
        assert acl.building(db, "east") and _uid(0) < at < _uid(acl.BUILD_INLINE), "the build is under way"
    moves.revoke(store, "t", _uid(2), "behind the build")
    moves.revoke(store, "t", _uid(acl.BUILD_INLINE + 900), "ahead of the build")
    projector.drain(store, pause=False)
    with store.read() as db:
        assert not acl.building(db, "east")
        for uid in (_uid(2), _uid(acl.BUILD_INLINE + 900)):
            entry = db.execute("SELECT entry FROM acl_state WHERE gate_id = 'east' AND uid = ?", [uid]).fetchone()[0]
            assert '"status":"revoked"' in entry
    payloads = snapshot_payloads(store, "east", new_key(), "site")
    assert payloads is not None and len(payloads) >= 2
    store.close()
    _assert_one_shot(path, tmp_path, listed=acl.BUILD_INLINE + 1000)


@pytest.fixture
def hub_files(tmp_path, broker):
    site, port = "p" + uuid.uuid4().hex[:8], free_port()
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsite = "{site}"\ndb_path = "{tmp_path / "hub.db"}"\nhttp_host = "127.0.0.1"\n'
                      f'http_port = {port}\n[mqtt]\nhost = "{broker.host}"\nport = {broker.port}\n')
    return config, tmp_path / "hub.db"


def _serve(config: Path) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "hub.cli", "serve", "--config", str(config), "--log-level", "warning"],
                            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_a_hub_killed_mid_job_resumes_it_and_converges(tmp_path, hub_files) -> None:
    config, path = hub_files
    store = _estate(path)
    access.add_holiday(store, "t", date(2031, 10, 2), "Mid-Autumn")  # a job, left for the hub
    store.close()

    def position() -> str | None:
        c = sqlite3.connect(path, timeout=5)
        try:
            row = c.execute("SELECT after_uid FROM acl_sweeps").fetchone()
        finally:
            c.close()
        return None if row is None else row[0]

    hub = _serve(config)
    try:
        wait_for(lambda: (position() or "") > _uid(20), timeout=30, what="the hub's projector under way")
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)
        at = position()
        assert at is not None and at < _uid(N - 1), "the kill came after the job ended: nothing tested"
        hub = _serve(config)
        wait_for(lambda: position() is None, timeout=60, what=f"the job resumed from {at} and finished")
    finally:
        hub.send_signal(signal.SIGKILL)
        hub.wait(10)
    _assert_one_shot(path, tmp_path)

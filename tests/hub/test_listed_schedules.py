"""Schedules named by id in the hub's stored lists (hub.gates.acl, protocols.acl.schedule_id),
on real SQLite files: the stored texts name schedules the hub keeps once, every message
carries those its entries name, and a hub file from before ids upgrades in steps while a
gate still holding a list with whole schedules converges to it."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, time, timezone
from pathlib import Path

from gate_agent.acl_store import AclStore, Applied
from gate_agent.decide import decide
from hub.access import service as access
from hub.access.models import LevelBody, ScheduleBody
from hub.db import Store
from hub.gates import acl, projector
from hub.gates.snapshots import snapshot_payloads
from protocols.acl import Schedule, checksum_of_texts, schedule_id
from protocols.cards import Decision, Reason
from protocols.messages import AclUpdate, Direction, parse
from protocols.signing import new_key

GATES = ("north", "south")
N = 1500  # x 2 gates: over INLINE_PAIRS, so the upgrade's re-projection is a job done in steps
KEY = new_key()


def _uid(i: int) -> str:
    return f"5B{i:06X}"


def _estate(path: Path) -> Store:
    store = Store.open(path)
    now = datetime.now(timezone.utc).isoformat()
    with store.tx() as db:
        for g in GATES:
            acl.ensure_gate(db, g)
        db.conn.executemany(
            "INSERT INTO cards (uid, status, card_type, holder_name, created_at, updated_at, issued_at) "
            "VALUES (?, 'active', ?, ?, ?, ?, ?)",
            [(_uid(i), "owner" if i % 2 else "tenant", f"H {i}", now, now, now) for i in range(N)])
    access.create_schedule(store, "t", "office", ScheduleBody(windows=[{"start": "07:00", "end": "19:00"}]))
    access.create_schedule(store, "t", "weekend", ScheduleBody(windows=[{"days": [5, 6], "start": "09:00",
                                                                         "end": "17:00"}]))
    access.create_level(store, "t", "office", LevelBody(items=[{"gate_id": g} for g in GATES], schedule="office"))
    access.create_level(store, "t", "weekend", LevelBody(items=[{"gate_id": "north"}], schedule="weekend"))
    access.set_type_defaults(store, "t", "owner", ("office",))
    access.set_type_defaults(store, "t", "tenant", ("weekend",))
    projector.drain(store, pause=False)
    return store


def _whole(texts_by_id: dict[str, str], text: str) -> str:
    """An entry text as a hub before ids stored it: the schedule it names written in whole."""
    sid = json.loads(text)["schedule"]
    return text if sid is None else text.replace(f'"{sid}"', texts_by_id[sid])


def test_stored_texts_name_schedules_the_hub_keeps_and_every_chunk_carries_them(tmp_path) -> None:
    store = _estate(tmp_path / "hub.db")
    with store.read() as db:
        kept = dict(db.execute("SELECT id, body FROM acl_schedules").fetchall())
        for sid, body in kept.items():
            assert schedule_id(Schedule.model_validate_json(body)) == sid
        named = {json.loads(t)["schedule"] for (t,) in db.execute("SELECT entry FROM acl_state")}
    assert named == set(kept) and len(kept) == 2, "one office and one weekend schedule, once each"
    chunks = [parse(AclUpdate, p) for p in snapshot_payloads(store, "north", KEY, "demo")]
    assert len(chunks) == 3 and sum(len(c.upserts) for c in chunks) == N
    for c in chunks:
        assert set(c.schedules) == {e.schedule for e in c.upserts}, "each chunk carries its own entries' schedules"
    gate = AclStore(tmp_path / "gate", "north")
    assert [gate.apply(c) for c in chunks][-1] == Applied.APPLIED
    with store.read() as db:
        assert (gate.rev, gate.checksum) == acl.head(db, "north")
    # a card change reaches the gate as a delta carrying the schedule its entry names
    with store.read() as db:
        cursor = acl.max_log_id(db)
    access.set_card_levels(store, "t", _uid(1), ("weekend",))  # an owner: office hours until now
    with store.read() as db:
        _, rows = acl.log_after(db, cursor)
    (delta,) = acl.deltas("north", rows["north"])
    (sid,) = delta.schedules
    assert delta.upserts[0].schedule == sid and schedule_id(delta.schedules[sid]) == sid
    assert gate.apply(parse(AclUpdate, delta.to_bytes())) == Applied.APPLIED
    assert gate.get(_uid(1)).schedule.windows[0].days == (5, 6)
    store.close()


def test_an_old_hub_file_upgrades_in_steps_and_a_gate_holding_whole_schedules_converges(tmp_path) -> None:
    path = tmp_path / "hub.db"
    _estate(path).close()
    # the file as a hub before ids left it: whole schedules in the stored texts, no schedule tables
    conn = sqlite3.connect(path)
    with conn:
        kept = dict(conn.execute("SELECT id, body FROM acl_schedules").fetchall())
        old: dict[str, dict[str, str]] = {g: {} for g in GATES}
        for gate_id, uid, text in conn.execute("SELECT gate_id, uid, entry FROM acl_state").fetchall():
            old[gate_id][uid] = _whole(kept, text)
        conn.executemany("UPDATE acl_state SET entry = ? WHERE gate_id = ? AND uid = ?",
                         [(t, g, u) for g in GATES for u, t in old[g].items()])
        heads = {}
        for g in GATES:
            heads[g] = (100, checksum_of_texts(t.encode() for t in old[g].values()))
            conn.execute("UPDATE acl_head SET rev = ?, checksum = ? WHERE gate_id = ?", [*heads[g], g])
        conn.execute("DELETE FROM acl_log")
        # north's log still has the row of its head (a delta can reach it); south's was trimmed
        conn.execute("INSERT INTO acl_log (gate_id, rev, uid, entry, checksum) VALUES ('north', 100, ?, ?, ?)",
                     [_uid(0), old["north"][_uid(0)], heads["north"][1]])
        conn.execute("DROP TABLE acl_schedules")
        conn.execute("DROP TABLE acl_format")
    conn.close()
    assert '"windows"' in old["north"][_uid(1)]

    gates = {}
    for g in GATES:  # each gate holds the old list, whole schedules inside its entries
        gates[g] = AclStore(tmp_path / g, g)
        gates[g].close()
        c = sqlite3.connect(tmp_path / g / "acl.db")
        with c:
            c.executemany("INSERT INTO entries (uid, body) VALUES (?, ?)", list(old[g].items()))
            c.executemany("INSERT INTO meta (key, value) VALUES (?, ?)", [("rev", "100"), ("checksum", heads[g][1])])
        c.close()
        gates[g] = AclStore(tmp_path / g, g)
        assert gates[g].verify()
    monday_8pm = datetime(2027, 1, 4, 20, tzinfo=timezone.utc)
    assert decide(gates["north"].get(_uid(1)), "any", Direction.IN, monday_8pm) == (Decision.DENIED,
                                                                                   Reason.OUTSIDE_SCHEDULE)

    store = Store.open(path)  # the upgrade: a re-projection job, committed with the schema
    with store.read() as db:
        assert acl.pending_work(db), "3,000 (card, gate) pairs are re-projected in steps"
    holds = projector.drain(store, pause=False)
    assert len(holds) > 1, "more than one step"
    with store.read() as db:
        kept_now = dict(db.execute("SELECT id, body FROM acl_schedules").fetchall())
        assert kept_now == kept
        for g in GATES:
            texts = [t for (t,) in db.execute("SELECT entry FROM acl_state WHERE gate_id = ?", [g])]
            assert len(texts) == len(old[g]) and not any('"windows"' in t for t in texts), f"{g} not re-listed"
            assert acl.head(db, g)[1] == checksum_of_texts(t.encode() for t in texts)
        answers = {g: acl.decide_sync(db, g, *heads[g]) for g in GATES}
    assert answers["south"] == acl.WHOLE_LIST
    assert answers["north"] == acl.WHOLE_LIST, "1,500 changed entries are more than one delta"
    for g in GATES:
        results = [gates[g].apply(parse(AclUpdate, p), whole_wanted=True)
                   for p in snapshot_payloads(store, g, KEY, "demo")]
        assert results[-1] == Applied.APPLIED
        with store.read() as db:
            assert (gates[g].rev, gates[g].checksum) == acl.head(db, g), f"{g} did not converge"
        assert gates[g].verify()
    assert decide(gates["north"].get(_uid(1)), "any", Direction.IN, monday_8pm) == (Decision.DENIED,
                                                                                   Reason.OUTSIDE_SCHEDULE)
    monday_noon = datetime(2027, 1, 4, 12, tzinfo=timezone.utc)
    assert decide(gates["north"].get(_uid(1)), "any", Direction.IN, monday_noon)[0] == Decision.GRANTED
    assert decide(gates["north"].get(_uid(2)), "any", Direction.IN, monday_noon)[0] == Decision.DENIED  # weekend
    store.close()
    # opened again: the upgrade is not done twice
    store = Store.open(path)
    with store.read() as db:
        assert not acl.pending_work(db)
    store.close()

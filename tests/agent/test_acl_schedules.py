"""Schedules named by id in the gate's list (protocols.acl.schedule_id), on a real SQLite file:
a message whose schedule is not what its id says is refused whole, an entry naming a
schedule the gate cannot have is refused and a snapshot asked for, a snapshot brings exactly
the schedules its entries name, and a list stored whole before ids still decides."""

from __future__ import annotations

import sqlite3
from datetime import datetime, time, timezone

from gate_agent.acl_store import AclStore, Applied
from gate_agent.decide import decide
from protocols.acl import Schedule, TimeWindow, canonical_json, checksum_of, schedule_id
from protocols.cards import Decision, Reason
from protocols.messages import Direction
from tests.agent.conftest import DOOR, GATE, AclHub, entry

DAY = Schedule(windows=(TimeWindow(start=time(8), end=time(18)),))
NIGHT = Schedule(windows=(TimeWindow(start=time(22), end=time(6)),))
WEEKEND = Schedule(timezone="Asia/Shanghai", windows=(TimeWindow(days=(5, 6), start=time(9), end=time(17)),))
IN_HOURS = datetime(2027, 1, 4, 10, 0, tzinfo=timezone.utc)  # a Monday
OUT_OF_HOURS = datetime(2027, 1, 4, 20, 0, tzinfo=timezone.utc)


def _rows(store: AclStore, sql: str) -> list[tuple]:
    conn = sqlite3.connect(str(store.path))
    try:
        return sorted(conn.execute(sql).fetchall())
    finally:
        conn.close()


def _everything(store: AclStore) -> tuple:
    """All the store holds, committed: list, schedules, meta and staging."""
    return (store.state, *(_rows(store, f"SELECT * FROM {t}") for t in
                           ("entries", "schedules", "meta", "staging", "staged_entries", "staged_schedules")))


def _decision(store: AclStore, uid: str, now: datetime) -> tuple[Decision, Reason]:
    return decide(store.get(uid), DOOR, Direction.IN, now)


def test_entries_name_schedules_by_id_and_the_gate_resolves_them(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    delta = hub.delta(upserts=(entry("01", schedule=DAY), entry("02", schedule=DAY), entry("03")))
    assert [e.schedule for e in delta.upserts] == [schedule_id(DAY), schedule_id(DAY), None]
    assert delta.schedules == {schedule_id(DAY): DAY}, "each schedule once per message"
    assert store.apply(delta) == Applied.APPLIED and store.checksum == hub.checksum
    assert store.get("01").schedule == DAY and store.get("03").schedule is None
    assert _decision(store, "01", IN_HOURS) == (Decision.GRANTED, Reason.VALID_CARD)
    assert _decision(store, "01", OUT_OF_HOURS) == (Decision.DENIED, Reason.OUTSIDE_SCHEDULE)
    # a later delta may name a schedule the gate holds without carrying it again
    later = hub.delta(upserts=(entry("04", schedule=DAY),)).model_copy(update={"schedules": {}})
    assert store.apply(hub.sign(later)) == Applied.APPLIED and store.get("04").schedule == DAY
    assert store.verify()


def test_a_forged_schedule_refuses_the_whole_message_and_changes_nothing(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    assert store.apply(hub.delta(upserts=(entry("01", schedule=DAY),))) == Applied.APPLIED
    before = _everything(store)
    # a delta whose schedule under DAY's id says "open at night": the id no longer matches
    forged = hub.delta(upserts=(entry("02", schedule=DAY), entry("03")))
    forged = forged.model_copy(update={"schedules": {schedule_id(DAY): NIGHT}})
    assert store.apply(forged) == Applied.FORGED
    assert _everything(store) == before and store.get("03") is None
    # the same inside a snapshot chunk: nothing staged
    hub.entries = {"05": entry("05", schedule=NIGHT), "06": entry("06")}
    first, second = hub.snapshot(chunk_size=1)
    bad = first.model_copy(update={"schedules": {schedule_id(NIGHT): DAY}})
    assert store.apply(bad) == Applied.FORGED
    assert _everything(store) == before
    assert _decision(store, "01", OUT_OF_HOURS) == (Decision.DENIED, Reason.OUTSIDE_SCHEDULE)


def test_an_entry_naming_a_schedule_the_gate_lacks_asks_for_a_snapshot_and_changes_nothing(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    assert store.apply(hub.delta(upserts=(entry("01", schedule=DAY),))) == Applied.APPLIED
    before = _everything(store)
    unknown = hub.delta(upserts=(entry("02", schedule=NIGHT), entry("03"))).model_copy(update={"schedules": {}})
    assert store.apply(unknown) == Applied.MISMATCH  # the agent asks for a whole list (rev 0)
    assert _everything(store) == before
    # a snapshot chunk naming one neither it nor an earlier chunk carries, nor the gate holds
    hub.entries = {"05": entry("05", schedule=DAY), "06": entry("06", schedule=WEEKEND)}
    first, second = hub.snapshot(chunk_size=1)
    assert store.apply(second.model_copy(update={"schedules": {}})) == Applied.MISMATCH
    assert _everything(store) == before
    # and the snapshot as the hub sends it applies
    assert [store.apply(first), store.apply(second)] == [Applied.STAGED, Applied.APPLIED]
    assert store.get("06").schedule == WEEKEND and store.checksum == hub.checksum


def test_a_snapshot_converges_and_keeps_exactly_the_schedules_its_entries_name(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    assert store.apply(hub.delta(upserts=(entry("AA", schedule=WEEKEND),))) == Applied.APPLIED
    hub.entries = {f"{i:08X}": entry(f"{i:08X}", schedule=(None, DAY, NIGHT)[i % 3]) for i in range(1, 1001)}
    hub.rev = 7
    chunks = hub.snapshot(chunk_size=100)
    assert all(set(c.schedules) == {e.schedule for e in c.upserts} - {None} for c in chunks), \
        "each chunk carries the schedules its own entries name"
    # chunks arriving out of order, one twice
    results = [store.apply(c) for c in [chunks[5], *chunks[:5], chunks[5], *chunks[6:]]]
    assert results[-1] == Applied.APPLIED and Applied.MISMATCH not in results
    assert (store.rev, store.checksum, store.state.count) == (7, hub.checksum, 1000)
    assert store.checksum == checksum_of(e for c in chunks for e in c.upserts)
    assert store.verify() and store.get("AA") is None
    assert _rows(store, "SELECT id, body FROM schedules") == sorted(
        (schedule_id(s), canonical_json(s).decode()) for s in (DAY, NIGHT)), "WEEKEND is named by no entry now"
    assert _rows(store, "SELECT COUNT(*) FROM staged_schedules") == [(0,)]
    assert store.get("00000001").schedule == DAY and store.get("00000002").schedule == NIGHT
    assert store.get("00000003").schedule is None
    assert _decision(store, "00000002", OUT_OF_HOURS) == (Decision.DENIED, Reason.OUTSIDE_SCHEDULE)
    assert _decision(store, "00000002", datetime(2027, 1, 4, 23, tzinfo=timezone.utc))[0] == Decision.GRANTED


def test_a_list_stored_whole_before_ids_still_decides_until_the_new_one_swaps_in(tmp_path):
    # the gate's file as the agent before ids left it: the schedule inside the entry
    old_entries = [entry("0A0012AB34", schedule=DAY), entry("0B")]
    store = AclStore(tmp_path, GATE)
    store.close()
    conn = sqlite3.connect(str(tmp_path / "acl.db"))
    with conn:
        conn.executemany("INSERT INTO entries (uid, body) VALUES (?, ?)",
                         [(e.uid, canonical_json(e).decode()) for e in old_entries])
        conn.executemany("INSERT INTO meta (key, value) VALUES (?, ?)",
                         [("rev", "41"), ("checksum", checksum_of(old_entries))])
    conn.close()

    store = AclStore(tmp_path, GATE)
    assert store.verify() and store.rev == 41
    assert '"windows"' in _rows(store, "SELECT body FROM entries WHERE uid = '0A0012AB34'")[0][0]
    assert _decision(store, "0A0012AB34", IN_HOURS) == (Decision.GRANTED, Reason.VALID_CARD)
    assert _decision(store, "0A0012AB34", OUT_OF_HOURS) == (Decision.DENIED, Reason.OUTSIDE_SCHEDULE)

    hub = AclHub()
    hub.entries = {e.uid: e for e in old_entries}
    hub.rev = 42
    assert hub.checksum != store.checksum, "the listed form hashes otherwise: the ordinary resync replaces it"
    assert [store.apply(c, whole_wanted=True) for c in hub.snapshot(chunk_size=1)] == [Applied.STAGED, Applied.APPLIED]
    assert (store.rev, store.checksum) == (42, hub.checksum) and store.verify()
    assert _rows(store, "SELECT body FROM entries WHERE uid = '0A0012AB34'")[0][0].count(schedule_id(DAY)) == 1
    assert _decision(store, "0A0012AB34", IN_HOURS) == (Decision.GRANTED, Reason.VALID_CARD)
    assert _decision(store, "0A0012AB34", OUT_OF_HOURS) == (Decision.DENIED, Reason.OUTSIDE_SCHEDULE)

"""The gate's ACL cache on a real SQLite file: revisions, checksums, whole snapshots, kill -9."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from datetime import time, timedelta
from pathlib import Path

from gate_agent.acl_store import AclState, AclStore, Applied, LocalState
from protocols.acl import EMPTY_CHECKSUM, Schedule, TimeWindow, checksum_of
from protocols.cards import CardStatus
from protocols.messages import AclUpdate, Direction
from tests.agent.conftest import GATE, AclHub, entry, utc

ROOT = Path(__file__).resolve().parents[2]


def test_delta_on_top_applies_and_moves_the_checksum(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    assert (store.rev, store.checksum) == (0, EMPTY_CHECKSUM)
    assert store.apply(hub.delta(upserts=(entry("0A0012AB34"), entry("01")))) == Applied.APPLIED
    assert store.get("0A0012AB34").uid == "0A0012AB34"
    assert (store.rev, store.checksum) == (1, hub.checksum)
    revoked = entry("01", status=CardStatus.REVOKED)
    assert store.apply(hub.delta(upserts=(revoked,), removes=("0A0012AB34",))) == Applied.APPLIED
    assert store.get("0A0012AB34") is None
    assert store.get("01").status == CardStatus.REVOKED
    assert (store.rev, store.checksum, store.state.count) == (2, hub.checksum, 1)
    assert store.verify()


def test_duplicate_and_older_deltas_are_ignored(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    d1 = hub.delta(upserts=(entry("01"),))
    d2 = hub.delta(removes=("01",))
    assert store.apply(d1) == Applied.APPLIED
    assert store.apply(d2) == Applied.APPLIED
    assert store.apply(d1) == Applied.DUPLICATE
    assert store.apply(d2) == Applied.DUPLICATE
    assert store.get("01") is None and store.rev == 2


def test_gap_is_detected_and_changes_nothing(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    assert store.apply(hub.delta(upserts=(entry("01"),))) == Applied.APPLIED
    hub.delta(upserts=(entry("02"),))  # lost on the way
    before = store.state
    assert store.apply(hub.delta(upserts=(entry("03"),))) == Applied.GAP
    assert store.state == before and store.get("03") is None


def test_checksum_mismatch_rolls_back(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=(entry("01"),)))
    good = hub.delta(upserts=(entry("02"),))
    bad = good.model_copy(update={"checksum": "f" * 64})
    assert store.apply(bad) == Applied.MISMATCH
    assert store.get("02") is None and store.rev == 1 and store.verify()
    assert store.apply(good) == Applied.APPLIED  # the right one still applies afterwards


def test_update_for_another_gate_is_ignored(tmp_path):
    store = AclStore(tmp_path, GATE)
    assert store.apply(AclHub("south").delta(upserts=(entry("01"),))) == Applied.WRONG_GATE
    assert store.get("01") is None and store.rev == 0


def test_snapshot_applies_only_when_whole_in_any_order(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=(entry("AA"),)))
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(1, 31)}
    hub.rev = 40
    chunks = hub.snapshot(chunk_size=10)
    assert len(chunks) == 3
    assert store.apply(chunks[2]) == Applied.STAGED
    assert store.apply(chunks[0]) == Applied.STAGED
    assert store.get("AA") is not None and store.get("00000001") is None and store.rev == 1
    assert store.apply(chunks[0]) == Applied.STAGED  # a redelivered chunk changes nothing
    assert store.apply(chunks[1]) == Applied.APPLIED
    assert store.get("AA") is None and store.get("0000001E") is not None
    assert (store.rev, store.checksum, store.state.count) == (40, hub.checksum, 30)


def test_snapshot_with_wrong_checksum_is_discarded(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=(entry("AA"),)))
    hub.entries["BB"] = entry("BB")
    hub.rev = 5
    (chunk,) = hub.snapshot()
    assert store.apply(chunk.model_copy(update={"checksum": "1" * 64})) == Applied.MISMATCH
    assert store.get("BB") is None and store.rev == 1 and store.verify()


def test_snapshot_at_held_rev_repairs_a_different_list_only_when_asked_for(tmp_path):
    """Unasked, a snapshot at or below the rev held is an old one replayed: refused (the hub
    renumbers past the gate's rev to repair a different list). Asked for (the gate's own
    list is bad), it repairs."""
    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=(entry("AA"),)))
    hub.entries["AA"] = entry("AA", status=CardStatus.LOST)  # the hub says so at the same rev
    (chunk,) = hub.snapshot()
    assert store.apply(chunk) == Applied.STALE
    assert store.get("AA").status == CardStatus.ACTIVE and store.rev == 1
    assert store.apply(chunk, whole_wanted=True) == Applied.APPLIED
    assert store.get("AA").status == CardStatus.LOST
    assert store.apply(chunk) == Applied.DUPLICATE


def test_list_survives_reopen(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=(entry("01"), entry("02", valid_until=utc(2027, 1, 1)))))
    store.close()
    again = AclStore(tmp_path, GATE)
    assert (again.rev, again.checksum, again.state.count) == (1, hub.checksum, 2)
    assert again.get("02").valid_until == utc(2027, 1, 1)
    assert again.verify()


def test_passback_and_nonces_survive_reopen(tmp_path):
    st = LocalState(tmp_path)
    now = utc(2026, 11, 24, 12)
    assert st.last_direction("01") is None
    st.record_pass("01", Direction.IN, now)
    assert st.claim_nonce("a" * 32, now + timedelta(seconds=15), now)
    assert not st.claim_nonce("a" * 32, now + timedelta(seconds=15), now)
    st.close()
    st = LocalState(tmp_path)
    assert st.last_direction("01") == Direction.IN
    assert not st.claim_nonce("a" * 32, now + timedelta(seconds=15), now + timedelta(seconds=10))
    # long after expiry the nonce is forgotten (an expired command is refused on its own)
    assert st.claim_nonce("a" * 32, now + timedelta(seconds=15), now + timedelta(hours=1))


_CHILD = textwrap.dedent("""
    import sys, time, json
    sys.path.insert(0, {root!r})
    from gate_agent.acl_store import AclStore
    from protocols.messages import AclUpdate
    store = AclStore({data!r}, {gate!r})
    chunks = [AclUpdate.model_validate_json(line) for line in open({chunks!r})]
    for c in chunks[:-1]:
        store.apply(c)
    hit = []
    def trace(sql):
        if sql.startswith("INSERT INTO entries") and not hit:
            hit.append(1)
            print("mid-apply", flush=True)
            time.sleep(30)
    store._w.set_trace_callback(trace)
    store.apply(chunks[-1])
    print("applied", flush=True)
""")


def test_sigkill_during_a_large_snapshot_leaves_the_old_list_whole(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    old = tuple(entry(f"{i:08X}") for i in range(1, 501))
    store.apply(hub.delta(upserts=old))
    old_state = store.state
    store.close()

    hub.entries = {f"{i:010X}": entry(f"{i:010X}") for i in range(20_000)}
    hub.rev = 9
    chunks_file = tmp_path / "chunks.jsonl"
    chunks_file.write_text("\n".join(c.model_dump_json() for c in hub.snapshot(chunk_size=2000)))
    script = _CHILD.format(root=str(ROOT), data=str(tmp_path), gate=GATE, chunks=str(chunks_file))
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().strip()
        assert line == "mid-apply", f"child never got into the apply (said {line!r})"
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    again = AclStore(tmp_path, GATE)
    assert again.state == old_state
    assert again.verify(), "the old list does not hash to its checksum"
    assert again.get("00000001") is not None and again.get("0000000000") is None
    # and the interrupted snapshot, sent again, still applies whole
    for c in hub.snapshot(chunk_size=2000):
        result = again.apply(c)
    assert result == Applied.APPLIED
    assert (again.rev, again.state.count) == (9, 20_000) and again.checksum == checksum_of(hub.entries.values())


def test_malformed_update_is_refused_by_the_wire_model():
    import pytest

    from protocols.messages import BadMessage, parse

    with pytest.raises(BadMessage):
        parse(AclUpdate, b'{"v":1,"gate_id":"north","kind":"delta","rev":1,"checksum":"zz"}')


def test_random_deltas_keep_the_store_equal_to_the_hub(tmp_path):
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st

    uids = st.sampled_from([f"{i:02X}" for i in range(12)])
    statuses = st.sampled_from([CardStatus.ACTIVE, CardStatus.REVOKED, CardStatus.LOST])
    step = st.tuples(st.lists(st.tuples(uids, statuses), max_size=4), st.lists(uids, max_size=3), st.booleans())

    counter = iter(range(10**6))

    @settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(steps=st.lists(step, min_size=1, max_size=12))
    def run(steps):
        store, hub = AclStore(tmp_path / f"s{next(counter)}", GATE), AclHub()
        for ups, rems, lose in steps:
            d = hub.delta(upserts=tuple(entry(u, status=s) for u, s in dict(ups).items()),
                          removes=tuple(u for u in set(rems) if u not in dict(ups)))
            if lose:
                continue  # lost on the way: the next one must be a gap
            result = store.apply(d)
            if result == Applied.GAP:
                for c in hub.snapshot(chunk_size=5):
                    result = store.apply(c)
            assert result == Applied.APPLIED
            assert store.rev == hub.rev and store.checksum == hub.checksum
            assert {e.uid: e for e in store.entries()} == hub.entries
        store.close()

    run()


# -- a snapshot staged on disk chunk by chunk --------------------------------------------------

def _raw(tmp_path: Path, sql: str) -> list[tuple]:
    """Rows of the gate's file as another process would see them (committed data only)."""
    import sqlite3

    conn = sqlite3.connect(str(tmp_path / "acl.db"))
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


_STAGING_CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {root!r})
    from gate_agent.acl_store import AclStore
    from protocols.messages import AclUpdate
    store = AclStore({data!r}, {gate!r})
    chunks = [AclUpdate.model_validate_json(line) for line in open({chunks!r})]
    for c in chunks[:{k}]:
        store.apply(c)
    hit = []
    def trace(sql):
        # chunk {k}'s entries are in, its count and running checksum not yet moved
        if sql.startswith("UPDATE staging") and not hit:
            hit.append(1)
            print("mid-staging", flush=True)
            time.sleep(30)
    store._w.set_trace_callback(trace)
    store.apply(chunks[{k}])
    print("staged", flush=True)
""")


def test_sigkill_mid_staging_keeps_the_old_list_and_the_chunks_staged_before(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=tuple(entry(f"{i:08X}") for i in range(1, 501))))
    old_state = store.state
    store.close()

    # schedules named by id, staged with the entries (each of these chunks names both)
    hours = [Schedule(windows=(TimeWindow(start=time(h), end=time(h + 8)),)) for h in (6, 14)]
    hub.entries = {f"{i:010X}": entry(f"{i:010X}", schedule=hours[i % 2] if i % 3 else None) for i in range(20_000)}
    hub.rev = 9
    chunks = hub.snapshot(chunk_size=2000)
    chunks_file = tmp_path / "chunks.jsonl"
    chunks_file.write_text("\n".join(c.model_dump_json() for c in chunks))
    script = _STAGING_CHILD.format(root=str(ROOT), data=str(tmp_path), gate=GATE, chunks=str(chunks_file), k=4)
    child = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        line = child.stdout.readline().strip()
        assert line == "mid-staging", f"child never got into staging (said {line!r})"
        # meanwhile the list a lookup sees is the old one, whole
        assert _raw(tmp_path, "SELECT COUNT(*) FROM entries") == [(500,)]
        os.kill(child.pid, signal.SIGKILL)
        child.wait(5)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == -signal.SIGKILL

    again = AclStore(tmp_path, GATE)
    assert again.state == old_state and again.verify()
    assert again.get("00000001") is not None and again.get("0000000000") is None
    # the four chunks before the kill are kept; the fifth left no trace
    assert _raw(tmp_path, "SELECT received, chunks FROM staging") == [(4, 10)]
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staged_entries") == [(8000,)]
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staged_schedules") == [(2,)]
    assert _raw(tmp_path, "SELECT COUNT(*) FROM schedules") == [(0,)], "the old list names none"
    # the same snapshot sent again (as the broker redelivers it) completes from there
    results = [again.apply(c) for c in chunks]
    assert results == [Applied.STAGED] * 9 + [Applied.APPLIED]
    assert (again.rev, again.state.count) == (9, 20_000) and again.checksum == hub.checksum
    assert again.verify()
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staged_entries") == [(0,)]  # nothing left behind on disk
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staged_schedules") == [(0,)]
    assert [again.get(f"{i:010X}").schedule for i in (1, 2, 3)] == [hours[1], hours[0], None]


def test_staging_a_chunk_never_reads_the_staged_entries_back(tmp_path):
    """O(chunk) per chunk: the staged entries are written, never read, until the swap; the
    running checksum and count say when the snapshot is complete."""
    store, hub = AclStore(tmp_path, GATE), AclHub()
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(1000)}
    hub.rev = 3
    chunks = hub.snapshot(chunk_size=100)
    seen: list[str] = []
    store._w.set_trace_callback(seen.append)
    per_chunk = []
    for c in chunks[:-1]:
        seen.clear()
        assert store.apply(c) == Applied.STAGED
        assert not [s for s in seen if "staged_entries" in s and not s.startswith("INSERT OR IGNORE")], seen
        per_chunk.append(len(seen))
    assert len(set(per_chunk[1:])) == 1, f"statements per chunk grow: {per_chunk}"  # the first also begins it
    seen.clear()
    assert store.apply(chunks[-1]) == Applied.APPLIED
    assert any(s.startswith("INSERT INTO entries") and "SELECT" in s for s in seen)  # copied by SQLite
    assert (store.rev, store.checksum, store.state.count) == (3, hub.checksum, 1000)


def test_lookups_during_the_swap_see_the_old_list_whole(tmp_path):
    import threading

    store, hub = AclStore(tmp_path, GATE), AclHub()
    store.apply(hub.delta(upserts=(entry("AA"), entry("BB"))))
    old_state = store.state
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(300)}
    hub.rev = 7
    chunks = hub.snapshot(chunk_size=100)
    for c in chunks[:-1]:
        store.apply(c)
    paused, release = threading.Event(), threading.Event()

    def trace(sql: str) -> None:
        if sql.startswith("INSERT INTO entries") and not paused.is_set():
            paused.set()
            release.wait(10)

    store._w.set_trace_callback(trace)
    results: list[Applied] = []
    writer = threading.Thread(target=lambda: results.append(store.apply(chunks[-1])))
    writer.start()
    try:
        assert paused.wait(10), "the swap never started"
        # the old list's rows are already deleted inside the writer's transaction
        assert store.get("AA") is not None and store.get("00000001") is None
        assert {e.uid for e in store.entries()} == {"AA", "BB"} and store.state == old_state
    finally:
        release.set()
        writer.join(10)
    assert results == [Applied.APPLIED]
    assert store.get("AA") is None and store.get("00000001") is not None
    assert {e.uid for e in store.entries()} == set(hub.entries) and store.verify()


def test_a_chunk_that_disagrees_with_its_snapshot_discards_it(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(30)}
    hub.rev = 4
    chunks = hub.snapshot(chunk_size=10)
    assert store.apply(chunks[0]) == Applied.STAGED
    odd = chunks[1].model_copy(update={"checksum": "2" * 64})
    assert store.apply(odd) == Applied.MISMATCH
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staging") == [(0,)]
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staged_entries") == [(0,)]
    assert store.rev == 0 and store.get("00000001") is None
    for c in hub.snapshot(chunk_size=10):  # a fresh one applies
        result = store.apply(c)
    assert result == Applied.APPLIED and store.checksum == hub.checksum


def test_a_card_sent_twice_in_one_snapshot_is_counted_once(tmp_path):
    store, hub = AclStore(tmp_path, GATE), AclHub()
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(20)}
    hub.rev = 2
    chunks = hub.snapshot(chunk_size=10)
    again = chunks[1].model_copy(update={"upserts": chunks[1].upserts + (entry("00000000"),)})
    assert store.apply(chunks[0]) == Applied.STAGED
    assert store.apply(again) == Applied.APPLIED
    assert (store.checksum, store.state.count) == (hub.checksum, 20) and store.verify()


def test_an_abandoned_snapshot_is_dropped_when_the_next_one_starts(tmp_path, monkeypatch):
    from gate_agent import acl_store

    store, hub = AclStore(tmp_path, GATE), AclHub()
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(30)}
    hub.rev = 4
    first = hub.snapshot(chunk_size=10)
    assert store.apply(first[0]) == Applied.STAGED
    monkeypatch.setattr(acl_store, "STAGE_TTL_S", -1.0)  # every staging so far is past its time
    second = hub.snapshot(chunk_size=10)
    assert store.apply(second[0]) == Applied.STAGED
    assert _raw(tmp_path, "SELECT snapshot_id FROM staging") == [(second[0].snapshot_id,)]
    assert _raw(tmp_path, "SELECT COUNT(*) FROM staged_entries") == [(10,)]


def test_a_file_with_the_old_staging_table_opens(tmp_path):
    import sqlite3

    conn = sqlite3.connect(str(tmp_path / "acl.db"))
    conn.executescript("""
        CREATE TABLE staged (snapshot_id TEXT NOT NULL, chunk INTEGER NOT NULL, chunks INTEGER NOT NULL,
            rev INTEGER NOT NULL, checksum TEXT NOT NULL, body TEXT NOT NULL, staged_at REAL NOT NULL,
            PRIMARY KEY (snapshot_id, chunk));
        INSERT INTO staged VALUES ('x', 0, 2, 5, 'ab', '[]', 0);
    """)
    conn.close()
    store, hub = AclStore(tmp_path, GATE), AclHub()
    assert store.apply(hub.delta(upserts=(entry("01"),))) == Applied.APPLIED
    assert _raw(tmp_path, "SELECT name FROM sqlite_master WHERE name = 'staged'") == []


def test_only_the_commit_that_swaps_the_list_in_is_fsynced(tmp_path):
    """Staging commits skip the fsync (a power cut may lose staged chunks, which the gate
    asks for again); the one that changes the list has it, and so does a delta after."""
    store, hub = AclStore(tmp_path, GATE), AclHub()
    hub.entries = {f"{i:08X}": entry(f"{i:08X}") for i in range(30)}
    hub.rev = 4
    chunks = hub.snapshot(chunk_size=10)
    seen: list[str] = []
    store._w.set_trace_callback(seen.append)

    def level_at_begin() -> str:
        begin = seen.index("BEGIN IMMEDIATE")
        return [s for s in seen[:begin] if s.startswith("PRAGMA synchronous")][-1]

    assert store.apply(chunks[0]) == Applied.STAGED and level_at_begin() == "PRAGMA synchronous=NORMAL"
    seen.clear()
    assert store.apply(chunks[2]) == Applied.STAGED and level_at_begin() == "PRAGMA synchronous=NORMAL"
    seen.clear()
    assert store.apply(chunks[1]) == Applied.APPLIED and level_at_begin() == "PRAGMA synchronous=FULL"
    assert store._w.execute("PRAGMA synchronous").fetchone() == (2,)  # FULL again for deltas
    assert (store.rev, store.checksum) == (4, hub.checksum)


def test_staged_text_is_each_entrys_canonical_json():
    from protocols.acl import Schedule, TimeWindow, canonical_json, canonical_texts

    items = (entry("01", doors=("北門", "east")), entry("02", valid_until=utc(2027, 1, 1)),
             entry("03", schedule=Schedule(timezone="Asia/Hong_Kong", windows=(TimeWindow(start="08:00", end="18:00"),))))
    assert canonical_texts(items) == [canonical_json(e) for e in items]
    assert canonical_texts(list(items)) == canonical_texts(items) and canonical_texts(()) == []


def test_a_snapshot_staged_from_the_texts_verified_is_the_one_staged_without(tmp_path):
    """The agent hands apply the texts it checked the signature over; the list that results is
    the one apply makes serialising the entries itself, and texts that do not fit are not used."""
    from protocols.acl import Schedule, TimeWindow, canonical_texts

    hub = AclHub()
    hub.entries = {f"{i:08X}": entry(f"{i:08X}", doors=("北門",) if i % 2 else None) for i in range(1, 26)}
    hub.entries["0A0012AB34"] = entry("0A0012AB34", valid_until=utc(2027, 1, 1), schedule=Schedule(
        timezone="Asia/Hong_Kong", windows=(TimeWindow(start="22:00", end="06:00"),)))
    hub.rev = 3
    chunks = hub.snapshot(chunk_size=10)
    given_texts, own_texts = AclStore(tmp_path / "given", GATE), AclStore(tmp_path / "own", GATE)
    results = [(given_texts.apply(c, texts=canonical_texts(c.upserts)), own_texts.apply(c)) for c in chunks]
    assert results[-1] == (Applied.APPLIED, Applied.APPLIED)
    assert given_texts.state == own_texts.state == AclState(3, hub.checksum, 26)
    assert list(given_texts.entries()) == list(own_texts.entries()) and given_texts.verify()
    short = AclStore(tmp_path / "short", GATE)
    results = [short.apply(c, texts=canonical_texts(c.upserts)[:-1]) for c in chunks]  # not the chunk's: unused
    assert results[-1] == Applied.APPLIED and short.state == own_texts.state
    delta = hub.delta(upserts=(entry("00000001", status=CardStatus.LOST), entry("0B")), removes=("00000002", "FF"))
    assert given_texts.apply(delta, texts=canonical_texts(delta.upserts)) == Applied.APPLIED
    assert own_texts.apply(delta) == Applied.APPLIED
    assert given_texts.state == own_texts.state == AclState(4, hub.checksum, 26) and given_texts.verify()
    assert given_texts.get("00000001").status == CardStatus.LOST and given_texts.get("00000002") is None

"""Reads through their own connections: a slow read never holds up a revocation, a read
sees one committed state (or its own thread's open transaction), and the lists and
searches the pages use are served by indexes, not a walk of the table (read from SQLite's
own query plans, on a real file)."""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from hub.cards import moves, service
from hub.db import Store
from hub.events import store as events
from hub.gates import acl
from hub.people import registry
from protocols.messages import GateEvent

BOUND = 20  # seconds: far beyond any honest wait here; only a real block reaches it
T0 = datetime(2026, 1, 1, tzinfo=timezone.utc)


def _issue(store: Store, uid: str, name: str = "Li Wei", unit: str = "A-12-03") -> None:
    moves.issue_card(store, "clerk:test", {"uid": uid, "card_type": "owner", "holder": {"name": name, "unit": unit}})


def _event(gate: str, minute: int, uid: str = "0A0012AB34") -> GateEvent:
    return GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id=gate, door_id=f"{gate}-in", uid=uid,
                     decision="granted", reason="valid_card", at=T0 + timedelta(minutes=minute))


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "hub.db")
    yield s
    s.close()


def test_a_revocation_commits_while_a_slow_read_is_running(store):
    _issue(store, "0A0012AB34")
    with store.tx() as db:
        for i in range(200):
            events.store_event(db, _event("north", i), T0)
    started, release = threading.Event(), threading.Event()
    seen: dict[str, object] = {}

    def slow_page() -> None:
        with store.read() as db:
            # a query still running inside SQLite: each row waits until the test lets it go
            db.conn.create_function("hold", 0, lambda: started.set() or release.wait(BOUND))
            seen["rows"] = len(list(db.query("SELECT hold() FROM events")))
            seen["status"] = list(db.query("SELECT status FROM cards WHERE uid = '0A0012AB34'"))[0]["status"]

    reader = threading.Thread(target=slow_page)
    reader.start()
    try:
        assert started.wait(BOUND), "the slow read never started"
        done = threading.Event()
        revoker = threading.Thread(target=lambda: (service.revoke(store, "clerk:test", "0A0012AB34"), done.set()))
        revoker.start()
        # the read is still inside its query, and the revocation has committed regardless
        assert done.wait(BOUND), "the revocation waited behind a read"
        assert reader.is_alive() and not release.is_set()
        assert service.get(store, "0A0012AB34").status.value == "revoked"
        revoker.join(BOUND)
    finally:
        release.set()
        reader.join(BOUND)
    # the slow read saw one state throughout: the one from before the revocation
    assert seen == {"rows": 200, "status": "active"}


def test_an_admins_list_is_not_held_up_by_another_slow_read(store):
    with store.tx() as db:
        events.store_event(db, _event("north", 1), T0)
    started, release = threading.Event(), threading.Event()

    def slow_page() -> None:
        with store.read() as db:
            db.conn.create_function("hold", 0, lambda: started.set() or release.wait(BOUND))
            list(db.query("SELECT hold() FROM events"))

    reader = threading.Thread(target=slow_page)
    reader.start()
    try:
        assert started.wait(BOUND)
        got: list = []
        other = threading.Thread(target=lambda: got.append(_newest(store, 50)))
        other.start()
        other.join(BOUND)
        assert got and len(got[0]) == 1 and reader.is_alive()
    finally:
        release.set()
        reader.join(BOUND)


def _newest(store: Store, limit: int, gates: frozenset[str] = frozenset()) -> list[dict]:
    with store.read() as db:
        return events.newest(db, limit, gates)


def test_a_read_inside_a_transaction_sees_its_rows_and_others_see_them_only_once_committed(store):
    outside: list[int] = []
    with store.tx() as db:
        events.store_event(db, _event("north", 1), T0)
        with store.read() as inner:
            assert len(events.newest(inner, 50)) == 1  # the same thread: its own uncommitted row
        t = threading.Thread(target=lambda: outside.append(len(_newest(store, 50))))
        t.start()
        t.join(BOUND)
        assert outside == [0]  # another thread reads the committed state, at once
    assert len(_newest(store, 50)) == 1


def test_a_read_that_wraps_a_write_on_its_own_thread_sees_it_afterwards(store):
    with store.read() as db:
        assert events.last_seq(db) == 0
        with store.tx() as w:
            events.store_event(w, _event("north", 1), T0)
        assert events.last_seq(db) == 1


def test_reads_cannot_write(store):
    with store.read() as db:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            db.execute("INSERT INTO gates (gate_id) VALUES ('x')")
    with store.tx() as db:
        acl.ensure_gate(db, "north")
    with store.read() as db:
        assert [r["gate_id"] for r in db.query("SELECT gate_id FROM gates")] == ["north"]


def test_read_latest_lets_an_open_transaction_commit_first(store):
    """The ACL publisher is woken from inside the transaction that wrote the rows."""
    inside, commit = threading.Event(), threading.Event()

    def writer() -> None:
        with store.tx() as db:
            acl.ensure_gate(db, "north")
            inside.set()
            commit.wait(BOUND)

    w = threading.Thread(target=writer)
    w.start()
    assert inside.wait(BOUND)
    got: list = []
    r = threading.Thread(target=lambda: got.append(_gates(store)))
    r.start()
    r.join(0.2)  # a bounded look: it must still be waiting for the commit
    assert r.is_alive() and got == []
    commit.set()
    r.join(BOUND)
    w.join(BOUND)
    assert got == [["north"]]


def _gates(store: Store) -> list[str]:
    with store.read_latest() as db:
        return [r["gate_id"] for r in db.query("SELECT gate_id FROM gates")]


def test_a_memory_store_reads_what_it_wrote():
    store = Store.open(":memory:")
    with store.tx() as db:
        events.store_event(db, _event("north", 1), T0)
    assert len(_newest(store, 50)) == 1
    store.close()


def test_the_files_stay_owner_only_and_close_ends_every_reader(tmp_path):
    store = Store.open(tmp_path / "hub.db")
    readers = []
    for _ in range(3):
        t = threading.Thread(target=lambda: readers.append(len(_newest(store, 5))))
        t.start()
        t.join(BOUND)
    assert readers == [0, 0, 0]
    for suffix in ("", "-wal", "-shm"):
        assert os.stat(f"{tmp_path / 'hub.db'}{suffix}").st_mode & 0o777 == 0o600, suffix
    idle = [conn for conn, _ in store._idle]
    assert idle
    store.close()
    for conn in idle:
        with pytest.raises(sqlite3.ProgrammingError):
            conn.execute("SELECT 1")
    with pytest.raises(sqlite3.ProgrammingError):
        _newest(store, 5)


# -- query plans ---------------------------------------------------------------------------

def _plans(store: Store, run) -> list[tuple[str, list[str]]]:
    """Every SELECT that ``run(db)`` sends, with SQLite's plan for it."""
    sent: list[str] = []
    with store.read() as db:
        db.conn.set_trace_callback(sent.append)
        try:
            run(db)
        finally:
            db.conn.set_trace_callback(None)
        out = []
        for sql in sent:
            if sql.lstrip().upper().startswith("SELECT") and "sqlite_master" not in sql:  # not .exists()
                out.append((sql, [r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + sql)]))
    assert out, "nothing was queried"
    return out


def _events_store(store: Store) -> None:
    _issue(store, "0A0012AB34")
    with store.tx() as db:
        for i in range(300):
            events.store_event(db, _event(("north", "south", "east")[i % 3], i), T0)
        events.store_event(db, _event("quiet", 5), T0)


def test_a_guards_list_for_one_gate_walks_only_that_gates_index(store):
    _events_store(store)
    plans = _plans(store, lambda db: events.newest(db, 50, frozenset({"quiet"})))
    gate_scan = [p for sql, p in plans if "gate_id = 'quiet'" in sql]
    assert gate_scan, plans
    for plan in gate_scan:
        assert any("USING COVERING INDEX events_gate_at (gate_id=?)" in line for line in plan), plan
        assert not any("TEMP B-TREE" in line for line in plan), plan  # the index gives the order
    for sql, plan in plans:  # and nothing else walks the events table
        assert not any(line.startswith("SCAN e") or line == "SCAN events" for line in plan), (sql, plan)


def test_a_guards_list_over_several_gates_is_the_newest_of_them_all(store):
    _events_store(store)
    gates = frozenset({"north", "quiet"})
    with store.read() as db:
        everything = events.newest(db, 1000)
        mine = events.newest(db, 10, gates)
        plans = _plans(store, lambda d: events.newest(d, 10, gates))
    assert mine == [e for e in everything if e["gate_id"] in gates][:10]
    assert mine[0]["holder"] == {"name": "Li Wei", "unit": "A-12-03"}
    assert all(not any(line.startswith("SCAN e") for line in p) for _, p in plans), plans


def test_a_live_page_catches_up_through_the_primary_key_not_the_gate_index(store):
    _events_store(store)
    with store.read() as db:
        last = events.last_seq(db)
    plans = _plans(store, lambda db: events.after(db, last - 20, gate_ids=frozenset({"north", "quiet"})))
    main = [p for sql, p in plans if "e.seq >" in sql]
    assert main and any("USING INTEGER PRIMARY KEY (rowid>?)" in line for line in main[0]), plans


def test_the_photo_check_goes_by_person_and_card(store):
    _issue(store, "0A0012AB34")
    with store.tx() as db:
        db.execute("UPDATE cards SET person_id = 1")
    plans = _plans(store, lambda db: registry._seen_at(db, 1, frozenset({"north"})))
    for _, plan in plans:
        assert not any(line.startswith("SCAN") for line in plan), plan


@pytest.mark.parametrize("name", sorted(registry.INDEXED_SEARCHES))
def test_searches_by_unit_phone_and_uid_use_an_index(store, name):
    with store.read() as db:
        plan = [r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + registry.INDEXED_SEARCHES[name], ["A", "B", 20])]
    assert any(line.startswith("SEARCH") and "INDEX" in line for line in plan), plan
    assert not any(line.startswith("SCAN") or "TEMP B-TREE" in line for line in plan), plan


def test_the_search_box_finds_by_the_start_of_a_unit_phone_or_uid_and_names_anywhere(store):
    registry.add_unit(store, "clerk:test", registry.UnitIn(building="A", floor=12, room="03"))
    registry.add_person(store, "clerk:test", registry.PersonIn(name="Wang Fang", role="owner", unit="A-12-03",
                                                             phone="13800000001"))
    _issue(store, "C0FFEE", name="Wang Fang")
    found = registry.search(store, "a-12")
    assert [u["code"] for u in found["units"]] == ["A-12-03"]
    assert [p["name"] for p in found["people"]] == ["Wang Fang"] and [c["uid"] for c in found["cards"]] == ["C0FFEE"]
    assert [p["phone"] for p in registry.search(store, "1380000")["people"]] == ["13800000001"]
    assert [c["uid"] for c in registry.search(store, "c0ff")["cards"]] == ["C0FFEE"]
    assert [p["name"] for p in registry.search(store, "fang")["people"]] == ["Wang Fang"]
    assert registry.search(store, "0000001") == {"units": [], "people": [], "cards": []}  # numbers: from the start
    assert registry.search(store, "%")["people"] == []


# -- the audit search ----------------------------------------------------------------------

def _audited_store(store: Store) -> None:
    for i in range(6):
        _issue(store, f"0A00{i:04X}", name=f"Holder {i}", unit="B-01-01")
    with store.tx() as db:
        db.execute("UPDATE cards SET person_id = 7 WHERE uid = '0A000001'")


@pytest.mark.parametrize("filters", [
    {"card": "0A000001"}, {"person": "7"}, {"person": "Holder"}, {"person": "张三"}, {"unit": "B-01-01"},
    {"clerk": "test"}, {"action": "issue"},
    {"since": "2026-01-01T00:00:00.000000+00:00", "until": "2026-02-01T00:00:00.000000+00:00"}, {},
])
def test_the_audit_search_goes_through_its_indexes(store, filters):
    from hub import audit

    _audited_store(store)
    plans = _plans(store, lambda db: audit.search(db, **filters))
    for sql, plan in plans:
        if "'people_names_" in sql:
            continue  # FTS5 reading its own few-row shadow tables (hub.people.registry's trigram index)
        # newest first: a walk down audit_at that stops once it has its rows, or an index lookup
        # (a name goes through the register's FTS5 index: a MATCH, "SCAN ... VIRTUAL TABLE INDEX n:M")
        assert not any(line.startswith("SCAN") and "audit_at" not in line and ":M" not in line
                       for line in plan), (sql, plan)


def test_the_audit_search_finds_a_holder_by_any_part_of_a_registered_name_or_the_start_of_the_cards(store):
    from hub import audit

    registry.add_unit(store, "clerk:test", registry.UnitIn(building="A", floor=12, room="03"))
    pid = registry.add_person(store, "clerk:test", registry.PersonIn(name="张三丰", role="owner", unit="A-12-03"))["id"]
    moves.issue_card(store, "clerk:test", {"uid": "0B000001", "card_type": "owner", "person_id": pid,
                                           "holder": {"name": "张三丰", "unit": "A-12-03"}})
    _issue(store, "0B000002", name="Outside Register", unit="A-12-03")
    _issue(store, "0B000003", name="Li Wei", unit="A-12-03")

    def cards(name: str) -> set[str]:
        with store.read() as db:
            return {r["entity_id"] for r in audit.search(db, person=name)}

    assert cards("三丰") == cards("zsf") == cards("zhangsanfeng") == {"0B000001"}  # through the register
    assert cards("Outside") == {"0B000002"}  # outside it: by the start of the name on the card
    assert cards("Register") == set()  # a part from the middle of an unregistered name would need a scan
    assert cards("Nobody") == set()


def test_the_audit_search_finds_a_paper_move_in_its_own_time_not_when_it_was_entered(store):
    from hub import audit
    from hub.stock import paper

    assert audit.MOVE_AHEAD_S >= paper.CLOCK_SLACK_S  # the walk's stopping rule holds for paper moves
    _audited_store(store)
    now = datetime.now(timezone.utc)
    back = now - timedelta(days=3)
    paper.record(store, "supervisor:li", "issue", None, back, "entered from the desk book",
                 {"uid": "0B0B0B0B", "card_type": "owner", "holder": {"name": "Zhao Liu", "unit": "B-01-01"}})
    _issue(store, "0A0000FF")  # written after the paper move, and happened after it
    with store.read() as db:
        found = audit.search(db, since=(back - timedelta(hours=1)).isoformat(),
                             until=(back + timedelta(hours=1)).isoformat())
        newest = audit.search(db, limit=3)
        everything = audit.search(db, limit=1000)
    assert {(r["action"], r["entity_id"]) for r in found} == {("issue", "0B0B0B0B"), ("paper_move", "0B0B0B0B")}
    assert "0B0B0B0B" not in {r["entity_id"] for r in newest}  # newest by when it happened, not when entered
    order = [r["move_at"] or r["at"] for r in everything]
    assert order == sorted(order, reverse=True) and everything[-2:][0]["entity_id"] == "0B0B0B0B"
    assert [r["id"] for r in newest] == [r["id"] for r in everything[:3]]


def test_a_printed_number_a_months_money_and_a_list_by_status_go_through_indexes(store):
    from hub.cards import printed as printed_cards
    from hub.cards import service as cards
    from hub.stock import money
    from protocols.cards import CardStatus

    _issue(store, "0A0012AB34")
    _issue(store, "0012AB34CD")  # a 10-character UID whose last 8 are the printed number's hex

    def find(db) -> None:
        assert printed_cards.find(db, printed_cards.parse_printed(f"{0x12AB34CD:010d}"))["uid"] == "0012AB34CD"

    plans = _plans(store, find)
    plans += _plans(store, lambda db: money.compute(db, T0.year, T0.month))
    plans += _plans(store, lambda db: cards.list_cards(store, CardStatus.ACTIVE, None, 50, 0))
    for sql, plan in plans:
        if "FROM card_deposits" in sql:  # the deposits held at an instant: a sum over every deposit
            continue
        assert not any(line.startswith("SCAN") or "TEMP B-TREE" in line for line in plan), (sql, plan)

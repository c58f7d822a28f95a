"""Search by name: Chinese names by any part of their characters, by full pinyin and by
pinyin initials, Latin names in any case; the exact name first; every lookup served by an
index (SQLite's own query plans, on a real file); the keys kept in step with every people
row, and built for the rows of an older register when it is opened."""

from __future__ import annotations

import sqlite3

import pytest

from hub.db import Store
from hub.people import names, registry
from hub.people.importer import run_import

PEOPLE = ["张三丰", "张三", "三丰子", "曾国藩", "王芳", "欧阳娜娜", "Wang Fang", "Li Wei", "张伟"]


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "hub.db")
    registry.add_unit(s, "clerk:test", registry.UnitIn(building="A", floor=1, room="01"))
    for name in PEOPLE:
        registry.add_person(s, "clerk:test", registry.PersonIn(name=name, role="family", unit="A-01-01"))
    yield s
    s.close()


def _names(store: Store, q: str) -> list[str]:
    return [p["name"] for p in registry.search(store, q)["people"]]


@pytest.mark.parametrize("q, expected", [
    ("三丰", ["三丰子", "张三丰"]),           # two characters anywhere (the name beginning with them first)
    ("张三丰", ["张三丰"]),                   # the whole name
    ("丰", ["三丰子", "张三丰"]),             # one character anywhere
    ("zsf", ["张三丰"]),                     # initials
    ("ZSF", ["张三丰"]),
    ("zhangsanfeng", ["张三丰"]),            # full pinyin
    ("sanfeng", ["三丰子", "张三丰"]),        # part of the pinyin
    ("zengguofan", ["曾国藩"]),              # the surname's reading, not the lone character's default
    ("cgf", ["曾国藩"]),
    ("oynn", ["欧阳娜娜"]),
    ("wang fang", ["Wang Fang", "王芳"]),     # a Latin name in any case, exactly, before the same reading
    ("WANG", ["Wang Fang", "王芳"]),
    ("ei", []),                              # 2 letters: the start of a reading or initials only
    ("li", ["Li Wei"]),
])
def test_names_are_found_by_characters_pinyin_and_initials(store, q, expected):
    assert _names(store, q) == expected


def test_the_exact_name_comes_first_then_the_names_that_begin_with_it(store):
    assert _names(store, "张三") == ["张三", "张三丰"]
    # zs: nobody's initials are exactly zs; those beginning with it come before the others
    found = _names(store, "zs")
    assert found == ["张三", "张三丰"]
    assert _names(store, "张")[:1] == ["张三"] and set(_names(store, "张")) == {"张三", "张三丰", "张伟"}


def test_search_shows_no_search_keys_and_numbers_never_search_names(store):
    person = registry.search(store, "zsf")["people"][0]
    assert not set(person) & {"name_pinyin", "name_initials", "name_keys"}
    assert registry.search(store, "zs1")["people"] == []
    assert registry.search(store, '"张"')["people"][0]["name"] == "张三"  # quotes are not FTS syntax


def test_keys_follow_the_rows_whoever_writes_them(store):
    with store.tx() as db:
        pid = list(db.query("SELECT id FROM people WHERE name = '王芳'"))[0]["id"]
        db["people"].update(pid, {"name": "王小芳", **registry._name_columns("王小芳")})
    assert _names(store, "wxf") == ["王小芳"] and "王芳" not in _names(store, "王")
    with store.tx() as db:
        db.execute("DELETE FROM people WHERE id = ?", [pid])
    assert _names(store, "wxf") == [] and _names(store, "小芳") == []
    _index_agrees(store)


def _index_agrees(store: Store) -> None:
    """FTS5's own check of the trigram index against the rows it indexes (raises if not)."""
    with store.tx() as db:
        db.execute("INSERT INTO people_names (people_names, rank) VALUES ('integrity-check', 1)")


def test_an_import_keys_every_row(tmp_path):
    store = Store.open(tmp_path / "hub.db")
    try:
        registry.add_unit(store, "clerk:test", registry.UnitIn(building="B", floor=2, room="02"))
        csv = "name,role,unit\n诸葛亮,owner,B-02-02\n黄月英,family,B-02-02\n".encode()
        report = run_import(store, "clerk:test", "people", csv, "people.csv", dry_run=False)
        assert report.ok, report.errors
        assert _names(store, "zgl") == ["诸葛亮"] and _names(store, "月英") == ["黄月英"]
    finally:
        store.close()


def test_an_older_register_is_keyed_when_opened(tmp_path):
    path = tmp_path / "hub.db"
    # a register from before the name keys: the people table as it was, rows written directly
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE units (code TEXT PRIMARY KEY, building TEXT NOT NULL, floor INTEGER NOT NULL,
            room TEXT NOT NULL, area_m2 REAL, owner_kind TEXT NOT NULL DEFAULT 'person',
            handed_over INTEGER NOT NULL DEFAULT 1, created_at TEXT NOT NULL);
        CREATE TABLE people (id INTEGER PRIMARY KEY, household_id INTEGER, unit_code TEXT, name TEXT NOT NULL,
            role TEXT NOT NULL, phone TEXT, email TEXT, id_doc_no TEXT, photo_id TEXT, tenancy_start TEXT,
            tenancy_end TEXT, police_registration_no TEXT, employer_household_id INTEGER, permit_no TEXT,
            permit_until TEXT, created_at TEXT NOT NULL, updated_at TEXT NOT NULL);
        INSERT INTO people (name, role, created_at, updated_at) VALUES ('张三丰', 'visitor', 'x', 'x');
        INSERT INTO people (name, role, created_at, updated_at) VALUES ('Mary Smith', 'visitor', 'x', 'x');
    """)
    conn.commit()
    conn.close()
    store = Store.open(path)
    try:
        assert _names(store, "zsf") == ["张三丰"] and _names(store, "三丰") == ["张三丰"]
        assert _names(store, "smith") == ["Mary Smith"]
        registry.add_unit(store, "clerk:test", registry.UnitIn(building="A", floor=1, room="01"))
        registry.add_person(store, "clerk:test", registry.PersonIn(name="张三", role="owner", unit="A-01-01"))
        assert _names(store, "张三") == ["张三", "张三丰"]
    finally:
        store.close()
    again = Store.open(path)  # a second opening finds nothing to do and keeps the index whole
    try:
        assert _names(again, "zs") == ["张三", "张三丰"]
        _index_agrees(again)
    finally:
        again.close()


# -- query plans ---------------------------------------------------------------------------

def _plan(store: Store, sql: str, args: list) -> list[str]:
    with store.read() as db:
        return [r[3] for r in db.conn.execute("EXPLAIN QUERY PLAN " + sql, args)]


def test_the_exact_name_reading_and_initials_are_looked_up_in_their_indexes(store):
    plan = _plan(store, registry.NAME_EXACT, ["张三丰", "zsf", "zsf", 20])
    assert any("MULTI-INDEX OR" in line for line in plan), plan
    for index in ("people_name", "people_pinyin", "people_initials"):
        assert any(f"INDEX {index}" in line for line in plan), (index, plan)
    assert not any(line.startswith("SCAN") for line in plan), plan


@pytest.mark.parametrize("key", sorted(registry.NAME_STARTS))
def test_the_start_of_a_name_reading_or_initials_is_a_range_of_its_index(store, key):
    plan = _plan(store, registry.NAME_STARTS[key], ["a", "b", 20])
    assert any(line.startswith("SEARCH people USING INDEX") for line in plan), plan
    assert not any(line.startswith("SCAN") or "TEMP B-TREE" in line for line in plan), plan


@pytest.mark.parametrize("q", ["三丰", "zhangsanfeng", "z"])
def test_a_name_anywhere_is_a_lookup_in_the_trigram_index(store, q):
    plan = _plan(store, registry.NAME_ANYWHERE, [registry._match(q), 20])
    assert any(line.startswith("SCAN f VIRTUAL TABLE INDEX") and ":M" in line for line in plan), plan
    assert any("INTEGER PRIMARY KEY" in line for line in plan), plan  # each match's row by its id
    assert not any(line == "SCAN p" for line in plan), plan


def test_keys_of_a_name():
    k = names.keys_of("张三丰")
    assert (k.pinyin, k.initials) == ("zhangsanfeng", "zsf")
    assert {"^三丰$", "^张$", "^zs$", "^sf$"} <= set(k.keys.split())
    assert names.keys_of("曾国藩").keys.split()[:2] == ["zengguofan", "zgf"]
    assert names.keys_of("Mary-Jane O'Neil") == names.NameKeys("maryjaneoneil", "mjon", names.keys_of("Mary-Jane O'Neil").keys)
    assert names.folded(" Wang-Fang ") == "wangfang" and not names.is_name_query("A-12")


def test_cards_are_found_by_their_holders_name_pinyin_and_the_start_of_the_name_on_the_card(store):
    from hub.cards import moves

    pid = registry.search(store, "张三丰")["people"][0]["id"]
    moves.issue_card(store, "clerk:test", {"uid": "0A0B0C01", "card_type": "owner",
                                           "holder": {"name": "张三丰", "unit": "A-01-01", "person_id": pid}})
    moves.issue_card(store, "clerk:test", {"uid": "0A0B0C02", "card_type": "owner",  # not linked: the same name
                                           "holder": {"name": "张三丰", "unit": "A-01-01"}})
    moves.issue_card(store, "clerk:test", {"uid": "0A0B0C03", "card_type": "owner",  # outside the register
                                           "holder": {"name": "赵六", "unit": "A-01-01"}})
    assert [c["uid"] for c in registry.search(store, "zsf")["cards"]] == ["0A0B0C01", "0A0B0C02"]
    assert [c["uid"] for c in registry.search(store, "三丰")["cards"]] == ["0A0B0C01", "0A0B0C02"]
    assert [c["uid"] for c in registry.search(store, "赵")["cards"]] == ["0A0B0C03"]
    assert registry.search(store, "六")["cards"] == []  # the middle of an unregistered holder's name: not indexed


def test_cards_by_holder_go_through_their_indexes(store):
    for sql, args in ((registry.CARDS_BY_HOLDER_START, ["a", "b", 20]),
                      (registry.cards_of_people_sql(2, 2), [1, 2, "a", "b", 20])):
        plan = _plan(store, sql, args)
        assert any(line.startswith("SEARCH cards USING INDEX") for line in plan), plan
        assert not any(line.startswith("SCAN") or "TEMP B-TREE" in line for line in plan), plan

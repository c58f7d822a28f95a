"""Listing visits: by state and by part of a name, plate or host unit, through the indexes
(hub.visitors.models: the inside-now index, the trigram index) with the same rows in the
same order as the plain conditions give, on rows of every state, with Chinese and Latin
names, on a file indexed as rows came and on one whose rows were there before the index."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta, timezone
from typing import Any

from hub.auth import Principal, Role
from hub.visitors import models, service
from hub.visitors.models import utc
from tests.visitors.conftest import OTHER_UNIT, UNIT

NAMES = ["王小明", "张三", "欧阳娜娜", "李", "王小明明", "Anna Müller", "ANNA BELL", "émile zola", "O'Neil \"Jr\"",
         "50%_off", "back\\slash", "访客3999", "访客39"]
PLATES = ["京A12345", "沪B-00987", None, "粤Z1234港", "A123"]
UNITS = [UNIT, OTHER_UNIT, "C-01-01"]
#: every state (hub.visitors.service.STATES) as its columns say it
STATE_COLUMNS = [
    {"checked_in_at": None, "checked_out_at": None, "cancelled_at": None},  # expected
    {"checked_in_at": "x", "checked_out_at": None, "cancelled_at": None},  # inside
    {"checked_in_at": "x", "checked_out_at": "x", "cancelled_at": None},  # left
    {"checked_in_at": None, "checked_out_at": None, "cancelled_at": "x"},  # cancelled
]
QUERIES = ["王", "小明", "王小明", "小明明", "欧阳娜", "娜娜", "访客3999", "访客39", "客39", "anna", "ANNA", "nna",
           "müller", "MÜLLER", "émile", "ÉMILE", "mile", "o'neil", '"jr"', "50%", "%_o", "_", "%", "a_1", "back\\",
           "\\sl", "a123", "A-123", "京a-123", "b00987", "00987", "z1234港", "a-12", "A-12-03", "12-0", "c-01",
           "b-03-01", "nobody", "xyz", "A 12", " 小明 ", "-", "- -"]


def _rows(n: int) -> list[dict[str, Any]]:
    """``n`` visits cycling through names, plates, units and states; several share a
    registration time (the order's tie is the id). Recent: visits past retention
    (``[visitors] keep_days``) are purged by the hub's own ticker while the test runs."""
    base = (datetime.now(timezone.utc) - timedelta(days=1)).replace(second=0, microsecond=0)
    rows = []
    for i, (name, plate, unit, state) in zip(range(n), itertools.cycle(
            itertools.product(NAMES, PLATES, UNITS, STATE_COLUMNS))):
        at = utc(base + timedelta(minutes=(i * 7) % 50))
        rows.append({"visitor_name": name, "id_type": "resident_id", "host_unit": unit,
                     "plate": models.plate_of(plate), "registered_at": at, "registered_by": "guard:g",
                     "month": at[:7], **{k: at if v else None for k, v in state.items()}})
    return rows


def _plain(db, q: str | None, state: str | None, unit: str | None, limit: int) -> list[int]:
    """The listing by the plain conditions: no index can serve a condition wrapped in ``+``,
    so this reads every row, as the listing did before its indexes."""
    where, args = ["+id > 0"], []
    if state:
        where.append(service._STATE_SQL[state])
    if q and q.strip():
        condition, search_args, _ = service._search(q.strip())
        where.append(condition)
        args += search_args
    if unit:
        where.append("+host_unit = ?")
        args.append(unit)
    sql = (f"SELECT id FROM visits NOT INDEXED WHERE {' AND '.join(where)} ORDER BY registered_at DESC, id DESC"
           " LIMIT ?")
    return [r[0] for r in db.execute(sql, [*args, limit])]


def _ascii_folded(text: str) -> str:
    return "".join(c.lower() if c.isascii() else c for c in text)


def _in_python(rows: list[dict[str, Any]], q: str) -> set[int]:
    """What a ``q`` without LIKE's own characters finds, said in Python: LIKE's substring,
    blind to the case of ASCII letters alone."""
    text = q.strip()
    plate = text.upper().replace(" ", "").replace("-", "")
    found = set()
    for r in rows:
        if (_ascii_folded(text) in _ascii_folded(r["visitor_name"])
                or (r["plate"] is not None and _ascii_folded(plate) in _ascii_folded(r["plate"]))
                or _ascii_folded(text.upper()) in _ascii_folded(r["host_unit"])):
            found.add(r["id"])
    return found


def _compare(store, rows: list[dict[str, Any]]) -> None:
    guard = Principal("g", Role.GUARD)
    ctx = service.Visitors(store=store, keys=None, site="test", settings=None)  # the listing reads the store alone
    with store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == len(rows)
        for q, state, limit in itertools.product([None, *QUERIES], [None, *service.STATES], (50, 7)):
            got = [v["visit_id"] for v in service.list_visits(ctx, guard, q, state, limit)]
            assert got == _plain(db, q, state, None, limit), (q, state, limit)
        for q in QUERIES:
            got = [v["visit_id"] for v in service.list_visits(ctx, guard, q, None, service.MAX_LIST)]
            assert got == _plain(db, q, None, None, service.MAX_LIST), q
            if len(got) < service.MAX_LIST and not any(c in q for c in "%_\\"):
                assert set(got) == _in_python(rows, q), q
        for q, unit in itertools.product(QUERIES, (UNIT, OTHER_UNIT)):
            app = Principal("app", Role.RESIDENT_APP, unit=unit)
            got = [v["visit_id"] for v in service.list_visits(ctx, app, q, None, 500)]
            assert got == _plain(db, q, None, unit, 500), (q, unit)


def _insert(store, rows: list[dict[str, Any]]) -> None:
    with store.tx() as db:
        for r in rows:
            r["id"] = db["visits"].insert(r).last_pk


def test_the_listing_by_state_and_search_is_the_plain_conditions_listing(estate):
    rows = _rows(len(NAMES) * len(PLATES) * len(UNITS) * len(STATE_COLUMNS) + 17)
    _insert(estate.store, rows)
    # the searches found something, in every state, and the trigram index was asked
    ctx = service.Visitors(store=estate.store, keys=None, site="test", settings=None)
    guard = Principal("g", Role.GUARD)
    assert service._search("欧阳娜")[2] is not None and service._search("娜娜")[2] is None
    for state in service.STATES:
        assert service.list_visits(ctx, guard, "欧阳娜", state, 500), state
    _compare(estate.store, rows)
    # a name, a plate and a unit changed, and a visit gone: the index follows its rows
    with estate.store.tx() as db:
        db.execute("UPDATE visits SET visitor_name = '王大明' WHERE id = ?", [rows[0]["id"]])
        db.execute("UPDATE visits SET plate = 'A12399' WHERE id = ?", [rows[1]["id"]])
        db.execute("UPDATE visits SET host_unit = ? WHERE id = ?", [OTHER_UNIT, rows[2]["id"]])
        db.execute("DELETE FROM visits WHERE id = ?", [rows[3]["id"]])
    rows[0]["visitor_name"], rows[1]["plate"], rows[2]["host_unit"] = "王大明", "A12399", OTHER_UNIT
    del rows[3]
    _compare(estate.store, rows)
    assert [v["visit_id"] for v in service.list_visits(ctx, guard, "王大明")] == [rows[0]["id"]]


def test_a_file_whose_visits_came_before_the_index_gets_them_all_indexed(estate):
    store = estate.store
    with store.writer() as db:
        db.conn.executescript("DROP TRIGGER visits_find_insert; DROP TRIGGER visits_find_delete;"
                              " DROP TRIGGER visits_find_update; DROP TABLE visits_find;")
    rows = _rows(300)
    _insert(store, rows)
    with store.writer() as db:
        models.migrate(db)
        models.migrate(db)  # once made, left as it is
    with store.writer() as db:  # the index holds what the rows say (an error here if not)
        db.execute("INSERT INTO visits_find (visits_find) VALUES ('integrity-check')")
    _compare(store, rows)


def test_the_guard_finds_a_visit_by_http_through_the_index(estate):
    api = estate
    rows = _rows(60)
    _insert(api.store, rows)
    want = sorted((r for r in rows if "欧阳娜" in r["visitor_name"]), key=lambda r: (r["registered_at"], r["id"]),
                  reverse=True)
    r = api.get("/api/v1/visits", params={"q": "欧阳娜"}, headers=api.h("guard"))
    assert r.status_code == 200, r.text
    assert [v["visit_id"] for v in r.json()] == [w["id"] for w in want]
    inside = [w["id"] for w in sorted(rows, key=lambda r: (r["registered_at"], r["id"]), reverse=True)
              if w["checked_in_at"] and not w["checked_out_at"] and not w["cancelled_at"]]
    r = api.get("/api/v1/visits", params={"state": "inside", "limit": 500}, headers=api.h("guard"))
    assert [v["visit_id"] for v in r.json()] == inside

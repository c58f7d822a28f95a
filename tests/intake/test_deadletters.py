"""The dead-letter table and its API: kept once per topic and payload, bounded, shown to
supervisors; and which failures are the storage's (never dead letters) and which the message's."""

from __future__ import annotations

import base64
import sqlite3
from datetime import datetime, timedelta, timezone

import pytest

from hub.db import Store
from hub.deadletters import store as dead
from hub.deadletters.store import DeadLetters, storage_failed

T0 = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
TOPIC = "gatehouse/v1/demo/gate/mallory/event"


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "hub.db")
    yield s
    s.close()


def _rows(store: Store) -> list[dict]:
    with store.read() as db:
        return dead.newest(db, 100)


def test_the_same_payload_on_the_same_topic_is_one_row_counted(store) -> None:
    clock = iter([T0, T0 + timedelta(minutes=1), T0 + timedelta(minutes=2)])
    sink = DeadLetters(store, clock=lambda: next(clock))
    assert sink.keep(TOPIC, b'{"poison": 1}', OverflowError("int too large")) is True
    assert sink.keep(TOPIC, b'{"poison": 1}', OverflowError("int too large")) is False
    assert sink.keep(TOPIC.replace("event", "sync"), b'{"poison": 1}', ValueError("x")) is True
    rows = _rows(store)
    assert len(rows) == 2 and (sink.kept, sink.repeats) == (2, 1)
    event = next(r for r in rows if r["channel"] == "event")
    assert event == event | {
        "gate_id": "mallory", "topic": TOPIC, "error": "OverflowError: int too large", "count": 2,
        "first_seen": T0.isoformat(), "last_seen": (T0 + timedelta(minutes=1)).isoformat(),
        "payload": '{"poison": 1}', "payload_encoding": "utf-8", "payload_bytes": 13, "payload_truncated": False,
    }


def test_payloads_are_bounded_and_binary_ones_kept_as_base64(store) -> None:
    sink = DeadLetters(store)
    big = ("é" * dead.KEEP_BYTES).encode()  # two bytes a character: the cut falls inside one
    sink.keep(TOPIC, big, ValueError("big"))
    sink.keep(TOPIC, b"\xff\xfe\x00junk", ValueError("binary"))
    sink.keep(TOPIC, b"x", ValueError("e" * 5000))
    rows = {r["error"][:20]: r for r in _rows(store)}
    kept = rows["ValueError: big"]
    assert kept["payload_truncated"] and kept["payload_bytes"] == len(big)
    assert kept["payload"] == "é" * (dead.KEEP_BYTES // 2) and kept["payload_encoding"] == "utf-8"
    binary = rows["ValueError: binary"]
    assert binary["payload_encoding"] == "base64" and base64.b64decode(binary["payload"]) == b"\xff\xfe\x00junk"
    assert len(rows["ValueError: eeeeeeee"]["error"]) == dead.MAX_ERROR


def test_the_table_keeps_at_most_max_rows_dropping_the_oldest(store, monkeypatch) -> None:
    monkeypatch.setattr(dead, "MAX_ROWS", 5)
    clock = iter(T0 + timedelta(seconds=i) for i in range(100))
    sink = DeadLetters(store, clock=lambda: next(clock))
    for i in range(8):
        sink.keep(TOPIC, f"poison {i}".encode(), ValueError(str(i)))
    assert sorted(r["payload"] for r in _rows(store)) == [f"poison {i}" for i in range(3, 8)]


def test_storage_failures_are_told_from_poison_by_real_sqlite_errors(tmp_path) -> None:
    conn = sqlite3.connect(tmp_path / "x.db", isolation_level=None, timeout=0)
    conn.execute("CREATE TABLE t (v INTEGER CHECK (v < 10))")
    other = sqlite3.connect(tmp_path / "x.db", isolation_level=None, timeout=0)

    def error_of(fn) -> BaseException:
        with pytest.raises(Exception) as info:
            fn()
        return info.value

    other.execute("BEGIN IMMEDIATE")
    locked = error_of(lambda: conn.execute("INSERT INTO t VALUES (1)"))
    other.execute("ROLLBACK")
    pages = conn.execute("PRAGMA page_count").fetchone()[0]
    conn.execute(f"PRAGMA max_page_count = {pages}")
    full = error_of(lambda: conn.execute("INSERT INTO t SELECT 1 FROM (WITH RECURSIVE n(i) AS "
                                         "(SELECT 1 UNION ALL SELECT i + 1 FROM n LIMIT 100000) SELECT i FROM n)"))
    check = error_of(lambda: conn.execute("INSERT INTO t VALUES (11)"))
    overflow = error_of(lambda: conn.execute("SELECT ?", [2**64]))
    surrogate = error_of(lambda: conn.execute("SELECT ?", ["\ud800"]))

    assert "locked" in str(locked) and storage_failed(locked)
    assert "full" in str(full) and storage_failed(full)
    assert storage_failed(OSError(28, "No space left on device"))
    try:  # a storage error a handler wrapped in its own is still the storage's
        try:
            raise full
        except sqlite3.Error as exc:
            raise RuntimeError("could not store") from exc
    except RuntimeError as wrapped:
        assert storage_failed(wrapped)
    for poison in (check, overflow, surrogate, ValueError("bad"), KeyError("k")):
        assert not storage_failed(poison), f"{type(poison).__name__} is the message's fault, not the storage's"


def test_only_supervisors_and_admins_see_dead_letters(api) -> None:
    DeadLetters(api.store).keep(TOPIC, b'{"acl_rev": 18446744073709551616}', OverflowError("too big"))
    for role in ("guard", "clerk"):
        r = api.get("/api/v1/dead-letters", headers=api.h(role))
        assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert api.get("/api/v1/dead-letters").status_code == 401
    for role in ("supervisor", "admin"):
        body = api.get("/api/v1/dead-letters", headers=api.h(role)).json()
        assert body["total"] == 1 and body["deliveries"] == 1
        [item] = body["items"]
        assert item["gate_id"] == "mallory" and item["channel"] == "event" and item["count"] == 1
        assert item["error"] == "OverflowError: too big" and "18446744073709551616" in item["payload"]
    only = api.get("/api/v1/dead-letters", params={"gate_id": "north"}, headers=api.h("supervisor")).json()
    assert only["items"] == [] and only["total"] == 1
    bad = api.get("/api/v1/dead-letters", params={"limit": 0}, headers=api.h("supervisor"))
    assert bad.status_code == 422 and bad.json()["field"] == "limit"

"""Stocktakes and adjustments, paper moves, the money ledger's edges and the searchable
audit, through the hub's API on a real SQLite file."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient

from hub.auth import create_token
from hub.db import Store
from hub.stock import ledger

from .test_api import make_app

UTC = timezone.utc
MARCH = datetime(2026, 3, 10, 9, tzinfo=UTC)


@pytest.fixture
def api(store, tmp_path):
    app = make_app(store, tmp_path)
    tokens = {"clerk": create_token(store, "clerk", "mei"), "supervisor": create_token(store, "supervisor", "li"),
              "guard": create_token(store, "guard", "zhao")}
    with TestClient(app) as client:
        def call(method, path, role="clerk", **kw):
            return client.request(method, path, headers={"Authorization": f"Bearer {tokens[role]}"}, **kw)
        yield call


def paper(api, move, at, body=None, uid=None, role="supervisor", reason="the desk book"):
    return api("POST", "/api/v1/paper-moves", role=role, json={
        "move": move, "uid": uid, "at": at.isoformat(), "paper_reason": reason, "body": body or {}})


def owner(uid, name="Wang Fang", unit="A-12-03", **extra):
    return {"uid": uid, "card_type": "owner", "holder": {"name": name, "unit": unit}, **extra}


def test_a_type_is_counted_from_its_first_delivery_or_agreed_stocktake(api, store):
    with store.read() as db:
        assert not ledger.is_counted(db, "owner") and not ledger.is_counted(db, "tenant")
    r = api("POST", "/api/v1/stock/stocktakes", json={"card_type": "tenant", "counted": 12})
    assert r.status_code == 201 and r.json()["state"] == "pending" and r.json()["difference"] == 12
    with store.read() as db:
        assert not ledger.is_counted(db, "tenant")  # a count nobody agreed is not a starting point
    assert api("POST", f"/api/v1/stock/stocktakes/{r.json()['id']}/approve", json={"reason": "x"}).status_code == 403
    r = api("POST", f"/api/v1/stock/stocktakes/{r.json()['id']}/approve", role="supervisor",
            json={"reason": "first count of the drawer"})
    assert r.json()["state"] == "approved"
    api("POST", "/api/v1/stock/deliveries", json={"card_type": "owner", "qty": 5, "ref": "DN-1"})
    r = api("POST", "/api/v1/stock/stocktakes", json={"card_type": "owner", "counted": 5, "note": "all there"})
    assert r.json()["state"] == "matched" and r.json()["difference"] == 0
    r = api("POST", "/api/v1/stock/stocktakes", role="supervisor", json={"card_type": "staff", "counted": 3})
    r = api("POST", f"/api/v1/stock/stocktakes/{r.json()['id']}/approve", role="supervisor", json={"reason": "mine"})
    assert r.status_code == 422 and r.json()["error"] == "own_stocktake"  # a second pair of eyes
    with store.read() as db:
        assert ledger.is_counted(db, "owner") and ledger.is_counted(db, "tenant") and not ledger.is_counted(db, "staff")
    assert api("GET", "/api/v1/stock/levels").json()["in_stock"] == {"owner": 5, "tenant": 12}
    month = datetime.now(UTC).strftime("%Y-%m")
    rows = {r["card_type"]: r for r in api("GET", f"/api/v1/stock/reports/{month}").json()["rows"]}
    assert (rows["tenant"]["adjusted"], rows["tenant"]["closing"], rows["owner"]["adjusted"]) == (12, 12, 0)
    r = api("POST", "/api/v1/stock/stocktakes", json={"card_type": "owner", "counted": -1})
    assert r.status_code == 422 and r.json()["field"] == "counted"
    # the audit has the count and the decision, with who
    with store.read() as db:
        acts = [(r["action"], r["who"]) for r in db.query("SELECT action, who FROM audit WHERE entity = 'stocktake'")]
    assert acts == [("stocktake", "clerk:mei"), ("stocktake_approved", "supervisor:li"), ("stocktake", "clerk:mei"),
                    ("stocktake", "supervisor:li")]


def test_a_difference_in_a_filed_month_cannot_be_booked(api, store):
    assert paper(api, "delivery", datetime(2026, 2, 3, tzinfo=UTC), {"card_type": "owner", "qty": 10, "ref": "D"}
                 ).status_code == 201
    r = api("POST", "/api/v1/stock/stocktakes", role="supervisor",
            json={"card_type": "owner", "counted": 9, "at": datetime(2026, 2, 20, tzinfo=UTC).isoformat()})
    count_id = r.json()["id"]
    assert r.json()["booked"] == 10 and r.json()["state"] == "pending"
    assert api("POST", "/api/v1/stock/reports/2026-02/file", role="supervisor", json={}).status_code == 200
    r = api("POST", f"/api/v1/stock/stocktakes/{count_id}/approve", role="supervisor", json={"reason": "lost one"})
    assert r.status_code == 422 and r.json()["error"] == "month_filed"
    r = api("POST", f"/api/v1/stock/stocktakes/{count_id}/refuse", role="supervisor", json={"reason": "too late"})
    assert r.json()["state"] == "refused"
    r = api("POST", "/api/v1/stock/stocktakes", role="supervisor",
            json={"card_type": "owner", "counted": 9, "at": datetime(2026, 2, 21, tzinfo=UTC).isoformat()})
    assert r.status_code == 422 and r.json()["error"] == "month_filed"
    assert api("GET", "/api/v1/stock/levels").json()["in_stock"] == {"owner": 10}


def test_paper_moves_are_a_supervisors_in_an_open_month_in_the_past(api, store):
    deliver = {"card_type": "owner", "qty": 3, "ref": "DN-5"}
    assert paper(api, "delivery", MARCH, deliver, role="clerk").status_code == 403
    r = paper(api, "delivery", datetime.now(UTC) + timedelta(hours=1), deliver)
    assert r.status_code == 422 and r.json()["error"] == "paper_move_in_future" and r.json()["field"] == "at"
    r = paper(api, "delivery", MARCH, deliver, reason="")
    assert r.status_code == 422 and r.json()["field"] == "paper_reason"
    r = paper(api, "teleport", MARCH, {})
    assert r.status_code == 422 and r.json()["field"] == "move"
    r = paper(api, "delivery", MARCH, {"card_type": "owner", "qty": 3})
    assert r.status_code == 422 and r.json()["field"] == "body.ref"
    r = api("POST", "/api/v1/paper-moves", role="supervisor", json={
        "move": "delivery", "at": "2026-03-10T09:00:00", "paper_reason": "x", "body": deliver})
    assert r.status_code == 422 and r.json()["field"] == "at"  # a time without an offset is ambiguous
    assert api("GET", "/api/v1/stock/levels").json()["in_stock"] == {}
    assert paper(api, "delivery", MARCH, deliver).status_code == 201
    r = paper(api, "issue", MARCH + timedelta(hours=1), owner("0A0B0C01"))
    assert r.status_code == 201 and r.json()["to_status"] == "active" and r.json()["paper"] is True
    r = paper(api, "suspend", MARCH + timedelta(hours=2), {"reason": "asked"}, uid="0a:0b:0c:01")
    assert r.status_code == 201 and r.json()["uid"] == "0A0B0C01"
    assert paper(api, "resume", MARCH, {}, uid=None).json()["field"] == "uid"
    history = api("GET", "/api/v1/cards/0A0B0C01/moves").json()["items"]
    assert [(m["move"], m["at"][:16]) for m in history] == [("issue", "2026-03-10T10:00"), ("suspend", "2026-03-10T11:00")]
    rows = {r["card_type"]: r for r in api("GET", "/api/v1/stock/reports/2026-03", params={"tz": "UTC"}).json()["rows"]}
    assert (rows["owner"]["purchased"], rows["owner"]["personalised"], rows["owner"]["closing"]) == (3, 1, 2)
    kinds = api("GET", "/api/v1/paper-moves", role="supervisor").json()["moves"]
    assert {"issue", "return", "report_lost", "damage", "delivery", "scrap_blanks", "restock"} <= set(kinds)


@pytest.mark.parametrize("path", ["/api/v1/stock/reports/2026-1", "/api/v1/money/reports/2026-1",
                                  "/api/v1/money/reports/2026-13", "/clerk/stock/2026-3"])
def test_months_in_paths_are_yyyy_mm(api, path):
    r = api("GET", path)
    assert r.status_code == 422 and r.json()["field"] == "month" and "YYYY-MM" in r.json()["detail"]


def test_the_money_ledger_lists_fees_with_receipts_and_flags_a_fee_without_one(api, store):
    assert paper(api, "delivery", MARCH, {"card_type": "tenant", "qty": 5, "ref": "DN-1"}).status_code == 201
    end = (MARCH + timedelta(days=200))
    tenant = {"uid": "0B0B0B01", "card_type": "tenant", "holder": {"name": "Chen Jie", "unit": "A-12-04"},
              "valid_until": end.isoformat(), "tenancy_end": end.date().isoformat(), "police_registration_no": "PR-1",
              "deposit": {"amount_cents": 10000, "receipt_no": "R-77"}}
    r = paper(api, "issue", MARCH + timedelta(hours=1), tenant)
    assert r.status_code == 201, r.text
    r = paper(api, "damage", MARCH + timedelta(days=1), {"reason": "cracked", "replacement_uid": "0B0B0B02",
                                                           "fee_cents": 1500, "receipt_no": "F-9"}, uid="0B0B0B01")
    assert r.status_code == 201, r.text
    money = api("GET", "/api/v1/money/reports/2026-03", params={"tz": "UTC"}).json()
    assert [(ln["kind"], ln["amount_cents"], ln["receipt_no"], ln["card_type"]) for ln in money["lines"]] == [
        ("deposit_taken", 10000, "R-77", "tenant"), ("fee_damage", 1500, "F-9", "tenant")]
    assert money["by_clerk"] == [{"clerk": "supervisor:li", "deposit_taken": 10000, "deposit_refunded": 0,
                                  "deposit_forfeited": 0, "fee_replacement": 0, "fee_damage": 1500, "fee_other": 0}]
    # the deposit moved to the replacement: still one deposit held
    assert money["deposits"] == {"held_at_start": 0, "taken": 10000, "refunded": 0, "forfeited": 0,
                                 "held_at_end": 10000, "reconciles": True}
    assert api("GET", "/api/v1/money/reports/2026-03", role="guard").status_code == 403
    r = api("GET", "/api/v1/money/reports/2026-03", params={"format": "csv", "tz": "UTC"})
    assert r.headers["content-type"].startswith("text/csv") and "F-9" in r.text and "card-money-2026-03" in \
        r.headers["content-disposition"]


def test_who_issued_this_card_and_when(api, store):
    assert api("POST", "/api/v1/units", role="clerk", json={"building": "A", "floor": 12, "room": "03"}).status_code == 201
    assert api("POST", "/api/v1/units", role="clerk", json={"building": "B", "floor": 1, "room": "01"}).status_code == 201
    pid = api("POST", "/api/v1/people", json={"name": "Wang Fang", "role": "owner", "unit": "A-12-03"}).json()["id"]
    assert paper(api, "delivery", datetime.now(UTC) - timedelta(hours=1),
                 {"card_type": "owner", "qty": 5, "ref": "DN-1"}).status_code == 201
    r = api("POST", "/api/v1/cards/issue", json=owner("0C0C0C01", person_id=pid))
    assert r.status_code == 201, r.text
    assert paper(api, "issue", datetime.now(UTC) - timedelta(minutes=30),
                 owner("0C0C0C02", name="Li Lei", unit="B-01-01")).status_code == 201
    api("POST", "/api/v1/cards/0C0C0C01/suspend", json={"reason": "holder abroad"})

    def search(**q):
        r = api("GET", "/api/v1/audit", role="supervisor", params=q)
        assert r.status_code == 200, r.text
        return [(i["action"], i["entity_id"], i["who"]) for i in r.json()["items"]]

    assert api("GET", "/api/v1/audit", role="clerk", params={"card": "0C0C0C01"}).status_code == 403
    assert search(card="0c0c0c01") == [("suspend", "0C0C0C01", "clerk:mei"), ("issue", "0C0C0C01", "clerk:mei")]
    items = api("GET", "/api/v1/audit", role="supervisor", params={"card": "0C0C0C01", "action": "issue"}).json()["items"]
    assert items[0]["holder"]["name"] == "Wang Fang" and items[0]["move_at"]
    assert ("issue", "0C0C0C01", "clerk:mei") in search(person=str(pid))
    assert {a for a, *_ in search(person=str(pid))} >= {"create", "issue", "suspend"}  # the person's row too
    assert {e for _, e, _ in search(person="Li Lei")} == {"0C0C0C02"}
    assert {e for _, e, _ in search(unit="B-01-01")} == {"0C0C0C02", "B-01-01"}  # its cards and the unit itself
    assert {(a, w) for a, _, w in search(clerk="li")} == {
        ("issue", "supervisor:li"), ("paper_move", "supervisor:li"), ("stock_delivery", "supervisor:li")}
    today = datetime.now(UTC).date()
    assert search(card="0C0C0C01", since=(today + timedelta(days=2)).isoformat()) == []
    assert len(search(card="0C0C0C01", since=(today - timedelta(days=1)).isoformat(), until=today.isoformat())) == 2
    r = api("GET", "/api/v1/audit", role="supervisor", params={"since": "yesterday"})
    assert r.status_code == 422 and r.json()["field"] == "since"


def test_the_audit_page_is_a_supervisors_and_escapes_what_it_shows(api, store):
    api("POST", "/api/v1/stock/deliveries", json={"card_type": "owner", "qty": 5, "ref": "DN-1"})
    assert api("POST", "/api/v1/cards/issue", json=owner("0D0D0D01", name="<b>Mallory</b>")).status_code == 201
    # the card centre links the audit log for whoever may read it (the supervisor), not the clerk
    assert 'href="/clerk/audit"' in api("GET", "/clerk", role="supervisor").text
    assert 'href="/clerk/audit"' not in api("GET", "/clerk").text
    assert api("GET", "/clerk/audit").status_code == 403
    page = api("GET", "/clerk/audit", role="supervisor")
    assert page.status_code == 200 and "<table" not in page.text  # nothing asked, nothing shown
    page = api("GET", "/clerk/audit", role="supervisor", params={"card": "0D0D0D01"})
    assert page.status_code == 200 and "clerk:mei" in page.text and "issue" in page.text
    assert "&lt;b&gt;Mallory&lt;/b&gt;" in page.text and "<b>Mallory" not in page.text
    bad = api("GET", "/clerk/audit", role="supervisor", params={"until": "31/03/2026"})
    assert bad.status_code == 422 and "until must be" in bad.text


def test_an_older_ledger_is_rebuilt_to_take_adjustments_with_its_rows_and_guards(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
    CREATE TABLE stock_ledger (id INTEGER PRIMARY KEY, at TEXT NOT NULL,
      kind TEXT NOT NULL CHECK (kind IN ('purchased', 'returned', 'personalised', 'scrapped', 'retired')),
      card_type TEXT NOT NULL, qty INTEGER NOT NULL CHECK (qty > 0), delta INTEGER NOT NULL, uid TEXT, reason TEXT,
      ref TEXT, who TEXT NOT NULL, move_id INTEGER);
    INSERT INTO stock_ledger (at, kind, card_type, qty, delta, who) VALUES
      ('2026-01-05T01:00:00.000000+00:00', 'purchased', 'owner', 30, 30, 'clerk:mei');
    """)
    conn.commit()
    conn.close()
    store = Store.open(path)
    try:
        with store.tx() as db:
            ledger.record_adjustment(db, "owner", -2, "supervisor:li", reason="two missing", ref="stocktake 1",
                                     at=datetime(2026, 1, 20, tzinfo=UTC))
        with store.read() as db:
            assert ledger.in_stock(db) == {"owner": 28}
        with pytest.raises(sqlite3.IntegrityError, match="append-only"):
            with store.tx() as db:
                db.conn.execute("DELETE FROM stock_ledger")
    finally:
        store.close()
    Store.open(path).close()  # opening again changes nothing

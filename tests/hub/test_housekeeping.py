"""The hourly chores on a real SQLite hub: expiry of cards past their date, trimming the ACL log."""

from __future__ import annotations

import json

from datetime import datetime, timedelta, timezone

from hub import housekeeping
from hub.cards import moves
from hub.db import Store
from hub.gates import acl

NOW = datetime.now(timezone.utc)


def _issue(store: Store, uid: str, until: datetime | None = None) -> None:
    moves.issue_card(store, "clerk:test", {"uid": uid, "card_type": "owner",
                                           "holder": {"name": "Li Wei", "unit": "A-12-03"},
                                           "valid_until": until.isoformat() if until else None})


def test_cards_past_their_date_expire_and_the_gates_hear_it(tmp_path) -> None:
    store = Store.open(tmp_path / "hub.db")
    with store.tx() as db:
        acl.ensure_gate(db, "north")
    _issue(store, "0A0A0A01", NOW + timedelta(days=1))
    _issue(store, "0A0A0A02")
    assert housekeeping.run_once(store, now=NOW)["expired"] == 0
    assert housekeeping.run_once(store, now=NOW + timedelta(days=2))["expired"] == 1
    with store.read() as db:
        status = {r["uid"]: r["status"] for r in db.query("SELECT uid, status FROM cards")}
        listed = {r["uid"]: r["entry"] for r in db.query("SELECT uid, entry FROM acl_state WHERE gate_id = 'north'")}
    assert status == {"0A0A0A01": "expired", "0A0A0A02": "active"}
    assert '"status":"expired"' in listed["0A0A0A01"], "the gate's list says expired too"


def test_the_acl_log_keeps_the_last_revisions_and_older_gates_get_a_snapshot(tmp_path) -> None:
    store = Store.open(tmp_path / "hub.db")
    with store.tx() as db:
        acl.ensure_gate(db, "north")
    for i in range(30):
        _issue(store, f"0B0B0B{i:02X}")
    with store.read() as db:
        head, checksum = acl.head(db, "north")
        old = list(db.query("SELECT checksum FROM acl_log WHERE gate_id = 'north' AND rev = 5"))[0]["checksum"]
        recent = list(db.query("SELECT checksum FROM acl_log WHERE gate_id = 'north' AND rev = ?", [head - 3]))[0]
    assert head == 30
    assert housekeeping.run_once(store, keep_revs=10)["trimmed"] == 20
    with store.tx() as db:
        assert [r["rev"] for r in db.query("SELECT rev FROM acl_log WHERE gate_id = 'north' ORDER BY rev")] == list(
            range(21, 31))
        behind = acl.answer_sync(db, "north", 5, old)
        near = acl.answer_sync(db, "north", head - 3, recent["checksum"])
    assert behind[0].kind == "snapshot" and behind[0].checksum == checksum
    assert near[0].kind == "delta" and (near[0].base_rev, near[0].rev) == (head - 3, head)


def test_holidays_that_have_passed_leave_the_gates_entries(tmp_path, monkeypatch) -> None:
    from datetime import timedelta as days

    from hub.access import plan, service as access

    store = Store.open(tmp_path / "hub.db")
    with store.tx() as db:
        acl.ensure_gate(db, "north")
    today = datetime.now(timezone.utc).date()
    past, coming = today - days(5), today + days(10)
    monkeypatch.setattr(plan, "HOLIDAY_KEEP", days(10))  # as if the entries were made a week ago
    access.add_holiday(store, "supervisor:test", past, "Estate day")
    access.add_holiday(store, "supervisor:test", coming, "National day")
    moves.issue_card(store, "clerk:test", {
        "uid": "0E0E0E01", "card_type": "renovation_worker", "holder": {"name": "Zhao Gang", "unit": "A-12-03"},
        "valid_until": (NOW + timedelta(days=30)).isoformat(), "permit_no": "RP-7",
        "permit_until": (today + days(30)).isoformat(), "deposit": {"amount_cents": 20000, "receipt_no": "R-7"}})

    def entry() -> str:
        """The gate's entry with the schedule it names (by id) written in whole."""
        with store.read() as db:
            text = db.execute("SELECT entry FROM acl_state WHERE gate_id = 'north' AND uid = '0E0E0E01'").fetchone()[0]
            sid = json.loads(text)["schedule"]
            return text.replace(f'"{sid}"', db.execute("SELECT body FROM acl_schedules WHERE id = ?", [sid]).fetchone()[0])

    assert past.isoformat() in entry() and coming.isoformat() in entry()
    monkeypatch.setattr(plan, "HOLIDAY_KEEP", days(2))  # a week later
    assert housekeeping.run_once(store)["holidays_dropped"] == 1
    assert past.isoformat() not in entry() and coming.isoformat() in entry()
    assert housekeeping.run_once(store)["holidays_dropped"] == 0, "nothing more to do until the next one passes"

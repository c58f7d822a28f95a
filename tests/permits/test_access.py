"""How a permit reaches its workers' entries: the period's start, a replacement card, and
the working calendar's holidays (hub.permits.access, hub.permits.setup)."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

from hub.gates import acl
from tests.permits.conftest import TODAY, application, worker_card
from tests.permits.test_rules import _counts, _refused


def _gate(estate) -> None:
    with estate.store.tx() as db:
        acl.ensure_gate(db, "north")


def _entry(estate, uid: str) -> dict | None:
    with estate.store.read() as db:
        row = db.execute("SELECT entry FROM acl_state WHERE gate_id = 'north' AND uid = ?", [uid]).fetchone()
        if row is None:
            return None
        entry = json.loads(row[0])
        if entry.get("schedule"):
            entry["schedule"] = json.loads(db.execute("SELECT body FROM acl_schedules WHERE id = ?",
                                                      [entry["schedule"]]).fetchone()[0])
        return entry


def _approved(estate, **over) -> str:
    r = estate.post("/api/v1/permits", json=application(estate.owner_id, **over), headers=estate.h("clerk"))
    assert r.status_code == 201, r.text
    no = r.json()["permit_no"]
    r = estate.post(f"/api/v1/permits/{no}/approve", headers=estate.h("clerk"))  # no body: none needed
    assert r.status_code == 200 and r.json()["approved_by"] == "clerk:t", r.text
    return no


def _at(day: date, hour: int = 0) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=timezone.utc)


def test_a_card_may_not_work_before_the_permits_period_starts(estate):
    start = TODAY + timedelta(days=10)
    no = _approved(estate, start=start, days=20)
    card = worker_card("0C0FFEE4", no, _at(start + timedelta(days=5)))
    _refused(estate, "POST", "/api/v1/cards", card, "validity_before_permit")
    _refused(estate, "POST", "/api/v1/cards", {**card, "valid_from": _at(start - timedelta(days=1)).isoformat()},
             "validity_before_permit")
    r = estate.post("/api/v1/cards", json={**card, "valid_from": _at(start).isoformat()}, headers=estate.h("clerk"))
    assert r.status_code == 201, r.text


def test_the_permits_hours_are_the_cards_schedule_and_a_replacement_follows_the_permit(estate):
    _gate(estate)
    no = _approved(estate, hours={"start": "07:30", "end": "17:00", "weekdays": [1, 2, 3, 4, 5]})
    estate.post("/api/v1/cards", json=worker_card("0C0FFEE5", no, _at(TODAY + timedelta(days=9), 12)),
                headers=estate.h("clerk"))
    entry = _entry(estate, "0C0FFEE5")
    assert entry["status"] == "active" and entry["valid_until"].startswith((TODAY + timedelta(days=9)).isoformat())
    assert entry["schedule"]["windows"] == [{"days": [0, 1, 2, 3, 4], "start": "07:30:00", "end": "17:00:00"}]
    assert entry["schedule"]["holiday_windows"] == []
    r = estate.post("/api/v1/cards/0C0FFEE5/report_lost", headers=estate.h("clerk"),
                    json={"reason": "lost on site", "replacement_uid": "0C0FFEE6"})
    assert r.status_code == 200, r.text
    assert _entry(estate, "0C0FFEE6")["schedule"] == entry["schedule"], "the replacement keeps the permit's hours"
    estate.post(f"/api/v1/permits/{no}/suspend", json={"reason": "x"}, headers=estate.h("engineering"))
    assert _entry(estate, "0C0FFEE6")["status"] == "permit_suspended"
    assert _entry(estate, "0C0FFEE5")["status"] == "lost"
    permit = estate.get(f"/api/v1/permits/{no}", headers=estate.h("guard")).json()
    assert [p["uid"] for p in permit["passes"]] == ["0C0FFEE5", "0C0FFEE6"]
    assert permit["passes_out"] == ["0C0FFEE6"], "a lost card is not a pass still out"


def test_a_holiday_added_to_the_working_calendar_reaches_the_workers_entries(estate):
    _gate(estate)
    no = _approved(estate)
    estate.post("/api/v1/cards", json=worker_card("0C0FFEE7", no, _at(TODAY + timedelta(days=20))),
                headers=estate.h("clerk"))
    watch = estate.app.state.permits_calendar
    with estate.store.tx() as db:
        watch(db, datetime.now(timezone.utc))  # sees the calendar as it is: nothing to change
    day = TODAY + timedelta(days=4)
    assert day.isoformat() not in _entry(estate, "0C0FFEE7")["schedule"]["holidays"]
    r = estate.put(f"/api/v1/calendar/days/{day.isoformat()}", json={"kind": "holiday", "name": "Estate day"},
                   headers=estate.h("supervisor"))
    assert r.status_code == 200, r.text
    before = _counts(estate.store)["acl_log"]
    with estate.store.tx() as db:
        watch(db, datetime.now(timezone.utc))
    assert day.isoformat() in _entry(estate, "0C0FFEE7")["schedule"]["holidays"]
    assert _counts(estate.store)["acl_log"] == before + 1, "one entry changed, logged for the gate"


def test_no_card_move_ever_gives_a_card_row_a_permits_status():
    """permit_suspended and permit_ended are said by the gates' lists only (protocols.cards.LISTED_ONLY)."""
    from hub.cards.lifecycle import Move, allowed_moves, next_status
    from protocols.cards import LISTED_ONLY, CardStatus

    reached = {next_status(s, m) for s in CardStatus if s not in LISTED_ONLY for m in Move
               if m in allowed_moves(s)}
    assert reached and not reached & LISTED_ONLY
    assert all(allowed_moves(s) == [] for s in LISTED_ONLY)

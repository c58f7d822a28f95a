"""The duty log's rules on a real hub.db: an incident not reported up in 10 minutes raises
one alarm (the ticker's check, run with a chosen now), reporting it in time raises none;
open items are handed from shift to shift until closed; every change is audited; a refusal
changes nothing."""

from __future__ import annotations

from datetime import timedelta

import pytest

from hub.dutylog.models import NewEntry
from hub.errors import BadInput, Conflict, RuleViolation
from tests.dutylog.conftest import GUARD, NIGHT_GUARD, audit_rows, estate_time, service


def _incident(duty, at, text="burst pipe in block 3 basement", kind="water_cut"):
    return service.write_entry(duty.store, duty.settings, GUARD, NewEntry(kind="incident", text=text,
                                                                          incident_kind=kind), now=at)


def _overdue_alarms(db):
    alarms = pytest.importorskip("hub.alarms.service")
    return [a for a in alarms.open_alarms(db) if a["kind"] == "incident_overdue"]


def test_an_incident_unreported_for_ten_minutes_raises_one_alarm(duty) -> None:
    alarms = pytest.importorskip("hub.alarms.service")
    at = estate_time(2026, 11, 29, 2, 10)
    entry = _incident(duty, at)
    assert entry["report_due_at"] == (at + timedelta(minutes=10)).isoformat()
    ticker = duty.state.ticker  # the app's own ticker, with the check the duty log registered
    ticker.clock = lambda: at + timedelta(minutes=9, seconds=59)
    ticker.poke()
    ticker.run_due()
    with duty.store.read() as db:
        assert _overdue_alarms(db) == []
    ticker.clock = lambda: at + timedelta(minutes=10)
    ticker.poke()
    ticker.run_due()
    with duty.store.read() as db:
        raised = _overdue_alarms(db)
    assert len(raised) == 1
    assert raised[0]["detail"]["entry_id"] == str(entry["id"])
    assert raised[0]["detail"]["incident_kind"] == "water_cut"
    # later checks raise it no more, even once a guard has acknowledged it
    with duty.store.tx() as db:
        assert service.check_overdue(db, at + timedelta(minutes=11), within=duty.settings.report_within) == []
        alarms.acknowledge(db, GUARD, raised[0]["id"], "called the shift leader", at + timedelta(minutes=12))
        assert service.check_overdue(db, at + timedelta(minutes=30), within=duty.settings.report_within) == []
    with duty.store.read() as db:
        assert _overdue_alarms(db) == []
        assert [r["kind"] for r in db.query("SELECT kind FROM alarms")] == ["incident_overdue"]
    view = service.list_entries(duty.store, duty.settings, open_only=True, now=at + timedelta(minutes=30))["items"][0]
    assert view["overdue"] is True and view["alarm_raised_at"]
    # reported late: the report is kept, and says it was late
    service.report_incident(duty.store, duty.settings, GUARD, entry["id"], "shift leader Li",
                            now=at + timedelta(minutes=31))
    report = [r for r in audit_rows(duty.store, "duty_entry", str(entry["id"])) if r["action"] == "report"][0]
    assert '"late": true' in report["detail"]
    assert [r["action"] for r in audit_rows(duty.store, "duty_entry", str(entry["id"]))] == [
        "write", "overdue", "report"]


def test_an_incident_reported_in_time_raises_no_alarm(duty) -> None:
    pytest.importorskip("hub.alarms.service")
    at = estate_time(2026, 11, 29, 14, 0)
    entry = _incident(duty, at, "smoke from the bin room, block 7", "fire")
    reported = service.report_incident(duty.store, duty.settings, GUARD, entry["id"], "shift leader Li",
                                       at + timedelta(minutes=4), now=at + timedelta(minutes=5))
    assert reported["reported_to"] == "shift leader Li" and reported["overdue"] is False
    assert reported["reported_at"].startswith((at + timedelta(minutes=4)).strftime("%Y-%m-%dT%H:%M"))
    with duty.store.tx() as db:
        assert service.check_overdue(db, at + timedelta(hours=1), within=duty.settings.report_within) == []
    with duty.store.read() as db:
        assert _overdue_alarms(db) == []


def test_open_items_are_handed_over_until_someone_closes_them(duty) -> None:
    morning = estate_time(2026, 11, 29, 9, 15)   # the 09:00 shift
    item = service.write_entry(duty.store, duty.settings, GUARD,
                               NewEntry(kind="handover", text="lift 2 of block 5 out of order, engineer called"),
                               now=morning)
    note = service.write_entry(duty.store, duty.settings, GUARD, NewEntry(text="fire drill at 10:00 done"),
                               now=morning + timedelta(minutes=1))
    assert item["shift"] == "2026-11-29T09:00" and item["state"] == "open" and note["state"] == "note"

    # the 14:00 shift's incoming guard: the 09:00 shift hands the item over (its note stays in its log)
    at_14 = estate_time(2026, 11, 29, 14, 5)
    h = service.handover(duty.store, duty.settings, NIGHT_GUARD, now=at_14)
    assert h["shift"]["key"] == "2026-11-29T09:00"
    assert [e["id"] for e in h["open_items"]] == [item["id"]]
    assert {e["id"] for e in h["entries"]} == {item["id"], note["id"]}

    # nobody closed it: the 14:00 shift hands it on to the night shift, and that to the morning
    assert [e["id"] for e in service.handover(duty.store, duty.settings, NIGHT_GUARD, "2026-11-29T14:00",
                                              now=estate_time(2026, 11, 29, 18, 1))["open_items"]] == [item["id"]]
    night = estate_time(2026, 11, 30, 1, 0)
    service.close_entry(duty.store, duty.settings, NIGHT_GUARD, item["id"], "engineer repaired it at 00:40",
                        now=night)
    # the night shift closed it: it hands over nothing; what the 14:00 shift handed over is unchanged
    assert service.handover(duty.store, duty.settings, GUARD, now=estate_time(2026, 11, 30, 7, 2))["open_items"] == []
    then = service.handover(duty.store, duty.settings, GUARD, "2026-11-29T14:00", now=estate_time(2026, 11, 30, 7, 2))
    assert [(e["id"], e["state"], e["closed_by"]) for e in then["open_items"]] == [(item["id"], "closed", "wang")]
    assert [r["action"] for r in audit_rows(duty.store, "duty_entry", str(item["id"]))] == ["write", "close"]


def test_the_incoming_guard_accepts_a_handover_once(duty) -> None:
    evening = estate_time(2026, 11, 29, 15, 0)
    item = service.write_entry(duty.store, duty.settings, GUARD,
                               NewEntry(kind="handover", text="parcel for A-12-03 at the desk"), now=evening)
    incident = _incident(duty, evening + timedelta(minutes=5), "power cut in block 2", "power_cut")
    accepted = service.accept_handover(duty.store, duty.settings, NIGHT_GUARD, note="parcel seen",
                                       now=estate_time(2026, 11, 29, 18, 3))
    assert accepted["shift"]["key"] == "2026-11-29T14:00"
    assert accepted["accepted"]["by"] == "wang" and accepted["accepted"]["note"] == "parcel seen"
    assert accepted["accepted"]["open_items"] == [item["id"], incident["id"]]
    rows = audit_rows(duty.store, "duty_handover", "2026-11-29T14:00")
    assert [(r["action"], r["who"]) for r in rows] == [("accept", "guard:wang")]
    with pytest.raises(Conflict) as again:
        service.accept_handover(duty.store, duty.settings, GUARD, "2026-11-29T14:00",
                                now=estate_time(2026, 11, 29, 18, 5))
    assert again.value.rule == "handover_accepted"
    with pytest.raises(RuleViolation) as future:
        service.accept_handover(duty.store, duty.settings, GUARD, "2026-11-30T07:00",
                                now=estate_time(2026, 11, 29, 18, 5))
    assert future.value.rule == "shift_not_begun"
    assert len(audit_rows(duty.store, "duty_handover")) == 1


def test_refusals_name_their_rule_and_change_nothing(duty) -> None:
    at = estate_time(2026, 11, 29, 10, 0)
    note = service.write_entry(duty.store, duty.settings, GUARD, NewEntry(text="visitor asked for lost property"),
                               now=at)
    incident = _incident(duty, at)
    before = audit_rows(duty.store, "duty_entry")

    def refused(kind, call):
        with pytest.raises(kind) as caught:
            call()
        return caught.value.rule

    s, st = duty.settings, duty.store
    assert refused(BadInput, lambda: service.write_entry(st, s, GUARD, NewEntry(kind="incident", text="x"))) == (
        "incident_kind_missing")
    assert refused(BadInput, lambda: service.write_entry(st, s, GUARD, NewEntry(text="x", incident_kind="fire"))) == (
        "incident_kind_not_wanted")
    assert refused(BadInput, lambda: service.write_entry(st, s, GUARD, NewEntry(text="   "))) == "empty_entry"
    assert refused(RuleViolation, lambda: service.close_entry(st, s, GUARD, note["id"], "done")) == "note_not_closable"
    assert refused(RuleViolation, lambda: service.close_entry(st, s, GUARD, incident["id"], "done")) == (
        "incident_not_reported")
    assert refused(RuleViolation, lambda: service.report_incident(st, s, GUARD, note["id"], "Li")) == "not_an_incident"
    assert refused(BadInput, lambda: service.report_incident(st, s, GUARD, incident["id"], "Li",
                                                             at - timedelta(minutes=1))) == "report_before_incident"
    assert refused(BadInput, lambda: service.report_incident(st, s, GUARD, incident["id"], "Li",
                                                             at + timedelta(hours=1), now=at)) == "report_in_future"
    assert refused(BadInput, lambda: service.list_entries(st, s, shift="2026-11-29T10:00")) == "unknown_shift"
    assert audit_rows(duty.store, "duty_entry") == before
    with duty.store.read() as db:
        assert [r["reported_at"] for r in db.query("SELECT reported_at FROM duty_entries")] == [None, None]
    service.report_incident(st, s, GUARD, incident["id"], "Li", now=at + timedelta(minutes=2))
    assert refused(Conflict, lambda: service.report_incident(st, s, GUARD, incident["id"], "Li")) == (
        "incident_already_reported")
    service.close_entry(st, s, GUARD, incident["id"], "plumber shut the valve", now=at + timedelta(minutes=30))
    assert refused(Conflict, lambda: service.close_entry(st, s, GUARD, incident["id"], "again")) == "duty_entry_closed"


def test_the_log_names_people_by_their_account_name(duty) -> None:
    from hub.auth import Principal, Role
    from hub.users.accounts import add_user

    add_user(duty.store, "test", "gina", "Gina Ho", "guard", "correct horse battery")
    gina = Principal("gina", Role.GUARD)
    at = estate_time(2026, 11, 29, 20, 0)
    entry = service.write_entry(duty.store, duty.settings, gina, NewEntry(kind="handover", text="key 14 lent out"),
                                now=at)
    assert entry["by"] == "Gina Ho"
    closed = service.close_entry(duty.store, duty.settings, GUARD, entry["id"], "key back", now=at)
    assert (closed["by"], closed["closed_by"]) == ("Gina Ho", "zhang")  # a token's name where there is no account
    assert audit_rows(duty.store, "duty_entry", str(entry["id"]))[0]["who"] == "guard:gina"

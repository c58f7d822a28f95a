"""A complaint through its moves over the API, with the clock set by the test; every refused
move names its rule and changes nothing; roles and the department's queue."""

from __future__ import annotations

import json

from hub.complaints import escalation
from tests.complaints.conftest import complaint, cst

BASE = "/api/v1/complaints"


def snapshot(estate, cid: int) -> tuple:
    """Everything a move could change: the complaint's row, its pauses, extensions, steps and
    follow-ups, the audit log and the alarms."""
    with estate.store.read() as db:
        return tuple(json.dumps([dict(r) for r in db.execute(sql, args)], sort_keys=True) for sql, args in (
            ("SELECT * FROM complaints WHERE id = ?", [cid]),
            ("SELECT * FROM complaint_pauses WHERE complaint_id = ?", [cid]),
            ("SELECT * FROM complaint_extensions WHERE complaint_id = ?", [cid]),
            ("SELECT * FROM complaint_steps WHERE complaint_id = ?", [cid]),
            ("SELECT * FROM complaint_followups WHERE complaint_id = ?", [cid]),
            ("SELECT COUNT(*) FROM audit", []),
            ("SELECT COUNT(*) FROM alarms", []),
        ))


def refused(estate, cid: int, path: str, body, headers, status: int, rule: str) -> None:
    before = snapshot(estate, cid)
    r = estate.post(f"{BASE}/{cid}/{path}", json=body, headers=headers)
    assert r.status_code == status, r.text
    assert r.json()["error"] == rule, r.text
    assert snapshot(estate, cid) == before, f"{path} refused with {rule} but something changed"


def register(estate, **over) -> dict:
    r = estate.post(BASE, json=complaint(**over), headers=estate.h("clerk"))
    assert r.status_code == 201, r.text
    return r.json()


def test_a_general_complaint_from_phone_call_to_follow_up(estate):
    desk, eng = estate.h("clerk"), estate.h("department", "engineering")
    estate.at(cst(2025, 11, 3, 9, 0))
    c = register(estate)
    cid = c["id"]
    assert c["state"] == "registered" and c["deadlines"]["forward"]["due"] == "2025-11-03T02:00:00.000000+00:00"
    estate.at(cst(2025, 11, 3, 9, 20))
    c = estate.post(f"{BASE}/{cid}/forward", json={"department": "engineering", "task": "fix the lift"},
                    headers=desk).json()
    assert c["state"] == "forwarded" and c["sheet"]["task"] == "fix the lift"
    assert c["deadlines"]["forward"]["state"] == "met"
    estate.at(cst(2025, 11, 3, 10, 0))
    c = estate.post(f"{BASE}/{cid}/sign", json={"note": "on it"}, headers=eng).json()
    assert c["state"] == "in_progress" and c["sheet"]["signed_by"] == "department:t"
    estate.at(cst(2025, 11, 5, 11, 0))
    c = estate.post(f"{BASE}/{cid}/resolve", json={"result": "the lift's door sensor replaced"}, headers=eng).json()
    assert c["state"] == "resolved" and c["deadlines"]["resolve"]["state"] == "met"
    assert c["deadlines"]["tell"]["due"] == "2025-11-07T09:30:00.000000+00:00"  # Friday 17:30
    c = estate.post(f"{BASE}/{cid}/tell", json={"how": "phone"}, headers=desk).json()
    assert c["state"] == "told"
    c = estate.post(f"{BASE}/{cid}/accept", json={"accepted": True, "how": "recorded"}, headers=desk).json()
    assert c["accepted"] is True
    estate.at(cst(2025, 11, 5, 15, 0))
    c = estate.post(f"{BASE}/{cid}/close", json={}, headers=desk).json()
    assert c["state"] == "closed"
    # closing a general complaint made a follow-up due within a month
    assert c["followup"]["state"] == "open" and c["followup"]["due"] == "2025-12-05T16:00:00.000000+00:00"
    assert c["deadlines"]["followup"]["state"] == "open"
    fu = estate.get(f"{BASE}/followups?state=open", headers=desk).json()
    assert [f["complaint_id"] for f in fu] == [cid]
    estate.at(cst(2025, 11, 20, 10, 0))
    f = estate.post(f"{BASE}/followups/{fu[0]['id']}", json={
        "quality": "good", "effect": "the lift works", "satisfaction": "satisfied", "shortcomings": "slow",
        "suggestions": "check monthly", "score": 5, "satisfied": True}, headers=desk).json()
    assert f["state"] == "done" and f["score"] == 5
    steps = [s["action"] for s in estate.get(f"{BASE}/{cid}/steps", headers=desk).json()]
    assert steps == ["register", "forward", "sign", "resolve", "tell", "accept", "followup_due", "close", "followup"]
    # each step is in the audit log, the contact nowhere in it
    with estate.store.read() as db:
        rows = [dict(r) for r in db.execute("SELECT * FROM audit WHERE entity = 'complaint' AND entity_id = ?",
                                            [str(cid)])]
    assert {r["action"] for r in rows} >= {"register", "forward", "sign", "resolve", "tell", "accept", "close",
                                           "followup"}
    assert not any("1234" in r["detail"] or "张三" in r["detail"] for r in rows)


def test_dissatisfied_reopens_the_work_or_sets_the_next_visit(estate):
    desk, boss = estate.h("clerk"), estate.h("supervisor")
    ids = []
    for _ in range(2):
        estate.at(cst(2025, 11, 3, 9, 0))
        cid = register(estate, severity="major")["id"]
        for path, body in (("forward", {"department": "cleaning", "task": "t"}), ("answer", {"answer": "we will"}),
                           ("sign", {}), ("resolve", {"result": "r"}), ("tell", {"how": "visit"}),
                           ("accept", {"accepted": False}), ("close", {"reason": "asked twice, would not sign"})):
            r = estate.post(f"{BASE}/{cid}/{path}", json=body, headers=boss)
            assert r.status_code == 200, (path, r.text)
        ids.append(cid)
    fus = {f["complaint_id"]: f for f in estate.get(f"{BASE}/followups?state=open", headers=desk).json()}
    bad = {"score": 2, "satisfied": False}
    r = estate.post(f"{BASE}/followups/{fus[ids[0]]['id']}", json=bad, headers=desk)
    assert r.status_code == 422 and r.json()["error"] == "dissatisfied_needs_next"
    estate.at(cst(2025, 11, 10, 9, 0))
    r = estate.post(f"{BASE}/followups/{fus[ids[0]]['id']}", json={**bad, "then": "reopen"}, headers=desk)
    assert r.status_code == 200, r.text
    c = estate.get(f"{BASE}/{ids[0]}", headers=desk).json()
    assert c["state"] == "in_progress" and c["reopened"] == 1 and c["resolved_at"] is None
    # the work runs again from the reopening: 10 working days from Monday 10 November
    assert c["deadlines"]["resolve"]["due"] == "2025-11-24T09:30:00.000000+00:00"
    r = estate.post(f"{BASE}/followups/{fus[ids[1]]['id']}", json={**bad, "then": "next_visit"}, headers=desk)
    assert r.status_code == 422 and r.json()["error"] == "next_visit_needs_date"
    r = estate.post(f"{BASE}/followups/{fus[ids[1]]['id']}",
                    json={**bad, "then": "next_visit", "next_visit_on": "2025-11-17"}, headers=desk)
    assert r.status_code == 200
    c = estate.get(f"{BASE}/{ids[1]}", headers=desk).json()
    assert c["state"] == "closed" and c["followup"]["state"] == "open"
    assert c["followup"]["due"] == "2025-11-17T16:00:00.000000+00:00"  # the end of the 17th
    r = estate.post(f"{BASE}/followups/{fus[ids[1]]['id']}", json={"score": 5, "satisfied": True}, headers=desk)
    assert r.status_code == 409 and r.json()["error"] == "followup_done"


def test_every_refused_move_changes_nothing(estate):
    desk, boss, mgr = estate.h("clerk"), estate.h("supervisor"), estate.h("manager")
    eng, clean = estate.h("department", "engineering"), estate.h("department", "cleaning")
    estate.at(cst(2025, 11, 3, 9, 0))
    cid = register(estate)["id"]
    refused(estate, cid, "sign", {}, boss, 422, "not_in_state")
    refused(estate, cid, "resolve", {"result": "r"}, boss, 422, "not_in_state")
    refused(estate, cid, "tell", {"how": "phone"}, desk, 422, "not_in_state")
    refused(estate, cid, "close", {}, desk, 422, "not_in_state")  # a valid complaint is not closed unhandled
    refused(estate, cid, "answer", {"answer": "a"}, desk, 422, "answer_only_major")
    refused(estate, cid, "office-report", {"reference": "r"}, desk, 422, "not_joint")
    refused(estate, cid, "resume", {}, desk, 422, "not_paused")
    refused(estate, cid, "extend", {"days": 1, "reason": "r"}, boss, 403, "extension_needs_manager")
    refused(estate, cid, "extend", {"days": 1, "reason": "r"}, desk, 403, "extension_needs_manager")
    refused(estate, cid, "forward", {"department": "plumbing", "task": "t"}, desk, 422, "unknown_department")
    refused(estate, cid, "forward", {"department": "engineering"}, desk, 422, "bad_input")
    refused(estate, cid, "validity", {"valid": False}, desk, 422, "invalid_needs_reason")
    refused(estate, cid, "pause", {"reason": "r"}, eng, 404, "unknown_complaint")  # not its queue: unknown to it
    refused(estate, cid, "tell", {"how": "phone"}, eng, 403, "forbidden")  # not a department's move at all
    assert estate.post(f"{BASE}/{cid}/pause", json={"reason": "away until Tuesday"}, headers=desk).status_code == 200
    refused(estate, cid, "pause", {"reason": "again"}, desk, 422, "already_paused")
    refused(estate, cid, "forward", {"department": "engineering", "task": "t"}, desk, 422, "paused")
    assert estate.post(f"{BASE}/{cid}/resume", json={}, headers=desk).status_code == 200
    assert estate.post(f"{BASE}/{cid}/forward", json={"department": "engineering", "task": "t"},
                       headers=desk).status_code == 200
    refused(estate, cid, "forward", {"department": "engineering", "task": "t"}, desk, 422, "not_in_state")
    refused(estate, cid, "resolve", {"result": "r"}, boss, 422, "sheet_not_signed")
    refused(estate, cid, "sign", {}, desk, 403, "department_work")  # the desk does not sign for the department
    refused(estate, cid, "sign", {}, estate.h("shift_leader"), 403, "department_work")
    refused(estate, cid, "sign", {}, clean, 404, "unknown_complaint")  # another department's
    refused(estate, cid, "tell", {"how": "phone"}, eng, 403, "forbidden")  # its own, but not a department's move
    refused(estate, cid, "extend", {"days": 1, "reason": "r"}, eng, 403, "extension_needs_manager")
    assert estate.post(f"{BASE}/{cid}/sign", json={}, headers=eng).status_code == 200
    assert estate.post(f"{BASE}/{cid}/resolve", json={"result": "r"}, headers=eng).status_code == 200
    refused(estate, cid, "pause", {"reason": "r"}, desk, 422, "not_in_state")
    refused(estate, cid, "extend", {"days": 1, "reason": "r"}, mgr, 422, "not_in_state")
    assert estate.post(f"{BASE}/{cid}/tell", json={"how": "phone"}, headers=desk).status_code == 200
    refused(estate, cid, "close", {}, desk, 422, "acceptance_missing")
    assert estate.post(f"{BASE}/{cid}/accept", json={"accepted": False}, headers=desk).status_code == 200
    refused(estate, cid, "close", {}, desk, 422, "close_needs_reason")
    assert estate.post(f"{BASE}/{cid}/close", json={"reason": "explained twice"}, headers=desk).status_code == 200
    refused(estate, cid, "resolve", {"result": "r"}, boss, 422, "not_in_state")


def test_an_invalid_complaint_is_explained_and_closed_without_deadlines(estate):
    desk = estate.h("clerk")
    r = estate.post(BASE, json=complaint(valid=False), headers=desk)
    assert r.status_code == 422 and r.json()["error"] == "invalid_needs_reason"
    c = register(estate, valid=False, invalid_reason="the fence is the city's, not the estate's")
    assert all(v is None for v in c["deadlines"].values())
    refused(estate, c["id"], "forward", {"department": "engineering", "task": "t"}, desk, 422, "invalid_complaint")
    c = estate.post(f"{BASE}/{c['id']}/close", json={}, headers=desk).json()
    assert c["state"] == "closed" and c["followup"] is None
    # closed and sent to no department: anyone reading its contact is outside it, and audited
    estate.get(f"{BASE}/{c['id']}", headers=desk)
    with estate.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM audit WHERE action = 'read_personal'").fetchone()[0] == 1


def test_an_extension_by_the_manager_with_a_reason(estate):
    mgr = estate.h("manager")
    estate.at(cst(2025, 9, 29, 9, 0))  # Monday: general, due Friday 10 October (National Day between)
    c = register(estate)
    assert c["deadlines"]["resolve"]["due"] == "2025-10-10T09:30:00.000000+00:00"
    r = estate.post(f"{BASE}/{c['id']}/extend", json={"days": 2}, headers=mgr)
    assert r.status_code == 422  # a reason is required
    c = estate.post(f"{BASE}/{c['id']}/extend", json={"days": 2, "reason": "parts on order"}, headers=mgr).json()
    # the make-up Saturday 11th and Monday 13th
    assert c["deadlines"]["resolve"]["due"] == "2025-10-13T09:30:00.000000+00:00"
    assert c["extensions"][0]["by"] == "manager:t" and c["extensions"][0]["reason"] == "parts on order"
    with estate.store.read() as db:
        row = db.execute("SELECT who, reason, detail FROM audit WHERE action = 'extend'").fetchone()
    assert row["reason"] == "parts on order" and row["who"] == "manager:t" and json.loads(row["detail"])["days"] == 2


def test_escalation_at_each_step_by_the_ticker_check(estate):
    """The check run with chosen times: a complaint not forwarded goes to the shift leader,
    the supervisor, then the manager (with an alarm); forwarding clears it; the resolve
    deadline then climbs the same way."""
    desk = estate.h("clerk")
    estate.at(cst(2025, 11, 3, 9, 0))
    cid = register(estate)["id"]
    tick = escalation.check(estate.ctx)

    def at(*when) -> dict:
        estate.at(cst(*when))
        with estate.store.tx() as db:
            tick(db, cst(*when))
        with estate.store.read() as db:
            row = dict(db.execute("SELECT escalation_level, escalation_kind FROM complaints WHERE id = ?",
                                  [cid]).fetchone())
            alarms = [dict(r) for r in db.execute("SELECT kind, subject FROM alarms")]
        return {**row, "alarms": alarms}

    assert at(2025, 11, 3, 9, 59)["escalation_level"] == 0
    assert at(2025, 11, 3, 10, 0) == {"escalation_level": 1, "escalation_kind": "forward", "alarms": []}
    assert at(2025, 11, 3, 11, 0)["escalation_level"] == 2
    s = at(2025, 11, 3, 12, 0)
    assert s["escalation_level"] == 3
    assert s["alarms"] == [{"kind": "complaint_escalated", "subject": f"complaint:{cid}:forward"}]
    shown = estate.get(f"{BASE}/{cid}", headers=desk).json()["escalation"]
    assert shown["level"] == 3 and shown["to"] == "manager" and shown["kind"] == "forward"
    # late: in the desk's late list, and the manager's list of what reached them
    assert [c["id"] for c in estate.get(f"{BASE}?late=true", headers=desk).json()] == [cid]
    assert [c["id"] for c in estate.get(f"{BASE}?escalation=3", headers=estate.h("manager")).json()] == [cid]
    estate.at(cst(2025, 11, 3, 13, 40))
    estate.post(f"{BASE}/{cid}/forward", json={"department": "engineering", "task": "t"}, headers=desk)
    assert at(2025, 11, 3, 13, 41)["escalation_level"] == 0  # handled: cleared
    assert estate.get(f"{BASE}?escalation=1", headers=desk).json() == []
    assert estate.get(f"{BASE}?late=true", headers=desk).json() == []
    assert at(2025, 11, 6, 15, 30)["escalation_kind"] == "resolve"
    assert at(2025, 11, 6, 15, 30)["escalation_level"] == 1
    assert [c["id"] for c in estate.get(f"{BASE}?due=soon", headers=desk).json()] == [cid]
    assert at(2025, 11, 6, 17, 30)["escalation_level"] == 2
    assert at(2025, 11, 7, 9, 30)["escalation_level"] == 3
    with estate.store.read() as db:
        esc = [json.loads(r["detail"])["to"] for r in db.execute(
            "SELECT detail FROM audit WHERE action = 'escalate' AND entity_id = ? ORDER BY id", [str(cid)])]
    assert esc == ["shift_leader", "supervisor", "manager", "shift_leader", "supervisor", "manager"]


def test_a_paused_complaint_does_not_escalate(estate):
    desk = estate.h("clerk")
    estate.at(cst(2025, 11, 3, 9, 0))
    cid = register(estate)["id"]
    estate.at(cst(2025, 11, 3, 9, 30))
    estate.post(f"{BASE}/{cid}/pause", json={"reason": "the complainant is sending photos"}, headers=desk)
    with estate.store.tx() as db:
        assert escalation.check(estate.ctx)(db, cst(2025, 11, 5, 9, 0)) == 0
    estate.at(cst(2025, 11, 5, 9, 0))
    c = estate.post(f"{BASE}/{cid}/resume", json={}, headers=desk).json()
    # 30 minutes had run; the other 30 from Wednesday 09:00
    assert c["deadlines"]["forward"]["due"] == "2025-11-05T01:30:00.000000+00:00"
    assert c["pauses"][0]["end"] == "2025-11-05T01:00:00.000000+00:00"


def test_a_major_complaint_goes_to_the_manager_at_once(estate):
    estate.at(cst(2025, 11, 3, 9, 0))
    c = register(estate, severity="major")
    assert c["escalation"] == {"level": 3, "to": "manager", "kind": "major", "at": "2025-11-03T01:00:00.000000+00:00"}
    assert c["deadlines"]["answer"]["due"] == "2025-11-05T09:30:00.000000+00:00"
    with estate.store.read() as db:
        assert [r[0] for r in db.execute("SELECT subject FROM alarms")] == [f"complaint:{c['id']}:major"]


def test_a_joint_complaint_needs_its_office_report_the_same_day(estate):
    desk = estate.h("clerk")
    estate.at(cst(2025, 10, 11, 9, 0))  # the make-up Saturday: a working day
    c = register(estate, units=["A-01-01", "A-01-02", "A-02-01"])
    assert c["joint"] is True
    assert c["deadlines"]["office_report"] == {"due": "2025-10-11T16:00:00.000000+00:00", "done_at": None,
                                               "state": "open"}
    with estate.store.read() as db:
        assert [r[0] for r in db.execute("SELECT subject FROM alarms")] == [f"complaint:{c['id']}:office_report"]
    estate.at(cst(2025, 10, 11, 16, 0))
    c = estate.post(f"{BASE}/{c['id']}/office-report", json={"reference": "GS-2025-118"}, headers=desk).json()
    assert c["deadlines"]["office_report"]["state"] == "met" and c["office_report"]["reference"] == "GS-2025-118"
    refused(estate, c["id"], "office-report", {"reference": "x"}, desk, 422, "office_already_reported")
    # one made on Sunday 12th and reported Monday evening is late
    estate.at(cst(2025, 10, 12, 9, 0))
    c = register(estate, units=["A-01-01", "A-01-02", "B-01-01"])
    assert c["deadlines"]["office_report"]["due"] == "2025-10-13T16:00:00.000000+00:00"
    estate.at(cst(2025, 10, 12, 9, 5))
    estate.post(f"{BASE}/{c['id']}/forward", json={"department": "security", "task": "t"}, headers=desk)
    tick = escalation.check(estate.ctx)
    for when, level in (((2025, 10, 13, 15, 29), 0), ((2025, 10, 13, 15, 30), 1), ((2025, 10, 14, 0, 0), 2),
                        ((2025, 10, 14, 9, 29), 2), ((2025, 10, 14, 9, 30), 3)):
        with estate.store.tx() as db:
            tick(db, cst(*when))
        shown = estate.get(f"{BASE}/{c['id']}", headers=desk).json()["escalation"]
        assert shown["level"] == level, (when, shown)
        assert shown["kind"] == ("office_report" if level else None)
    estate.at(cst(2025, 10, 14, 8, 0))
    c = estate.post(f"{BASE}/{c['id']}/office-report", json={"reference": "GS-2025-119"}, headers=desk).json()
    assert c["deadlines"]["office_report"]["state"] == "missed"


def test_the_same_household_and_thing_within_three_months_is_a_repeat(estate):
    estate.at(cst(2025, 8, 4, 9, 0))
    first = register(estate, units=["A-01-01"], category="noise")
    estate.at(cst(2025, 9, 1, 9, 0))
    assert register(estate, units=["A-01-01"], category="repair")["repeat_of"] is None  # another thing
    assert register(estate, units=["B-01-01"], category="noise")["repeat_of"] is None  # another household
    estate.at(cst(2025, 11, 3, 9, 0))
    again = register(estate, units=["A-02-01", "A-01-01"], category="noise")
    assert again["repeat_of"] == first["id"]
    steps = [s["action"] for s in estate.get(f"{BASE}/{again['id']}/steps", headers=estate.h("clerk")).json()]
    assert "repeat" in steps
    estate.at(cst(2025, 11, 5, 9, 0))
    second = register(estate, units=["B-01-01"], category="noise")
    assert second["repeat_of"] == 3  # B-01-01's noise complaint of 1 September
    estate.at(cst(2026, 2, 5, 9, 1))  # three months and a minute after B-01-01's second
    assert register(estate, units=["B-01-01"], category="noise")["repeat_of"] is None


def test_departments_see_only_their_queue_and_contacts_are_masked(estate):
    desk, eng, clean = estate.h("clerk"), estate.h("department", "engineering"), estate.h("department", "cleaning")
    a = register(estate)["id"]
    b = register(estate, what="bins overflowing", category="cleaning")["id"]
    register(estate, what="not forwarded yet")
    estate.post(f"{BASE}/{a}/forward", json={"department": "engineering", "task": "t"}, headers=desk)
    estate.post(f"{BASE}/{b}/forward", json={"department": "cleaning", "task": "t"}, headers=desk)
    assert [c["id"] for c in estate.get(BASE, headers=eng).json()] == [a]
    assert [c["id"] for c in estate.get(f"{BASE}?department=cleaning", headers=eng).json()] == [a]  # still its own
    assert [c["id"] for c in estate.get(BASE, headers=clean).json()] == [b]
    assert len(estate.get(BASE, headers=desk).json()) == 3
    assert estate.get(f"{BASE}/{b}", headers=eng).status_code == 404
    assert estate.get(f"{BASE}/{b}/steps", headers=eng).status_code == 404
    listed = estate.get(BASE, headers=desk).json()
    assert {c["contact_phone"] for c in listed} == {"*******1234"} and all(c["contact_name"] is None for c in listed)
    assert estate.get(f"{BASE}/{a}", headers=eng).json()["contact_phone"] == "138 0000 1234"
    # roles without a part in complaints are refused
    assert estate.get(BASE, headers=estate.h("guard")).status_code == 403
    assert estate.post(BASE, json=complaint(), headers=eng).status_code == 403
    assert estate.post(f"{BASE}/report/2025-10/file", headers=desk).status_code == 403


def test_reading_a_closed_complaints_personal_data_outside_its_department_is_audited(estate):
    desk, eng, mgr = estate.h("clerk", name="li"), estate.h("department", "engineering"), estate.h("manager")
    cid = register(estate)["id"]
    for path, body, h in (("forward", {"department": "engineering", "task": "t"}, desk), ("sign", {}, eng),
                          ("resolve", {"result": "r"}, eng), ("tell", {"how": "phone"}, desk),
                          ("accept", {"accepted": True}, desk)):
        assert estate.post(f"{BASE}/{cid}/{path}", json=body, headers=h).status_code == 200
    estate.get(f"{BASE}/{cid}", headers=mgr)  # open still: not audited

    def reads() -> list[str]:
        with estate.store.read() as db:
            return [r[0] for r in db.execute("SELECT who FROM audit WHERE action = 'read_personal' ORDER BY id")]

    assert reads() == []
    estate.post(f"{BASE}/{cid}/close", json={}, headers=desk)
    estate.get(f"{BASE}/{cid}", headers=eng)  # its own department: not audited
    assert reads() == []
    estate.get(f"{BASE}/{cid}", headers=mgr)
    estate.get(f"{BASE}/{cid}", headers=desk)
    assert reads() == ["manager:t", "clerk:li"]


def test_bad_input_is_refused_plainly(estate):
    desk = estate.h("clerk")
    for body, rule in ((complaint(units=["Z-99-99"]), "unknown_unit"),
                       (complaint(channel="fax"), "bad_input"),
                       (complaint(severity="urgent"), "bad_input"),
                       (complaint(wanted_by="2025-11-01"), "wanted_by_past"),
                       (complaint(concerns_department="plumbing"), "unknown_department"),
                       (complaint(complainants=[{"unit": "B-01-01", "name": "x"}]), "complainant_unit")):
        r = estate.post(BASE, json=body, headers=desk)
        assert r.status_code == 422 and r.json()["error"] == rule, (body, r.text)
    with estate.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM complaints").fetchone()[0] == 0
    assert estate.get(f"{BASE}/999", headers=desk).status_code == 404
    assert estate.get(f"{BASE}?state=lost", headers=desk).json()["error"] == "unknown_state"

"""Each permit rule refuses by name and changes nothing; every move is audited; a worker's
card only with an approved permit, linked to it, listed with the permit's state."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from hub import housekeeping
from hub.gates import acl
from tests.permits.conftest import COMPANY_UNIT, NOT_HANDED_OVER, TODAY, application, worker_card

TABLES = ("permits", "permit_moves", "permit_cards", "audit", "cards", "card_moves", "acl_log")


def _counts(store) -> dict[str, int]:
    with store.read() as db:
        return {t: db.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in TABLES}


def _refused(estate, method: str, path: str, body: dict, rule: str, role: str = "clerk") -> dict:
    headers = estate.h(role)  # a token is made (and audited) before counting
    before = _counts(estate.store)
    r = estate.request(method, path, json=body, headers=headers)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == rule, r.text
    assert _counts(estate.store) == before, "a refusal changed something"
    return r.json()


def _permit(estate, body: dict | None = None) -> str:
    r = estate.post("/api/v1/permits", json=body or application(estate.owner_id), headers=estate.h("clerk"))
    assert r.status_code == 201, r.text
    return r.json()["permit_no"]


def _approved(estate) -> str:
    no = _permit(estate)
    assert estate.post(f"/api/v1/permits/{no}/approve", json={}, headers=estate.h("supervisor")).status_code == 200
    return no


def _drawings(**d) -> dict:
    return {"ref": "DWG-7", **d}


@pytest.mark.parametrize("case, change, rule", [
    ("not handed over", lambda b: {**b, "unit": NOT_HANDED_OVER}, "unit_not_handed_over"),
    ("unknown unit", lambda b: {**b, "unit": "Z-99-99"}, "unknown_unit"),
    ("drawings not approved", lambda b: {**b, "drawings": _drawings()}, "drawings_not_approved"),
    ("drawings approved by nobody", lambda b: {**b, "drawings": _drawings(approved_on=TODAY.isoformat())},
     "drawings_not_approved"),
    ("drawings approved in the future",
     lambda b: {**b, "drawings": _drawings(approved_by="Eng. Zhou", approved_on=(TODAY + timedelta(days=3)).isoformat())},
     "drawings_not_approved"),
    ("not the owner", lambda b: {**b, "applicant": {"name": "Chen Qi", "standing": "owner"}}, "applicant_not_owner"),
    ("agent without authorisation", lambda b: {**b, "applicant": {"name": "Chen Qi", "standing": "agent"}},
     "agent_authorisation_required"),
    ("company unit without letter", lambda b: {**b, "unit": COMPANY_UNIT,
                                              "applicant": {"name": "Li Si", "standing": "company"}},
     "company_letter_required"),
    ("company standing for a person's unit",
     lambda b: {**b, "applicant": {"name": "Chen Qi", "standing": "company", "company_letter_ref": "L-1"}},
     "standing_not_for_unit"),
    ("no deposit", lambda b: {k: v for k, v in b.items() if k != "deposit"}, "deposit_required"),
    ("no receipt", lambda b: {**b, "deposit": {"amount_cents": 100, "receipt_no": " "}}, "deposit_receipt_required"),
    ("period reversed", lambda b: {**b, "period_until": (TODAY - timedelta(days=1)).isoformat()}, "period_reversed"),
    ("hours reversed", lambda b: {**b, "hours": {"start": "18:00", "end": "08:00"}}, "hours_reversed"),
])
def test_an_application_against_a_rule_is_refused_by_name_and_changes_nothing(estate, case, change, rule):
    _refused(estate, "POST", "/api/v1/permits", change(application(estate.owner_id)), rule)


def test_an_agent_with_authorisation_and_a_company_with_its_letter_may_apply(estate):
    agent = application(estate.owner_id, applicant={"name": "Chen Qi", "standing": "agent", "authorisation_ref": "AU-1"})
    assert _permit(estate, agent)
    company = application(estate.owner_id, unit=COMPANY_UNIT,
                          applicant={"name": "Li Si", "standing": "company", "company_letter_ref": "CL-9"})
    assert _permit(estate, company)
    # one open permit per unit
    _refused(estate, "POST", "/api/v1/permits", application(estate.owner_id), "permit_open_for_unit")


def test_no_worker_pass_before_approval_and_none_for_someone_not_on_the_permit(estate):
    no = _permit(estate)
    until = datetime.now(timezone.utc) + timedelta(days=5)
    _refused(estate, "POST", "/api/v1/cards", worker_card("0C0FFEE0", no, until), "permit_not_approved")
    _refused(estate, "POST", "/api/v1/cards", worker_card("0C0FFEE0", "RP-1999-0001", until), "unknown_permit")
    estate.post(f"/api/v1/permits/{no}/approve", json={}, headers=estate.h("clerk"))
    _refused(estate, "POST", "/api/v1/cards", worker_card("0C0FFEE0", no, until, name="Someone Else"),
             "worker_not_on_permit")
    _refused(estate, "POST", "/api/v1/cards", worker_card("0C0FFEE0", no, until + timedelta(days=60)),
             "validity_beyond_permit")
    _refused(estate, "POST", "/api/v1/cards", {**worker_card("0C0FFEE0", no, until), "permit_no": None},
             "permit_required")
    r = estate.post("/api/v1/cards", json=worker_card("0C0FFEE0", no, until), headers=estate.h("clerk"))
    assert r.status_code == 201, r.text
    with estate.store.read() as db:
        assert db.execute("SELECT p.permit_no FROM permit_cards c JOIN permits p ON p.id = c.permit_id"
                          " WHERE c.uid = '0C0FFEE0'").fetchone()[0] == no


def test_stopping_work_needs_engineering(estate):
    no = _approved(estate)
    _refused(estate, "POST", f"/api/v1/permits/{no}/suspend", {"reason": "load-bearing wall cut"},
             "engineering_approval_required", role="supervisor")
    headers = estate.h("clerk")
    before = _counts(estate.store)
    r = estate.post(f"/api/v1/permits/{no}/suspend", json={"reason": "noise"}, headers=headers)
    assert r.status_code == 422 and _counts(estate.store) == before
    assert estate.get(f"/api/v1/permits/{no}", headers=estate.h("clerk")).json()["state"] == "approved"
    # recorded approval from the department
    r = estate.post(f"/api/v1/permits/{no}/suspend", headers=estate.h("clerk"),
                    json={"reason": "wall cut", "engineering_approval": {"by": "Eng. Zhou", "on": TODAY.isoformat()}})
    assert r.status_code == 200, r.text
    assert r.json()["suspension"]["engineering_by"] == "Eng. Zhou"
    assert estate.post(f"/api/v1/permits/{no}/resume", json={}, headers=estate.h("clerk")).json()["state"] == "approved"
    # the department itself
    r = estate.post(f"/api/v1/permits/{no}/suspend", json={"reason": "wall cut"}, headers=estate.h("engineering"))
    assert r.status_code == 200, r.text
    assert r.json()["state"] == "suspended" and r.json()["suspension"]["engineering_by"].startswith("engineering:")
    _refused(estate, "POST", f"/api/v1/permits/{no}/suspend", {"reason": "again"}, "not_in_state", role="engineering")


def test_the_whole_life_of_a_permit_is_audited_and_each_wrong_move_refused(estate):
    no = _permit(estate)
    _refused(estate, "POST", f"/api/v1/permits/{no}/extend",
             {"document_no": f"{no}/1", "period_until": (TODAY + timedelta(days=60)).isoformat()}, "not_in_state")
    estate.post(f"/api/v1/permits/{no}/approve", json={}, headers=estate.h("clerk"))
    uid = "0C0FFEE1"
    until = datetime.now(timezone.utc) + timedelta(days=5)
    assert estate.post("/api/v1/cards", json=worker_card(uid, no, until), headers=estate.h("clerk")).status_code == 201
    later = (TODAY + timedelta(days=60)).isoformat()
    _refused(estate, "POST", f"/api/v1/permits/{no}/extend", {"document_no": None, "period_until": later},
             "permit_document_required")
    _refused(estate, "POST", f"/api/v1/permits/{no}/extend",
             {"document_no": f"{no}/1", "period_until": TODAY.isoformat()}, "extension_not_later")
    _refused(estate, "POST", f"/api/v1/permits/{no}/report-lost", {}, "loss_declaration_required")
    _refused(estate, "POST", f"/api/v1/permits/{no}/reissue", {}, "permit_document_not_lost")
    lost = estate.post(f"/api/v1/permits/{no}/report-lost", json={"loss_declaration_ref": "LD-3"},
                       headers=estate.h("clerk")).json()
    assert lost["document"]["lost"] is True
    _refused(estate, "POST", f"/api/v1/permits/{no}/extend", {"document_no": f"{no}/1", "period_until": later},
             "permit_document_lost")
    assert estate.post(f"/api/v1/permits/{no}/reissue", json={}, headers=estate.h("clerk")).json()["document"] \
        == {"copy": 2, "number": f"{no}/2", "lost": False, "loss_declaration_ref": "LD-3"}
    _refused(estate, "POST", f"/api/v1/permits/{no}/extend", {"document_no": f"{no}/1", "period_until": later},
             "permit_document_required")  # the lost copy no longer counts
    r = estate.post(f"/api/v1/permits/{no}/extend", json={"document_no": f"{no}/2", "period_until": later},
                    headers=estate.h("clerk"))
    assert r.status_code == 200 and r.json()["period_until"] == later
    card = estate.get(f"/api/v1/cards/{uid}", headers=estate.h("clerk")).json()
    assert card["valid_until"].startswith(later), "the worker's card follows the permit's new end"
    _refused(estate, "POST", f"/api/v1/permits/{no}/exit", {"inspected_by": "Eng. Zhou"}, "inspection_required")
    _refused(estate, "POST", f"/api/v1/permits/{no}/exit", {"inspected_by": "Eng. Zhou", "inspection": "ok"},
             "refund_date_required")
    _refused(estate, "POST", f"/api/v1/permits/{no}/exit",
             {"inspected_by": "Eng. Zhou", "inspection": "door frame cracked", "deductions_cents": 30000,
              "refund_on": TODAY.isoformat()}, "deduction_reason_required")
    _refused(estate, "POST", f"/api/v1/permits/{no}/exit",
             {"inspected_by": "Eng. Zhou", "inspection": "x", "deductions_cents": 300000, "deduction_reason": "all"},
             "deductions_over_deposit")
    done = estate.post(f"/api/v1/permits/{no}/exit", headers=estate.h("clerk"), json={
        "inspected_by": "Eng. Zhou", "inspection": "door frame cracked", "deductions_cents": 30000,
        "deduction_reason": "stairwell door frame", "refund_on": (TODAY + timedelta(days=15)).isoformat()}).json()
    assert done["state"] == "ended" and done["end_reason"] == "exited"
    assert done["passes_out"] == [uid], "the pass not yet returned is listed at exit"
    assert done["deposit"]["deductions_cents"] == 30000 and done["deposit"]["refund_on"]
    assert done["site_manager"]["phone"] == "138****8000" and done["workers"][0]["id_doc_tail"] == "1234"
    _refused(estate, "POST", f"/api/v1/permits/{no}/resume", {}, "not_in_state")
    with estate.store.read() as db:
        audited = [r[0] for r in db.execute("SELECT action FROM audit WHERE entity = 'permit' AND entity_id = ?"
                                            " ORDER BY id", [no])]
        text = " ".join(r[0] for r in db.execute("SELECT detail FROM audit WHERE entity = 'permit'"))
    assert audited == ["apply", "approve", "report_lost", "reissue", "extend", "exit"]
    assert "110101199001011234" not in text and "13800138000" not in text, "no ID or phone in the audit"
    history = estate.get(f"/api/v1/permits/{no}/history", headers=estate.h("guard")).json()["items"]
    assert [h["move"] for h in history] == audited
    assert history[-1]["detail"]["passes_out"] == [uid]


def _listed(store, uid: str) -> str | None:
    with store.read() as db:
        row = db.execute("SELECT entry FROM acl_state WHERE gate_id = 'north' AND uid = ?", [uid]).fetchone()
    return json.loads(row[0])["status"] if row else None


def test_the_gates_list_says_the_permits_state_and_housekeeping_ends_a_permit_past_its_period(estate):
    with estate.store.tx() as db:
        acl.ensure_gate(db, "north")
    no = _approved(estate)
    until = datetime.now(timezone.utc) + timedelta(days=5)
    estate.post("/api/v1/cards", json=worker_card("0C0FFEE2", no, until), headers=estate.h("clerk"))  # expires before its permit
    estate.post("/api/v1/cards", json=worker_card("0C0FFEE3", no, until, name="Zhao Liu"), headers=estate.h("clerk"))
    assert _listed(estate.store, "0C0FFEE2") == "active"
    estate.post(f"/api/v1/permits/{no}/suspend", json={"reason": "x"}, headers=estate.h("engineering"))
    assert {_listed(estate.store, u) for u in ("0C0FFEE2", "0C0FFEE3")} == {"permit_suspended"}
    with estate.store.read() as db:
        assert db.execute("SELECT status FROM cards WHERE uid = '0C0FFEE2'").fetchone()[0] == "active", \
            "the card's own status is untouched"
    estate.post(f"/api/v1/permits/{no}/resume", json={}, headers=estate.h("clerk"))
    assert _listed(estate.store, "0C0FFEE2") == "active"
    # a lost card says lost, whatever its permit
    assert estate.post("/api/v1/cards/0C0FFEE3/report_lost", json={"reason": "dropped"},
                       headers=estate.h("clerk")).status_code == 200
    housekeeping.run_once(estate.store, now=datetime.now(timezone.utc) + timedelta(days=2))
    assert _listed(estate.store, "0C0FFEE2") == "active", "not past its period yet"
    result = housekeeping.run_once(estate.store, now=datetime.now(timezone.utc) + timedelta(days=32))
    assert result["permits_ended"] == 1
    permit = estate.get(f"/api/v1/permits/{no}", headers=estate.h("clerk")).json()
    assert (permit["state"], permit["end_reason"]) == ("ended", "expired")
    assert _listed(estate.store, "0C0FFEE2") == "permit_ended"
    assert _listed(estate.store, "0C0FFEE3") == "lost"

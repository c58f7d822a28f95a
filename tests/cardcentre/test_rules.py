"""The issue rules per card type (hub.cards.rules.check_issue), each refusal by its rule."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.cards import moves
from hub.cards.rules import check_issue
from hub.errors import RuleViolation
from hub.people.registry import PersonIn, UnitIn, add_person, add_unit

from .conftest import CLERK, T0, issue, request_for, status


def _check(store, req):
    with store.read() as db:
        check_issue(db, req, now=T0)


def _rule(store, req) -> str:
    with pytest.raises(RuleViolation) as err:
        _check(store, req)
    return err.value.rule


def _without(req, *keys):
    return {k: v for k, v in req.items() if k not in keys}


@pytest.mark.parametrize("card_type", ["owner", "resident", "tenant", "domestic_helper", "temporary", "renovation_worker"])
def test_a_complete_request_of_each_type_passes_and_issues(store, card_type):
    issue(store, "CAFEAB01", card_type)
    assert status(store, "CAFEAB01") == "active"


CASES = [
    ("tenant without tenancy end", "tenant", lambda r: _without(r, "tenancy_end"), "tenancy_end_required"),
    ("tenant not registered with police", "tenant", lambda r: _without(r, "police_registration_no"), "police_registration_required"),
    ("tenant card outlasting the tenancy", "tenant",
     lambda r: {**r, "tenancy_end": (T0 + timedelta(days=30)).date().isoformat()}, "validity_beyond_tenancy"),
    ("tenancy already over", "tenant", lambda r: {**r, "tenancy_end": "2026-01-31"}, "tenancy_ended"),
    ("tenancy reversed", "tenant", lambda r: {**r, "tenancy_start": "2027-12-01"}, "tenancy_reversed"),
    ("tenant card with no end", "tenant", lambda r: _without(r, "valid_until"), "validity_end_required"),
    ("tenant without deposit", "tenant", lambda r: _without(r, "deposit"), "deposit_required"),
    ("deposit without receipt", "tenant", lambda r: {**r, "deposit": {"amount_cents": 100, "receipt_no": " "}}, "deposit_receipt_required"),
    ("temporary without end", "temporary", lambda r: _without(r, "valid_until"), "validity_end_required"),
    ("temporary ending in the past", "temporary", lambda r: {**r, "valid_until": (T0 - timedelta(days=1)).isoformat()}, "validity_in_past"),
    ("renovation without permit", "renovation_worker", lambda r: _without(r, "permit_no"), "permit_required"),
    ("renovation without permit end", "renovation_worker", lambda r: _without(r, "permit_until"), "permit_required"),
    ("renovation permit expired", "renovation_worker", lambda r: {**r, "permit_until": "2026-02-01"}, "permit_expired"),
    ("renovation card outlasting the permit", "renovation_worker",
     lambda r: {**r, "permit_until": (T0 + timedelta(days=10)).date().isoformat()}, "validity_beyond_permit"),
    ("owner card with a deposit", "owner", lambda r: {**r, "deposit": {"amount_cents": 100, "receipt_no": "R"}}, "deposit_not_taken"),
    ("owner card without a unit", "owner", lambda r: {**r, "holder": {"name": "X", "unit": ""}}, "unit_required"),
    ("agent without authorisation", "owner", lambda r: {**r, "applicant": "agent"}, "agent_authorisation_required"),
    ("validity reversed", "owner", lambda r: {**r, "valid_from": (T0 + timedelta(days=2)).isoformat(),
                                              "valid_until": (T0 + timedelta(days=1)).isoformat()}, "validity_reversed"),
]


@pytest.mark.parametrize("what,card_type,change,rule", CASES, ids=[c[0] for c in CASES])
def test_refusals_name_their_rule(store, what, card_type, change, rule):
    req = change(request_for("CAFEAB02", card_type))
    assert _rule(store, req) == rule
    with pytest.raises(RuleViolation):
        moves.issue_card(store, CLERK, req, at=T0)
    with store.read() as db:
        assert db["cards"].count == 0 and db["card_moves"].count == 0


def test_agent_with_authorisation_passes(store):
    _check(store, {**request_for("CAFEAB03"), "applicant": "agent", "authorisation_ref": "AUTH-9"})


@pytest.fixture
def register(store):
    add_unit(store, CLERK, UnitIn(building="A", floor=12, room="03", move_in_date=date(2020, 1, 1)))
    add_unit(store, CLERK, UnitIn(building="B", floor=1, room="01", owner_kind="company"))
    add_unit(store, CLERK, UnitIn(building="C", floor=2, room="02", handed_over=False))
    return store


def test_with_a_units_register_unknown_units_are_refused(register):
    assert _rule(register, request_for("CAFEAB04", unit="Z-99-99")) == "unknown_unit"
    _check(register, request_for("CAFEAB04", unit="A-12-03"))


def test_company_owned_unit_needs_the_company_letter(register):
    assert _rule(register, request_for("CAFEAB05", unit="B-01-01")) == "company_letter_required"
    _check(register, {**request_for("CAFEAB05", unit="B-01-01"), "company_letter_ref": "CL-2026-4"})


def test_helper_is_tied_to_a_household_that_lives_here(register):
    assert _rule(register, request_for("CAFEAB06", "domestic_helper", unit="C-02-02")) == "unknown_household"
    _check(register, request_for("CAFEAB06", "domestic_helper", unit="A-12-03"))
    assert _rule(register, {**request_for("CAFEAB06", "domestic_helper", unit="A-12-03"), "employer_unit": "C-02-02"}) == "unknown_household"


def test_no_renovation_pass_for_a_unit_not_handed_over(register):
    assert _rule(register, request_for("CAFEAB07", "renovation_worker", unit="C-02-02")) == "unit_not_handed_over"


def test_tenancy_and_police_registration_come_from_the_register(register):
    end = (T0 + timedelta(days=200)).date()
    p = add_person(register, CLERK, PersonIn(name="Li Tenant", role="tenant", unit="A-12-03",
                                             tenancy_end=end, police_registration_no="PR-555"))
    req = _without(request_for("CAFEAB08", "tenant"), "tenancy_end", "police_registration_no")
    req["holder"] = {"name": "Li Tenant", "unit": "A-12-03"}
    assert _rule(register, req) == "tenancy_end_required"
    _check(register, {**req, "person_id": p["id"]})
    assert _rule(register, {**req, "person_id": 9999}) == "unknown_person"

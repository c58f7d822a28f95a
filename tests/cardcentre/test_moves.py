"""Every card move, the allowed ones and the refused ones, through the service and a real
SQLite file: each refusal names its rule and changes nothing."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from hub.cards import moves
from hub.cards.lifecycle import FINAL, Move, allowed_moves, next_status
from hub.errors import BadInput, DomainError, RuleViolation
from hub.stock import ledger
from protocols.cards import CardStatus as S

from .conftest import CLERK, T0, count, gate_holds, issue, request_for, status


# --- the lifecycle table itself ------------------------------------------------------------

EXPECTED = {  # what the estate's procedures say, written out independently of lifecycle.py
    (S.IN_STOCK, Move.ISSUE): S.ACTIVE,
    (S.PERSONALISED, Move.ISSUE): S.ACTIVE,
    (S.IN_STOCK, Move.PERSONALISE): S.PERSONALISED,
    (S.ACTIVE, Move.SUSPEND): S.SUSPENDED,
    (S.SUSPENDED, Move.RESUME): S.ACTIVE,
    (S.ACTIVE, Move.REPORT_LOST): S.LOST,
    (S.SUSPENDED, Move.REPORT_LOST): S.LOST,
    (S.ACTIVE, Move.RETURN): S.RETURNED,
    (S.RETURNED, Move.REFUND_DEPOSIT): S.RETURNED,
    (S.RETURNED, Move.RESTOCK): S.IN_STOCK,
    (S.ACTIVE, Move.DAMAGE): S.SCRAPPED,
    (S.IN_STOCK, Move.SCRAP): S.SCRAPPED,
    (S.RETURNED, Move.SCRAP): S.SCRAPPED,
    (S.ACTIVE, Move.EXPIRE): S.EXPIRED,
    (S.EXPIRED, Move.RENEW): S.ACTIVE,
    (S.ACTIVE, Move.REVOKE): S.REVOKED,
}

MUST_REFUSE = {  # (status, move): rule
    (S.LOST, Move.RESUME): "lost_card_final",
    (S.LOST, Move.ISSUE): "lost_card_final",
    (S.LOST, Move.RETURN): "lost_card_final",
    (S.LOST, Move.RENEW): "lost_card_final",
    (S.SCRAPPED, Move.ISSUE): "scrapped_card_final",
    (S.ACTIVE, Move.RESUME): "resume_from_active",
    (S.ACTIVE, Move.ISSUE): "issue_from_active",
    (S.ACTIVE, Move.SCRAP): "scrap_from_active",
    (S.ACTIVE, Move.REFUND_DEPOSIT): "refund_deposit_from_active",
    (S.RETURNED, Move.RESUME): "resume_from_returned",
    (S.IN_STOCK, Move.SUSPEND): "suspend_from_in_stock",
    (S.REVOKED, Move.RESUME): "resume_from_revoked",
}


@pytest.mark.parametrize("current,move", sorted(EXPECTED, key=str))
def test_the_estate_moves_are_allowed(current, move):
    assert next_status(current, move) == EXPECTED[(current, move)]


@pytest.mark.parametrize("current,move", sorted(MUST_REFUSE, key=str))
def test_forbidden_moves_name_their_rule(current, move):
    with pytest.raises(RuleViolation) as err:
        next_status(current, move)
    assert err.value.rule == MUST_REFUSE[(current, move)]


@pytest.mark.parametrize("current", list(S))
def test_every_refusal_in_the_whole_table_names_a_rule(current):
    for move in Move:
        if move in allowed_moves(current):
            assert isinstance(next_status(current, move), S)
            continue
        with pytest.raises(RuleViolation) as err:
            next_status(current, move)
        assert err.value.rule == FINAL.get(current, f"{move.value}_from_{current.value}")
        assert err.value.rule != "rule_violation"


def test_lost_and_scrapped_are_final():
    """No move takes a lost or scrapped card anywhere; only its deposit may still be settled."""
    assert allowed_moves(S.LOST) == [Move.FORFEIT_DEPOSIT] and allowed_moves(S.SCRAPPED) == [Move.FORFEIT_DEPOSIT]
    for final in FINAL:
        assert all(next_status(final, m) == final for m in allowed_moves(final))


# --- each move through the service -----------------------------------------------------------

def _moves_of(store, uid):
    return moves.history(store, uid)


def _audit(store, uid):
    with store.read() as db:
        return list(db.query("SELECT who, action, reason FROM audit WHERE entity = 'card' AND entity_id = ? ORDER BY id", [uid]))


def _refused(store, rule, fn, *args, **kwargs):
    """Calls fn, expects a refusal naming ``rule``, and checks nothing was written."""
    before = (count(store, "card_moves"), count(store, "stock_ledger"), count(store, "audit"), count(store, "card_deposits"))
    with store.read() as db:
        cards_before = list(db.query("SELECT * FROM cards ORDER BY uid"))
    with pytest.raises(DomainError) as err:
        fn(*args, **kwargs)
    assert err.value.rule == rule, err.value.detail
    after = (count(store, "card_moves"), count(store, "stock_ledger"), count(store, "audit"), count(store, "card_deposits"))
    with store.read() as db:
        assert list(db.query("SELECT * FROM cards ORDER BY uid")) == cards_before
    assert after == before
    return err.value


def test_issue_records_the_move_the_stock_and_the_gate(store):
    ledger.receive_delivery(store, CLERK, "owner", 5, "DN-1", at=T0 - timedelta(days=1))
    r = issue(store, "CAFE0A01")
    assert (r.from_status, r.to_status) == (None, "active")
    [row] = _moves_of(store, "CAFE0A01")
    assert (row["move"], row["who"], row["to_status"]) == ("issue", CLERK, "active")
    assert row["at"].startswith("2026-03-02T09:00")
    with store.read() as db:
        assert ledger.in_stock(db) == {"owner": 4}
    assert gate_holds(store, "CAFE0A01") == "active"
    assert [a["action"] for a in _audit(store, "CAFE0A01")] == ["issue"]


def test_suspend_needs_a_reason_then_resume(store):
    issue(store, "CAFE0A02")
    _refused(store, "reason_required", moves.suspend, store, CLERK, "CAFE0A02", "  ")
    r = moves.suspend(store, CLERK, "cafe:0a:02", "holder abroad for six months")
    assert (r.from_status, r.to_status) == ("active", "suspended")
    assert gate_holds(store, "CAFE0A02") == "suspended"
    _refused(store, "suspend_from_suspended", moves.suspend, store, CLERK, "CAFE0A02", "again")
    moves.resume(store, CLERK, "CAFE0A02", "holder back")
    assert status(store, "CAFE0A02") == "active" and gate_holds(store, "CAFE0A02") == "active"
    _refused(store, "resume_from_active", moves.resume, store, CLERK, "CAFE0A02")
    assert [m["move"] for m in _moves_of(store, "CAFE0A02")] == ["issue", "suspend", "resume"]
    assert _moves_of(store, "CAFE0A02")[1]["reason"] == "holder abroad for six months"


def test_lost_card_is_blocked_at_once_replaced_and_never_accepted_again(store):
    issue(store, "CAFE0B01", "tenant")
    r = moves.report_lost(store, CLERK, "CAFE0B01", "lost on the bus", replacement_uid="CAFE0B02", fee_cents=2000,
                          receipt_no="F-77", at=T0 + timedelta(days=3))
    assert (r.to_status, r.replacement_uid, r.amount_cents) == ("lost", "CAFE0B02", 2000)
    assert gate_holds(store, "CAFE0B01") == "lost"
    assert status(store, "CAFE0B02") == "active" and gate_holds(store, "CAFE0B02") == "active"
    with store.read() as db:
        new = list(db.query("SELECT * FROM cards WHERE uid = 'CAFE0B02'"))[0]
        old = list(db.query("SELECT * FROM cards WHERE uid = 'CAFE0B01'"))[0]
    assert (new["holder_name"], new["holder_unit"], new["card_type"], new["valid_until"]) == \
        (old["holder_name"], old["holder_unit"], old["card_type"], old["valid_until"])
    lost_row = _moves_of(store, "CAFE0B01")[-1]
    assert (lost_row["amount_cents"], lost_row["receipt_no"], lost_row["related_uid"]) == (2000, "F-77", "CAFE0B02")
    # the old UID: no resume, no return, no renew, no issue, not even to someone else
    _refused(store, "lost_card_final", moves.resume, store, CLERK, "CAFE0B01")
    _refused(store, "lost_card_final", moves.return_card, store, CLERK, "CAFE0B01")
    _refused(store, "lost_card_final", moves.renew, store, CLERK, "CAFE0B01", (T0 + timedelta(days=30)).isoformat(), at=T0)
    _refused(store, "lost_card_final", moves.issue_card, store, CLERK, {**request_for("CAFE0B01"), "holder": {"name": "Finder", "unit": "A-12-03"}}, at=T0)
    # the deposit went with the holder to the new card
    _refused(store, "deposit_transferred", moves.refund_deposit, store, CLERK, "CAFE0B01", "R-CAFE0B01")
    assert moves.deposit_of(store, "CAFE0B02")["receipt_no"] == "R-CAFE0B01"
    moves.return_card(store, CLERK, "CAFE0B02", refund=True, receipt_no="R-CAFE0B01", at=T0 + timedelta(days=9))
    assert moves.deposit_of(store, "CAFE0B02")["refunded_at"] is not None


def test_replacing_the_lost_card_with_itself_is_refused(store):
    issue(store, "CAFE0B05")
    _refused(store, "replacement_same_uid", moves.report_lost, store, CLERK, "CAFE0B05", "lost", replacement_uid="cafe0b05")


def test_a_replacement_uid_in_use_is_refused_and_the_loss_is_not_half_done(store):
    issue(store, "CAFE0B06")
    issue(store, "CAFE0B07")
    _refused(store, "card_already_active", moves.report_lost, store, CLERK, "CAFE0B06", "lost", replacement_uid="CAFE0B07")
    assert status(store, "CAFE0B06") == "active"


def test_return_refunds_the_deposit_once_against_its_receipt(store):
    issue(store, "CAFE0C01", "tenant")
    _refused(store, "deposit_receipt_mismatch", moves.return_card, store, CLERK, "CAFE0C01", refund=True, receipt_no="R-WRONG")
    assert status(store, "CAFE0C01") == "active"
    r = moves.return_card(store, CLERK, "CAFE0C01", refund=True, receipt_no="R-CAFE0C01", reason="moved out")
    assert (r.to_status, r.amount_cents) == ("returned", -10000)
    assert gate_holds(store, "CAFE0C01") == "returned"
    _refused(store, "deposit_already_refunded", moves.refund_deposit, store, CLERK, "CAFE0C01", "R-CAFE0C01")
    row = _moves_of(store, "CAFE0C01")[-1]
    assert (row["move"], row["amount_cents"], row["receipt_no"], row["who"]) == ("return", -10000, "R-CAFE0C01", CLERK)


def test_a_deposit_refunded_later_is_refunded_once(store):
    issue(store, "CAFE0C02", "temporary")
    moves.return_card(store, CLERK, "CAFE0C02")
    r = moves.refund_deposit(store, CLERK, "CAFE0C02", "R-CAFE0C02")
    assert r.amount_cents == -5000 and status(store, "CAFE0C02") == "returned"
    _refused(store, "deposit_already_refunded", moves.refund_deposit, store, CLERK, "CAFE0C02", "R-CAFE0C02")
    _refused(store, "return_from_returned", moves.return_card, store, CLERK, "CAFE0C02", refund=True, receipt_no="R-CAFE0C02")


def test_no_deposit_no_refund(store):
    issue(store, "CAFE0C03", "owner")
    _refused(store, "no_deposit", moves.return_card, store, CLERK, "CAFE0C03", refund=True, receipt_no="X")
    moves.return_card(store, CLERK, "CAFE0C03")
    _refused(store, "no_deposit", moves.refund_deposit, store, CLERK, "CAFE0C03", "X")


def test_returned_card_back_to_stock_and_issued_again(store):
    ledger.receive_delivery(store, CLERK, "owner", 1, "DN-1", at=T0 - timedelta(days=1))
    issue(store, "CAFE0D01", "owner")
    _refused(store, "restock_from_active", moves.restock, store, CLERK, "CAFE0D01")
    moves.return_card(store, CLERK, "CAFE0D01", at=T0 + timedelta(days=1))
    moves.restock(store, CLERK, "CAFE0D01", at=T0 + timedelta(days=1))
    assert status(store, "CAFE0D01") == "in_stock"
    assert gate_holds(store, "CAFE0D01") is None  # a card in the drawer is on no gate's list
    with store.read() as db:
        card = list(db.query("SELECT * FROM cards WHERE uid = 'CAFE0D01'"))[0]
        assert card["holder_name"] is None
        assert ledger.in_stock(db) == {"owner": 1}
    issue(store, "CAFE0D01", "owner", at=T0 + timedelta(days=2))
    assert status(store, "CAFE0D01") == "active"
    with store.read() as db:
        assert ledger.in_stock(db) == {"owner": 0}


def test_damaged_card_is_scrapped_and_replaced_with_its_deposit(store):
    ledger.receive_delivery(store, CLERK, "renovation_worker", 2, "DN-1", at=T0 - timedelta(days=1))
    issue(store, "CAFE0E01", "renovation_worker")
    _refused(store, "reason_required", moves.damage, store, CLERK, "CAFE0E01", None, replacement_uid="CAFE0E02")
    r = moves.damage(store, CLERK, "CAFE0E01", "cracked", replacement_uid="CAFE0E02", at=T0 + timedelta(days=1))
    assert (r.to_status, r.replacement_uid) == ("scrapped", "CAFE0E02")
    assert gate_holds(store, "CAFE0E01") == "scrapped"
    _refused(store, "deposit_transferred", moves.refund_deposit, store, CLERK, "CAFE0E01", "R-CAFE0E01")
    _refused(store, "scrapped_card_final", moves.resume, store, CLERK, "CAFE0E01")
    with store.read() as db:
        kinds = [r["kind"] for r in db.query("SELECT kind FROM stock_ledger ORDER BY id")]
    assert kinds == ["purchased", "personalised", "retired", "personalised"]
    moves.return_card(store, CLERK, "CAFE0E02", refund=True, receipt_no="R-CAFE0E01", at=T0 + timedelta(days=2))


def test_scrap_only_what_is_not_in_use(store):
    issue(store, "CAFE0F01")
    _refused(store, "scrap_from_active", moves.scrap, store, CLERK, "CAFE0F01", "worn")
    moves.return_card(store, CLERK, "CAFE0F01")
    _refused(store, "reason_required", moves.scrap, store, CLERK, "CAFE0F01", "")
    moves.scrap(store, CLERK, "CAFE0F01", "chip dead")
    assert status(store, "CAFE0F01") == "scrapped"
    _refused(store, "unknown_card", moves.scrap, store, CLERK, "CAFE0F99", "x")


def test_expiry_and_renewal(store):
    issue(store, "CAFE1001", "temporary")  # valid 7 days from T0
    assert moves.expire_due(store, now=T0 + timedelta(days=1)) == []
    assert moves.expire_due(store, now=T0 + timedelta(days=8)) == ["CAFE1001"]
    assert status(store, "CAFE1001") == "expired" and gate_holds(store, "CAFE1001") == "expired"
    _refused(store, "renew_into_past", moves.renew, store, CLERK, "CAFE1001", (T0 + timedelta(days=2)).isoformat(),
             at=T0 + timedelta(days=8))
    until = (T0 + timedelta(days=20)).isoformat()
    moves.renew(store, CLERK, "CAFE1001", until, "stay extended", at=T0 + timedelta(days=8))
    assert status(store, "CAFE1001") == "active"
    with store.read() as db:
        entry = json.loads(list(db.query("SELECT entry FROM acl_state WHERE uid = 'CAFE1001'"))[0]["entry"])
    assert entry["valid_until"].startswith((T0 + timedelta(days=20)).strftime("%Y-%m-%dT%H:%M"))


def test_revoke_then_return(store):
    issue(store, "CAFE1101", "tenant")
    moves.revoke(store, CLERK, "CAFE1101", "tenancy cancelled")
    assert gate_holds(store, "CAFE1101") == "revoked"
    _refused(store, "resume_from_revoked", moves.resume, store, CLERK, "CAFE1101")
    moves.return_card(store, CLERK, "CAFE1101", refund=True, receipt_no="R-CAFE1101")
    assert status(store, "CAFE1101") == "returned"


def test_tenant_card_without_tenancy_end_is_refused_and_nothing_is_written(store):
    req = request_for("CAFE1201", "tenant")
    del req["tenancy_end"]
    err = _refused(store, "tenancy_end_required", moves.issue_card, store, CLERK, req, at=T0)
    assert isinstance(err, RuleViolation)
    with store.read() as db:
        assert db["cards"].count == 0


def test_bad_uid_is_bad_input(store):
    with pytest.raises(BadInput) as err:
        moves.suspend(store, CLERK, "not-hex", "x")
    assert err.value.rule == "bad_uid"


def test_personalised_then_handed_over(store):
    ledger.receive_delivery(store, CLERK, "tenant", 1, "DN-1", at=T0 - timedelta(days=1))
    req = request_for("CAFE1301", "tenant")
    r = moves.personalise_card(store, CLERK, {k: v for k, v in req.items() if k != "deposit"}, at=T0)
    assert (r.from_status, r.to_status) == (None, "personalised")
    assert gate_holds(store, "CAFE1301") == "personalised"  # listed, and denied as not issued
    with store.read() as db:
        assert ledger.in_stock(db) == {"tenant": 0}  # it left the drawer when it was made
    _refused(store, "deposit_required", moves.issue_card, store, CLERK, {k: v for k, v in req.items() if k != "deposit"}, at=T0)
    _refused(store, "personalise_from_personalised", moves.personalise_card, store, CLERK, req, at=T0)
    r = moves.issue_card(store, CLERK, req, at=T0 + timedelta(hours=1))
    assert (r.from_status, r.to_status, r.amount_cents) == ("personalised", "active", 10000)
    with store.read() as db:
        assert ledger.in_stock(db) == {"tenant": 0}  # handing over takes nothing more from stock
    assert [m["move"] for m in _moves_of(store, "CAFE1301")] == ["personalise", "issue"]


def test_a_personalised_card_never_handed_over_is_scrapped_not_from_stock(store):
    ledger.receive_delivery(store, CLERK, "owner", 1, "DN-1", at=T0 - timedelta(days=1))
    moves.personalise_card(store, CLERK, request_for("CAFE1302"), at=T0)
    _refused(store, "personalise_from_personalised", moves.personalise_card, store, CLERK, request_for("CAFE1302"), at=T0)
    moves.scrap(store, CLERK, "CAFE1302", "name misspelt on the print")
    with store.read() as db:
        assert [r["kind"] for r in db.query("SELECT kind FROM stock_ledger ORDER BY id")] == \
            ["purchased", "personalised", "retired"]


def test_a_tenant_must_still_qualify_to_have_a_card_made(store):
    req = request_for("CAFE1303", "tenant")
    del req["police_registration_no"]
    _refused(store, "police_registration_required", moves.personalise_card, store, CLERK, req, at=T0)

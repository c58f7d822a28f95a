"""The rules that keep the card centre's books true (hub.cards.books, hub.cards.rules): each
refused with its rule's name, and each refusal leaves every row of the cards, the moves, the
stock ledger, the deposits and the audit exactly as it was."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.cards import moves
from hub.errors import DomainError
from hub.people.registry import PersonIn, UnitIn, add_person, add_unit
from hub.stock import ledger

from .conftest import CLERK, T0, issue, request_for, status

SUPERVISOR = "supervisor:li"
DAY = timedelta(days=1)
TABLES = ("cards", "card_moves", "stock_ledger", "card_deposits", "audit")


def rows(store) -> dict[str, list[dict]]:
    with store.read() as db:
        return {t: list(db.query(f"SELECT * FROM {t} ORDER BY rowid")) for t in TABLES}


def refused(store, rule: str, fn, *args, **kwargs) -> DomainError:
    """``fn`` is refused naming ``rule``, and no row of the books changed."""
    before = rows(store)
    with pytest.raises(DomainError) as err:
        fn(*args, **kwargs)
    assert err.value.rule == rule, err.value.detail
    assert rows(store) == before, f"refusal {rule} changed the database"
    return err.value


def deliver(store, card_type: str, qty: int, at=T0 - DAY) -> None:
    ledger.receive_delivery(store, CLERK, card_type, qty, f"DN-{card_type}-{qty}", at=at)


def stock(store) -> dict[str, int]:
    with store.read() as db:
        return ledger.in_stock(db)


# --- 1. no card without a blank of its type in stock --------------------------------------


def test_before_its_first_count_a_type_issues_and_books_nothing(store):
    issue(store, "C1000001", "owner")
    issue(store, "C1000002", "tenant")
    assert status(store, "C1000001") == "active" and stock(store) == {}
    deliver(store, "owner", 2, at=T0 + DAY)
    assert stock(store) == {"owner": 2}  # the drawer's real count, not one below it


def test_a_counted_type_never_goes_below_zero(store):
    deliver(store, "owner", 1)
    issue(store, "C1000011", "owner")
    assert stock(store) == {"owner": 0}
    refused(store, "no_blank_in_stock", issue, store, "C1000012", "owner")
    refused(store, "no_blank_in_stock", moves.personalise_card, store, CLERK, request_for("C1000012"), at=T0)
    # a replacement is a card made from a blank as well
    refused(store, "no_blank_in_stock", moves.report_lost, store, CLERK, "C1000011", "lost",
            replacement_uid="C1000013", at=T0 + DAY)
    refused(store, "no_blank_in_stock", moves.damage, store, CLERK, "C1000011", "cracked",
            replacement_uid="C1000013", at=T0 + DAY)
    assert status(store, "C1000011") == "active"
    # other types are counted on their own: tenant was never counted, so it still issues
    issue(store, "C1000014", "tenant")
    deliver(store, "owner", 1, at=T0 + DAY)
    moves.report_lost(store, CLERK, "C1000011", "lost", replacement_uid="C1000013", at=T0 + 2 * DAY)
    assert stock(store) == {"owner": 0} and status(store, "C1000013") == "active"


def test_a_move_entered_with_an_earlier_time_cannot_take_a_later_balance_below_zero(store):
    deliver(store, "owner", 1)
    issue(store, "C1000021", "owner", at=T0 + 2 * DAY)
    # at T0 the drawer held the blank, but it was used on T0 + 2 days: the books would go to -1
    refused(store, "no_blank_in_stock", issue, store, "C1000022", "owner", at=T0)


def test_a_returned_card_in_the_drawer_is_not_a_blank(store):
    deliver(store, "owner", 1)
    issue(store, "C1000031", "owner")
    moves.return_card(store, CLERK, "C1000031", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000031", at=T0 + DAY)
    assert stock(store) == {"owner": 1}
    # the one card in stock is C1000031 itself: a new UID would be a blank that is not there
    refused(store, "no_blank_in_stock", issue, store, "C1000032", "owner", at=T0 + 2 * DAY)
    issue(store, "C1000031", "owner", at=T0 + 2 * DAY)
    assert stock(store) == {"owner": 0}


def test_a_card_put_back_before_its_type_was_counted_leaves_no_hole_in_the_books(store):
    issue(store, "C1000041", "owner")
    moves.return_card(store, CLERK, "C1000041", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000041", at=T0 + DAY)  # nothing booked: owner is not counted yet
    deliver(store, "owner", 3, at=T0 + 2 * DAY)
    issue(store, "C1000041", "owner", at=T0 + 3 * DAY)  # it was never in the books, so it leaves none
    assert stock(store) == {"owner": 3}


# --- 2. a card in stock belongs to its type --------------------------------------------------


def test_a_restocked_card_is_issued_only_as_its_own_type(store):
    deliver(store, "renovation_worker", 1)
    deliver(store, "owner", 5)
    issue(store, "C1000051", "renovation_worker")
    moves.return_card(store, CLERK, "C1000051", refund=True, receipt_no="R-C1000051", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000051", at=T0 + DAY)
    assert stock(store) == {"renovation_worker": 1, "owner": 5}
    later = T0 + 2 * DAY
    refused(store, "card_type_mismatch", moves.issue_card, store, CLERK, request_for("C1000051", "owner", at=later),
            at=later)
    refused(store, "card_type_mismatch", moves.personalise_card, store, CLERK,
            request_for("C1000051", "owner", at=later), at=later)
    # as a replacement for someone's owner card it is refused too
    issue(store, "C1000052", "owner", at=later)
    refused(store, "card_type_mismatch", moves.report_lost, store, CLERK, "C1000052", "lost",
            replacement_uid="C1000051", at=later)
    moves.issue_card(store, CLERK, request_for("C1000051", "renovation_worker", at=later,
                                               deposit={"amount_cents": 20000, "receipt_no": "R-2"}), at=later)
    assert stock(store) == {"renovation_worker": 0, "owner": 4}


def test_a_personalised_card_is_handed_over_as_the_type_it_was_made(store):
    moves.personalise_card(store, CLERK, request_for("C1000061", "owner"), at=T0)
    refused(store, "card_type_mismatch", moves.issue_card, store, CLERK, request_for("C1000061", "resident"), at=T0)
    moves.issue_card(store, CLERK, request_for("C1000061", "owner"), at=T0)


# --- 3. the card type fits the person, who is the holder -----------------------------------


@pytest.fixture
def people(store):
    add_unit(store, CLERK, UnitIn(building="A", floor=12, room="03", move_in_date=date(2020, 1, 1)))
    add_unit(store, CLERK, UnitIn(building="A", floor=12, room="04", move_in_date=date(2021, 1, 1)))
    end = (T0 + timedelta(days=200)).date()
    ids = {
        "owner": add_person(store, CLERK, PersonIn(name="Wang Fang", role="owner", unit="A-12-03"))["id"],
        "family": add_person(store, CLERK, PersonIn(name="Wang Xiao", role="family", unit="A-12-03"))["id"],
        "tenant": add_person(store, CLERK, PersonIn(name="Chen Jie", role="tenant", unit="A-12-04", tenancy_end=end,
                                                    police_registration_no="PR-9"))["id"],
        "helper": add_person(store, CLERK, PersonIn(name="Liu Ayi", role="domestic_helper", unit="A-12-03"))["id"],
        "worker": add_person(store, CLERK, PersonIn(name="Zhao Gong", role="renovation_worker", permit_no="RP-1",
                                                    permit_until=end))["id"],
        "unregistered": add_person(store, CLERK, PersonIn(name="Sun Zu", role="tenant", unit="A-12-04",
                                                          tenancy_end=end))["id"],
    }
    return ids


def _for(person_id, card_type, name, unit, **extra):
    req = request_for("C1000071", card_type, unit=unit, **extra)
    for key in ("tenancy_end", "police_registration_no", "permit_no", "permit_until"):
        req.pop(key, None)  # the register has them
    return {**req, "person_id": person_id, "holder": {"name": name, "unit": unit}}


@pytest.mark.parametrize("who,card_type,name,unit", [
    ("tenant", "owner", "Chen Jie", "A-12-04"),
    ("helper", "owner", "Liu Ayi", "A-12-03"),
    ("helper", "tenant", "Liu Ayi", "A-12-03"),
    ("owner", "resident", "Wang Fang", "A-12-03"),
    ("family", "owner", "Wang Xiao", "A-12-03"),
    ("worker", "domestic_helper", "Zhao Gong", "A-12-03"),
])
def test_a_card_type_not_for_the_person_is_refused(store, people, who, card_type, name, unit):
    refused(store, "card_type_not_for_person", moves.issue_card, store, CLERK,
            _for(people[who], card_type, name, unit), at=T0)


@pytest.mark.parametrize("name,unit", [("Wang Fang", "A-12-04"), ("Someone Else", "A-12-03")])
def test_the_holder_is_the_persons_own_record(store, people, name, unit):
    refused(store, "holder_differs_from_person", moves.issue_card, store, CLERK,
            _for(people["owner"], "owner", name, unit), at=T0)


def test_what_the_register_says_wins(store, people):
    req = _for(people["tenant"], "tenant", "Chen Jie", "A-12-04")
    refused(store, "particulars_differ_from_person", moves.issue_card, store, CLERK,
            {**req, "police_registration_no": "PR-OTHER"}, at=T0)
    refused(store, "police_registration_required", moves.issue_card, store, CLERK,
            _for(people["unregistered"], "tenant", "Sun Zu", "A-12-04"), at=T0)


def test_each_person_gets_the_card_their_role_holds(store, people):
    cases = [("owner", "owner", "Wang Fang", "A-12-03"), ("family", "resident", "wang  xiao", "A-12-03"),
             ("tenant", "tenant", "Chen Jie", "A-12-04"), ("helper", "domestic_helper", "Liu Ayi", "A-12-03"),
             ("worker", "renovation_worker", "Zhao Gong", "A-12-03"), ("tenant", "temporary", "Chen Jie", "A-12-04")]
    for i, (who, card_type, name, unit) in enumerate(cases):
        req = {**_for(people[who], card_type, name, unit), "uid": f"C10001{i:02d}"}
        if req.get("deposit"):
            req["deposit"] = {**req["deposit"], "receipt_no": f"R-P{i}"}
        moves.issue_card(store, CLERK, req, at=T0)
        assert status(store, req["uid"]) == "active", card_type


# --- 4. a deposit is settled before the card goes back into stock ------------------------


def test_an_unrefunded_deposit_keeps_the_card_out_of_stock_until_refunded(store):
    deliver(store, "tenant", 1)
    issue(store, "C1000081", "tenant")
    moves.return_card(store, CLERK, "C1000081", at=T0 + DAY)  # the holder forgot the receipt
    refused(store, "deposit_outstanding", moves.restock, store, CLERK, "C1000081", at=T0 + DAY)
    moves.refund_deposit(store, CLERK, "C1000081", "R-C1000081", at=T0 + 2 * DAY)
    moves.restock(store, CLERK, "C1000081", at=T0 + 2 * DAY)
    assert status(store, "C1000081") == "in_stock" and stock(store) == {"tenant": 1}


def test_a_forfeit_is_a_supervisors_move_with_a_reason(store):
    issue(store, "C1000091", "tenant")
    refused(store, "forfeit_deposit_from_active", moves.forfeit_deposit, store, SUPERVISOR, "C1000091",
            "R-C1000091", "kept", at=T0 + DAY)
    moves.return_card(store, CLERK, "C1000091", at=T0 + DAY)
    refused(store, "reason_required", moves.forfeit_deposit, store, SUPERVISOR, "C1000091", "R-C1000091", " ",
            at=T0 + DAY)
    refused(store, "deposit_receipt_mismatch", moves.forfeit_deposit, store, SUPERVISOR, "C1000091", "R-X", "kept",
            at=T0 + DAY)
    r = moves.forfeit_deposit(store, SUPERVISOR, "C1000091", "R-C1000091", "card came back bent, per the rules",
                              at=T0 + DAY)
    assert (r.move, r.from_status, r.to_status, r.amount_cents) == ("forfeit_deposit", "returned", "returned", None)
    refused(store, "deposit_forfeited", moves.refund_deposit, store, CLERK, "C1000091", "R-C1000091", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000091", at=T0 + 2 * DAY)
    [row] = [m for m in moves.history(store, "C1000091") if m["move"] == "forfeit_deposit"]
    assert (row["who"], row["receipt_no"], row["detail"]["deposit_cents"]) == (SUPERVISOR, "R-C1000091", 10000)


def test_a_lost_cards_deposit_may_be_forfeited(store):
    issue(store, "C1000101", "renovation_worker")
    moves.report_lost(store, CLERK, "C1000101", "lost on site", at=T0 + DAY)
    refused(store, "lost_card_final", moves.refund_deposit, store, CLERK, "C1000101", "R-C1000101", at=T0 + DAY)
    moves.forfeit_deposit(store, SUPERVISOR, "C1000101", "R-C1000101", "lost card: deposit kept", at=T0 + DAY)
    assert moves.deposit_of(store, "C1000101")["forfeited_at"] is not None


def test_a_refund_after_return_works_whatever_the_card_became(store):
    issue(store, "C1000111", "temporary")
    moves.return_card(store, CLERK, "C1000111", at=T0 + DAY)
    moves.scrap(store, CLERK, "C1000111", "worn out", at=T0 + DAY)
    r = moves.refund_deposit(store, CLERK, "C1000111", "R-C1000111", at=T0 + 2 * DAY)
    assert (r.from_status, r.to_status, r.amount_cents) == ("scrapped", "scrapped", -5000)
    with store.read() as db:  # a refund moves no stock, not even a "retired" count
        assert [k["kind"] for k in db.query("SELECT kind FROM stock_ledger WHERE uid = 'C1000111'")] == ["retired"]


def test_a_deposit_stranded_by_an_older_hub_is_still_refunded(store):
    """Before deposit_outstanding a returned card could go back to stock unpaid and be issued
    again: the first holder's deposit is still refunded against its receipt."""
    issue(store, "C1000121", "tenant")
    moves.return_card(store, CLERK, "C1000121", at=T0 + DAY)
    with store.tx() as db:  # what an older hub allowed: back in stock with the deposit open
        db["cards"].update("C1000121", {"status": "in_stock", "holder_name": None})
    moves.issue_card(store, CLERK, request_for("C1000121", "tenant", deposit={"amount_cents": 9000,
                                                                              "receipt_no": "R-NEXT"}), at=T0 + DAY)
    r = moves.refund_deposit(store, CLERK, "C1000121", "R-C1000121", at=T0 + 2 * DAY)
    assert (r.from_status, r.amount_cents) == ("active", -10000)
    refused(store, "refund_deposit_from_active", moves.refund_deposit, store, CLERK, "C1000121", "R-NEXT",
            at=T0 + 2 * DAY)


# --- 5. an expired card is not replaced --------------------------------------------------


def test_an_expired_card_gets_no_replacement(store):
    issue(store, "C1000131", "temporary")  # valid 7 days
    moves.expire_due(store, now=T0 + 8 * DAY)
    for fn in (moves.report_lost, moves.damage):
        refused(store, "replace_expired_card", fn, store, CLERK, "C1000131", "lost", replacement_uid="C1000132",
                at=T0 + 9 * DAY)
    # not yet marked expired, but its validity has ended: the same
    issue(store, "C1000133", "temporary")
    refused(store, "replace_expired_card", moves.report_lost, store, CLERK, "C1000133", "lost",
            replacement_uid="C1000134", at=T0 + 9 * DAY)
    # what the clerk does instead: report it without a replacement, then issue a new card
    moves.report_lost(store, CLERK, "C1000131", "lost", at=T0 + 9 * DAY)
    assert status(store, "C1000131") == "lost"


# --- 6. one receipt, one deposit ---------------------------------------------------------


def test_a_deposit_receipt_is_used_once(store):
    issue(store, "C1000141", "tenant")
    refused(store, "receipt_no_taken", issue, store, "C1000142", "tenant",
            deposit={"amount_cents": 10000, "receipt_no": "R-C1000141"})
    # the same card issued again takes a new deposit with a new receipt
    moves.return_card(store, CLERK, "C1000141", refund=True, receipt_no="R-C1000141", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000141", at=T0 + DAY)
    refused(store, "receipt_no_taken", issue, store, "C1000141", "tenant", at=T0 + 2 * DAY)
    issue(store, "C1000141", "tenant", at=T0 + 2 * DAY, deposit={"amount_cents": 10000, "receipt_no": "R-2"})


def test_a_drawer_card_changes_type_only_by_a_transfer_booked_on_both_types(store):
    from hub.stock import report

    deliver(store, "renovation_worker", 1)
    deliver(store, "owner", 1)
    issue(store, "C1000151", "renovation_worker")
    moves.return_card(store, CLERK, "C1000151", refund=True, receipt_no="R-C1000151", at=T0 + DAY)
    refused(store, "transfer_from_returned", moves.transfer, store, SUPERVISOR, "C1000151", "owner", "short of owner cards",
            at=T0 + DAY)
    moves.restock(store, CLERK, "C1000151", at=T0 + DAY)
    refused(store, "reason_required", moves.transfer, store, SUPERVISOR, "C1000151", "owner", "", at=T0 + DAY)
    refused(store, "transfer_to_same_type", moves.transfer, store, SUPERVISOR, "C1000151", "renovation_worker", "x",
            at=T0 + DAY)
    r = moves.transfer(store, SUPERVISOR, "C1000151", "owner", "short of owner cards", at=T0 + 2 * DAY)
    assert (r.from_status, r.to_status) == ("in_stock", "in_stock")
    assert stock(store) == {"renovation_worker": 0, "owner": 2}
    refused(store, "card_type_mismatch", moves.issue_card, store, CLERK,
            request_for("C1000151", "renovation_worker", at=T0 + 3 * DAY), at=T0 + 3 * DAY)
    issue(store, "C1000151", "owner", at=T0 + 3 * DAY)
    issue(store, "C1000152", "owner", at=T0 + 3 * DAY)  # the delivered blank is still there
    assert stock(store) == {"renovation_worker": 0, "owner": 0}
    with store.read() as db:
        rep = report.compute(db, 2026, 3, "UTC")
    assert rep.balanced, rep.problems
    rows_ = {r.card_type: r for r in rep.rows}
    assert (rows_["owner"].adjusted, rows_["renovation_worker"].adjusted) == (1, -1)


def test_a_transfer_over_http_is_a_supervisors(store, tmp_path):
    from fastapi.testclient import TestClient

    from hub.auth import create_token

    from .test_api import make_app

    deliver(store, "owner", 1)
    issue(store, "C1000161", "owner")
    moves.return_card(store, CLERK, "C1000161", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000161", at=T0 + DAY)
    clerk, boss = create_token(store, "clerk", "mei"), create_token(store, "supervisor", "li")
    with TestClient(make_app(store, tmp_path)) as client:
        def post(token, body):
            return client.post("/api/v1/cards/C1000161/transfer", json=body, headers={"Authorization": f"Bearer {token}"})
        assert post(clerk, {"card_type": "resident", "reason": "x"}).status_code == 403
        r = post(boss, {"card_type": "resident"})
        assert r.status_code == 422 and r.json()["error"] == "reason_required"
        r = post(boss, {"card_type": "resident", "reason": "family cards ran out"})
        assert r.status_code == 200 and r.json()["move"] == "transfer"
    assert stock(store) == {"owner": 0}  # resident is not counted: it books nothing into it


def test_an_older_database_gains_the_forfeit_columns(tmp_path):
    import sqlite3

    from hub.db import Store

    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.execute("CREATE TABLE card_deposits (id INTEGER PRIMARY KEY, uid TEXT NOT NULL, amount_cents INTEGER NOT NULL, "
                "receipt_no TEXT NOT NULL, paid_at TEXT NOT NULL, paid_move_id INTEGER NOT NULL UNIQUE, "
                "refunded_at TEXT, refund_move_id INTEGER UNIQUE, transferred_to TEXT)")
    con.execute("INSERT INTO card_deposits (uid, amount_cents, receipt_no, paid_at, paid_move_id) "
                "VALUES ('C1000171', 100, 'R-OLD', '2026-01-01T00:00:00+00:00', 1)")
    con.commit()
    con.close()
    store = Store.open(path)
    try:
        with store.read() as db:
            assert {"forfeited_at", "forfeit_move_id"} <= set(db["card_deposits"].columns_dict)
            assert [r["receipt_no"] for r in db.query("SELECT receipt_no FROM card_deposits")] == ["R-OLD"]
    finally:
        store.close()


def test_blanks_are_the_stock_less_the_returned_cards_in_the_drawer(store):
    from hub.cards import books

    deliver(store, "owner", 3)
    issue(store, "C1000181", "owner")
    moves.return_card(store, CLERK, "C1000181", at=T0 + DAY)
    moves.restock(store, CLERK, "C1000181", at=T0 + DAY)
    with store.read() as db:
        assert (ledger.stock_of(db, "owner"), books.blanks(db, "owner")) == (3, 2)

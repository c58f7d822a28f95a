"""The rules that keep the card centre's books true: stock, card types in the drawer, deposits.

The stock ledger (hub.stock.ledger) is the clerk's drawer by the books. A card type's stock
is kept from its first count onwards (``ledger.is_counted``: its first delivery or stocktake).
Before that nobody has said how many blanks of the type there are, so a card may be issued
(a fresh hub must issue: the public contract's ``POST /api/v1/cards`` gives 201) and its
move books nothing against stock: booking it would leave the books one below the drawer for
good once the first delivery is recorded. From the first count on, a card leaves the drawer
only if the books hold it, so the books never go below zero (``no_blank_in_stock``).

A card in the drawer with its UID known (a returned card put back) belongs to its type: it
is stock of that type, and issuing it as another would take it from the wrong count
(``card_type_mismatch``).

A deposit is paid against one holding of one card and ends once: refunded, forfeited (a
supervisor, with a reason) or moved to the card that replaces it. A card whose deposit is
still open does not go back into the drawer (``deposit_outstanding``): the next holder's
deposit would hide it. Receipt numbers name one deposit each (``receipt_no_taken``).

Every function here reads; none writes. A refusal is a RuleViolation naming its rule, raised
inside the caller's transaction before anything of the move is written (and the transaction
rolls back in any case).
"""

from __future__ import annotations

from typing import Any, NoReturn

import sqlite_utils

from hub.cards.rules import type_word
from hub.errors import RuleViolation
from hub.i18n.validation import N_
from hub.stock import ledger
from protocols.cards import CardStatus as S

#: the moves after which a card's holding has ended: the card is back in the centre's hands
TAKEN_BACK = ("return", "damage")
#: the moves after which the holder no longer holds the card at all (a deposit may be forfeited)
HOLDING_ENDED = ("return", "damage", "report_lost")


def _refuse(rule: str, detail: str, **params: object) -> NoReturn:
    """``detail``: a msgid (marked N_ where it is written), filled from ``params``."""
    raise RuleViolation(detail, rule=rule, **params)


# --- stock ------------------------------------------------------------------------------


def _lowest_from(db: sqlite_utils.Database, card_type: str, at: str) -> int:
    """The lowest the type's stock stands at from the instant ``at`` onwards (a move entered
    with an earlier time than moves already booked must not take a later balance below zero)."""
    base = list(db.query("SELECT COALESCE(SUM(delta), 0) AS n FROM stock_ledger WHERE card_type = ? AND at < ?",
                         [card_type, at]))[0]["n"]
    low = balance = base
    for row in db.query("SELECT delta FROM stock_ledger WHERE card_type = ? AND at >= ? ORDER BY at, id",
                        [card_type, at]):
        balance += row["delta"]
        low = min(low, balance)
    return low


def transfer_ref(uid: str, move_id: int) -> str:
    """The ``ref`` of the two ledger entries a transfer books (hub.cards.moves.transfer)."""
    return f"transfer {uid} move {move_id}"


def drawer_card_in_books(db: sqlite_utils.Database, uid: str, card_type: str) -> bool:
    """Whether a card in the drawer with a known UID is in the type's stock by the books: its
    putting back (or its transfer to this type) was booked, or a stocktake of its type counted
    the drawer after it."""
    rows = list(db.query(
        "SELECT id, at, move FROM card_moves WHERE uid = ? AND move IN ('restock', 'transfer') ORDER BY id DESC LIMIT 1",
        [uid]))
    if not rows:
        return ledger.is_counted(db, card_type)
    restock = rows[0]
    if restock["move"] == "transfer":
        if list(db.query("SELECT 1 FROM stock_ledger WHERE ref = ? AND card_type = ? AND delta > 0 LIMIT 1",
                         [transfer_ref(uid, restock["id"]), card_type])):
            return True
    elif list(db.query("SELECT 1 FROM stock_ledger WHERE move_id = ? AND uid = ? AND kind = 'returned' LIMIT 1",
                       [restock["id"], uid])):
        return True
    if not db["stock_counts"].exists():
        return False
    return bool(list(db.query(
        "SELECT 1 FROM stock_counts WHERE card_type = ? AND state IN ('matched', 'approved') AND at >= ? LIMIT 1",
        [card_type, restock["at"]])))


def _drawer_cards_in_books(db: sqlite_utils.Database, card_type: str, besides: str) -> int:
    rows = db.query("SELECT uid FROM cards WHERE status = ? AND card_type = ? AND uid != ?",
                    [S.IN_STOCK.value, card_type, besides])
    return sum(1 for r in rows if drawer_card_in_books(db, r["uid"], card_type))


def blanks(db: sqlite_utils.Database, card_type: str) -> int:
    """Blank cards of the type by the books: its stock less the cards in the drawer with their
    own UID (returned cards put back). For scrapping blanks: only these can be scrapped as
    blanks (hub.stock.ledger.scrap_blanks)."""
    return ledger.stock_of(db, card_type) - _drawer_cards_in_books(db, card_type, besides="")


def check_card_in_stock(db: sqlite_utils.Database, uid: str, card_type: str, at: str) -> None:
    """A card of the books leaving its type's stock by another way than a status change (a
    transfer): the books must hold it."""
    if _lowest_from(db, card_type, at) < 1:
        _refuse("no_blank_in_stock", N_("the books hold no {card_type} card from {at} on: card {uid} is not in them"),
                card_type=type_word(card_type), at=at, uid=uid)


def stock_entry_wanted(
    db: sqlite_utils.Database, uid: str, card_type: str | None, before: S | None, after: S, at: str
) -> bool:
    """Whether this status change books a stock entry; RuleViolation ``no_blank_in_stock`` if
    it would take a counted type's stock below zero. ``at``: the move's instant (utc_iso)."""
    after = S(after)
    if before is not None and S(before) == after:
        return False  # a move that leaves the card where it is (refund, forfeit, renew) moves no stock
    kind = ledger.stock_kind(before, after)
    if kind is None or not card_type or kind == ledger.Kind.RETIRED:
        return kind is not None  # retired: counted, not stock; no card type: the ledger says what is wrong
    if not ledger.is_counted(db, card_type):
        return False
    if kind == ledger.Kind.RETURNED:
        return True
    # the card leaves the drawer: made for a holder, or scrapped out of stock
    if before is not None and S(before) == S.IN_STOCK:
        if not drawer_card_in_books(db, uid, card_type):
            return False  # put back before the type was counted: never in the books, so nothing leaves them
        need, blank = 1, False
    else:
        need, blank = 1 + _drawer_cards_in_books(db, card_type, uid), True
    have = _lowest_from(db, card_type, at)
    if have < need:
        words = {"have": max(have, 0), "card_type": type_word(card_type), "returned": need - 1, "uid": uid}
        if blank:
            _refuse("no_blank_in_stock", N_(
                "the books hold {have} {card_type} card(s), {returned} of them returned cards with their own UID: "
                "there is no a blank {card_type} card in stock to use. Record the delivery (or a stocktake) first"),
                **words)
        _refuse("no_blank_in_stock", N_(
            "the books hold {have} {card_type} card(s), {returned} of them returned cards with their own UID: "
            "there is no card {uid} in stock to use. Record the delivery (or a stocktake) first"), **words)
    return True


# --- a card in the drawer belongs to its type --------------------------------------------


def check_same_type(existing: dict[str, Any] | None, card_type: str) -> None:
    """A card already in the drawer is issued as the type it is stock of; a card made for a
    holder (personalised) is handed over as the type it was made as."""
    if existing is None or not existing.get("card_type"):
        return
    if existing["status"] not in (S.IN_STOCK.value, S.PERSONALISED.value):
        return
    if existing["card_type"] != str(card_type):
        words = {"uid": existing["uid"], "was": type_word(existing["card_type"]), "card_type": type_word(card_type)}
        if existing["status"] == S.IN_STOCK.value:
            _refuse("card_type_mismatch", N_("card {uid} is {was} (stock); it cannot be issued as {card_type} (a "
                                             "supervisor may transfer it to that type's stock first)"), **words)
        _refuse("card_type_mismatch", N_("card {uid} is {was} (made as that type); it cannot be issued as "
                                         "{card_type}"), **words)


# --- deposits ---------------------------------------------------------------------------


def deposits(db: sqlite_utils.Database, uid: str) -> list[dict[str, Any]]:
    return list(db.query("SELECT * FROM card_deposits WHERE uid = ? ORDER BY id", [uid]))


def is_open(dep: dict[str, Any]) -> bool:
    return not (dep.get("refunded_at") or dep.get("forfeited_at") or dep.get("transferred_to"))


def open_deposit(db: sqlite_utils.Database, uid: str) -> dict[str, Any] | None:
    """The card's deposit still to be settled, if any (the latest, should there be several)."""
    open_ = [d for d in deposits(db, uid) if is_open(d)]
    return open_[-1] if open_ else None


def check_deposit_settled(db: sqlite_utils.Database, uid: str) -> None:
    """Before a card goes back into the drawer: its deposit refunded, forfeited or moved on."""
    dep = open_deposit(db, uid)
    if dep is not None:
        _refuse("deposit_outstanding",
                N_("the deposit on card {uid} (receipt {receipt_no}) is neither refunded nor forfeited: "
                   "settle it before the card goes back into stock"), uid=uid, receipt_no=dep["receipt_no"])


def check_receipt_free(db: sqlite_utils.Database, receipt_no: str) -> None:
    """A new deposit's receipt number has not been used for another deposit."""
    rows = list(db.query("SELECT uid FROM card_deposits WHERE receipt_no = ? LIMIT 1", [receipt_no.strip()]))
    if rows:
        _refuse("receipt_no_taken", N_("receipt {receipt_no} is already the receipt of the deposit on card "
                                       "{uid}: each deposit has its own receipt"),
                receipt_no=receipt_no.strip(), uid=rows[0]["uid"])


def holding_ended(db: sqlite_utils.Database, uid: str, dep: dict[str, Any], moves: tuple[str, ...]) -> bool:
    """Whether the holding the deposit was paid for has ended by one of ``moves``."""
    marks = ",".join("?" * len(moves))
    return bool(list(db.query(
        f"SELECT 1 FROM card_moves WHERE uid = ? AND id > ? AND move IN ({marks}) LIMIT 1",
        [uid, dep["paid_move_id"], *moves])))


def deposit_to_settle(db: sqlite_utils.Database, uid: str, receipt_no: str | None) -> dict[str, Any]:
    """The deposit of card ``uid`` whose receipt is ``receipt_no``, if it can still be
    settled; otherwise the rule that says why not. Which state the card is in now is the
    caller's question (a deposit of an ended holding is settled whatever came after)."""
    all_ = deposits(db, uid)
    if not all_:
        _refuse("no_deposit", N_("no deposit was taken for card {uid}"), uid=uid)
    receipt = (receipt_no or "").strip()
    matching = [d for d in all_ if d["receipt_no"] == receipt]
    if not matching:
        _refuse("deposit_receipt_mismatch", N_("the receipt does not match a deposit paid for this card"))
    open_ = [d for d in matching if is_open(d)]
    if open_:
        return open_[-1]
    dep = matching[-1]
    if dep["transferred_to"]:
        _refuse("deposit_transferred", N_("the deposit of card {uid} moved to its replacement {new_uid}"),
                uid=uid, new_uid=dep["transferred_to"])
    if dep.get("forfeited_at"):
        _refuse("deposit_forfeited", N_("the deposit of card {uid} was forfeited on {at}"), uid=uid,
                at=dep["forfeited_at"])
    _refuse("deposit_already_refunded", N_("the deposit of card {uid} was refunded on {at}"), uid=uid,
            at=dep["refunded_at"])
    raise AssertionError("unreachable")

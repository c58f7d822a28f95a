"""The card moves beyond a plain issue and revoke: suspend, resume, lost (with a replacement),
return (with the deposit refund), refund, damage (with a replacement), scrap, restock,
expire and renew; and the clerk's own issue, which takes the full issue request
(tenancy, permit, deposit) that hub.cards.rules checks.

Each move is one transaction that: asks hub.cards.lifecycle for the new status, writes the
card, appends a ``card_moves`` row (who, when, why, money), the stock ledger entry the move
implies (hub.stock.ledger.on_card_move), the audit row, and calls
hub.gates.acl.card_changed so the gates hear of it. A refusal changes nothing.

Money is in whole cents (fen). A deposit is paid against one issue of one card and is
settled once, against that card and its receipt number: refunded once the card is taken
back (whatever happens to the card after that), forfeited by a supervisor with a reason, or,
when a lost or damaged card is replaced, moved to the replacement. The rules that keep the
books true (a blank in stock, a drawer card's type, a deposit settled before the card goes
back into stock, one receipt per deposit) are in hub.cards.books.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlite_utils

from hub import audit
from hub.access import service as access
from hub.permits import access as permit_access
from hub.cards import books, printed, rules
from hub.cards.lifecycle import HELD, Move, next_status, status_word
from hub.cards.uid_words import uid_refused
from hub.db import Store
from hub.errors import BadInput, Conflict, NotFound, RuleViolation, Word
from hub.gates import acl
from hub.i18n.validation import N_
from hub.stock import ledger
from hub.stock.ledger import utc_iso
from protocols.cards import CardStatus as S
from protocols.cards import CardType
from protocols.uid import InvalidUid, normalise_uid

SCHEMA = """
CREATE TABLE IF NOT EXISTS card_moves (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    uid TEXT NOT NULL,
    move TEXT NOT NULL,
    from_status TEXT,
    to_status TEXT NOT NULL,
    who TEXT NOT NULL,
    reason TEXT,
    amount_cents INTEGER,
    receipt_no TEXT,
    related_uid TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS card_moves_uid ON card_moves (uid);
CREATE INDEX IF NOT EXISTS card_moves_at ON card_moves (at);
-- the audit search's cards a person or unit held at any issue (hub.audit._card_uids)
CREATE INDEX IF NOT EXISTS card_moves_holder_person ON card_moves (json_extract(detail, '$.holder.person_id'));
CREATE INDEX IF NOT EXISTS card_moves_holder_unit ON card_moves (json_extract(detail, '$.holder.unit'));
CREATE INDEX IF NOT EXISTS card_moves_holder_name ON card_moves (json_extract(detail, '$.holder.name'));
CREATE TRIGGER IF NOT EXISTS card_moves_no_update BEFORE UPDATE ON card_moves
BEGIN SELECT RAISE(ABORT, 'card moves are append-only'); END;
CREATE TRIGGER IF NOT EXISTS card_moves_no_delete BEFORE DELETE ON card_moves
BEGIN SELECT RAISE(ABORT, 'card moves are append-only'); END;
CREATE TABLE IF NOT EXISTS card_deposits (
    id INTEGER PRIMARY KEY,
    uid TEXT NOT NULL,
    amount_cents INTEGER NOT NULL CHECK (amount_cents > 0),
    receipt_no TEXT NOT NULL,
    paid_at TEXT NOT NULL,
    paid_move_id INTEGER NOT NULL UNIQUE,
    refunded_at TEXT,
    refund_move_id INTEGER UNIQUE,
    transferred_to TEXT,
    forfeited_at TEXT,
    forfeit_move_id INTEGER UNIQUE
);
CREATE INDEX IF NOT EXISTS card_deposits_uid ON card_deposits (uid);
CREATE INDEX IF NOT EXISTS card_deposits_receipt ON card_deposits (receipt_no);
"""


def migrate(db: sqlite_utils.Database) -> None:
    """Columns a card_deposits table made before deposits could be forfeited lacks."""
    columns = db["card_deposits"].columns_dict
    if "forfeited_at" not in columns:
        db.conn.execute("ALTER TABLE card_deposits ADD COLUMN forfeited_at TEXT")
    if "forfeit_move_id" not in columns:
        db.conn.execute("ALTER TABLE card_deposits ADD COLUMN forfeit_move_id INTEGER")

#: moves whose reason the clerk must state (a refusal names rule ``reason_required``)
NEEDS_REASON = {Move.SUSPEND, Move.REPORT_LOST, Move.DAMAGE, Move.SCRAP, Move.FORFEIT_DEPOSIT, Move.TRANSFER}
#: those moves as the refusal names them ("a card cannot be report lost without a reason"), msgids
REASON_WORDS = {
    Move.SUSPEND: N_("suspend"), Move.REPORT_LOST: N_("report lost"), Move.DAMAGE: N_("damage"),
    Move.SCRAP: N_("scrap"), Move.FORFEIT_DEPOSIT: N_("forfeit deposit"), Move.TRANSFER: N_("transfer"),
}


@dataclass(frozen=True)
class MoveResult:
    uid: str
    move: str
    from_status: str | None
    to_status: str
    move_id: int
    amount_cents: int | None = None
    replacement_uid: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def canonical(uid: str) -> str:
    try:
        return normalise_uid(uid)
    except InvalidUid as exc:
        raise uid_refused(exc, "bad_uid") from None


def _card(db: sqlite_utils.Database, uid: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM cards WHERE uid = ?", [uid]))
    return rows[0] if rows else None


def _need_card(db: sqlite_utils.Database, uid: str) -> dict[str, Any]:
    card = _card(db, uid)
    if card is None:
        raise NotFound("no card {uid}", rule="unknown_card", field="uid", uid=uid)
    return card


def record_move(
    db: sqlite_utils.Database,
    uid: str,
    move: Move,
    before: S | None,
    after: S,
    who: str,
    card_type: str | None,
    *,
    reason: str | None = None,
    amount_cents: int | None = None,
    receipt_no: str | None = None,
    related_uid: str | None = None,
    at: datetime | None = None,
    **detail: Any,
) -> int:
    """The move's row, its stock entry and its audit row; inside the caller's transaction.

    Also for hub.cards.service: call it after writing the card in issue and revoke. The
    stock entry is booked as hub.cards.books.stock_entry_wanted says (which refuses a move
    that would take a counted type's stock below zero, before anything is written).
    """
    book = books.stock_entry_wanted(db, uid, card_type, before, after, utc_iso(at))
    table = db["card_moves"]
    table.insert(
        {
            "at": utc_iso(at),
            "uid": uid,
            "move": Move(move).value,
            "from_status": before.value if before is not None else None,
            "to_status": S(after).value,
            "who": who,
            "reason": reason,
            "amount_cents": amount_cents,
            "receipt_no": receipt_no,
            "related_uid": related_uid,
            "detail": json.dumps(detail, default=str, sort_keys=True),
        }
    )
    move_id = table.last_pk
    if book:
        ledger.on_card_move(db, before, after, card_type, uid, who, reason=reason, move_id=move_id, at=at)
    audit.record(
        db, who, Move(move).value, "card", uid, reason,
        from_status=before.value if before is not None else None, to_status=S(after).value,
        amount_cents=amount_cents, receipt_no=receipt_no, related_uid=related_uid, move_id=move_id,
    )
    return move_id


def _reason(move: Move, reason: str | None) -> str | None:
    text = (reason or "").strip() or None
    if move in NEEDS_REASON and text is None:
        raise BadInput("a card cannot be {move} without a reason", field="reason",
                       rule="reason_required", move=Word(REASON_WORDS[move]))
    return text


def _set_status(db: sqlite_utils.Database, uid: str, status: S, at: datetime | None, **fields: Any) -> None:
    db["cards"].update(uid, {"status": status.value, "updated_at": utc_iso(at), **fields})
    acl.card_changed(db, uid)


def _open_deposit(db: sqlite_utils.Database, uid: str) -> dict[str, Any] | None:
    """The card's deposit still open, else its latest (to show what became of it)."""
    dep = books.open_deposit(db, uid)
    if dep is not None:
        return dep
    rows = list(db.query("SELECT * FROM card_deposits WHERE uid = ? ORDER BY id DESC LIMIT 1", [uid]))
    return rows[0] if rows else None


def _simple(store: Store, who: str, uid: str, move: Move, reason: str | None, at: datetime | None = None,
            **fields: Any) -> MoveResult:
    uid = canonical(uid)
    text = _reason(move, reason)
    with store.tx() as db:
        card = _need_card(db, uid)
        before = S(card["status"])
        after = next_status(before, move)
        if move == Move.RESTOCK:
            books.check_deposit_settled(db, uid)
        _set_status(db, uid, after, at, **fields)
        move_id = record_move(db, uid, move, before, after, who, card["card_type"], reason=text, at=at, **fields)
    return MoveResult(uid, move.value, before.value, after.value, move_id)


# --- issue -----------------------------------------------------------------------------


def _parse_time(value: Any, field: str) -> str | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        at = value
    else:
        try:
            at = datetime.fromisoformat(str(value))
        except ValueError:
            raise BadInput("{field_name} must be an ISO 8601 time with an offset, not {value!r}", field=field,
                           field_name=field, value=value) from None
    if at.tzinfo is None:
        raise BadInput("{field_name} needs a timezone offset", field=field, field_name=field)
    return at.isoformat()


def _write_issued(
    db: sqlite_utils.Database, uid: str, who: str, card_type: str, holder: dict[str, Any],
    valid_from: str | None, valid_until: str | None, at: datetime | None,
) -> tuple[S | None, S]:
    existing = _card(db, uid)
    if existing is not None and existing["status"] == S.ACTIVE.value:
        raise Conflict("card {uid} is already active", rule="card_already_active", field="uid", uid=uid)
    before = S(existing["status"]) if existing is not None else None
    after = next_status(before or S.IN_STOCK, Move.ISSUE)
    books.check_same_type(existing, card_type)
    now = utc_iso(at)
    row = {
        "uid": uid,
        "status": after.value,
        "card_type": card_type,
        "holder_name": holder["name"],
        "holder_unit": holder.get("unit"),
        "person_id": holder.get("person_id"),
        "valid_from": valid_from,
        "valid_until": valid_until,
        "updated_at": now,
        "issued_at": now,
        "issued_by": who,
    }
    if existing is not None:
        db["cards"].update(uid, row)
    else:
        db["cards"].insert({**row, "created_at": now})
    acl.card_changed(db, uid)
    return before, after


def after_issue(
    db: sqlite_utils.Database, uid: str, who: str, request: dict[str, Any], before: S | None,
    at: datetime | None = None,
) -> int:
    """For any issue path, after the card row is written (same transaction): the move row,
    the stock entry (a blank made into a card) and the deposit taken, if any."""
    deposit = request.get("deposit") or None
    amount = receipt = None
    if deposit:
        amount, receipt = int(deposit["amount_cents"]), str(deposit["receipt_no"]).strip()
    keep = {k: request.get(k) for k in rules.REQUEST_KEYS if request.get(k) not in (None, "") and k != "deposit"}
    move_id = record_move(
        db, uid, Move.ISSUE, before, S.ACTIVE, who, request["card_type"], reason=request.get("reason"),
        amount_cents=amount, receipt_no=receipt, at=at, holder=request.get("holder"), **keep,
    )
    if deposit:
        db["card_deposits"].insert(
            {"uid": uid, "amount_cents": amount, "receipt_no": receipt, "paid_at": utc_iso(at), "paid_move_id": move_id}
        )
    return move_id


def _clean_request(request: dict[str, Any]) -> dict[str, Any]:
    request = dict(request)
    request["uid"] = canonical(request.get("uid") or "")
    holder = request.get("holder") or {}
    if not isinstance(holder, dict) or not str(holder.get("name") or "").strip():
        raise BadInput("holder.name is required", field="holder.name")
    request["holder"] = {"name": str(holder["name"]).strip(), "unit": (str(holder.get("unit") or "").strip() or None),
                         "person_id": request.get("person_id")}
    request["valid_from"] = _parse_time(request.get("valid_from"), "valid_from")
    request["valid_until"] = _parse_time(request.get("valid_until"), "valid_until")
    return request


def personalise_card(store: Store, who: str, request: dict[str, Any], at: datetime | None = None) -> MoveResult:
    """A blank made into the holder's card (printed, written) but not handed over yet: it
    leaves the stock now; ``issue_card`` with the same request hands it over later (and
    takes the deposit then). The type's rules are checked now, so a card is not made for
    someone who may not have it."""
    request = _clean_request(request)
    uid = request["uid"]
    with store.tx() as db:
        printed.check_new_uid(db, uid)  # lengths real cards have; no printed number as a UID
        rules.check_issue(db, request, now=at, taking_deposit=False)
        existing = _card(db, uid)
        before = S(existing["status"]) if existing is not None else None
        after = next_status(before or S.IN_STOCK, Move.PERSONALISE)
        books.check_same_type(existing, request["card_type"])
        now = utc_iso(at)
        row = {"uid": uid, "status": after.value, "card_type": request["card_type"],
               "holder_name": request["holder"]["name"], "holder_unit": request["holder"]["unit"],
               "person_id": request["holder"]["person_id"], "valid_from": request["valid_from"], "valid_until": request["valid_until"], "updated_at": now}
        if existing is not None:
            db["cards"].update(uid, row)
        else:
            db["cards"].insert({**row, "created_at": now})
        acl.card_changed(db, uid)
        move_id = record_move(db, uid, Move.PERSONALISE, before, after, who, request["card_type"],
                              reason=request.get("reason"), at=at, holder=request["holder"])
    return MoveResult(uid, Move.PERSONALISE.value, before.value if before else None, after.value, move_id)


def issue_card(store: Store, who: str, request: dict[str, Any], at: datetime | None = None) -> MoveResult:
    """The clerk's issue: the request as documented in hub.cards.rules (uid, card_type,
    holder {name, unit}, valid_from, valid_until and the per-type keys)."""
    request = _clean_request(request)
    with store.tx() as db:
        printed.check_new_uid(db, request["uid"])  # lengths real cards have; no printed number as a UID
        rules.check_issue(db, request, now=at)
        uid = request["uid"]
        before, after = _write_issued(
            db, uid, who, request["card_type"], request["holder"], request["valid_from"], request["valid_until"], at
        )
        move_id = after_issue(db, uid, who, request, before, at)
        dep = request.get("deposit") or {}
    return MoveResult(uid, Move.ISSUE.value, before.value if before else None, after.value, move_id,
                      amount_cents=dep.get("amount_cents"))


# --- the moves ---------------------------------------------------------------------------


def suspend(store: Store, who: str, uid: str, reason: str | None, at: datetime | None = None) -> MoveResult:
    return _simple(store, who, uid, Move.SUSPEND, reason, at)


def resume(store: Store, who: str, uid: str, reason: str | None = None, at: datetime | None = None) -> MoveResult:
    return _simple(store, who, uid, Move.RESUME, reason, at)


def revoke(store: Store, who: str, uid: str, reason: str | None, at: datetime | None = None) -> MoveResult:
    return _simple(store, who, uid, Move.REVOKE, reason, at)


def expire(store: Store, who: str, uid: str, reason: str | None = None, at: datetime | None = None) -> MoveResult:
    return _simple(store, who, uid, Move.EXPIRE, reason or "validity ended", at)


def scrap(store: Store, who: str, uid: str, reason: str | None, at: datetime | None = None) -> MoveResult:
    return _simple(store, who, uid, Move.SCRAP, reason, at)


def restock(store: Store, who: str, uid: str, reason: str | None = None, at: datetime | None = None) -> MoveResult:
    """A returned card fit for reuse goes back into the drawer, with its holder wiped."""
    return _simple(store, who, uid, Move.RESTOCK, reason, at, holder_name=None, holder_unit=None, person_id=None,
                   valid_from=None, valid_until=None)


def renew(store: Store, who: str, uid: str, valid_until: Any, reason: str | None = None,
          at: datetime | None = None) -> MoveResult:
    """A new end of validity (a tenancy extended); the card type's rules still hold."""
    uid = canonical(uid)
    until = _parse_time(valid_until, "valid_until")
    if until is None:
        raise BadInput("renewing needs the new valid_until", field="valid_until")
    now = at or datetime.now(timezone.utc)
    if datetime.fromisoformat(until) <= now:
        raise RuleViolation("the new end of validity is already past", rule="renew_into_past")
    return _simple(store, who, uid, Move.RENEW, reason, at, valid_until=until)


def _settle(store: Store, who: str, uid: str, move: Move, receipt_no: str | None, reason: str | None,
            at: datetime | None) -> MoveResult:
    """Refund or forfeit the deposit whose receipt is ``receipt_no``: one move that leaves the
    card's status as it is. A deposit whose holding has ended (the card was taken back, or
    for a forfeit also reported lost) is settled whatever the card's state since; otherwise
    the lifecycle decides (a card still held: ``refund_deposit_from_active``)."""
    uid = canonical(uid)
    text = _reason(move, reason)
    ended_by = books.TAKEN_BACK if move == Move.REFUND_DEPOSIT else books.HOLDING_ENDED
    with store.tx() as db:
        card = _need_card(db, uid)
        before = S(card["status"])
        if not books.deposits(db, uid):
            next_status(before, move)  # a move the card's state forbids anyway is refused by that rule
        dep = books.deposit_to_settle(db, uid, receipt_no)
        if not books.holding_ended(db, uid, dep, ended_by):
            next_status(before, move)
        amount = dep["amount_cents"]
        move_id = record_move(db, uid, move, before, before, who, card["card_type"], reason=text,
                              amount_cents=-amount if move == Move.REFUND_DEPOSIT else None,
                              receipt_no=dep["receipt_no"], at=at, deposit_cents=amount)
        done = ({"refunded_at": utc_iso(at), "refund_move_id": move_id} if move == Move.REFUND_DEPOSIT
                else {"forfeited_at": utc_iso(at), "forfeit_move_id": move_id})
        db["card_deposits"].update(dep["id"], done)
    return MoveResult(uid, move.value, before.value, before.value, move_id,
                      amount_cents=-amount if move == Move.REFUND_DEPOSIT else None)


def refund_deposit(store: Store, who: str, uid: str, receipt_no: str, reason: str | None = None,
                   at: datetime | None = None) -> MoveResult:
    """The deposit of a card already taken back, against its receipt, once; also after the
    card was scrapped (or, on an older database, put back and reissued)."""
    return _settle(store, who, uid, Move.REFUND_DEPOSIT, receipt_no, reason, at)


def forfeit_deposit(store: Store, who: str, uid: str, receipt_no: str, reason: str | None,
                    at: datetime | None = None) -> MoveResult:
    """The deposit kept by the estate (a lost card never brought back; a card kept back):
    a supervisor's move (the API says who may), with a reason. The money stays; nothing is
    paid out, so the move's amount is empty and ``deposit_cents`` in its detail says how much."""
    return _settle(store, who, uid, Move.FORFEIT_DEPOSIT, receipt_no, reason, at)


def return_card(store: Store, who: str, uid: str, *, refund: bool = False, receipt_no: str | None = None,
                reason: str | None = None, at: datetime | None = None) -> MoveResult:
    """The holder hands the card back; with ``refund`` the deposit is paid back against the
    receipt in the same transaction (or the whole return is refused)."""
    uid = canonical(uid)
    with store.tx() as db:
        card = _need_card(db, uid)
        before = S(card["status"])
        after = next_status(before, Move.RETURN)
        dep = books.deposit_to_settle(db, uid, receipt_no) if refund else None
        amount = dep["amount_cents"] if dep else None
        _set_status(db, uid, after, at)
        move_id = record_move(db, uid, Move.RETURN, before, after, who, card["card_type"],
                              reason=(reason or "").strip() or None,
                              amount_cents=-amount if amount else None,
                              receipt_no=dep["receipt_no"] if dep else None, at=at)
        if dep:
            db["card_deposits"].update(dep["id"], {"refunded_at": utc_iso(at), "refund_move_id": move_id})
    return MoveResult(uid, Move.RETURN.value, before.value, after.value, move_id, amount_cents=-amount if amount else None)


def _replace(store: Store, who: str, uid: str, move: Move, reason: str | None, new_uid: str | None,
             fee_cents: int | None, receipt_no: str | None, at: datetime | None) -> MoveResult:
    uid = canonical(uid)
    text = _reason(move, reason)
    new = canonical(new_uid) if new_uid else None
    if new == uid:
        raise RuleViolation("a replacement must be another card; this UID is blocked", rule="replacement_same_uid")
    if fee_cents is not None and (not isinstance(fee_cents, int) or fee_cents < 0):
        raise BadInput("fee_cents must be a whole number of cents, not negative", field="fee_cents")
    if fee_cents and not (receipt_no or "").strip():
        raise BadInput("a fee needs its receipt number", field="receipt_no", rule="receipt_required")
    with store.tx() as db:
        if new is not None:
            printed.check_new_uid(db, new)  # lengths real cards have; no printed number as a UID
        card = _need_card(db, uid)
        before = S(card["status"])
        after = next_status(before, move)
        if new is not None and before not in HELD:
            raise RuleViolation("a {status} card is not the holder's to replace", rule="replace_not_held",
                                status=status_word(before))
        if new is not None and not card["holder_name"]:
            raise RuleViolation("card {uid} has no holder to give a replacement", rule="replace_no_holder", uid=uid)
        if new is not None:
            _refuse_expired_replacement(card, at)
        _set_status(db, uid, after, at)
        move_id = record_move(db, uid, move, before, after, who, card["card_type"], reason=text,
                              amount_cents=fee_cents or None, receipt_no=(receipt_no or "").strip() or None,
                              related_uid=new, at=at)
        if new is not None:
            holder = {"name": card["holder_name"], "unit": card["holder_unit"], "person_id": card.get("person_id")}
            nb, na = _write_issued(db, new, who, card["card_type"], holder, card["valid_from"], card["valid_until"], at)
            access.copy_card_levels(db, who, uid, new)  # the replacement opens where the old card did
            permit_access.copy_link(db, uid, new, utc_iso(at))  # and follows the old card's renovation permit
            record_move(db, new, Move.ISSUE, nb, na, who, card["card_type"], reason=f"replaces {uid}",
                        related_uid=uid, at=at, holder=holder)
            dep = books.open_deposit(db, uid)
            if dep is not None:
                db["card_deposits"].update(dep["id"], {"transferred_to": new})
                db["card_deposits"].insert({"uid": new, "amount_cents": dep["amount_cents"],
                                            "receipt_no": dep["receipt_no"], "paid_at": dep["paid_at"],
                                            "paid_move_id": move_id})
    return MoveResult(uid, move.value, before.value, after.value, move_id, amount_cents=fee_cents or None,
                      replacement_uid=new)


def transfer(store: Store, who: str, uid: str, card_type: str, reason: str | None,
             at: datetime | None = None) -> MoveResult:
    """A card in the drawer moved to another card type's stock (a supervisor's move: the API
    says who may; the reason is required): booked on both types in the stock ledger, one
    entry out of the old type's stock and one into the new type's (``adjusted`` entries whose
    ref is ``transfer <uid> move <id>``). A side whose type is not counted yet books nothing,
    like every move of an uncounted type; so does the old side if the card was never in its
    books."""
    uid = canonical(uid)
    text = _reason(Move.TRANSFER, reason)
    target = ledger.card_type_of(card_type).value
    when = utc_iso(at)
    with store.tx() as db:
        card = _need_card(db, uid)
        before = S(card["status"])
        after = next_status(before, Move.TRANSFER)
        source = card["card_type"]
        if source == target:
            raise RuleViolation("card {uid} is {card_type} stock already", rule="transfer_to_same_type", uid=uid,
                                card_type=target)
        out = bool(source) and ledger.is_counted(db, source) and books.drawer_card_in_books(db, uid, source)
        if out:
            books.check_card_in_stock(db, uid, source, when)
        into = ledger.is_counted(db, target)
        db["cards"].update(uid, {"card_type": target, "updated_at": when})
        acl.card_changed(db, uid)
        move_id = record_move(db, uid, Move.TRANSFER, before, after, who, target, reason=text, at=at,
                              from_type=source, to_type=target)
        ref = books.transfer_ref(uid, move_id)
        if out:
            ledger.record_adjustment(db, source, -1, who, reason=text, ref=ref, at=at)
        if into:
            ledger.record_adjustment(db, target, 1, who, reason=text, ref=ref, at=at)
    return MoveResult(uid, Move.TRANSFER.value, before.value, after.value, move_id)


def _refuse_expired_replacement(card: dict[str, Any], at: datetime | None) -> None:
    """An expired card is not replaced: the replacement would be handed over not working (its
    validity is the old card's), for a fee. The clerk expects a card that opens the gates, so
    the move is refused and says what to do instead: report the card lost or damaged without
    a replacement, then issue a new card, which checks the card type's rules (tenancy, permit)
    again and gives it a new validity."""
    now = at or datetime.now(timezone.utc)
    ended = card["valid_until"] is not None and datetime.fromisoformat(card["valid_until"]) <= now
    if card["status"] == S.EXPIRED.value or ended:
        raise RuleViolation(
            "card {uid} has expired: a replacement would not open any gate. Report it without a "
            "replacement, then issue a new card (its rules are checked again)", rule="replace_expired_card",
            uid=card["uid"])


def report_lost(store: Store, who: str, uid: str, reason: str | None, *, replacement_uid: str | None = None,
                fee_cents: int | None = None, receipt_no: str | None = None, at: datetime | None = None) -> MoveResult:
    """Blocked at once and for good; optionally a replacement card for the same holder."""
    return _replace(store, who, uid, Move.REPORT_LOST, reason, replacement_uid, fee_cents, receipt_no, at)


def damage(store: Store, who: str, uid: str, reason: str | None, *, replacement_uid: str | None = None,
           fee_cents: int | None = None, receipt_no: str | None = None, at: datetime | None = None) -> MoveResult:
    """A holder's broken card taken back and destroyed; optionally replaced."""
    return _replace(store, who, uid, Move.DAMAGE, reason, replacement_uid, fee_cents, receipt_no, at)


def expire_due(store: Store, who: str = "system:expiry", now: datetime | None = None) -> list[str]:
    """Every active or suspended card whose validity has ended becomes expired."""
    now = now or datetime.now(timezone.utc)
    with store.read() as db:
        rows = list(db.query(
            "SELECT uid, valid_until FROM cards WHERE status IN (?, ?) AND valid_until IS NOT NULL",
            [S.ACTIVE.value, S.SUSPENDED.value]))
    done = []
    for r in rows:
        if datetime.fromisoformat(r["valid_until"]) <= now:
            expire(store, who, r["uid"], "validity ended", at=now)
            done.append(r["uid"])
    return done


def history(store: Store, uid: str) -> list[dict[str, Any]]:
    uid = canonical(uid)
    with store.read() as db:
        rows = list(db.query("SELECT * FROM card_moves WHERE uid = ? ORDER BY id", [uid]))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows


def deposit_of(store: Store, uid: str) -> dict[str, Any] | None:
    with store.read() as db:
        return _open_deposit(db, canonical(uid))


def card_types() -> list[str]:
    return [t.value for t in CardType]

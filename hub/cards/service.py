"""Issuing and revoking cards: the spine every other card move follows.

Each change is one transaction that: asks hub.cards.lifecycle for the new status, writes the
card, calls hub.gates.acl.card_changed so every gate's list moves with it (published to the
gates after commit), and records the move, stock entry and audit row (hub.cards.moves).
"""

from __future__ import annotations

from datetime import datetime, timezone

from hub.cards import moves
from hub.cards.lifecycle import Move, next_status
from hub.cards.models import Card, IssueCard, card_from_row
from hub.cards.uid_words import uid_refused
from hub.db import Store
from hub.errors import NotFound
from hub.gates import acl
from protocols.cards import CardStatus
from protocols.uid import InvalidUid, normalise_uid

DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def canonical(uid: str) -> str:
    """A UID from a URL path, normalised; BadInput naming the field if it cannot be one."""
    try:
        return normalise_uid(uid)
    except InvalidUid as exc:
        raise uid_refused(exc, "bad_uid") from None


def issue(store: Store, who: str, req: IssueCard) -> Card:
    """The API's issue is the clerk's issue (hub.cards.moves.issue_card): one path, so the
    rules, the stock ledger, a deposit and the audit row are the same however a card is issued."""
    result = moves.issue_card(store, who, req.model_dump(mode="json", exclude_none=True))
    return get(store, result.uid)


def revoke(store: Store, who: str, uid: str, reason: str | None = None) -> Card:
    """Revoke; unlike the clerk's page, the API does not insist on a reason (the contract
    takes a bare POST), but keeps one when given."""
    uid = canonical(uid)
    with store.tx() as db:
        rows = list(db.query("SELECT * FROM cards WHERE uid = ?", [uid]))
        if not rows:
            raise NotFound("no card {uid}", rule="unknown_card", field="uid", uid=uid)
        current = CardStatus(rows[0]["status"])
        status = next_status(current, Move.REVOKE)
        db["cards"].update(uid, {"status": status.value, "updated_at": _now()})
        acl.card_changed(db, uid)
        moves.record_move(db, uid, Move.REVOKE, current, status, who, rows[0]["card_type"],
                          reason=(reason or "").strip() or None)
    return get(store, uid)


def get(store: Store, uid: str) -> Card:
    uid = canonical(uid)
    with store.read() as db:
        rows = list(db.query("SELECT * FROM cards WHERE uid = ?", [uid]))
    if not rows:
        raise NotFound("no card {uid}", rule="unknown_card", field="uid", uid=uid)
    return card_from_row(rows[0])


def list_cards(
    store: Store, status: CardStatus | None = None, unit: str | None = None, limit: int = DEFAULT_LIMIT, offset: int = 0
) -> list[Card]:
    where, args = [], []
    if status:
        where.append("status = ?")
        args.append(status.value)
    if unit:
        where.append("holder_unit = ?")
        args.append(unit)
    sql = "SELECT * FROM cards" + (" WHERE " + " AND ".join(where) if where else "")
    sql += " ORDER BY uid LIMIT ? OFFSET ?"
    with store.read() as db:
        rows = list(db.query(sql, [*args, max(1, min(limit, MAX_LIMIT)), max(0, offset)]))
    return [card_from_row(r) for r in rows]

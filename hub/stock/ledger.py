"""The card stock ledger: every card that enters or leaves the clerk's drawer, by card type.

Blank cards arrive in boxes and are counted, not scanned, so stock is a count per card
type kept as an append-only ledger of signed movements; the stock at any moment is the sum
of the ledger up to it, which is what makes a past month's report reproducible. Card moves
write their own entries (``on_card_move``) in the transaction of the move, so a card made
and a stock count that forgot it cannot both be committed.

Kinds and their sign: ``purchased`` +, ``returned`` + (a taken-back card fit to reuse),
``personalised`` - (a blank made into a holder's card), ``scrapped`` - (destroyed out of
stock), ``retired`` 0 (a card already out of stock destroyed: counted, but not stock).
"""

from __future__ import annotations

from datetime import datetime, timezone
from enum import StrEnum

import sqlite_utils

from hub import audit
from hub.db import Store
from hub.errors import BadInput
from protocols.cards import CardStatus as S
from protocols.cards import CardType

SCHEMA = """
CREATE TABLE IF NOT EXISTS stock_ledger (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('purchased', 'returned', 'personalised', 'scrapped', 'retired')),
    card_type TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    delta INTEGER NOT NULL,
    uid TEXT,
    reason TEXT,
    ref TEXT,
    who TEXT NOT NULL,
    move_id INTEGER
);
CREATE INDEX IF NOT EXISTS stock_ledger_at ON stock_ledger (at);
CREATE TRIGGER IF NOT EXISTS stock_ledger_no_update BEFORE UPDATE ON stock_ledger
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;
CREATE TRIGGER IF NOT EXISTS stock_ledger_no_delete BEFORE DELETE ON stock_ledger
BEGIN SELECT RAISE(ABORT, 'the stock ledger is append-only'); END;
CREATE TABLE IF NOT EXISTS stock_limits (
    card_type TEXT PRIMARY KEY,
    min_level INTEGER NOT NULL CHECK (min_level >= 0),
    max_level INTEGER NOT NULL CHECK (max_level >= min_level),
    set_by TEXT NOT NULL,
    set_at TEXT NOT NULL
);
"""

MAX_DELIVERY = 100_000


class Kind(StrEnum):
    PURCHASED = "purchased"
    RETURNED = "returned"
    PERSONALISED = "personalised"
    SCRAPPED = "scrapped"
    RETIRED = "retired"


SIGN = {Kind.PURCHASED: 1, Kind.RETURNED: 1, Kind.PERSONALISED: -1, Kind.SCRAPPED: -1, Kind.RETIRED: 0}


def utc_iso(at: datetime | None = None) -> str:
    """One fixed text form for instants, so that SQLite compares them as strings correctly."""
    at = at or datetime.now(timezone.utc)
    if at.tzinfo is None:
        raise BadInput("a time without a timezone is ambiguous", field="at")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def card_type_of(value: str) -> CardType:
    try:
        return CardType(value)
    except ValueError:
        raise BadInput(
            f"card_type must be one of {', '.join(t.value for t in CardType)}, not {value!r}", field="card_type"
        ) from None


def record(
    db: sqlite_utils.Database,
    kind: Kind,
    card_type: str,
    qty: int,
    who: str,
    *,
    uid: str | None = None,
    reason: str | None = None,
    ref: str | None = None,
    move_id: int | None = None,
    at: datetime | None = None,
) -> int:
    """Append one movement; call inside the caller's transaction."""
    kind = Kind(kind)
    ctype = card_type_of(card_type)
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= MAX_DELIVERY:
        raise BadInput(f"qty must be a whole number from 1 to {MAX_DELIVERY}", field="qty")
    table = db["stock_ledger"]
    table.insert(
        {
            "at": utc_iso(at),
            "kind": kind.value,
            "card_type": ctype.value,
            "qty": qty,
            "delta": SIGN[kind] * qty,
            "uid": uid,
            "reason": reason,
            "ref": ref,
            "who": who,
            "move_id": move_id,
        }
    )
    return table.last_pk


def stock_kind(before: S | None, after: S) -> Kind | None:
    """What a card's status change does to the stock (``before`` None: a card new to the hub,
    which came out of the blank stock)."""
    before = S.IN_STOCK if before is None else S(before)
    after = S(after)
    if before == S.IN_STOCK and after in (S.PERSONALISED, S.ACTIVE):
        return Kind.PERSONALISED
    if before == S.IN_STOCK and after == S.SCRAPPED:
        return Kind.SCRAPPED
    if before == S.RETURNED and after == S.IN_STOCK:
        return Kind.RETURNED
    if after == S.SCRAPPED:
        return Kind.RETIRED
    return None


def on_card_move(
    db: sqlite_utils.Database,
    before: S | None,
    after: S,
    card_type: str | None,
    uid: str,
    who: str,
    *,
    reason: str | None = None,
    move_id: int | None = None,
    at: datetime | None = None,
) -> Kind | None:
    kind = stock_kind(before, after)
    if kind is None:
        return None
    if not card_type:
        raise BadInput(f"card {uid} has no card type, so the stock it belongs to is unknown", field="card_type")
    record(db, kind, card_type, 1, who, uid=uid, reason=reason, move_id=move_id, at=at)
    return kind


def receive_delivery(
    store: Store, who: str, card_type: str, qty: int, ref: str, at: datetime | None = None
) -> int:
    """Blank cards bought and delivered; ``ref`` is the delivery note or invoice."""
    if not (ref or "").strip():
        raise BadInput("a delivery needs its delivery note or invoice number", field="ref")
    with store.tx() as db:
        entry = record(db, Kind.PURCHASED, card_type, qty, who, ref=ref.strip(), at=at)
        audit.record(db, who, "stock_delivery", "stock", str(entry), None, card_type=card_type, qty=qty, ref=ref)
    return entry


def scrap_blanks(
    store: Store, who: str, card_type: str, qty: int, reason: str, at: datetime | None = None
) -> int:
    """Blank cards destroyed without ever being a holder's (faulty chip, misprint, bent)."""
    if not (reason or "").strip():
        raise BadInput("scrapping needs a reason", field="reason", rule="reason_required")
    with store.tx() as db:
        on_hand = in_stock(db).get(card_type_of(card_type).value, 0)
        if qty > on_hand:
            raise BadInput(f"only {on_hand} {card_type} cards are in stock; cannot scrap {qty}", field="qty", rule="not_in_stock")
        entry = record(db, Kind.SCRAPPED, card_type, qty, who, reason=reason.strip(), at=at)
        audit.record(db, who, "stock_scrap", "stock", str(entry), reason.strip(), card_type=card_type, qty=qty)
    return entry


def in_stock(db: sqlite_utils.Database, before: str | None = None) -> dict[str, int]:
    """Cards in stock per card type, optionally as it stood just before the instant ``before``."""
    sql = "SELECT card_type, SUM(delta) AS n FROM stock_ledger"
    args: list[str] = []
    if before is not None:
        sql += " WHERE at < ?"
        args.append(before)
    sql += " GROUP BY card_type"
    return {r["card_type"]: r["n"] for r in db.query(sql, args)}


def set_limits(store: Store, who: str, card_type: str, min_level: int, max_level: int) -> None:
    """The levels the clerk keeps a card type's stock between (reorder below, no more above)."""
    ctype = card_type_of(card_type)
    if not 0 <= min_level <= max_level <= MAX_DELIVERY:
        raise BadInput("limits must satisfy 0 <= min_level <= max_level", field="min_level")
    with store.tx() as db:
        db["stock_limits"].upsert(
            {"card_type": ctype.value, "min_level": min_level, "max_level": max_level, "set_by": who,
             "set_at": utc_iso()}, pk="card_type")
        audit.record(db, who, "stock_limits", "stock", ctype.value, None, min_level=min_level, max_level=max_level)


def levels(db: sqlite_utils.Database) -> list[dict]:
    """Each card type's stock against its limits: ``low`` means reorder, ``high`` over-bought,
    ``below_zero`` that cards were made from blanks whose delivery was never recorded (issuing
    is not refused for it: a resident's card must not wait for the bookkeeping)."""
    counts = in_stock(db)
    limits = {r["card_type"]: r for r in db.query("SELECT * FROM stock_limits")}
    out = []
    for t in CardType:
        if t.value not in counts and t.value not in limits:
            continue
        n = counts.get(t.value, 0)
        lim = limits.get(t.value)
        state = "no_limits"
        if n < 0:
            state = "below_zero"
        elif lim:
            state = "low" if n < lim["min_level"] else "high" if n > lim["max_level"] else "ok"
        out.append({"card_type": t.value, "in_stock": n, "min_level": lim["min_level"] if lim else None,
                    "max_level": lim["max_level"] if lim else None, "state": state})
    return out

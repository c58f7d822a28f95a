"""The card stock ledger: every card that enters or leaves the clerk's drawer, by card type.

Blank cards arrive in boxes and are counted, not scanned, so stock is a count per card
type kept as an append-only ledger of signed movements; the stock at any moment is the sum
of the ledger up to it, which is what makes a past month's report reproducible. Card moves
write their own entries (``on_card_move``) in the transaction of the move, so a card made
and a stock count that forgot it cannot both be committed.

Kinds and their sign: ``purchased`` +, ``returned`` + (a taken-back card fit to reuse),
``personalised`` - (a blank made into a holder's card), ``scrapped`` - (destroyed out of
stock), ``retired`` 0 (a card already out of stock destroyed: counted, but not stock),
``adjusted`` + or - (a stocktake's difference a supervisor approved: hub.stock.stocktake).

A card type's stock is kept from its first count onwards: its first delivery, or its first
stocktake that matched or was approved (``is_counted``). Before that the ledger still
records the type's moves, but nothing says how many blanks were really in the drawer.
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

_LEDGER_TABLE = """
CREATE TABLE IF NOT EXISTS stock_ledger (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('purchased', 'returned', 'personalised', 'scrapped', 'retired', 'adjusted')),
    card_type TEXT NOT NULL,
    qty INTEGER NOT NULL CHECK (qty > 0),
    delta INTEGER NOT NULL,
    uid TEXT,
    reason TEXT,
    ref TEXT,
    who TEXT NOT NULL,
    move_id INTEGER
)"""

SCHEMA = _LEDGER_TABLE + """;
CREATE INDEX IF NOT EXISTS stock_ledger_at ON stock_ledger (at);
-- the money report's card type of each move (hub.stock.money._card_type): one lookup, not a walk
CREATE INDEX IF NOT EXISTS stock_ledger_move ON stock_ledger (move_id);
CREATE INDEX IF NOT EXISTS stock_ledger_uid ON stock_ledger (uid, at);
-- stock by type as it stood at an instant (in_stock, the month's opening and closing): the
-- index alone, in type order, instead of the table and a sort
CREATE INDEX IF NOT EXISTS stock_ledger_type ON stock_ledger (card_type, at, delta);
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
CREATE TABLE IF NOT EXISTS stock_counts (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    card_type TEXT NOT NULL,
    counted INTEGER NOT NULL CHECK (counted >= 0),
    booked INTEGER NOT NULL,
    difference INTEGER NOT NULL,
    who TEXT NOT NULL,
    note TEXT,
    state TEXT NOT NULL CHECK (state IN ('matched', 'pending', 'approved', 'refused')),
    decided_by TEXT,
    decided_at TEXT,
    decision_reason TEXT,
    entry_id INTEGER
);
CREATE INDEX IF NOT EXISTS stock_counts_at ON stock_counts (at);
CREATE TRIGGER IF NOT EXISTS stock_counts_decided_once BEFORE UPDATE ON stock_counts WHEN OLD.state != 'pending'
BEGIN SELECT RAISE(ABORT, 'a stocktake is decided once'); END;
CREATE TRIGGER IF NOT EXISTS stock_counts_no_delete BEFORE DELETE ON stock_counts
BEGIN SELECT RAISE(ABORT, 'stocktakes are kept'); END;
"""

MAX_DELIVERY = 100_000


def migrate(db: sqlite_utils.Database) -> None:
    """A stock_ledger made before stocktakes refuses kind 'adjusted' in its CHECK: rebuild it
    once with every row kept (SQLite cannot alter a CHECK in place)."""
    rows = list(db.query("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'stock_ledger'"))
    if not rows or "'adjusted'" in rows[0]["sql"]:
        return
    conn = db.conn
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute("ALTER TABLE stock_ledger RENAME TO stock_ledger_before_stocktakes")
        conn.execute(_LEDGER_TABLE)
        conn.execute("INSERT INTO stock_ledger SELECT * FROM stock_ledger_before_stocktakes")
        conn.execute("DROP TABLE stock_ledger_before_stocktakes")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.executescript(SCHEMA)  # the index and the append-only triggers went with the old table


class Kind(StrEnum):
    PURCHASED = "purchased"
    RETURNED = "returned"
    PERSONALISED = "personalised"
    SCRAPPED = "scrapped"
    RETIRED = "retired"
    ADJUSTED = "adjusted"  # signed: its delta is the approved difference, its qty the size


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
            "card_type must be one of {card_types}, not {value!r}", field="card_type",
            card_types=", ".join(t.value for t in CardType), value=value,
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
    """Append one movement; call inside the caller's transaction (not for adjustments:
    ``record_adjustment``)."""
    kind = Kind(kind)
    if kind == Kind.ADJUSTED:
        raise ValueError("an adjustment is signed: use record_adjustment")
    ctype = card_type_of(card_type)
    if not isinstance(qty, int) or isinstance(qty, bool) or not 0 < qty <= MAX_DELIVERY:
        raise BadInput("qty must be a whole number from 1 to {most}", field="qty", most=MAX_DELIVERY)
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


def record_adjustment(
    db: sqlite_utils.Database, card_type: str, delta: int, who: str, *, reason: str, ref: str, at: datetime | None,
) -> int:
    """Append an approved stocktake difference (``delta`` = counted - booked, not zero); call
    inside the approving transaction."""
    ctype = card_type_of(card_type)
    if not isinstance(delta, int) or isinstance(delta, bool) or delta == 0 or abs(delta) > MAX_DELIVERY:
        raise BadInput("an adjustment is a whole number from -{most} to {most}, not 0", field="delta", most=MAX_DELIVERY)
    table = db["stock_ledger"]
    table.insert({"at": utc_iso(at), "kind": Kind.ADJUSTED.value, "card_type": ctype.value, "qty": abs(delta),
                  "delta": delta, "uid": None, "reason": reason, "ref": ref, "who": who, "move_id": None})
    return table.last_pk


def is_counted(db: sqlite_utils.Database, card_type: str) -> bool:
    """Whether the hub keeps this card type's stock: from its first delivery, or its first
    stocktake that matched the books or whose difference a supervisor approved. Before that
    nobody has said how many blanks of the type are in the drawer, so stock rules that need
    a blank (hub.cards) cannot hold the clerk to a number; from then on they can."""
    ctype = card_type_of(card_type).value
    if list(db.query("SELECT 1 FROM stock_ledger WHERE card_type = ? AND kind IN ('purchased', 'adjusted') LIMIT 1",
                     [ctype])):
        return True
    return bool(list(db.query(
        "SELECT 1 FROM stock_counts WHERE card_type = ? AND state IN ('matched', 'approved') LIMIT 1", [ctype])))


def stock_of(db: sqlite_utils.Database, card_type: str, upto: str | None = None) -> int:
    """One card type's stock by the books, including entries at ``upto`` itself (a count made
    at an instant sees the moves booked at that instant)."""
    ctype = card_type_of(card_type).value
    sql, args = "SELECT COALESCE(SUM(delta), 0) AS n FROM stock_ledger WHERE card_type = ?", [ctype]
    if upto is not None:
        sql += " AND at <= ?"
        args.append(upto)
    return list(db.query(sql, args))[0]["n"]


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
        raise BadInput("card {uid} has no card type, so the stock it belongs to is unknown", field="card_type", uid=uid)
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
            raise BadInput("only {on_hand} {card_type} cards are in stock; cannot scrap {qty}", field="qty",
                           rule="not_in_stock", on_hand=on_hand, card_type=card_type, qty=qty)
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

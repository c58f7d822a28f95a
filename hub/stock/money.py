"""The card centre's money for a month: deposits taken, refunded and forfeited, and fees
(replacement of a lost card, a damaged card), each line with its receipt number, summed per
card type and per clerk; beside the inventory report and in the same month bounds (the
estate's timezone).

Money is whole fen (the ``amount_cents`` of hub.cards.moves: fen are a yuan's cents). The
lines come from the card moves; the deposits held come from the cards' own deposit records
(``card_deposits``), so the reconciliation is a real check between two records:
deposits held at the month's end = held at its start + taken - refunded - forfeited.

Which move is which kind of money is said once, in ``kind_of``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

import sqlite_utils

from hub.stock.report import bounds, zone

#: the kinds of money, in report order
KINDS = ("deposit_taken", "deposit_refunded", "deposit_forfeited", "fee_replacement", "fee_damage", "fee_other")
LOST_MOVES = {"report_lost", "lost"}
DAMAGE_MOVES = {"damage", "damaged"}
ISSUE_MOVES = {"issue", "personalise", "reissue", "transfer"}


def kind_of(move: str, amount_cents: int) -> str:
    """What a move's amount is. Refunds are booked negative by hub.cards.moves, deposits and
    fees positive; a forfeit (however it is booked) is deposit money kept, never a fee."""
    if "forfeit" in move:
        return "deposit_forfeited"
    if amount_cents < 0:
        return "deposit_refunded"
    if move in ISSUE_MOVES:
        return "deposit_taken"
    if move in LOST_MOVES:
        return "fee_replacement"
    if move in DAMAGE_MOVES:
        return "fee_damage"
    return "fee_other"


@dataclass
class Sums:
    deposit_taken: int = 0
    deposit_refunded: int = 0
    deposit_forfeited: int = 0
    fee_replacement: int = 0
    fee_damage: int = 0
    fee_other: int = 0

    def add(self, kind: str, amount: int) -> None:
        setattr(self, kind, getattr(self, kind) + amount)


@dataclass
class MoneyReport:
    month: str
    timezone: str
    lines: list[dict[str, Any]]
    by_card_type: dict[str, Sums]
    by_clerk: dict[str, Sums]
    total: Sums
    deposits_held_at_start: int
    deposits_held_at_end: int
    problems: list[str] = field(default_factory=list)

    @property
    def reconciles(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "timezone": self.timezone,
            "currency": "CNY",
            "unit": "fen",
            "lines": self.lines,
            "by_card_type": [{"card_type": k, **asdict(v)} for k, v in self.by_card_type.items()],
            "by_clerk": [{"clerk": k, **asdict(v)} for k, v in self.by_clerk.items()],
            "total": asdict(self.total),
            "deposits": {
                "held_at_start": self.deposits_held_at_start,
                "taken": self.total.deposit_taken,
                "refunded": self.total.deposit_refunded,
                "forfeited": self.total.deposit_forfeited,
                "held_at_end": self.deposits_held_at_end,
                "reconciles": self.reconciles,
            },
            "problems": self.problems,
        }


def _columns(db: sqlite_utils.Database, table: str) -> set[str]:
    return {r[1] for r in db.conn.execute(f"PRAGMA table_info({table})")}


def deposits_held(db: sqlite_utils.Database, at: str) -> int:
    """Deposits the estate held just before the instant ``at``, from the cards' deposit
    records. A deposit moved to a replacement card is one deposit: its last card's record
    carries the original payment time, so only that record is counted."""
    sql = ("SELECT COALESCE(SUM(amount_cents), 0) AS n FROM card_deposits WHERE transferred_to IS NULL AND paid_at < ?"
           " AND (refunded_at IS NULL OR refunded_at >= ?)")
    args = [at, at]
    if "forfeited_at" in _columns(db, "card_deposits"):  # forfeits, once hub.cards records them there
        sql += " AND (forfeited_at IS NULL OR forfeited_at >= ?)"
        args.append(at)
    return list(db.query(sql, args))[0]["n"]


#: the card's type when the move was made: its stock entry for the move, else the last
#: stock entry of the card before it (its issue), else the card's type now; in the month's
#: query itself, each lookup through an index (stock_ledger_move, stock_ledger_uid, the key)
_CARD_TYPE = (
    "COALESCE((SELECT l.card_type FROM stock_ledger l WHERE l.move_id = m.id LIMIT 1),"
    " (SELECT l.card_type FROM stock_ledger l WHERE l.uid = m.uid AND l.at <= m.at ORDER BY l.at DESC, l.id DESC"
    " LIMIT 1), (SELECT c.card_type FROM cards c WHERE c.uid = m.uid))"
)


_LINES = (
    "SELECT id, at, uid, move, who, receipt_no, related_uid, amount_cents,"
    f" CASE WHEN amount_cents THEN {_CARD_TYPE} END AS card_type FROM ("
    " SELECT m.id, m.at, m.uid, m.move, m.who, m.receipt_no, m.related_uid,"
    " COALESCE(NULLIF(m.amount_cents, 0), CASE WHEN m.move LIKE '%forfeit%'"
    " THEN json_extract(m.detail, '$.deposit_cents') END) AS amount_cents FROM card_moves m"
    " WHERE m.at >= ? AND m.at < ? AND (m.amount_cents <> 0 OR m.move LIKE '%forfeit%')) m ORDER BY at, id"
)


def compute(db: sqlite_utils.Database, year: int, month: int, tz_name: str = "UTC") -> MoneyReport:
    tz = zone(tz_name)
    start, end = bounds(year, month, tz)
    lines: list[dict[str, Any]] = []
    sums: dict[tuple[str, str, str], int] = {}  # (card type, clerk, kind): fen; a month has a few dozen
    # a forfeit pays nothing out, so hub.cards.moves books no amount on it: the deposit it
    # keeps is in the move's detail (deposit_cents). Moves with no money (two in three: most
    # issues take no deposit) are left out in the query, before their card type is looked up.
    # Rows as tuples: a month of an estate has thousands of lines.
    for move_id, at, uid, move, who, receipt_no, related_uid, cents, card_type in db.conn.execute(
            _LINES, [start, end]):
        if not cents:
            continue
        kind = kind_of(move, cents)
        amount = abs(cents)
        ctype = card_type or "unknown"
        lines.append({
            "at": datetime.fromisoformat(at).astimezone(tz).isoformat(), "uid": uid, "card_type": ctype,
            "clerk": who, "move": move, "kind": kind, "amount_cents": amount, "receipt_no": receipt_no,
            "related_uid": related_uid, "move_id": move_id,
        })
        key = (ctype, who, kind)
        sums[key] = sums.get(key, 0) + amount
    by_type: dict[str, Sums] = {}
    by_clerk: dict[str, Sums] = {}
    total = Sums()
    for (ctype, who, kind), amount in sums.items():
        for group, key in ((by_type, ctype), (by_clerk, who)):
            group.setdefault(key, Sums()).add(kind, amount)
        total.add(kind, amount)
    held_start, held_end = deposits_held(db, start), deposits_held(db, end)
    problems = []
    expected = held_start + total.deposit_taken - total.deposit_refunded - total.deposit_forfeited
    if expected != held_end:
        problems.append(
            f"deposits held at the month's end are {held_end} fen by the cards' deposits, but {expected} fen by the"
            f" moves (held at start {held_start} + taken {total.deposit_taken} - refunded {total.deposit_refunded}"
            f" - forfeited {total.deposit_forfeited})")
    missing = [ln["move_id"] for ln in lines if not (ln["receipt_no"] or "").strip()]
    if missing:
        problems.append(f"{len(missing)} line(s) have no receipt number: moves {', '.join(map(str, missing[:10]))}")
    return MoneyReport(f"{year:04d}-{month:02d}", tz_name, lines, dict(sorted(by_type.items())),
                       dict(sorted(by_clerk.items())), total, held_start, held_end, problems)

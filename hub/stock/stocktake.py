"""Stocktakes: the clerk counts the blanks of a card type in the drawer; the books follow
only with a supervisor's approval (not the count's own: ``own_stocktake``).

A count that matches the books is kept as ``matched``. A count that differs is ``pending``:
the difference is not stock until a supervisor approves it with a reason, which books it as
one ``adjusted`` ledger entry at the time of the count (the drawer held that many then), or
refuses it, which books nothing. Either way the count stays on record, and every step is in
the audit log. Approving a count whose month (or a later one) has been filed is refused, as
it would change numbers already sent.

The difference is worked out again when it is approved, against the books as they stand for
the count's instant: a paper move entered in between (hub.stock.paper) is then not counted
twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import sqlite_utils

from hub import audit
from hub.db import Store
from hub.errors import BadInput, NotFound, RuleViolation, Word
from hub.i18n.validation import N_
from hub.stock import ledger
from hub.stock.ledger import card_type_of, utc_iso
from hub.stock.report import refuse_if_filed

MAX_COUNT = ledger.MAX_DELIVERY
#: a count's states as a detail names them ("stocktake 3 is approved"), msgids
STATES = (N_("pending"), N_("matched"), N_("approved"), N_("refused"))


@dataclass(frozen=True)
class Count:
    id: int
    at: str
    card_type: str
    counted: int
    booked: int
    difference: int
    who: str
    note: str | None
    state: str
    decided_by: str | None = None
    decided_at: str | None = None
    decision_reason: str | None = None
    entry_id: int | None = None

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _row(db: sqlite_utils.Database, count_id: int) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM stock_counts WHERE id = ?", [count_id]))
    if not rows:
        raise NotFound("no stocktake {count_id}", rule="unknown_stocktake", field="id", count_id=count_id)
    return rows[0]


def record_count(
    store: Store, who: str, card_type: str, counted: int, note: str | None = None, *, at: datetime | None = None,
    tz_name: str = "UTC",
) -> Count:
    """The physical count of one card type at ``at`` (default now)."""
    ctype = card_type_of(card_type).value
    if not isinstance(counted, int) or isinstance(counted, bool) or not 0 <= counted <= MAX_COUNT:
        raise BadInput("counted must be a whole number from 0 to {most}", field="counted", most=MAX_COUNT)
    when = utc_iso(at)
    text = (note or "").strip() or None
    with store.tx() as db:
        refuse_if_filed(db, at or datetime.now(timezone.utc), tz_name)
        booked = ledger.stock_of(db, ctype, when)
        diff = counted - booked
        state = "matched" if diff == 0 else "pending"
        table = db["stock_counts"]
        table.insert({"at": when, "card_type": ctype, "counted": counted, "booked": booked, "difference": diff,
                      "who": who, "note": text, "state": state})
        count_id = table.last_pk
        audit.record(db, who, "stocktake", "stocktake", str(count_id), text, card_type=ctype, counted=counted,
                     booked=booked, difference=diff, state=state, counted_at=when)
        return Count(**_row(db, count_id))


def decide(
    store: Store, who: str, count_id: int, approve: bool, reason: str, *, tz_name: str = "UTC",
    now: datetime | None = None,
) -> Count:
    """A supervisor's decision on a pending count: approve (the difference becomes an
    adjustment) or refuse (nothing is booked). A reason is required either way."""
    text = (reason or "").strip()
    if not text:
        raise BadInput("approving or refusing a stocktake needs a reason", field="reason", rule="reason_required")
    with store.tx() as db:
        row = _row(db, count_id)
        if row["state"] != "pending":
            raise RuleViolation("stocktake {count_id} is {state}, not pending", rule="stocktake_not_pending",
                                count_id=count_id, state=Word(row["state"]))
        entry = None
        diff = row["difference"]
        if approve:
            at = datetime.fromisoformat(row["at"])
            refuse_if_filed(db, at, tz_name)
            if row["who"] == who:
                raise RuleViolation("a stocktake's difference is approved by someone other than who counted",
                                    rule="own_stocktake")
            diff = row["counted"] - ledger.stock_of(db, row["card_type"], row["at"])
            if diff != 0:
                entry = ledger.record_adjustment(db, row["card_type"], diff, who, reason=text,
                                                 ref=f"stocktake {count_id}", at=at)
        state = "approved" if approve else "refused"
        db["stock_counts"].update(count_id, {"state": state, "decided_by": who, "decided_at": utc_iso(now),
                                             "decision_reason": text, "entry_id": entry, "difference": diff})
        audit.record(db, who, f"stocktake_{state}", "stocktake", str(count_id), text, card_type=row["card_type"],
                     difference=diff, entry=entry)
        return Count(**_row(db, count_id))


def counts(db: sqlite_utils.Database, state: str | None = None, limit: int = 200) -> list[Count]:
    """Stocktakes, newest first; ``state`` 'pending' is what waits for a supervisor."""
    sql, args = "SELECT * FROM stock_counts", []
    if state:
        sql += " WHERE state = ?"
        args.append(state)
    sql += " ORDER BY id DESC LIMIT ?"
    args.append(max(1, min(limit, 1000)))
    return [Count(**r) for r in db.query(sql, args)]

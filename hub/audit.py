"""The append-only audit log: who changed what, when, and why; searchable (``search``) by
card, person, unit, clerk and time, so a supervisor can say who issued a card and when.

Services call ``record`` inside the same transaction as the change itself, so a change
and its audit row are committed together or not at all. Triggers refuse UPDATE and
DELETE on the table: append-only is enforced by the database, not by good manners.
"""

from __future__ import annotations

import heapq
import json
from datetime import datetime, timedelta, timezone
from typing import Any

import sqlite_utils

SCHEMA = """
CREATE TABLE IF NOT EXISTS audit (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS audit_entity ON audit (entity, entity_id);
CREATE INDEX IF NOT EXISTS audit_who ON audit (who);
-- the search (below): newest first, a card named as the related card, a unit's rows
CREATE INDEX IF NOT EXISTS audit_at ON audit (at);
CREATE INDEX IF NOT EXISTS audit_related ON audit (json_extract(detail, '$.related_uid'));
CREATE INDEX IF NOT EXISTS audit_unit ON audit (json_extract(detail, '$.unit'));
CREATE INDEX IF NOT EXISTS audit_action ON audit (action, at);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


def record(
    db: sqlite_utils.Database,
    who: str,
    action: str,
    entity: str,
    entity_id: str,
    reason: str | None = None,
    **detail: Any,
) -> None:
    db["audit"].insert(
        {
            "at": datetime.now(timezone.utc).isoformat(),
            "who": who,
            "action": action,
            "entity": entity,
            "entity_id": str(entity_id),
            "reason": reason,
            "detail": json.dumps(detail, default=str, sort_keys=True),
        }
    )


MAX_SEARCH = 1000


def _card_uids(db: sqlite_utils.Database, where_card: str, where_move: str, value: Any,
               move_args: list[Any] | None = None) -> list[str]:
    """Cards a person or unit holds now or held at any issue (the move rows keep the holder)."""
    uids = {r["uid"] for r in db.query(f"SELECT uid FROM cards WHERE {where_card}", [value])}
    uids |= {r["uid"] for r in db.query(f"SELECT uid FROM card_moves WHERE {where_move}",
                                        [value] if move_args is None else move_args)}
    return sorted(uids)


#: people of a name looked at, at most (the register's search ranks the closest first)
MAX_NAMED = 50


def _cards_by_holder_name(db: sqlite_utils.Database, name: str) -> list[str]:
    """Cards someone of this name holds or held, found as the clerk's search box finds them:
    people in the register by any part of their name, its pinyin or initials
    (hub.people.registry.search_names), then their cards and moves by person id; and a
    holder outside the register by the start of the name on the card or the move. Every
    step is an index lookup: a part from the middle of a name inside a move's JSON could
    only be found by reading every move (159 ms at a year's 60,000 cards, and growing)."""
    from hub.people.registry import search_names, starting_with

    lo, hi = starting_with(name)
    uids = {r["uid"] for r in db.query("SELECT uid FROM cards WHERE holder_name >= ? AND holder_name < ?", [lo, hi])}
    uids |= {r["uid"] for r in db.query(
        "SELECT uid FROM card_moves WHERE json_extract(detail, '$.holder.name') >= ?"
        " AND json_extract(detail, '$.holder.name') < ?", [lo, hi])}
    ids = [p["id"] for p in search_names(db, name, MAX_NAMED)] if db["people"].exists() else []
    if ids:
        marks = ",".join("?" * len(ids))
        uids |= {r["uid"] for r in db.query(f"SELECT uid FROM cards WHERE person_id IN ({marks})", ids)}
        uids |= {r["uid"] for r in db.query(
            f"SELECT uid FROM card_moves WHERE json_extract(detail, '$.holder.person_id') IN ({marks})", ids)}
    return sorted(uids)


def search(
    db: sqlite_utils.Database,
    *,
    card: str | None = None,
    person: str | None = None,
    unit: str | None = None,
    clerk: str | None = None,
    since: str | None = None,
    until: str | None = None,
    action: str | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, narrowed by every filter given: ``card`` (a canonical UID:
    its rows and the rows naming it as the related card), ``person`` (a person id: the person's rows
    and those of every card they hold or held; or a name: the rows of the cards of the
    people that name finds, and of the cards whose holder's name begins with it), ``unit``
    (the unit's rows, its people's and its cards'), ``clerk`` (``role:name`` or the bare
    name), ``since``/``until`` (instants in the stored text form, [since, until)).

    A card move's row carries ``move_at``, when the move happened (a paper move's real time),
    and the range is read on it, so "who issued this card and when" has one answer.
    """
    where: list[str] = []
    args: list[Any] = []
    if card:
        where.append("((a.entity = 'card' AND a.entity_id = ?) OR json_extract(a.detail, '$.related_uid') = ?)")
        args += [card, card]
    if person:
        person = person.strip()
        if person.isdigit():
            uids = _card_uids(db, "person_id = ?", "json_extract(detail, '$.holder.person_id') = ?", int(person))
            marks = ",".join("?" * len(uids)) or "NULL"
            where.append(f"((a.entity = 'person' AND a.entity_id = ?) OR (a.entity = 'card' AND a.entity_id IN ({marks})))")
            args += [person, *uids]
        else:
            uids = _cards_by_holder_name(db, person)
            marks = ",".join("?" * len(uids)) or "NULL"
            where.append(f"(a.entity = 'card' AND a.entity_id IN ({marks}))")
            args += uids
    if unit:
        unit = unit.strip()
        uids = _card_uids(db, "holder_unit = ?", "json_extract(detail, '$.holder.unit') = ?", unit)
        marks = ",".join("?" * len(uids)) or "NULL"
        where.append(f"((a.entity = 'unit' AND a.entity_id = ?) OR json_extract(a.detail, '$.unit') = ?"
                     f" OR (a.entity = 'card' AND a.entity_id IN ({marks})))")
        args += [unit, unit, *uids]
    if clerk:
        clerk = clerk.strip()
        where.append("(a.who = ? OR a.who LIKE ?)")
        args += [clerk, f"%:{clerk}"]
    if action:
        where.append("a.action = ?")
        args.append(action)
    when = "COALESCE(m.at, a.at)"
    if since:
        # a row's time is at most MOVE_AHEAD_S after it was written, so since bounds a.at too:
        # the index's range
        where.append(f"{when} >= ? AND a.at >= ?")
        args += [since, _earlier(since)]
    late: list[dict[str, Any]] = []
    if until:
        where.append(f"{when} < ?")
        args.append(until)
        # a row written from until on counts only if its move is a paper move of earlier:
        # found from the (few) paper moves entered since, so the walk below starts at until
        late = [dict(r) for r in db.conn.execute(
            f"{_SELECT} WHERE {' AND '.join(where)} AND a.at >= ? AND a.entity = 'card' AND a.entity_id IN"
            " (SELECT entity_id FROM audit WHERE action = 'paper_move' AND at >= ?)", [*args, until, until])]
        where.append("a.at < ?")
        args.append(until)
    sql = _SELECT
    if where:
        sql += " WHERE " + " AND ".join(where)
    # a card, person or unit has few rows: found through their indexes, then sorted (the
    # "+" keeps the planner from walking the whole log down audit_at looking for them)
    sql += f" ORDER BY {'+' if card or person or unit else ''}a.at DESC, a.id DESC"
    rows = _newest_by_move_time(db.conn.execute(sql, args), max(1, min(limit, MAX_SEARCH)), late)
    for r in rows:
        r["detail"] = json.loads(r["detail"])
        r["holder"] = json.loads(r["holder"]) if r["holder"] else None
    return rows


_SELECT = ("SELECT a.id, a.at, a.who, a.action, a.entity, a.entity_id, a.reason, a.detail, m.at AS move_at,"
           " json_extract(m.detail, '$.holder') AS holder"
           " FROM audit a LEFT JOIN card_moves m ON a.entity = 'card' AND m.id = json_extract(a.detail, '$.move_id')")

#: how far a move's time may be after its audit row was written: a paper move may be
#: dated this far ahead of the hub's clock (hub.stock.paper.CLOCK_SLACK_S); every other
#: move's time is before its row
MOVE_AHEAD_S = 60


def _earlier(at: str, seconds: float = MOVE_AHEAD_S) -> str:
    """``at`` (the stored text form) less ``seconds``, in the same form."""
    moved = datetime.fromisoformat(at) - timedelta(seconds=seconds)
    return moved.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _newest_by_move_time(cursor: Any, limit: int, also: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """The ``limit`` rows latest by their move's time (else their own), from ``also`` and
    from rows given newest written first, reading no further than needed.

    A row is written when its move is recorded, and a move's time is at most MOVE_AHEAD_S
    after that (a paper move is entered late, never early but for clocks that differ): so
    once rows are written that much before the ``limit``-th latest time kept, no later row
    can enter, and the walk down the audit_at index stops there instead of sorting the
    whole log.
    """
    kept: list[tuple[str, int, dict[str, Any]]] = []  # a min-heap: the earliest kept row on top

    def keep(row: dict[str, Any]) -> None:
        item = (row["move_at"] or row["at"], row["id"], row)
        if len(kept) < limit:
            heapq.heappush(kept, item)
        elif item[:2] > kept[0][:2]:
            heapq.heapreplace(kept, item)

    for row in also or []:
        keep(row)
    for raw in cursor:
        row = dict(raw)
        if len(kept) >= limit and row["at"] < _earlier(kept[0][0]):
            break
        keep(row)
    return [row for _, _, row in sorted(kept, key=lambda k: (k[0], k[1]), reverse=True)]

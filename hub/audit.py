"""The append-only audit log: who changed what, when, and why; searchable (``search``) by
card, person, unit, clerk and time, so a supervisor can say who issued a card and when.

Services call ``record`` inside the same transaction as the change itself, so a change
and its audit row are committed together or not at all. Triggers refuse UPDATE and
DELETE on the table: append-only is enforced by the database, not by good manners.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
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


def _card_uids(db: sqlite_utils.Database, where_card: str, where_move: str, value: Any) -> list[str]:
    """Cards a person or unit holds now or held at any issue (the move rows keep the holder)."""
    uids = {r["uid"] for r in db.query(f"SELECT uid FROM cards WHERE {where_card}", [value])}
    uids |= {r["uid"] for r in db.query(f"SELECT DISTINCT uid FROM card_moves WHERE {where_move}", [value])}
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
    its rows and the rows naming it as the related card), ``person`` (a person id, or part of
    a holder's name: the person's rows and those of every card they hold or held), ``unit``
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
            own = "(a.entity = 'person' AND a.entity_id = ?)"
            args.append(person)
        else:
            like = f"%{person}%"
            uids = _card_uids(db, "holder_name LIKE ?", "json_extract(detail, '$.holder.name') LIKE ?", like)
            own = "0"
        marks = ",".join("?" * len(uids)) or "NULL"
        where.append(f"({own} OR (a.entity = 'card' AND a.entity_id IN ({marks})))")
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
        where.append(f"{when} >= ?")
        args.append(since)
    if until:
        where.append(f"{when} < ?")
        args.append(until)
    sql = ("SELECT a.id, a.at, a.who, a.action, a.entity, a.entity_id, a.reason, a.detail, m.at AS move_at,"
           " json_extract(m.detail, '$.holder') AS holder"
           " FROM audit a LEFT JOIN card_moves m ON a.entity = 'card' AND m.id = json_extract(a.detail, '$.move_id')")
    if where:
        sql += " WHERE " + " AND ".join(where)
    sql += f" ORDER BY {when} DESC, a.id DESC LIMIT ?"
    args.append(max(1, min(limit, MAX_SEARCH)))
    rows = list(db.query(sql, args))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
        r["holder"] = json.loads(r["holder"]) if r["holder"] else None
    return rows

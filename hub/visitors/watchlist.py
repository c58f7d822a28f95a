"""The watch list: people and vehicles the estate does not let in without a supervisor's say.

An entry is an ID number or a phone (kept only as its keyed hash, shown masked) or a plate.
A registration that matches one is refused (rule ``watch_list_hit``) and raises an alarm,
unless a supervisor registers it with a reason (hub.visitors.service); every hit is counted
for the monthly figures (``visit_hits``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import sqlite_utils

from hub import audit
from hub.db import Store
from hub.errors import BadInput, NotFound
from hub.visitors.keys import VisitorKeys
from hub.visitors.models import WatchIn, id_number, masked, phone_digits, plate_of

MAX_LIST = 500


def _value(keys: VisitorKeys, kind: str, raw: str) -> tuple[str, str]:
    """(what is stored and matched, what is shown) for a watch-list value."""
    if kind == "id":
        number = id_number(raw)
        if not 4 <= len(number) <= 32 or not number.isalnum():
            raise BadInput("an ID number is 4 to 32 letters and digits", rule="bad_id_number", field="value")
        return keys.digest("id", number), masked(number[-4:], len(number)) or ""
    if kind == "phone":
        digits = phone_digits(raw)
        if not 5 <= len(digits) <= 15:
            raise BadInput("a phone number has 5 to 15 digits", rule="bad_phone", field="value")
        return keys.digest("phone", digits), masked(digits[-4:], len(digits)) or ""
    plate = plate_of(raw)
    if not plate:
        raise BadInput("the plate is empty", rule="bad_plate", field="value")
    return plate, plate


def add(store: Store, keys: VisitorKeys, who: str, entry: WatchIn) -> dict[str, Any]:
    value, shown = _value(keys, entry.kind, entry.value)
    with store.tx() as db:
        table = db["visit_watchlist"]
        table.insert({"kind": entry.kind, "value": value, "shown": shown, "reason": entry.reason, "added_by": who,
                      "added_at": datetime.now(timezone.utc).isoformat()})
        wid = table.last_pk
        audit.record(db, who, "create", "watchlist", str(wid), reason=entry.reason, kind=entry.kind, shown=shown)
        return _view(db["visit_watchlist"].get(wid))


def remove(store: Store, who: str, wid: int) -> dict[str, Any]:
    with store.tx() as db:
        row = db.execute("SELECT * FROM visit_watchlist WHERE id = ? AND removed_at IS NULL", [wid]).fetchone()
        if row is None:
            raise NotFound("no watch-list entry {id}", rule="unknown_watch_entry", field="id", id=wid)
        db["visit_watchlist"].update(wid, {"removed_at": datetime.now(timezone.utc).isoformat(), "removed_by": who})
        audit.record(db, who, "delete", "watchlist", str(wid), kind=row["kind"], shown=row["shown"])
        return _view(db["visit_watchlist"].get(wid))


def listing(store: Store) -> list[dict[str, Any]]:
    with store.read() as db:
        return [_view(r) for r in db.query(
            "SELECT * FROM visit_watchlist WHERE removed_at IS NULL ORDER BY id DESC LIMIT ?", [MAX_LIST])]


def _view(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "kind": row["kind"], "shown": row["shown"], "reason": row["reason"],
            "added_by": row["added_by"], "added_at": row["added_at"], "removed_at": row["removed_at"]}


def matches(db: sqlite_utils.Database, *, id_hash: str | None, phone_hash: str | None,
            plate: str | None) -> list[str]:
    """What of a registration is on the watch list: some of "id", "phone", "plate"."""
    found = []
    for kind, value in (("id", id_hash), ("phone", phone_hash), ("plate", plate)):
        if value and db.execute("SELECT 1 FROM visit_watchlist WHERE kind = ? AND value = ? AND removed_at IS NULL",
                                [kind, value]).fetchone():
            found.append(kind)
    return found

"""The household file: confidential, read only by the manager's level with a stated reason.

The estate keeps household files permanently and lets them be read only with the manager's
approval and a record of who read them. Here that is: the supervisor or admin role, a
reason in words, and an audit row (who, when, why) written in the same transaction as the
read, so a read that is not recorded cannot happen.
"""

from __future__ import annotations

from typing import Any

from hub import audit
from hub.auth import Principal, Role
from hub.db import Store
from hub.errors import BadInput, Forbidden, NotFound

#: roles that may open a household file (the manager's level)
READERS = frozenset({Role.ADMIN, Role.SUPERVISOR})
MIN_REASON = 10


def read_household_file(store: Store, principal: Principal, household_id: int, reason: str | None) -> dict[str, Any]:
    if principal.role not in READERS:
        raise Forbidden("a household file is read only at the manager's level", rule="file_role_required")
    text = " ".join((reason or "").split())
    if len(text) < MIN_REASON:
        raise BadInput("say why you read this file (at least {count} characters)", field="reason",
                       rule="reason_required", count=MIN_REASON)
    with store.tx() as db:
        rows = list(db.query("SELECT * FROM households WHERE id = ?", [household_id]))
        if not rows:
            raise NotFound("no household {household_id}", rule="unknown_household", household_id=household_id)
        household = rows[0]
        people = list(db.query("SELECT * FROM people WHERE household_id = ? OR employer_household_id = ? ORDER BY id",
                               [household_id, household_id]))
        for p in people:
            p["has_photo"] = bool(p.pop("photo_id", None))
        unit = list(db.query("SELECT * FROM units WHERE code = ?", [household["unit_code"]]))[0]
        cards = list(db.query("SELECT * FROM cards WHERE holder_unit = ? ORDER BY uid", [household["unit_code"]])) \
            if db["cards"].exists() else []
        audit.record(db, principal.who, "read_file", "household", str(household_id), text)
    return {"household": household, "unit": unit, "people": people, "cards": cards}


def reads_of(store: Store, household_id: int) -> list[dict[str, Any]]:
    """Who read a household's file, when and why."""
    with store.read() as db:
        return list(db.query(
            "SELECT at, who, reason FROM audit WHERE entity = 'household' AND entity_id = ? AND action = 'read_file' "
            "ORDER BY id", [str(household_id)]))

"""The append-only audit log: who changed what, when, and why.

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

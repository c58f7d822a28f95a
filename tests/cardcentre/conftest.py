"""The card centre's fixtures: a real hub database in tmp_path, with one gate listening."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import pytest

from hub.cards import moves
from hub.db import Store
from hub.gates import acl

CLERK = "clerk:mei"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "hub.db")
    with s.tx() as db:
        acl.ensure_gate(db, "north")
    yield s
    s.close()


def request_for(uid: str, card_type: str = "owner", unit: str = "A-12-03", at: datetime = T0, **extra: Any) -> dict:
    """An issue request that passes the rules of its card type."""
    req: dict[str, Any] = {"uid": uid, "card_type": card_type, "holder": {"name": f"Holder {uid}", "unit": unit}}
    until = at + timedelta(days=180)
    if card_type == "tenant":
        req.update(tenancy_end=until.date().isoformat(), police_registration_no="PR-1", valid_until=until.isoformat(),
                   deposit={"amount_cents": 10000, "receipt_no": f"R-{uid}"})
    elif card_type == "temporary":
        req.update(valid_until=(at + timedelta(days=7)).isoformat(), deposit={"amount_cents": 5000, "receipt_no": f"R-{uid}"})
    elif card_type == "renovation_worker":
        req.update(permit_no="RP-7", permit_until=until.date().isoformat(), valid_until=until.isoformat(),
                   deposit={"amount_cents": 20000, "receipt_no": f"R-{uid}"})
    req.update(extra)
    return req


def issue(store: Store, uid: str, card_type: str = "owner", at: datetime = T0, **extra: Any) -> moves.MoveResult:
    return moves.issue_card(store, CLERK, request_for(uid, card_type, at=at, **extra), at=at)


def status(store: Store, uid: str) -> str:
    with store.read() as db:
        return list(db.query("SELECT status FROM cards WHERE uid = ?", [uid]))[0]["status"]


def gate_holds(store: Store, uid: str) -> str | None:
    """The status the north gate's list holds for ``uid``."""
    import json

    with store.read() as db:
        rows = list(db.query("SELECT entry FROM acl_state WHERE gate_id = 'north' AND uid = ?", [uid]))
    return json.loads(rows[0]["entry"])["status"] if rows else None


def count(store: Store, table: str) -> int:
    with store.read() as db:
        return db[table].count

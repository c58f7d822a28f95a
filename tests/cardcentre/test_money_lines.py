"""The month's money report read fast (moves without money left out in its query, rows as
tuples, the answer encoded as it is) gives the same lines and figures as reading every
move of the month plainly, and the same JSON FastAPI's own encoding would give."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.encoders import jsonable_encoder
from fastapi.testclient import TestClient

from hub.auth import create_token
from hub.cards import moves
from hub.stock import money

from .conftest import CLERK, issue
from .test_api import make_app

MARCH = datetime(2026, 3, 2, 9, 0, tzinfo=timezone.utc)


def _at(day: int, hour: int = 10) -> datetime:
    return MARCH.replace(day=day, hour=hour)


@pytest.fixture
def estate(store):
    """A month with every kind of money and moves with none, and money either side of it."""
    issue(store, "0A00000001", "tenant", at=MARCH - timedelta(days=10))  # February: a deposit, not March's
    issue(store, "0A00000002", "tenant", at=_at(2))  # deposit taken
    issue(store, "0A00000003", "owner", at=_at(3))  # no money
    issue(store, "0A00000004", "renovation_worker", at=_at(4))  # deposit taken
    issue(store, "0A00000005", "temporary", at=_at(5))  # deposit taken
    issue(store, "0A00000006", "owner", at=_at(5, 11))
    moves.suspend(store, CLERK, "0A00000003", "holiday", at=_at(6))  # no money
    moves.resume(store, CLERK, "0A00000003", at=_at(7))  # no money
    moves.report_lost(store, CLERK, "0A00000003", "lost", replacement_uid="0A00000013", fee_cents=3000,
                      receipt_no="F-1", at=_at(8))  # a replacement fee
    moves.damage(store, "clerk:zhao", "0A00000006", "snapped", replacement_uid="0A00000016", fee_cents=1500,
                 receipt_no="F-2", at=_at(9))  # a damage fee, another clerk
    moves.return_card(store, CLERK, "0A00000001", refund=True, receipt_no="R-0A00000001", at=_at(10))  # refund
    moves.report_lost(store, CLERK, "0A00000005", "lost, never found", at=_at(11))  # no fee: no money
    moves.forfeit_deposit(store, "supervisor:li", "0A00000005", "R-0A00000005", "never returned",
                          at=_at(12))  # deposit kept: no amount on the move, its detail says how much
    issue(store, "0A00000007", "tenant", at=datetime(2026, 4, 1, 1, tzinfo=timezone.utc))  # April's
    return store


def _plainly(store, start: str, end: str) -> list[tuple]:
    """Every move of the month, read whole, with its money by the report's rule: the move's
    amount, else a forfeit's deposit from its detail; (move id, uid, clerk, kind, fen, receipt)."""
    out = []
    with store.read() as db:
        for m in db.query("SELECT * FROM card_moves ORDER BY at, id"):
            if not start <= m["at"] < end:
                continue
            cents = m["amount_cents"] or (json.loads(m["detail"] or "{}").get("deposit_cents")
                                          if "forfeit" in m["move"] else None)
            if cents:
                out.append((m["id"], m["uid"], m["who"], money.kind_of(m["move"], cents), abs(cents), m["receipt_no"]))
    return out


def test_the_report_has_every_move_with_money_in_the_month_and_only_those(estate):
    with estate.read() as db:
        rep = money.compute(db, 2026, 3)
    want = _plainly(estate, "2026-03-01T00:00:00+00:00", "2026-04-01T00:00:00+00:00")
    got = [(ln["move_id"], ln["uid"], ln["clerk"], ln["kind"], ln["amount_cents"], ln["receipt_no"])
           for ln in rep.lines]
    assert got == want
    # every kind this estate made is there, so the test is not passing on an empty month
    kinds = {w[3] for w in want}
    assert kinds == {"deposit_taken", "deposit_refunded", "deposit_forfeited", "fee_replacement", "fee_damage"}
    total = Counter()
    for w in want:
        total[w[3]] += w[4]
    assert {k: v for k, v in vars(rep.total).items() if v} == dict(total)
    by_clerk = Counter()
    for w in want:
        by_clerk[(w[2], w[3])] += w[4]
    assert {(c, k): v for c, s in rep.by_clerk.items() for k, v in vars(s).items() if v} == dict(by_clerk)
    # per card type: the sums add up to the total, kind by kind
    for kind in money.KINDS:
        assert sum(getattr(s, kind) for s in rep.by_card_type.values()) == getattr(rep.total, kind)
    assert rep.reconciles, rep.problems


def test_the_api_answers_the_same_json_fastapi_would_encode(estate, tmp_path):
    app = make_app(estate, tmp_path)
    token = create_token(estate, "clerk", "mei")
    with TestClient(app) as client:
        r = client.get("/api/v1/money/reports/2026-03", headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    with estate.read() as db:
        expected = jsonable_encoder(money.compute(db, 2026, 3).as_dict())
    assert r.json() == expected
    assert len(expected["lines"]) == 7  # three deposits, two fees, a refund, a forfeit

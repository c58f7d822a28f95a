"""The permits' tests run on the hub rigs (tests/hub/conftest.py): a real hub on a real
SQLite file, in-process (``api``) or served against the session's mosquitto (``hub``).

The estate: A-12-03 (handed over, owned by Wang Fang, person id in ``OWNER_ID``), B-03-01
(not handed over yet), C-01-01 (company-owned)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from typing import Any

import pytest

from hub.people.registry import PersonIn, UnitIn, add_person, add_unit
from tests.hub.conftest import api, hub  # noqa: F401 - the fixtures, shared

UNIT, NOT_HANDED_OVER, COMPANY_UNIT = "A-12-03", "B-03-01", "C-01-01"
TODAY = datetime.now(timezone.utc).date()


def add_estate(store) -> int:
    add_unit(store, "test", UnitIn(building="A", floor=12, room="03"))
    add_unit(store, "test", UnitIn(building="B", floor=3, room="01", handed_over=False))
    add_unit(store, "test", UnitIn(building="C", floor=1, room="01", owner_kind="company"))
    add_person(store, "test", PersonIn(name="Li Si", role="owner", unit=COMPANY_UNIT))
    return add_person(store, "test", PersonIn(name="Wang Fang", role="owner", unit=UNIT))["id"]


def application(owner_id: int, start: date | None = None, days: int = 30, **over: Any) -> dict[str, Any]:
    start = start or TODAY
    body: dict[str, Any] = {
        "unit": UNIT,
        "applicant": {"name": "Wang Fang", "standing": "owner", "person_id": owner_id},
        "company": "Fine Build Ltd",
        "site_manager": {"name": "Li Qiang", "phone": "13800138000"},
        "workers": [{"name": "Zhang San", "id_doc_no": "110101199001011234"}, {"name": "Zhao Liu"}],
        "period_from": start.isoformat(), "period_until": (start + timedelta(days=days)).isoformat(),
        "hours": {"start": "08:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5, 6]},
        "deposit": {"amount_cents": 200000, "receipt_no": "R-88"},
        "drawings": {"ref": "DWG-7", "approved_by": "Eng. Zhou", "approved_on": TODAY.isoformat()},
    }
    body.update(over)
    return body


def worker_card(uid: str, permit_no: str, until: datetime, name: str = "Zhang San", **over: Any) -> dict[str, Any]:
    return {"uid": uid, "card_type": "renovation_worker", "holder": {"name": name, "unit": UNIT},
            "valid_until": until.isoformat(), "permit_no": permit_no,
            "deposit": {"amount_cents": 5000, "receipt_no": f"W-{uid}"}, **over}


@pytest.fixture
def estate(api):
    """The in-process hub with the estate's units and owners; ``estate.owner_id``."""
    api.owner_id = add_estate(api.store)
    return api

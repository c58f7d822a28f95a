"""The complaints' tests: a real hub on a real SQLite file, in-process, in the estate's
timezone (Asia/Shanghai) with 2025's holidays and make-up days seeded through hub.workcal,
and a clock the test sets (``estate.at(...)``)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.auth import create_token
from hub.db import Store
from hub.people.registry import UnitIn, add_unit
from hub.workcal.service import seed_year
from tests.hub.conftest import make_config

TZ = ZoneInfo("Asia/Shanghai")
UNITS = ["A-01-01", "A-01-02", "A-02-01", "B-01-01", "B-02-02"]


def cst(*args: int) -> datetime:
    """An instant on the estate's wall clock."""
    return datetime(*args, tzinfo=TZ)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.now = at

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def estate(tmp_path):
    """The hub (TestClient) with five units, 2025 and 2026 seeded, and a settable clock:
    ``estate.at(when)``, ``estate.h(role, department=None)`` for headers."""
    config = make_config(tmp_path, timezone="Asia/Shanghai")
    store = Store.open(config.hub.db_path)
    app = create_app(config, store, connect_mqtt=False)
    with TestClient(app) as client:
        # the checks run when a test calls them, at the test's times: not on the wall clock
        # from the ticker's thread, which would find these 2025 complaints long late
        app.state.ticker.stop()
        with store.tx() as db:
            for year in (2025, 2026):
                seed_year(db, year, "test")
        for code in UNITS:
            b, f, r = code.split("-")
            add_unit(store, "test", UnitIn(building=b, floor=int(f), room=r))
        clock = Clock(cst(2025, 11, 3, 9, 0))
        ctx = app.state.complaints
        ctx.clock = clock
        client.ctx = ctx
        client.clock = clock
        client.store = store

        def at(when: datetime) -> None:
            clock.now = when

        client.at = at
        tokens: dict[tuple, str] = {}

        def h(role: str, department: str | None = None, name: str = "t") -> dict[str, str]:
            key = (role, department, name)
            if key not in tokens:
                tokens[key] = create_token(store, role, name, department=department)
            return {"Authorization": "Bearer " + tokens[key]}

        client.h = h
        yield client
    store.close()


def complaint(**over) -> dict:
    body = {"channel": "phone", "category": "repair", "severity": "general", "units": ["A-01-01"],
            "what": "the lift stops between floors", "contact_name": "张三", "contact_phone": "138 0000 1234"}
    body.update(over)
    return body

"""Duty-log rigs: a hub on a real SQLite file in the estate's timezone (Asia/Shanghai), so
a shift after midnight and a time shown the estate's way are tested where they differ from UTC."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hub.auth import Principal, Role
from hub.db import Store
from hub.dutylog import service
from tests.rigs.estate import SHANGHAI, TZ, shanghai_api, shanghai_app


def estate_time(year: int, month: int, day: int, hour: int, minute: int = 0, second: int = 0) -> datetime:
    """An instant given as the estate's wall clock reads it, in UTC."""
    return datetime(year, month, day, hour, minute, second, tzinfo=SHANGHAI).astimezone(timezone.utc)


GUARD = Principal("zhang", Role.GUARD)
NIGHT_GUARD = Principal("wang", Role.GUARD)


@pytest.fixture
def duty(tmp_path):
    """A hub app (not served) on a real hub.db: its store and its duty settings; the ticker is
    not started, so a test runs the duty check with the ``now`` it chooses."""
    with shanghai_app(tmp_path) as app:
        app.settings = app.state.duty
        yield app


@pytest.fixture
def api(tmp_path):
    """The hub driven in-process by TestClient (real routes, real SQLite file)."""
    with shanghai_api(tmp_path) as client:
        yield client


def audit_rows(store: Store, entity: str, entity_id: str | None = None) -> list[dict]:
    with store.read() as db:
        if entity_id is None:
            return [dict(r) for r in db.query("SELECT * FROM audit WHERE entity = ? ORDER BY id", [entity])]
        return [dict(r) for r in db.query("SELECT * FROM audit WHERE entity = ? AND entity_id = ? ORDER BY id",
                                          [entity, entity_id])]


__all__ = ["GUARD", "NIGHT_GUARD", "SHANGHAI", "TZ", "audit_rows", "estate_time", "service"]

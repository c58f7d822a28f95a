"""Working-calendar rigs: instants on the estate's wall clock (Asia/Shanghai), and a hub on a
real SQLite file in that timezone whose ticker is not started (a test runs a check with the
``now`` it chooses)."""

from __future__ import annotations

from datetime import datetime

import pytest

from hub.db import Store
from tests.rigs.estate import SHANGHAI, TZ, shanghai_api, shanghai_app


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant as the estate's clock reads it."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def hub_app(tmp_path):
    """A hub app (not served) on a real hub.db; ``hub_app.store``."""
    with shanghai_app(tmp_path) as app:
        yield app


@pytest.fixture
def api(tmp_path):
    """The hub driven in-process by TestClient (real routes, real SQLite file)."""
    with shanghai_api(tmp_path) as client:
        yield client


def audit_rows(store: Store, entity: str) -> list[dict]:
    with store.read() as db:
        return [dict(r) for r in db.query("SELECT * FROM audit WHERE entity = ? ORDER BY id", [entity])]


__all__ = ["SHANGHAI", "TZ", "at", "audit_rows"]

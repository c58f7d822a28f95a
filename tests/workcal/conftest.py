"""Working-calendar rigs: instants on the estate's wall clock (Asia/Shanghai), and a hub on a
real SQLite file in that timezone whose ticker is not started (a test runs a check with the
``now`` it chooses)."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.auth import create_token
from hub.db import Store
from tests.hub.conftest import make_config

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)


def at(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """An instant as the estate's clock reads it."""
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


@pytest.fixture
def hub_app(tmp_path):
    """A hub app (not served) on a real hub.db; ``hub_app.store``."""
    config = make_config(tmp_path, timezone=TZ)
    store = Store.open(config.hub.db_path)
    app = create_app(config, store, connect_mqtt=False)
    app.store = store
    yield app
    store.close()


@pytest.fixture
def api(tmp_path):
    """The hub driven in-process by TestClient (real routes, real SQLite file)."""
    config = make_config(tmp_path, timezone=TZ)
    store = Store.open(config.hub.db_path)
    app = create_app(config, store, connect_mqtt=False)
    with TestClient(app) as client:
        client.h = lambda role, name="t": {"Authorization": "Bearer " + create_token(store, role, name)}
        client.store = store
        client.config = config
        yield client
    store.close()


def audit_rows(store: Store, entity: str) -> list[dict]:
    with store.read() as db:
        return [dict(r) for r in db.query("SELECT * FROM audit WHERE entity = ? ORDER BY id", [entity])]

"""The estate the domain tests stand on, on the hub rigs (tests/hub/conftest.py): two units in
the register and two gates, added through the hub's own services; and a hub, not served, on
a real SQLite file that keeps the estate's clock (Asia/Shanghai), so days, shifts and times
shown the estate's way are tested where they differ from UTC.

``estate`` is a fixture on the rigs' ``api``: a conftest that imports it imports ``api`` too.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from hub.app import create_app
from hub.auth import create_token
from hub.db import Store
from hub.gates import acl
from hub.people.registry import UnitIn, add_unit
from tests.hub.conftest import make_config

UNIT = "A-12-03"
OTHER_UNIT = "B-03-01"
GATES = ("north", "south")

TZ = "Asia/Shanghai"
SHANGHAI = ZoneInfo(TZ)


def add_units(store: Store) -> None:
    """UNIT and OTHER_UNIT in the register."""
    add_unit(store, "test", UnitIn(building="A", floor=12, room="03"))
    add_unit(store, "test", UnitIn(building="B", floor=3, room="01"))


@pytest.fixture
def estate(api):
    """The in-process hub with two units in its register and two gates."""
    add_units(api.store)
    with api.store.tx() as db:
        for gate in GATES:
            acl.ensure_gate(db, gate)
    return api


@contextmanager
def shanghai_app(tmp_path) -> Iterator[FastAPI]:
    """A hub app (not served) on a real hub.db in the estate's timezone; ``app.store`` and
    ``app.config``. Its ticker is not started, so a test runs a check with the ``now`` it
    chooses."""
    config = make_config(tmp_path, timezone=TZ)
    store = Store.open(config.hub.db_path)
    app = create_app(config, store, connect_mqtt=False)
    app.store = store
    app.config = config
    try:
        yield app
    finally:
        store.close()


@contextmanager
def shanghai_api(tmp_path) -> Iterator[TestClient]:
    """That hub driven in-process by TestClient (real routes, real SQLite file);
    ``client.h(role)`` makes a token's headers, ``client.store``, ``client.config``."""
    with shanghai_app(tmp_path) as app, TestClient(app) as client:
        client.h = lambda role, name="t": {"Authorization": "Bearer " + create_token(app.store, role, name)}
        client.store = app.store
        client.config = app.config
        yield client

"""The visitors' tests run on the hub rigs (tests/hub/conftest.py): a real hub on a real
SQLite file, in-process (``api``) or served against the session's mosquitto (``hub``)."""

from __future__ import annotations

import pytest

from hub.people.registry import UnitIn, add_unit
from tests.hub.conftest import api, hub, peer  # noqa: F401 - the fixtures, shared

UNIT = "A-12-03"
OTHER_UNIT = "B-03-01"


def add_units(store) -> None:
    add_unit(store, "test", UnitIn(building="A", floor=12, room="03"))
    add_unit(store, "test", UnitIn(building="B", floor=3, room="01"))


@pytest.fixture
def estate(api):
    """The in-process hub with two units in its register."""
    add_units(api.store)
    return api

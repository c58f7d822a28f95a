"""The violations' tests run on the hub rigs (tests/hub/conftest.py): a real hub on a real
SQLite file, driven in-process (``api``)."""

from __future__ import annotations

import pytest

from hub.gates import acl
from hub.people.registry import UnitIn, add_unit
from tests.hub.conftest import api  # noqa: F401 - the fixture, shared

UNIT = "A-12-03"
OTHER_UNIT = "B-03-01"
GATES = ("north", "south")


@pytest.fixture
def estate(api):
    """The in-process hub with two units in its register and two gates."""
    add_unit(api.store, "test", UnitIn(building="A", floor=12, room="03"))
    add_unit(api.store, "test", UnitIn(building="B", floor=3, room="01"))
    with api.store.tx() as db:
        for gate in GATES:
            acl.ensure_gate(db, gate)
    return api

"""The visitor page's rigs: the hub rigs (a real hub on a real SQLite file, served by uvicorn,
on the session's mosquitto) and one unit in the register to visit."""

from __future__ import annotations

import pytest

from hub.people.registry import UnitIn, add_unit
from tests.hub.conftest import hub, peer  # noqa: F401 - fixtures, re-exported for this area


@pytest.fixture
def estate(hub):  # noqa: F811
    """The hub with unit A-12-03 in the register."""
    add_unit(hub.store, "clerk:seed", UnitIn(building="A", floor=12, room="03"))
    return hub

"""The visitors' tests run on the hub rigs (tests/hub/conftest.py): a real hub on a real
SQLite file, in-process (``api``) or served against the session's mosquitto (``hub``); the
estate's units are tests/rigs/estate.py's."""

from __future__ import annotations

import pytest

from tests.hub.conftest import api, hub, peer
from tests.rigs.estate import OTHER_UNIT, UNIT, add_units

__all__ = ["api", "hub", "peer", "OTHER_UNIT", "UNIT", "add_units"]  # the fixtures and names, shared


@pytest.fixture
def estate(api):
    """The in-process hub with two units in its register."""
    add_units(api.store)
    return api

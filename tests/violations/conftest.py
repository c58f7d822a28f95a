"""The violations' tests run on the hub rigs (tests/hub/conftest.py): a real hub on a real
SQLite file, driven in-process (``api``), with two units and two gates (``estate``,
tests/rigs/estate.py)."""

from __future__ import annotations

from tests.hub.conftest import api
from tests.rigs.estate import estate

__all__ = ["api", "estate"]  # the fixtures, shared

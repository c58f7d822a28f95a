"""Intake tests reuse the hub area's rigs: a TestClient hub without a broker (``api``)."""

from tests.hub.conftest import api  # noqa: F401 - a fixture, re-exported for this area

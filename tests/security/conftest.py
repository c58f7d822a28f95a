"""The secured estate (tests.rigs.secured) each module here shares."""

from __future__ import annotations

import pytest

from tests.rigs.secured import Estate, make_estate


@pytest.fixture(scope="module")
def estate(tmp_path_factory) -> Estate:
    e = make_estate(tmp_path_factory.mktemp("estate"), ("north", "south"))
    yield e
    e.broker.stop()

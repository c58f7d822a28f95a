"""Fixtures for the contactless readers: virtual cards (the session's pcscd is in tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.contactless.sink import RecordingSink
from tests.rigs.vcard import VPCD_PORT, VirtualCard


@pytest.fixture
def vcard(pcscd) -> VirtualCard:
    """A card for reader "Virtual PCD 00 00"; taken off the reader after the test."""
    card = VirtualCard(port=VPCD_PORT)
    yield card
    card.remove()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()

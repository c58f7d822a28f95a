"""Fixtures for the contactless readers: one pcscd with vpcd for the session, virtual cards."""

from __future__ import annotations

import pytest

from tests.conftest import need
from tests.contactless.sink import RecordingSink
from tests.rigs.pcscd import Pcscd, RigUnavailable
from tests.rigs.vcard import VPCD_PORT, VirtualCard


@pytest.fixture(scope="session")
def pcscd(tmp_path_factory) -> Pcscd:
    try:
        daemon = Pcscd(tmp_path_factory.mktemp("pcscd")).start()
    except RigUnavailable as exc:
        need(False, f"pcscd with vpcd cannot run here: {exc}")
    yield daemon
    daemon.stop()


@pytest.fixture
def vcard(pcscd) -> VirtualCard:
    """A card for reader "Virtual PCD 00 00"; taken off the reader after the test."""
    card = VirtualCard(port=VPCD_PORT)
    yield card
    card.remove()


@pytest.fixture
def sink() -> RecordingSink:
    return RecordingSink()

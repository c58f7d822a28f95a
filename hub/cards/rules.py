"""Rules per card type checked before a card is issued (tenancy dates, police registration,
employing household, permit). Filled in by the card-centre work (issue 5)."""

from __future__ import annotations

from typing import Any

import sqlite_utils


def check_issue(db: sqlite_utils.Database, request: dict[str, Any]) -> None:
    """Raise hub.errors.RuleViolation if the estate's rules forbid issuing this card."""
    return None

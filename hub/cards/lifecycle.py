"""Which move a card may make from which state: the card lifecycle, in one place.

Every service that changes a card's status asks ``next_status``; nothing else decides
whether a lost card may come back (it may not).
"""

from __future__ import annotations

from enum import StrEnum

from hub.errors import RuleViolation
from protocols.cards import CardStatus as S


class Move(StrEnum):
    ISSUE = "issue"
    REVOKE = "revoke"


_MOVES: dict[Move, dict[S, S]] = {
    Move.ISSUE: {S.IN_STOCK: S.ACTIVE, S.PERSONALISED: S.ACTIVE},
    Move.REVOKE: {S.ACTIVE: S.REVOKED, S.SUSPENDED: S.REVOKED},
}


def next_status(current: S, move: Move) -> S:
    """The status after ``move``, or RuleViolation naming the rule that forbids it."""
    target = _MOVES[move].get(current)
    if target is None:
        raise RuleViolation(f"a card that is {current.value} cannot be {move.value}d", rule=f"{move.value}_from_{current.value}")
    return target

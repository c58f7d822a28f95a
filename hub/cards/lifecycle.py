"""Which move a card may make from which state: the card lifecycle, in one place.

Every service that changes a card's status asks ``next_status``; nothing else decides
whether a lost card may come back (it may not). A UID that was reported lost is blocked
for good, so a found card cannot reopen a gate for whoever found it: the holder gets a new
card instead. Scrapped cards are destroyed, so they are final too.

A refusal names its rule: ``lost_card_final`` and ``scrapped_card_final`` for the final
states, otherwise ``<move>_from_<status>`` (``resume_from_active``).

Final means no move takes the card to another status. The deposit of a lost or scrapped
card may still be settled (``forfeit_deposit``; a refund, once the card was taken back, in
hub.cards.moves): those moves leave the status as it is.

The rules that keep the books true (stock, a drawer card's type, deposits, receipts) are
beside this table in hub.cards.books; the rules a card type asks of its holder in
hub.cards.rules.
"""

from __future__ import annotations

from enum import StrEnum

from hub.errors import RuleViolation, Word
from hub.i18n.validation import N_
from protocols.cards import CardStatus as S


class Move(StrEnum):
    PERSONALISE = "personalise"  # a blank from stock printed and written for a holder
    ISSUE = "issue"  # handed over and working
    SUSPEND = "suspend"
    RESUME = "resume"
    REPORT_LOST = "report_lost"  # blocked at once and for good
    REVOKE = "revoke"
    RETURN = "return"  # taken back from the holder (the deposit may be refunded)
    REFUND_DEPOSIT = "refund_deposit"  # the deposit of a card already taken back
    FORFEIT_DEPOSIT = "forfeit_deposit"  # a supervisor keeps the deposit (a lost card, a card kept back)
    RESTOCK = "restock"  # a returned card in good order goes back into the drawer
    DAMAGE = "damage"  # a holder's broken card taken back and destroyed
    SCRAP = "scrap"  # a card not in use destroyed (misprint, faulty, worn)
    EXPIRE = "expire"
    RENEW = "renew"  # a new validity end for a card that is still the holder's
    TRANSFER = "transfer"  # a card in the drawer moved to another type's stock (supervisor)


#: words for messages ("a card that is lost cannot be resumed")
_DONE = {
    Move.PERSONALISE: N_("personalised"),
    Move.ISSUE: N_("issued"),
    Move.SUSPEND: N_("suspended"),
    Move.RESUME: N_("resumed"),
    Move.REPORT_LOST: N_("reported lost"),
    Move.REVOKE: N_("revoked"),
    Move.RETURN: N_("returned"),
    Move.REFUND_DEPOSIT: N_("refunded"),
    Move.FORFEIT_DEPOSIT: N_("settled by forfeiting its deposit"),
    Move.RESTOCK: N_("put back in stock"),
    Move.DAMAGE: N_("taken back as damaged"),
    Move.SCRAP: N_("scrapped"),
    Move.EXPIRE: N_("expired"),
    Move.RENEW: N_("renewed"),
    Move.TRANSFER: N_("transferred to another card type's stock"),
}

_MOVES: dict[Move, dict[S, S]] = {
    Move.PERSONALISE: {S.IN_STOCK: S.PERSONALISED},
    Move.ISSUE: {S.IN_STOCK: S.ACTIVE, S.PERSONALISED: S.ACTIVE},
    Move.SUSPEND: {S.ACTIVE: S.SUSPENDED},
    Move.RESUME: {S.SUSPENDED: S.ACTIVE},
    Move.REPORT_LOST: {S.ACTIVE: S.LOST, S.SUSPENDED: S.LOST, S.EXPIRED: S.LOST, S.PERSONALISED: S.LOST},
    Move.REVOKE: {S.ACTIVE: S.REVOKED, S.SUSPENDED: S.REVOKED},
    Move.RETURN: {S.ACTIVE: S.RETURNED, S.SUSPENDED: S.RETURNED, S.EXPIRED: S.RETURNED, S.REVOKED: S.RETURNED},
    Move.REFUND_DEPOSIT: {S.RETURNED: S.RETURNED},
    Move.FORFEIT_DEPOSIT: {S.RETURNED: S.RETURNED, S.LOST: S.LOST, S.SCRAPPED: S.SCRAPPED},
    Move.RESTOCK: {S.RETURNED: S.IN_STOCK},
    Move.DAMAGE: {S.ACTIVE: S.SCRAPPED, S.SUSPENDED: S.SCRAPPED, S.EXPIRED: S.SCRAPPED, S.REVOKED: S.SCRAPPED},
    Move.SCRAP: {S.IN_STOCK: S.SCRAPPED, S.PERSONALISED: S.SCRAPPED, S.RETURNED: S.SCRAPPED},
    Move.EXPIRE: {S.ACTIVE: S.EXPIRED, S.SUSPENDED: S.EXPIRED},
    Move.RENEW: {S.ACTIVE: S.ACTIVE, S.EXPIRED: S.ACTIVE},
    Move.TRANSFER: {S.IN_STOCK: S.IN_STOCK},
}

#: a status as a detail names it ("a card that is lost"): the status itself, a msgid
_STATUS = {
    S.IN_STOCK: N_("in_stock"), S.PERSONALISED: N_("personalised"), S.ACTIVE: N_("active"),
    S.SUSPENDED: N_("suspended"), S.LOST: N_("lost"), S.REVOKED: N_("revoked"), S.RETURNED: N_("returned"),
    S.SCRAPPED: N_("scrapped"), S.EXPIRED: N_("expired"),
    # listed only, never a card's own (protocols.cards.LISTED_ONLY): named for completeness
    S.PERMIT_SUSPENDED: N_("stopped by its permit"), S.PERMIT_ENDED: N_("ended with its permit"),
}


def status_word(status: S | str) -> Word:
    """A card's status as a detail's value, translated with the detail."""
    return Word(_STATUS[S(status)])


#: states no move leaves, with the rule that says so
FINAL: dict[S, str] = {S.LOST: "lost_card_final", S.SCRAPPED: "scrapped_card_final"}

#: the states in which the card's holder still holds it (a replacement may be asked for)
HELD = frozenset({S.ACTIVE, S.SUSPENDED, S.EXPIRED})


def next_status(current: S, move: Move) -> S:
    """The status after ``move``, or RuleViolation naming the rule that forbids it."""
    current = S(current)
    move = Move(move)
    target = _MOVES[move].get(current)
    if target is not None:
        return target
    if current in FINAL:
        rule = FINAL[current]
        raise RuleViolation("a card that is {status} is blocked for good; it cannot be {done}", rule=rule,
                            status=status_word(current), done=Word(_DONE[move]))
    rule = f"{move.value}_from_{current.value}"
    raise RuleViolation("a card that is {status} cannot be {done}", rule=rule,
                        status=status_word(current), done=Word(_DONE[move]))


def allowed_moves(current: S) -> list[Move]:
    """The moves a card in ``current`` may make (for pages that offer only what is possible)."""
    return [m for m, table in _MOVES.items() if S(current) in table]

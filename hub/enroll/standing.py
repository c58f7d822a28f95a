"""What the hub knows of a UID tapped at the desk, in words a clerk acts on.

Pure: a card row (or None) in, a small dict out. Whether the card may be issued is asked of
hub.cards.lifecycle, so the desk never offers a move the card centre would refuse.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Callable

from hub.cards.lifecycle import Move, allowed_moves
from hub.i18n.validation import N_
from protocols.cards import CardStatus

#: a tap older than this when it reaches the hub is not shown: after an outage the
#: outbox delivers late, and a stale tap must not fill a clerk's form
MAX_AGE_S = 30.0

#: status -> (state shown to the page, how it reads: a msgid, translated where it is answered)
_WORDS: dict[CardStatus, tuple[str, str]] = {
    CardStatus.IN_STOCK: ("in_stock", N_("a blank card in stock, not issued yet")),
    CardStatus.PERSONALISED: ("personalised", N_("personalised for {holder}, not handed over yet")),
    CardStatus.ACTIVE: ("issued", N_("already issued to {holder} (active)")),
    CardStatus.SUSPENDED: ("issued", N_("already issued to {holder} (suspended)")),
    CardStatus.EXPIRED: ("issued", N_("already issued to {holder} (expired)")),
    CardStatus.REVOKED: ("revoked", N_("revoked: was issued to {holder}")),
    CardStatus.LOST: ("lost", N_("reported lost, blocked for good: was issued to {holder}")),
    CardStatus.RETURNED: ("returned", N_("taken back: was issued to {holder}")),
    CardStatus.SCRAPPED: ("scrapped", N_("scrapped: this card was destroyed")),
}


def _as_is(text: str) -> str:
    return text


def standing(uid: str, card: dict[str, Any] | None, say: Callable[[str], str] = _as_is) -> dict[str, Any]:
    """The standing of ``uid`` given its row in the cards table (None: the hub has none);
    ``text`` through ``say`` (the reader's gettext; English without it)."""
    if card is None:
        return {"uid": uid, "state": "unknown", "status": None, "card_type": None, "holder": None,
                "can_issue": True, "text": say(N_("not known: a new card"))}
    status = CardStatus(card["status"])
    holder = None
    if card.get("holder_name"):
        holder = {"name": card["holder_name"], "unit": card.get("holder_unit")}
    who = say(N_("nobody"))
    if holder:
        who = holder["name"] + (f", {holder['unit']}" if holder["unit"] else "")
    state, words = _WORDS[status]
    return {
        "uid": uid,
        "state": state,
        "status": status.value,
        "card_type": card.get("card_type"),
        "holder": holder,
        "can_issue": Move.ISSUE in allowed_moves(status),
        "text": say(words).format(holder=who),
    }


def age_s(at: datetime, received: datetime, clock_offset_s: float | None) -> float:
    """How old a tap was when the hub got it, in the hub's time.

    ``clock_offset_s`` is how far the station's clock is behind the hub's (from its status
    heartbeats): a desk Pi whose clock is two minutes slow still gets its fresh taps shown.
    """
    return (received - at).total_seconds() - (clock_offset_s or 0.0)


def is_fresh(at: datetime, received: datetime, clock_offset_s: float | None, max_age_s: float = MAX_AGE_S) -> bool:
    """True for a tap the clerk may still be standing at the desk for."""
    return abs(age_s(at, received, clock_offset_s)) <= max_age_s


def received_recently(received_iso: str, now: datetime, max_age_s: float = MAX_AGE_S) -> bool:
    """True for a stored tap that is still worth sending to a page that (re)connects now."""
    return now - datetime.fromisoformat(received_iso) <= timedelta(seconds=max_age_s)

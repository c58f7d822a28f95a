"""Card types, card states and the reasons a gate gives, named once for both services.

The hub owns the card lifecycle (which move is allowed from which state); this module only
names the states so that a gate and the hub spell them the same way.
"""

from __future__ import annotations

from enum import StrEnum


class CardType(StrEnum):
    OWNER = "owner"
    RESIDENT = "resident"  # the owner's immediate family
    TENANT = "tenant"
    DOMESTIC_HELPER = "domestic_helper"
    TEMPORARY = "temporary"
    RENOVATION_WORKER = "renovation_worker"
    STAFF = "staff"


class CardStatus(StrEnum):
    IN_STOCK = "in_stock"  # blank, in the clerk's drawer
    PERSONALISED = "personalised"  # printed and written, not yet handed over
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LOST = "lost"  # blocked for good; a replacement gets a new card
    REVOKED = "revoked"
    RETURNED = "returned"
    SCRAPPED = "scrapped"
    EXPIRED = "expired"
    #: LISTED only (never a card row's own status): a renovation worker's card whose permit
    #: is suspended or has ended (hub.gates.acl.project, from the permit: hub.permits.access)
    PERMIT_SUSPENDED = "permit_suspended"
    PERMIT_ENDED = "permit_ended"


class Decision(StrEnum):
    GRANTED = "granted"
    DENIED = "denied"


class Reason(StrEnum):
    """Why a gate decided as it did. Every denial has exactly one."""

    VALID_CARD = "valid_card"
    REMOTE_OPEN = "remote_open"
    EXIT_BUTTON = "exit_button"
    UNKNOWN_CARD = "unknown_card"
    CARD_SUSPENDED = "card_suspended"
    CARD_LOST = "card_lost"
    CARD_REVOKED = "card_revoked"
    CARD_RETURNED = "card_returned"
    CARD_SCRAPPED = "card_scrapped"
    CARD_EXPIRED = "card_expired"
    CARD_NOT_ISSUED = "card_not_issued"
    NOT_YET_VALID = "not_yet_valid"
    VALIDITY_ENDED = "validity_ended"
    DOOR_NOT_ALLOWED = "door_not_allowed"
    OUTSIDE_SCHEDULE = "outside_schedule"
    HOLIDAY = "holiday"
    ANTI_PASSBACK = "anti_passback"
    COMMAND_REJECTED = "command_rejected"
    # a visitor's QR pass (protocols.visitpass)
    VALID_PASS = "valid_pass"
    PASS_UNREADABLE = "pass_unreadable"  # not a pass, or a line cut short
    PASS_UNKNOWN_KEY = "pass_unknown_key"  # signed by a key the gate has not been given
    PASS_TAMPERED = "pass_tampered"
    PASS_FOREIGN_ESTATE = "pass_foreign_estate"
    PASS_WRONG_GATE = "pass_wrong_gate"
    PASS_NOT_YET_VALID = "pass_not_yet_valid"
    PASS_EXPIRED = "pass_expired"
    PASS_USED_UP = "pass_used_up"
    PASS_REVOKED = "pass_revoked"
    # a renovation worker's card whose permit stops it (hub.permits)
    PERMIT_SUSPENDED = "permit_suspended"
    PERMIT_ENDED = "permit_ended"
    # a release slip's QR (protocols.visitpass, kind "slip"): out only, once, on its date
    VALID_SLIP = "valid_slip"
    SLIP_USED = "slip_used"
    SLIP_WRONG_DATE = "slip_wrong_date"
    SLIP_WRONG_DIRECTION = "slip_wrong_direction"  # scanned at an "in" reader


STATUS_DENIAL: dict[CardStatus, Reason] = {
    CardStatus.IN_STOCK: Reason.CARD_NOT_ISSUED,
    CardStatus.PERSONALISED: Reason.CARD_NOT_ISSUED,
    CardStatus.SUSPENDED: Reason.CARD_SUSPENDED,
    CardStatus.LOST: Reason.CARD_LOST,
    CardStatus.REVOKED: Reason.CARD_REVOKED,
    CardStatus.RETURNED: Reason.CARD_RETURNED,
    CardStatus.SCRAPPED: Reason.CARD_SCRAPPED,
    CardStatus.EXPIRED: Reason.CARD_EXPIRED,
    CardStatus.PERMIT_SUSPENDED: Reason.PERMIT_SUSPENDED,
    CardStatus.PERMIT_ENDED: Reason.PERMIT_ENDED,
}

#: statuses a gate's list may say that no card row ever has (a card's own moves never reach them)
LISTED_ONLY = frozenset({CardStatus.PERMIT_SUSPENDED, CardStatus.PERMIT_ENDED})


#: a blocked visitor pass is listed under its pass id as an entry that is not active: its
#: status says why (hub.visitors lists it; the gate reads it back: gate_agent)
PASS_BLOCKS: dict[CardStatus, Reason] = {
    CardStatus.REVOKED: Reason.PASS_REVOKED,
    CardStatus.EXPIRED: Reason.PASS_USED_UP,
}

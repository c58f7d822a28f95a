"""One canonical form for a card UID, whatever read it.

Every reader kind reports bytes; the UID is those bytes as upper-case hex with no
separators. Staff type UIDs with spaces, colons or lower case, so input is normalised
here and only here.
"""

from __future__ import annotations

import re

_SEPARATORS = re.compile(r"[\s:\-_.]")
_HEX = re.compile(r"^[0-9A-F]+$")
MIN_BYTES = 1
MAX_BYTES = 16

#: the lengths real cards have, in bytes, and what has them: a card the hub issues has one of
#: these (a reader may report others: they are denied as unknown cards, never refused on the wire)
CARD_UID_BYTES: dict[int, str] = {
    3: "Wiegand 26 card data",
    4: "ISO 14443 single-size UID, or Wiegand 34/35 card data",
    5: "EM4100 tag, or Wiegand 37 card data",
    7: "ISO 14443 double-size UID",
    10: "ISO 14443 triple-size UID",
}
_PRINTED = re.compile(r"^\d{10}$")
_FACILITY_NUMBER = re.compile(r"^\d{1,5}\s*[,/]\s*\d{1,7}$")


class InvalidUid(ValueError):
    """A string that cannot be a card UID; ``rule`` names the rule it breaks."""

    rule = "bad_uid"


class UidLengthError(InvalidUid):
    """Whole hex bytes, but of a length no real card has."""

    rule = "uid_length"


class PrintedNumberNotUid(InvalidUid):
    """A 10-digit decimal as typed: the number printed on a 125 kHz fob, not its UID."""

    rule = "printed_number_not_uid"


def normalise_uid(raw: str) -> str:
    """Return the canonical UID for ``raw`` or raise InvalidUid saying why."""
    if not isinstance(raw, str):
        raise InvalidUid("uid must be a string of hex digits")
    text = _SEPARATORS.sub("", raw.strip()).upper()
    if text.startswith("0X"):
        text = text[2:]
    if not text:
        raise InvalidUid("uid is empty")
    if not _HEX.match(text):
        if _FACILITY_NUMBER.match(raw.strip()):
            raise PrintedNumberNotUid(
                f"{raw.strip()!r} looks like a facility code and card number printed on a card, not its UID: "
                f"{PRINT_HINT}"
            )
        raise InvalidUid(f"uid {raw!r} has characters that are not hex digits")
    if len(text) % 2:
        raise InvalidUid(f"uid {raw!r} has an odd number of hex digits; a UID is whole bytes")
    if not MIN_BYTES <= len(text) // 2 <= MAX_BYTES:
        raise InvalidUid(f"uid {raw!r} must be {MIN_BYTES} to {MAX_BYTES} bytes")
    return text


def uid_from_bytes(data: bytes) -> str:
    """The UID of bytes as a reader returned them, in that order."""
    return normalise_uid(data.hex())


def uid_from_bits(value: int, bit_count: int) -> str:
    """The UID of card data bits (Wiegand, OSDP): the bits as an integer, left-padded to whole bytes."""
    if bit_count <= 0 or value < 0 or value >> bit_count:
        raise InvalidUid(f"{value} does not fit in {bit_count} bits")
    width = (bit_count + 7) // 8
    return value.to_bytes(width, "big").hex().upper()


def check_card_length(uid: str) -> str:
    """``uid`` (canonical) if a real card can have it; UidLengthError naming the lengths otherwise."""
    n = len(uid) // 2
    if n not in CARD_UID_BYTES:
        kinds = "; ".join(f"{k} ({v})" for k, v in CARD_UID_BYTES.items())
        raise UidLengthError(f"uid {uid} is {n} byte{'s' if n != 1 else ''}; a card UID is {kinds}")
    return uid


def is_printed_number(raw: str) -> bool:
    """Ten decimal digits as typed (spaces aside): how a 125 kHz fob's number is printed."""
    return isinstance(raw, str) and bool(_PRINTED.match(re.sub(r"\s", "", raw)))


PRINT_HINT = ("tap the card on the desk reader so the hub reads its UID, or find the card by its print "
              "(GET /api/v1/cards/find?printed=...)")


def new_card_uid(raw: str) -> str:
    """The canonical UID of a card about to be issued from typed or tapped input.

    Refuses what ``normalise_uid`` refuses, lengths no card has (UidLengthError), and a 10-digit
    all-decimal entry (PrintedNumberNotUid): that is how a 125 kHz fob's number is printed and
    it is valid hex, so it would be stored silently as another card's UID. A tag whose UID
    really is 10 decimal-looking digits is issued by tapping it (the hub then knows it was read:
    hub.cards.printed).
    """
    if is_printed_number(raw):
        raise PrintedNumberNotUid(
            f"{raw.strip()!r} looks like the 10-digit number printed on a 125 kHz card, not its UID: {PRINT_HINT}"
        )
    return check_card_length(normalise_uid(raw))

"""A UID (or a card's printed number) that cannot be one, refused in the reader's words.

protocols.uid says why a UID is refused in English (the gate agent and the hub share it, and
the wire contract has no catalogs). A clerk mistypes UIDs every day, so the hub gives each of
those refusals as a template of its own catalogs with the same values: the English detail is
the protocols' text, word for word, and a Chinese reader gets it in Chinese. A refusal this
table does not know keeps its English text.
"""

from __future__ import annotations

import re

from hub.errors import BadInput
from hub.i18n.validation import N_
from protocols.cardformats import FormatError
from protocols.uid import PRINT_HINT, InvalidUid

_HINT = re.escape(PRINT_HINT)

#: the protocols' text as a pattern (its values named) -> the same text as a msgid
_REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"uid must be a string of hex digits"), N_("uid must be a string of hex digits")),
    (re.compile(r"uid is empty"), N_("uid is empty")),
    (re.compile(r"uid (?P<raw>.+) has characters that are not hex digits"),
     N_("uid {raw} has characters that are not hex digits")),
    (re.compile(r"uid (?P<raw>.+) has an odd number of hex digits; a UID is whole bytes"),
     N_("uid {raw} has an odd number of hex digits; a UID is whole bytes")),
    (re.compile(r"uid (?P<raw>.+) must be (?P<least>\d+) to (?P<most>\d+) bytes"),
     N_("uid {raw} must be {least} to {most} bytes")),
    (re.compile(r"uid (?P<uid>\S+) is (?P<n>1) byte; a card UID is (?P<kinds>.+)"),
     N_("uid {uid} is {n} byte; a card UID is {kinds}")),
    (re.compile(r"uid (?P<uid>\S+) is (?P<n>\d+) bytes; a card UID is (?P<kinds>.+)"),
     N_("uid {uid} is {n} bytes; a card UID is {kinds}")),
    (re.compile(r"(?P<raw>.+) looks like a facility code and card number printed on a card, not its UID: " + _HINT),
     N_("{raw} looks like a facility code and card number printed on a card, not its UID: tap the card on the "
        "desk reader so the hub reads its UID, or find the card by its print (GET /api/v1/cards/find?printed=...)")),
    (re.compile(r"(?P<raw>.+) looks like the 10-digit number printed on a 125 kHz card, not its UID: " + _HINT),
     N_("{raw} looks like the 10-digit number printed on a 125 kHz card, not its UID: tap the card on the desk "
        "reader so the hub reads its UID, or find the card by its print (GET /api/v1/cards/find?printed=...)")),
]


def uid_refused(exc: InvalidUid, rule: str, field: str = "uid") -> BadInput:
    """The BadInput for ``exc``: its English text as it is, its template for other readers."""
    return _refused(str(exc), _REFUSALS, rule, field)


def _refused(text: str, table: list[tuple[re.Pattern[str], str]], rule: str, field: str) -> BadInput:
    for pattern, template in table:
        found = pattern.fullmatch(text)
        if found is not None:
            refusal = BadInput(template, rule=rule, field=field, **found.groupdict())
            if refusal.detail == text:  # the protocols' words, exactly; else say them as they are
                return refusal
    return BadInput(text, rule=rule, field=field)


#: protocols.cardformats' refusals of a print a clerk types (parse_printed), the same way
_PRINT_REFUSALS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"give either the printed text or facility and number, not both"),
     N_("give either the printed text or facility and number, not both")),
    (re.compile(r"give the printed number, or both facility and number"),
     N_("give the printed number, or both facility and number")),
    (re.compile(r"(?P<given>.+) is over 4294967295, so it is not a 125 kHz tag's 10-digit print"),
     N_("{given} is over 4294967295, so it is not a 125 kHz tag's 10-digit print")),
    (re.compile(r"(?P<given>.+) is not a printed card number: give the 10-digit number of a 125 kHz fob, "
                r"FFF,NNNNN \(facility code, card number\), or facility and number"),
     N_("{given} is not a printed card number: give the 10-digit number of a 125 kHz fob, FFF,NNNNN (facility "
        "code, card number), or facility and number")),
    (re.compile(r"(?P<format>.+): facility code must be 0 to (?P<most>\d+)"),
     N_("{format}: facility code must be 0 to {most}")),
    (re.compile(r"(?P<format>.+): card number must be 0 to (?P<most>\d+)"),
     N_("{format}: card number must be 0 to {most}")),
    (re.compile(r"no Wiegand (?P<bits>\d+) format; known: (?P<known>.+)"),
     N_("no Wiegand {bits} format; known: {known}")),
]


def print_refused(exc: FormatError, rule: str, field: str = "printed") -> BadInput:
    """The BadInput for a print that cannot be read, as ``uid_refused`` does for a UID."""
    return _refused(str(exc), _PRINT_REFUSALS, rule, field)

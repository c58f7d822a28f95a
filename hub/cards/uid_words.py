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
from protocols.uid import InvalidUid

#: protocols.uid's refusals of a UID, as msgids: the same words, the values named
_UID_TEMPLATES = [
    N_("uid must be a string of hex digits"),
    N_("uid is empty"),
    N_("uid {raw} has characters that are not hex digits"),
    N_("uid {raw} has an odd number of hex digits; a UID is whole bytes"),
    N_("uid {raw} must be {least} to {most} bytes"),
    N_("uid {uid} is {n} byte; a card UID is {kinds}"),
    N_("uid {uid} is {n} bytes; a card UID is {kinds}"),
    N_("{raw} looks like a facility code and card number printed on a card, not its UID: tap the card on the "
       "desk reader so the hub reads its UID, or find the card by its print (GET /api/v1/cards/find?printed=...)"),
    N_("{raw} looks like the 10-digit number printed on a 125 kHz card, not its UID: tap the card on the desk "
       "reader so the hub reads its UID, or find the card by its print (GET /api/v1/cards/find?printed=...)"),
]

#: protocols.cardformats' refusals of a print a clerk types (parse_printed), the same way
_PRINT_TEMPLATES = [
    N_("give either the printed text or facility and number, not both"),
    N_("give the printed number, or both facility and number"),
    N_("{given} is over 4294967295, so it is not a 125 kHz tag's 10-digit print"),
    N_("{given} is not a printed card number: give the 10-digit number of a 125 kHz fob, FFF,NNNNN (facility "
       "code, card number), or facility and number"),
    N_("{format}: facility code must be 0 to {most}"),
    N_("{format}: card number must be 0 to {most}"),
    N_("no Wiegand {bits} format; known: {known}"),
]


def _readings(templates: list[str]) -> list[tuple[re.Pattern[str], str]]:
    """Each template with the pattern that reads its values back out of the English text:
    its words as they are, each {name} any run of characters (``_refused`` fills the
    template again and keeps the reading only if it gives back the very text)."""
    out = []
    for template in templates:
        parts = re.split(r"\{(\w+)\}", template)
        out.append((re.compile("".join(re.escape(part) if i % 2 == 0 else f"(?P<{part}>.+?)"
                                       for i, part in enumerate(parts))), template))
    return out


_REFUSALS = _readings(_UID_TEMPLATES)
_PRINT_REFUSALS = _readings(_PRINT_TEMPLATES)


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


def print_refused(exc: FormatError, rule: str, field: str = "printed") -> BadInput:
    """The BadInput for a print that cannot be read, as ``uid_refused`` does for a UID."""
    return _refused(str(exc), _PRINT_REFUSALS, rule, field)

"""Card numbers as printed, at the hub: finding a card by its print, and keeping prints out of UIDs.

A clerk holding a 125 kHz fob sees ``0008844356`` on it, or ``134,62532``; a HID Prox card
shows its card number. Both are valid hex, so typed as a UID they would silently become
the UID of a card that does not exist (or of another card). Here:

- ``find`` reads a print (protocols.cardformats.parse_printed) and answers with the one
  card it names, or refuses, always with the hint to tap the card on the desk reader;
- ``check_new_uid`` is the rule for a UID about to be issued (called where hub.cards.moves
  cleans an issue or replacement request, inside its transaction): lengths no real card
  has are refused (``uid_length``), and so is a 10-digit all-decimal UID
  (``printed_number_not_uid``) unless a reader of this hub has read exactly that UID (the
  enrolment desk or a gate): the few EM4100 tags whose 10 hex digits happen to be all
  decimal are issued by tapping them, never by typing.
"""

from __future__ import annotations

from typing import Any

import sqlite_utils
from fastapi import APIRouter, Depends, Query, Request

from hub.auth import Principal, Role, require
from hub.cards.uid_words import print_refused, uid_refused
from hub.errors import BadInput, Conflict, NotFound
from protocols.cardformats import FormatError, Printed, parse_printed, print_matches
from protocols.uid import InvalidUid, check_card_length, is_printed_number

router = APIRouter(prefix="/api/v1/cards", tags=["cards"])
_staff = require(Role.CLERK, Role.SUPERVISOR)


def was_read(db: sqlite_utils.Database, uid: str) -> bool:
    """Has a reader of this hub reported ``uid`` (a desk presentation or a gate event)?"""
    tables = set(db.table_names())
    for table in ("enroll_presentations", "events"):
        if table in tables and list(db.query(f"SELECT 1 FROM {table} WHERE uid = ? LIMIT 1", [uid])):
            return True
    return False


def check_new_uid(db: sqlite_utils.Database, uid: str) -> str:
    """``uid`` (canonical) if a card may be issued under it; BadInput naming the rule otherwise."""
    try:
        check_card_length(uid)
    except InvalidUid as exc:
        raise uid_refused(exc, exc.rule) from None
    if is_printed_number(uid) and not was_read(db, uid):
        # the hint is protocols.uid.PRINT_HINT, written out so the catalogs hold the whole text
        raise BadInput(
            "{uid} is ten decimal digits, as a 125 kHz card's number is printed, and no reader here has read it: "
            "tap the card on the desk reader so the hub reads its UID, or find the card by its print "
            "(GET /api/v1/cards/find?printed=...)",
            rule="printed_number_not_uid", field="uid", uid=uid,
        )
    return uid


def _candidates(db: sqlite_utils.Database, printed: Printed) -> list[dict[str, Any]]:
    """Card rows the print may name (narrowed in SQL, confirmed by print_matches)."""
    if printed.kind == "decimal10":
        assert printed.value is not None
        four = f"{printed.value:08X}"
        rows = db.query(
            "SELECT * FROM cards WHERE (length(uid) = 10 AND substr(uid, 3) = ?) OR uid = ? OR uid = ?",
            [four, four, four[2:]],
        )
    else:
        assert printed.fmt is not None and printed.facility is not None and printed.number is not None
        data = printed.fmt.uid(printed.facility, printed.number)
        rows = db.query("SELECT * FROM cards WHERE uid = ? OR (length(uid) = 10 AND substr(uid, 5) = ?)",
                        [data, data])
    return [r for r in rows if print_matches(printed, r["uid"])]


def find(db: sqlite_utils.Database, printed: Printed) -> dict[str, Any]:
    """The one card ``printed`` names; NotFound or Conflict (with the tap hint) otherwise."""
    rows = _candidates(db, printed)
    if not rows:
        raise NotFound("no card matches {printed}: tap the card on the desk reader so the hub reads its UID",
                       rule="printed_number_no_card", field="printed", printed=printed.describe())
    if len(rows) > 1:
        uids = ", ".join(sorted(r["uid"] for r in rows))
        raise Conflict("{printed} matches {count} cards ({uids}): tap the card on the desk reader so the hub reads "
                       "its UID", rule="printed_number_ambiguous", field="printed", printed=printed.describe(),
                       count=len(rows), uids=uids)
    row = rows[0]
    return {
        "uid": row["uid"],
        "status": row["status"],
        "card_type": row["card_type"],
        "holder": {"name": row["holder_name"], "unit": row["holder_unit"]},
        "printed": printed.text,
        "matched_by": print_matches(printed, row["uid"]),
    }


@router.get("/find")
def find_by_print(
    request: Request,
    printed: str | None = Query(default=None, max_length=32,
                                description="as printed: 10 digits (125 kHz fob) or FFF,NNNNN (facility,card number)"),
    facility: int | None = Query(default=None, ge=0, description="facility code, with number"),
    number: int | None = Query(default=None, ge=0, description="card number, with facility"),
    bits: int = Query(default=26, description="Wiegand format of facility/number: 26, 34, 35 or 37"),
    _: Principal = Depends(_staff),
) -> dict[str, Any]:
    """The card whose printed number this is: ``uid``, ``status``, ``card_type``, ``holder``,
    ``matched_by`` (how the print names it). 404 ``printed_number_no_card`` or 409
    ``printed_number_ambiguous`` say to tap the card on the desk reader instead."""
    try:
        parsed = parse_printed(printed, facility=facility, number=number, bits=bits)
    except FormatError as exc:
        raise print_refused(exc, "bad_printed_number") from None
    with request.app.state.store.read() as db:
        return find(db, parsed)

"""Rules per card type checked before a card is issued: the estate's procedures for passes.

``check_issue(db, request)`` is called inside the issuing transaction with the issue request
as a dict. Besides the public API's keys (``uid``, ``card_type``, ``holder`` {name, unit},
``valid_from``, ``valid_until``: ISO 8601 with offset, or None) it reads these optional keys:

- ``person_id``: the holder in the people register; the per-type keys below that are absent
  are taken from that person's record (tenancy, police registration, permit, household).
- ``tenancy_start``, ``tenancy_end`` (YYYY-MM-DD): tenant cards; the end is required.
- ``police_registration_no``: tenant cards; the tenant's registration at the police
  station, required before a tenant card is issued.
- ``employer_unit``: domestic helper cards; the unit of the employing household (default:
  ``holder.unit``).
- ``permit_no``, ``permit_until`` (YYYY-MM-DD): renovation worker cards; the renovation
  permit, required (worker passes only with the permit, never before). Once the estate
  keeps its permits (hub.permits has any), ``permit_no`` must be one of them, approved and
  not suspended or ended, for the card's unit, naming the holder among its workers; the
  card is then linked to it (its state and hours drive the card at the gates) and
  ``permit_until`` is the permit's own.
- ``deposit`` {``amount_cents``: int > 0, ``receipt_no``: str}: required for the types in
  DEPOSIT_TYPES, refused for the others.
- ``company_letter_ref``: required when the unit is registered as company-owned.
- ``applicant`` ("holder", "owner" or "agent") and ``authorisation_ref``: an agent applying
  for someone else needs the owner's written authorisation.

Unit and household checks apply once the estate has a units register (hub.people): an
empty register cannot tell a wrong unit from a right one. Each refusal is a RuleViolation
whose ``rule`` names it.

With a ``person_id`` the card is that person's: the card type must be one their role in the
register may hold (``card_type_not_for_person``: an owner card for a tenant, a tenant card
for a domestic helper), the holder's name and unit are the person's own
(``holder_differs_from_person``), and a particular given in the request must agree with the
one on the person's record (``particulars_differ_from_person``): the register is the one
place a tenancy or a permit is kept.
"""

from __future__ import annotations

import json
from datetime import date, datetime, timezone
from typing import Any, NoReturn

import sqlite_utils
from pydantic import BaseModel, Field

from hub.errors import BadInput, RuleViolation, Word
from hub.i18n.validation import N_
from protocols.cards import CardStatus, CardType


class Particulars(BaseModel):
    """What the card types' rules ask of a holder, kept on the person in the register and
    given (or filled from the person) when a card is issued."""

    tenancy_start: date | None = Field(
        default=None, description="Tenant cards: the first day of the tenancy (YYYY-MM-DD).")
    tenancy_end: date | None = Field(
        default=None, description="Tenant cards: the last day of the tenancy (YYYY-MM-DD); required for a "
                                  "tenant card, which may not outlast it.")
    police_registration_no: str | None = Field(
        default=None, max_length=64, description="Tenant cards: the number of the tenant's registration at the "
                                                 "police station; required before a tenant card is issued.")
    employer_unit: str | None = Field(
        default=None, max_length=64, description="Domestic helper cards: the unit of the employing household "
                                                 "(default: the holder's unit).")
    permit_no: str | None = Field(
        default=None, max_length=64, description="Renovation worker cards: the renovation permit's number; "
                                                 "required (worker passes only with the permit, never before).")
    permit_until: date | None = Field(
        default=None, description="Renovation worker cards: the permit's last day (YYYY-MM-DD); required, and "
                                  "the card may not outlast it.")


#: the card types a person of each role in the register may hold; types not named here
#: (temporary, staff) are not tied to a role
TYPES_FOR_ROLE: dict[str, frozenset[CardType]] = {
    "owner": frozenset({CardType.OWNER}),
    "family": frozenset({CardType.RESIDENT}),
    "tenant": frozenset({CardType.TENANT}),
    "domestic_helper": frozenset({CardType.DOMESTIC_HELPER}),
    "renovation_worker": frozenset({CardType.RENOVATION_WORKER}),
    "visitor": frozenset(),
}
ROLE_BOUND_TYPES = frozenset().union(*TYPES_FOR_ROLE.values())

REQUEST_KEYS = (
    "person_id", "tenancy_start", "tenancy_end", "police_registration_no", "employer_unit",
    "permit_no", "permit_until", "deposit", "company_letter_ref", "applicant", "authorisation_ref",
)

#: the card types that take a deposit, paid back when the card comes back
DEPOSIT_TYPES = frozenset({CardType.TENANT, CardType.TEMPORARY, CardType.RENOVATION_WORKER})
#: the card types that belong to a unit of the estate
UNIT_TYPES = frozenset({CardType.OWNER, CardType.RESIDENT, CardType.TENANT, CardType.DOMESTIC_HELPER,
                        CardType.RENOVATION_WORKER})
#: the card types that must end: their valid_until is required
ENDING_TYPES = frozenset({CardType.TENANT, CardType.TEMPORARY, CardType.RENOVATION_WORKER})
APPLICANTS = ("holder", "owner", "agent")


#: a card type as a detail names it ("a tenant card takes a deposit"): the type itself, a msgid
_TYPE_WORDS = {
    CardType.OWNER: N_("owner"), CardType.RESIDENT: N_("resident"), CardType.TENANT: N_("tenant"),
    CardType.DOMESTIC_HELPER: N_("domestic_helper"), CardType.TEMPORARY: N_("temporary"),
    CardType.RENOVATION_WORKER: N_("renovation_worker"), CardType.STAFF: N_("staff"),
}
#: card types and people's roles as a sentence says them ("registered as domestic helper"), msgids
_SPOKEN = (N_("owner"), N_("resident"), N_("tenant"), N_("domestic helper"), N_("temporary"),
           N_("renovation worker"), N_("staff"), N_("family"), N_("visitor"))


def type_word(card_type: str | None) -> Word | str:
    """A card type as a detail's value: a Word (translated with the detail) if it is one of ours."""
    try:
        return Word(_TYPE_WORDS[CardType(card_type)])
    except ValueError:
        return str(card_type)


def spoken(value: str) -> Word:
    return Word(value.replace("_", " "))


def _refuse(rule: str, detail: str, **params: object) -> NoReturn:
    """``detail``: a msgid (marked N_ where it is written), filled from ``params``."""
    raise RuleViolation(detail, rule=rule, **params)


def _day(value: Any, field: str) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        raise BadInput("{field_name} must be a date YYYY-MM-DD, not {value!r}", field=field, field_name=field,
                       value=value) from None


def _instant(value: Any, field: str) -> datetime | None:
    if value in (None, ""):
        return None
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise BadInput("{field_name} must be ISO 8601 with an offset, not {value!r}", field=field, field_name=field,
                       value=value) from None
    if at.tzinfo is None:
        raise BadInput("{field_name} needs a timezone offset", field=field, field_name=field)
    return at


def _has_table(db: sqlite_utils.Database, name: str) -> bool:
    return db[name].exists()


def _same_name(a: Any, b: Any) -> bool:
    return " ".join(str(a or "").split()).casefold() == " ".join(str(b or "").split()).casefold()


def _from_person(db: sqlite_utils.Database, req: dict[str, Any]) -> dict[str, Any]:
    """The request with the keys it lacks filled from the holder's register record, after
    checking that the card is one this person may hold, as themselves."""
    pid = req.get("person_id")
    if pid in (None, ""):
        return req
    if not _has_table(db, "people"):
        _refuse("unknown_person", N_("no person {pid} in the register"), pid=pid)
    rows = list(db.query(
        "SELECT p.*, h.unit_code AS employer_unit_code FROM people p "
        "LEFT JOIN households h ON h.id = p.employer_household_id WHERE p.id = ?", [pid]))
    if not rows:
        _refuse("unknown_person", N_("no person {pid} in the register"), pid=pid)
    p = rows[0]
    ctype = CardType(req.get("card_type"))
    if ctype in ROLE_BOUND_TYPES and ctype not in TYPES_FOR_ROLE.get(p["role"], frozenset()):
        _refuse("card_type_not_for_person",
                N_("{name} is registered as {role}: a {card_type} card is not for them"),
                name=p["name"], role=spoken(p["role"]), card_type=spoken(ctype.value))
    holder = req.get("holder") or {}
    if not _same_name(holder.get("name"), p["name"]):
        _refuse("holder_differs_from_person",
                N_("the holder's name {given!r} is not the name of person {pid} ({name!r})"),
                given=holder.get("name"), pid=pid, name=p["name"])
    if p.get("unit_code") and str(holder.get("unit") or "").strip().upper() != p["unit_code"]:
        _refuse("holder_differs_from_person",
                N_("the holder's unit {given!r} is not the unit of person {pid} ({unit})"),
                given=holder.get("unit"), pid=pid, unit=p["unit_code"])
    filled = dict(req)
    keys = {"tenancy_start": "tenancy_start", "tenancy_end": "tenancy_end",
            "police_registration_no": "police_registration_no", "permit_no": "permit_no",
            "permit_until": "permit_until", "employer_unit": "employer_unit_code"}
    for key, column in keys.items():
        given, recorded = filled.get(key), p.get(column)
        if given in (None, ""):
            if recorded:
                filled[key] = recorded
        elif recorded and str(given).strip().upper()[:64] != str(recorded).strip().upper()[:64]:
            _refuse("particulars_differ_from_person",
                    N_("{key} {given} is not what person {pid}'s record says ({recorded}): correct the record first"),
                    key=key, given=str(given), pid=pid, recorded=recorded)
    return filled


def _unit(db: sqlite_utils.Database, code: str) -> dict[str, Any] | None | bool:
    """The unit's register row; None if unknown; True if there is no register to ask."""
    if not _has_table(db, "units") or not list(db.query("SELECT 1 FROM units LIMIT 1")):
        return True
    rows = list(db.query("SELECT * FROM units WHERE code = ?", [code]))
    return rows[0] if rows else None


def _current_household(db: sqlite_utils.Database, unit: str) -> bool | None:
    if not _has_table(db, "households") or not list(db.query("SELECT 1 FROM households LIMIT 1")):
        return None
    return bool(list(db.query(
        "SELECT 1 FROM households WHERE unit_code = ? AND move_out_date IS NULL", [unit])))


def _keeps_permits(db: sqlite_utils.Database) -> bool:
    """Does the estate keep its renovation permits here (hub.permits)? Like the units register,
    an empty one cannot tell a real permit from a typed number."""
    return _has_table(db, "permits") and bool(db.execute("SELECT 1 FROM permits LIMIT 1").fetchone())


def _check_permit(db: sqlite_utils.Database, req: dict[str, Any], unit_code: str, valid_from: datetime | None,
                  valid_until: datetime | None, now: datetime) -> None:
    """A renovation worker's card only with an approved permit of the estate's (hub.permits),
    never before its approval; the card is linked to the permit here, in the issuing
    transaction, so the permit's state and hours drive it at the gates (hub.permits.access)."""
    from hub.permits import access as permit_access
    from hub.permits import moves as permit_moves
    from hub.permits.rules import check_worker_card

    number = str(req.get("permit_no") or "").strip().upper()
    if not number:
        _refuse("permit_required", N_("a renovation worker card is issued only with its renovation permit"))
    permit = permit_moves.find(db, number)
    if permit is not None:
        permit = {**permit, "workers_list": json.loads(permit["workers"])}
    tz = permit_moves.estate_tz(db)
    last_day = valid_until.astimezone(tz).date() if valid_until else None
    first_day = valid_from.astimezone(tz).date() if valid_from else None
    holder = req.get("holder") or {}
    check_worker_card(permit, number, str(holder.get("name") or ""), unit_code, last_day, first_day,
                      now.astimezone(tz).date())
    assert permit is not None
    if req.get("uid"):
        permit_access.link_card(db, req["uid"], permit["id"], now.astimezone(timezone.utc).isoformat())


def check_issue(
    db: sqlite_utils.Database, request: dict[str, Any], now: datetime | None = None, taking_deposit: bool = True
) -> None:
    """Raise hub.errors.RuleViolation if the estate's rules forbid issuing this card.

    ``taking_deposit`` False: the card is only being made (personalised); the deposit is
    taken, and checked, when it is handed over.
    """
    now = now or datetime.now(timezone.utc)
    today = now.date()
    try:
        ctype = CardType(request.get("card_type"))
    except ValueError:
        raise BadInput("unknown card_type {card_type!r}", field="card_type", card_type=request.get("card_type")) from None
    req = _from_person(db, request)

    # the UID: a lost or scrapped card never comes back (hub.cards.lifecycle says which)
    uid = req.get("uid")
    if uid and _has_table(db, "cards"):
        rows = list(db.query("SELECT * FROM cards WHERE uid = ?", [uid]))
        if rows and rows[0]["status"] != CardStatus.ACTIVE.value:  # active: the caller's conflict
            from hub.cards.books import check_same_type
            from hub.cards.lifecycle import Move, next_status

            next_status(CardStatus(rows[0]["status"]), Move.ISSUE)
            check_same_type(rows[0], ctype.value)  # a drawer card is stock of its type

    valid_from = _instant(req.get("valid_from"), "valid_from")
    valid_until = _instant(req.get("valid_until"), "valid_until")
    if valid_from and valid_until and valid_until <= valid_from:
        _refuse("validity_reversed", N_("valid_until must be after valid_from"))
    if ctype in ENDING_TYPES and valid_until and valid_until <= now:
        _refuse("validity_in_past", N_("valid_until is already past"))
    if ctype in ENDING_TYPES and valid_until is None:
        _refuse("validity_end_required", N_("a {card_type} card must have an end: set valid_until"), card_type=type_word(ctype))

    holder = req.get("holder") or {}
    unit_code = str(holder.get("unit") or "").strip()
    unit: dict[str, Any] | None | bool = True
    if ctype in UNIT_TYPES:
        if not unit_code:
            _refuse("unit_required", N_("a {card_type} card belongs to a unit: holder.unit is required"), card_type=type_word(ctype))
        unit = _unit(db, unit_code)
        if unit is None:
            _refuse("unknown_unit", N_("unit {unit} is not in the units register"), unit=unit_code)
    if isinstance(unit, dict) and unit.get("owner_kind") == "company" and not str(req.get("company_letter_ref") or "").strip():
        _refuse("company_letter_required", N_("unit {unit} is company-owned: the company's letter is required"), unit=unit_code)

    applicant = req.get("applicant")
    if applicant not in (None, "") and applicant not in APPLICANTS:
        raise BadInput("applicant must be one of {applicants}", field="applicant", applicants=", ".join(APPLICANTS))
    if applicant == "agent" and not str(req.get("authorisation_ref") or "").strip():
        _refuse("agent_authorisation_required", N_("an agent applying needs the owner's written authorisation"))

    if ctype == CardType.TENANT:
        end = _day(req.get("tenancy_end"), "tenancy_end")
        start = _day(req.get("tenancy_start"), "tenancy_start")
        if end is None:
            _refuse("tenancy_end_required", N_("a tenant card needs the tenancy's end date"))
        if start and start > end:
            _refuse("tenancy_reversed", N_("the tenancy ends before it starts"))
        if end < today:
            _refuse("tenancy_ended", N_("the tenancy ended on {day}"), day=end.isoformat())
        if not str(req.get("police_registration_no") or "").strip():
            _refuse("police_registration_required", N_("a tenant must be registered at the police station before a card is issued"))
        if valid_until and valid_until.date() > end:
            _refuse("validity_beyond_tenancy", N_("the card would outlast the tenancy ({day})"), day=end.isoformat())

    if ctype == CardType.DOMESTIC_HELPER:
        employer = str(req.get("employer_unit") or unit_code or "").strip()
        if not employer:
            _refuse("employer_household_required", N_("a domestic helper card is tied to the employing household"))
        if _current_household(db, employer) is False:
            _refuse("unknown_household", N_("no household lives in unit {unit}"), unit=employer)

    if ctype == CardType.RENOVATION_WORKER and _keeps_permits(db):
        _check_permit(db, req, unit_code, valid_from, valid_until, now)
    elif ctype == CardType.RENOVATION_WORKER:
        until = _day(req.get("permit_until"), "permit_until")
        if not str(req.get("permit_no") or "").strip() or until is None:
            _refuse("permit_required", N_("a renovation worker card is issued only with the permit number and its end date"))
        if until < today:
            _refuse("permit_expired", N_("the renovation permit ended on {day}"), day=until.isoformat())
        if valid_until and valid_until.date() > until:
            _refuse("validity_beyond_permit", N_("the card would outlast the permit ({day})"), day=until.isoformat())
        if isinstance(unit, dict) and not unit.get("handed_over", 1):
            _refuse("unit_not_handed_over", N_("unit {unit} has not been handed over: no renovation yet"), unit=unit_code)

    deposit = req.get("deposit")
    if not taking_deposit:
        return
    if ctype in DEPOSIT_TYPES:
        if not isinstance(deposit, dict):
            _refuse("deposit_required", N_("a {card_type} card takes a deposit: amount_cents and receipt_no"), card_type=type_word(ctype))
        amount = deposit.get("amount_cents")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:
            raise BadInput("deposit.amount_cents must be a whole number of cents above 0", field="deposit.amount_cents")
        if not str(deposit.get("receipt_no") or "").strip():
            _refuse("deposit_receipt_required", N_("the deposit's receipt number is required: the refund is made against it"))
        from hub.cards.books import check_receipt_free

        check_receipt_free(db, str(deposit["receipt_no"]))
    elif deposit:
        _refuse("deposit_not_taken", N_("a {card_type} card takes no deposit"), card_type=type_word(ctype))

"""A request that does not fit its schema, said in the reader's words.

pydantic's own messages (``String should have at least 1 character``) are English and
speak of strings and literals; a clerk needs "at least 1 character" in Chinese, beside the
field. Each error type people meet in the forms has a message here (msgids, translated in
the catalogs) filled from pydantic's context; the field path is shown by its label where
one is known. A type without one keeps pydantic's text: the catalog test lists every
message marked here, so a new one is translated before it ships.
"""

from __future__ import annotations

from typing import Any, Callable


def N_(text: str) -> str:
    """Marks a msgid for extraction where it is defined; translated where it is shown."""
    return text


#: pydantic error type -> message; {name}s are the error's context keys
MESSAGES: dict[str, str] = {
    "missing": N_("this is required"),
    "string_too_short": N_("at least {min_length} characters"),
    "string_too_long": N_("at most {max_length} characters"),
    "too_short": N_("at least {min_length} items"),
    "too_long": N_("at most {max_length} items"),
    "string_pattern_mismatch": N_("not in the expected form"),
    "string_type": N_("must be text"),
    "greater_than_equal": N_("must be {ge} or more"),
    "less_than_equal": N_("must be {le} or less"),
    "greater_than": N_("must be more than {gt}"),
    "less_than": N_("must be less than {lt}"),
    "int_parsing": N_("must be a whole number"),
    "int_type": N_("must be a whole number"),
    "int_from_float": N_("must be a whole number"),
    "float_parsing": N_("must be a number"),
    "bool_parsing": N_("must be yes or no"),
    "date_parsing": N_("must be a date such as 2026-11-29"),
    "date_from_datetime_parsing": N_("must be a date such as 2026-11-29"),
    "datetime_parsing": N_("must be a date and time such as 2026-11-29 14:05"),
    "datetime_from_date_parsing": N_("must be a date and time such as 2026-11-29 14:05"),
    "timezone_aware": N_("must be a date and time with its time zone"),
    "literal_error": N_("must be one of: {expected}"),
    "enum": N_("must be one of: {expected}"),
    "extra_forbidden": N_("is not something this form takes"),
    "json_invalid": N_("the request is not valid JSON"),
    "model_attributes_type": N_("must be an object of named fields"),
    "dict_type": N_("must be an object of named fields"),
    "list_type": N_("must be a list"),
}

#: field paths people type into, by the name the forms give them
LABELS: dict[str, str] = {
    "uid": N_("card number (UID)"),
    "new_uid": N_("new card number (UID)"),
    "replacement_uid": N_("replacement card number (UID)"),
    "card_type": N_("card type"),
    "holder.name": N_("holder's name"),
    "holder.unit": N_("holder's unit"),
    "name": N_("name"),
    "unit": N_("unit"),
    "phone": N_("phone"),
    "reason": N_("reason"),
    "deposit_fen": N_("deposit"),
    "fee_fen": N_("fee"),
    "valid_from": N_("valid from"),
    "valid_until": N_("valid until"),
    "qty": N_("quantity"),
    "username": N_("username"),
    "password": N_("password"),
    "(body)": N_("the request"),
    # the card centre's forms (hub.cards.models, hub.cards.moves_views)
    "holder": N_("holder"),
    "deposit": N_("deposit"),
    "deposit.amount_cents": N_("deposit amount"),
    "deposit.receipt_no": N_("deposit receipt number"),
    "amount_cents": N_("amount"),
    "fee_cents": N_("fee"),
    "receipt_no": N_("receipt number"),
    "refund": N_("refund the deposit"),
    "person_id": N_("person"),
    "applicant": N_("applicant"),
    "authorisation_ref": N_("owner's authorisation"),
    "company_letter_ref": N_("company's letter"),
    "tenancy_start": N_("tenancy starts"),
    "tenancy_end": N_("tenancy ends"),
    "police_registration_no": N_("police registration number"),
    "permit_no": N_("renovation permit number"),
    "permit_until": N_("permit ends"),
    "employer_unit": N_("employer's unit"),
    "printed": N_("number printed on the card"),
    # stock
    "note": N_("note"),
    "ref": N_("delivery note or invoice number"),
    "delta": N_("adjustment"),
    "counted": N_("counted"),
    "min_level": N_("minimum level"),
    "max_level": N_("maximum level"),
    "paper_reason": N_("why it is entered late"),
    "at": N_("time"),
    "move": N_("move"),
    # people and units
    "building": N_("building"),
    "floor": N_("floor"),
    "room": N_("room"),
    "household_name": N_("household name"),
    "move_in_date": N_("move-in date"),
    "owner_kind": N_("owner type"),
    "handed_over": N_("handed over"),
    "id_doc_no": N_("ID document number"),
    "email": N_("email"),
    "role": N_("role"),
    "kind": N_("kind"),
    "file": N_("file"),
    # visitors, the duty log and the guard's console
    "visitor_name": N_("visitor's name"),
    "id_type": N_("ID type"),
    "id_number": N_("ID number"),
    "host_unit": N_("host unit"),
    "purpose": N_("purpose of visit"),
    "party_size": N_("number of people"),
    "plate": N_("vehicle plate"),
    "expected_leave_at": N_("expected to leave"),
    "form_opened_at": N_("form opened at"),
    "override_reason": N_("reason for overriding the watch list"),
    "entries": N_("entries"),
    "gates": N_("gates"),
    "value": N_("value"),
    "text": N_("text"),
    "incident_kind": N_("incident kind"),
    "to": N_("reported to"),
    "shift": N_("shift"),
    "language": N_("language"),
}


#: a field's label and what is wrong with it, as one detail (Chinese: a full-width colon)
FIELD_PROBLEM = N_("{field}: {problem}")


def detail_of(field: str, error: dict[str, Any], say: Callable[[str], str]) -> str:
    """``explained`` as the one sentence an error's ``detail`` carries."""
    label, problem = explained(field, error, say)
    return say(FIELD_PROBLEM).format(field=label, problem=problem)


def explained(field: str, error: dict[str, Any], say: Callable[[str], str]) -> tuple[str, str]:
    """(the field as a person reads it, what is wrong with it), both through ``say``."""
    label = say(LABELS[field]) if field in LABELS else field
    kind = str(error.get("type", ""))
    if kind == "value_error":  # one of our own validators: its text, translated if the catalog has it
        return label, say(str((error.get("ctx") or {}).get("error", error.get("msg", "invalid"))))
    template = MESSAGES.get(kind)
    if template is None:
        return label, str(error.get("msg", "invalid"))
    context = {k: str(v) for k, v in (error.get("ctx") or {}).items()}
    try:
        return label, say(template).format(**context)
    except (KeyError, IndexError, ValueError):
        return label, str(error.get("msg", "invalid"))

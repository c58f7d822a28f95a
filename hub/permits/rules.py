"""The estate's rules for renovation permits, pure: which move is allowed from which state,
and what each move needs. Every refusal is a hub.errors.RuleViolation (or BadInput) whose
``rule`` names it; hub.permits.moves calls these before it writes anything, so a refusal
changes nothing.

States: ``applied`` -> approve -> ``approved`` (active) <-> suspend / resume ->
``suspended``; approved or suspended -> exit (or the period passing: expire) -> ``ended``.
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Any, NoReturn

from hub.errors import BadInput, RuleViolation, Word
from hub.i18n.validation import N_


class State(StrEnum):
    APPLIED = "applied"
    APPROVED = "approved"
    SUSPENDED = "suspended"
    ENDED = "ended"


class Move(StrEnum):
    APPLY = "apply"
    APPROVE = "approve"
    EXTEND = "extend"
    SUSPEND = "suspend"
    RESUME = "resume"
    REPORT_LOST = "report_lost"
    REISSUE = "reissue"
    EXIT = "exit"
    EXPIRE = "expire"


#: from which states each move is allowed, and the state after it (None: the state stays)
MOVES: dict[Move, dict[State, State | None]] = {
    Move.APPROVE: {State.APPLIED: State.APPROVED},
    Move.EXTEND: {State.APPROVED: None, State.SUSPENDED: None},
    Move.SUSPEND: {State.APPROVED: State.SUSPENDED},
    Move.RESUME: {State.SUSPENDED: State.APPROVED},
    Move.REPORT_LOST: {State.APPROVED: None, State.SUSPENDED: None},
    Move.REISSUE: {State.APPROVED: None, State.SUSPENDED: None},
    Move.EXIT: {State.APPROVED: State.ENDED, State.SUSPENDED: State.ENDED},
    Move.EXPIRE: {State.APPROVED: State.ENDED, State.SUSPENDED: State.ENDED},
}

#: states and moves as a detail says them (msgids)
STATE_WORDS = {State.APPLIED: N_("applied for"), State.APPROVED: N_("approved"),
               State.SUSPENDED: N_("work stopped"), State.ENDED: N_("ended (permit)")}
MOVE_WORDS = {Move.APPROVE: N_("permit approval"), Move.EXTEND: N_("permit extension"),
              Move.SUSPEND: N_("stopping work"), Move.RESUME: N_("resuming work"),
              Move.REPORT_LOST: N_("reporting the permit lost"), Move.REISSUE: N_("permit reissue"),
              Move.EXIT: N_("renovation exit"), Move.EXPIRE: N_("permit expiry")}

#: the states in which a permit is open (a unit has at most one)
OPEN = frozenset({State.APPLIED, State.APPROVED, State.SUSPENDED})


def _refuse(rule: str, detail: str, **params: object) -> NoReturn:
    raise RuleViolation(detail, rule=rule, **params)


def next_state(current: str, move: Move) -> State:
    """The state after ``move`` (the same one for moves that keep it), or the refusal
    ``not_in_state`` naming the permit's state and the move."""
    state = State(current)
    allowed = MOVES[move]
    if state not in allowed:
        _refuse("not_in_state", N_("{move} is not possible for a permit that is {state}"),
                state=Word(STATE_WORDS[state]), move=Word(MOVE_WORDS[move]))
    return allowed[state] or state


def _text(value: Any) -> str:
    return str(value or "").strip()


def check_apply(body: Any, unit: dict[str, Any] | None, owner_ids: set[int], open_permit: str | None,
                today: date) -> None:
    """An application (hub.permits.models.PermitIn) for ``unit`` (its register row, None if
    unknown), whose registered owners are ``owner_ids``; ``open_permit``: the number of the
    unit's permit still open, if any."""
    if unit is None:
        _refuse("unknown_unit", N_("unit {unit} is not in the units register"), unit=body.unit)
    if not unit.get("handed_over"):
        _refuse("unit_not_handed_over", N_("unit {unit} has not been handed over: no renovation yet"), unit=body.unit)
    if open_permit:
        _refuse("permit_open_for_unit", N_("unit {unit} has a renovation permit open already ({permit_no})"),
                unit=body.unit, permit_no=open_permit)
    d = body.drawings
    if not _text(d.approved_by) or d.approved_on is None:
        _refuse("drawings_not_approved",
                N_("the renovation drawings must be approved first: say who approved them and when"))
    if d.approved_on > today:
        _refuse("drawings_not_approved", N_("the drawings' approval date {day} is in the future"),
                day=d.approved_on.isoformat())
    a = body.applicant
    company_owned = unit.get("owner_kind") == "company"
    if a.standing == "company" and not company_owned:
        _refuse("standing_not_for_unit", N_("unit {unit} is not company-owned: the owner or their agent applies"),
                unit=body.unit)
    if company_owned and not _text(a.company_letter_ref):
        _refuse("company_letter_required", N_("unit {unit} is company-owned: the company's letter is required"),
                unit=body.unit)
    if a.standing == "owner" and not company_owned and owner_ids and a.person_id not in owner_ids:
        _refuse("applicant_not_owner",
                N_("only the owner of unit {unit} or their agent may apply: {name} is not registered as its owner"),
                unit=body.unit, name=a.name)
    if a.standing == "agent" and not _text(a.authorisation_ref):
        _refuse("agent_authorisation_required", N_("an agent applying needs the owner's written authorisation"))
    if body.period_until < body.period_from:
        _refuse("period_reversed", N_("the permit's period ends before it starts"))
    if body.period_until < today:
        _refuse("period_in_past", N_("the permit's period ended on {day}"), day=body.period_until.isoformat())
    if body.hours.end <= body.hours.start:
        _refuse("hours_reversed", N_("the working hours end before they start"))
    if body.deposit is None:
        _refuse("deposit_required", N_("a renovation permit takes a deposit: amount_cents and receipt_no"))
    if not _text(body.deposit.receipt_no):
        _refuse("deposit_receipt_required",
                N_("the deposit's receipt number is required: the refund is made against it"))


def document_no(permit_no: str, copy: int) -> str:
    """The number printed on the permit document: the permit and its copy (a reissue is the next copy)."""
    return f"{permit_no}/{copy}"


def check_extend(permit: dict[str, Any], shown: str | None, until: date) -> None:
    """An extension needs the permit itself: the current document's number, shown."""
    if permit["document_lost"]:
        _refuse("permit_document_lost",
                N_("the permit document was reported lost: reissue it before anything else is done with it"))
    current = document_no(permit["permit_no"], permit["document_copy"])
    if _text(shown).upper() != current.upper():
        _refuse("permit_document_required",
                N_("an extension needs the permit itself: the number shown is not the permit's ({shown})"),
                shown=_text(shown) or "-")
    if until <= date.fromisoformat(permit["period_until"]):
        _refuse("extension_not_later", N_("the new end {day} is not later than the permit's end"),
                day=until.isoformat())


def check_suspend(reason: str | None, approval: Any, by_engineering: bool) -> None:
    """Stopping work needs a reason and the engineering department's approval, recorded: the
    approver and the day, or the engineering department making the move itself."""
    if not _text(reason):
        raise BadInput("stopping work needs a reason", field="reason", rule="reason_required")
    if approval is None and not by_engineering:
        _refuse("engineering_approval_required",
                N_("stopping work needs the engineering department's approval: who approved it and when"))


def check_report_lost(permit: dict[str, Any], declaration: str | None) -> None:
    if permit["document_lost"]:
        _refuse("permit_document_lost", N_("the permit document is already reported lost"))
    if not _text(declaration):
        _refuse("loss_declaration_required", N_("a lost permit needs a loss declaration: give its reference"))


def check_reissue(permit: dict[str, Any]) -> None:
    if not permit["document_lost"]:
        _refuse("permit_document_not_lost", N_("the permit document is not reported lost: nothing to reissue"))


def check_exit(permit: dict[str, Any], body: Any) -> None:
    """Exit: the inspection, and the deposit's refund date, or deductions with a reason."""
    if not _text(body.inspected_by) or not _text(body.inspection):
        _refuse("inspection_required", N_("the exit needs the inspection: who inspected and what they found"))
    if body.deductions_cents > permit["deposit_cents"]:
        _refuse("deductions_over_deposit", N_("the deductions are more than the deposit"))
    if body.deductions_cents and not _text(body.deduction_reason):
        _refuse("deduction_reason_required", N_("a deduction from the deposit needs its reason (the damage)"))
    if body.refund_on is None and body.deductions_cents < permit["deposit_cents"]:
        _refuse("refund_date_required", N_("say when the deposit is refunded"))


def check_worker_card(permit: dict[str, Any] | None, permit_no: str, holder_name: str, unit: str,
                      valid_until_day: date | None, valid_from_day: date | None = None,
                      today: date | None = None) -> None:
    """A renovation worker's card: only with the permit, and never before its approval
    (hub.cards.rules calls this in the issuing transaction)."""
    if permit is None:
        _refuse("unknown_permit", N_("no renovation permit {permit_no}"), permit_no=permit_no)
    state = State(permit["state"])
    if state == State.APPLIED:
        _refuse("permit_not_approved",
                N_("renovation permit {permit_no} is not approved yet: worker passes only after approval"),
                permit_no=permit["permit_no"])
    if state == State.SUSPENDED:
        _refuse("permit_suspended", N_("work under renovation permit {permit_no} is stopped"),
                permit_no=permit["permit_no"])
    if state == State.ENDED:
        _refuse("permit_ended", N_("renovation permit {permit_no} has ended"), permit_no=permit["permit_no"])
    if unit and unit.strip().upper() != permit["unit"]:
        _refuse("unit_differs_from_permit", N_("renovation permit {permit_no} is for unit {unit}"),
                permit_no=permit["permit_no"], unit=permit["unit"])
    names = {" ".join(str(w.get("name") or "").split()).casefold() for w in permit["workers_list"]}
    if names and " ".join(holder_name.split()).casefold() not in names:
        _refuse("worker_not_on_permit", N_("{name} is not among the workers of renovation permit {permit_no}"),
                name=holder_name, permit_no=permit["permit_no"])
    if valid_until_day is not None and valid_until_day > date.fromisoformat(permit["period_until"]):
        _refuse("validity_beyond_permit", N_("the card would outlast the permit ({day})"), day=permit["period_until"])
    starts = date.fromisoformat(permit["period_from"])
    if (valid_from_day is not None and valid_from_day < starts) or (
            valid_from_day is None and today is not None and today < starts):
        _refuse("validity_before_permit", N_("the card would work before the permit's period starts ({day}): "
                                             "set valid_from"), day=permit["period_from"])

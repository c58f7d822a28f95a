"""The release slips' rules that need no database: what a slip must say, when a move-out
may be issued, and whether a slip passes a gate now. Each refusal names its rule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from hub.auth import Role
from hub.errors import BadInput, Conflict, Forbidden, RuleViolation
from hub.slips.models import SlipIn

#: who may let a household move out past owed fees (or no fee figure), with a reason
OVERRIDERS = frozenset({Role.MANAGER, Role.ADMIN})


@dataclass(frozen=True)
class FeePosition:
    owed_cents: int
    as_of: str
    imported_at: str


def check_form(req: SlipIn, today: date) -> None:
    if req.date < today:
        raise BadInput("the slip's date {day} is already past", rule="date_in_past", field="date",
                       day=req.date.isoformat())
    if not req.gates:
        raise BadInput("a slip names the gates it may leave by", rule="gates_required", field="gates")
    if req.kind == "goods" and not req.items:
        raise BadInput("a goods slip lists each item", rule="items_required", field="items")


def check_move_out(req: SlipIn, role: Role, fees: FeePosition | None) -> bool:
    """Whether a move-out may be issued; True when it passes only on the override. A tenant's
    (or an agent's) needs the owner's confirmation; owed fees, or no fee figure on record,
    refuse it unless a manager gives a reason."""
    if req.kind != "move_out":
        return False
    if req.standing != "owner" and req.owner_confirmation is None:
        raise BadInput("a tenant's move-out needs the owner's confirmation", rule="owner_confirmation_required",
                       field="owner_confirmation")
    if fees is not None and fees.owed_cents <= 0:
        return False
    if req.override_reason is None:
        owed = "{:.2f}".format(fees.owed_cents / 100) if fees is not None else "-"
        if fees is None:
            raise Conflict("unit {unit} has no fee position from finance: a move-out needs the manager's override",
                           rule="no_fee_position", field="unit", unit=req.unit)
        raise Conflict("unit {unit} owes {amount} yuan (as of {as_of}): a move-out needs the fees paid or the "
                       "manager's override", rule="fees_owed", field="unit", unit=req.unit,
                       amount=owed, as_of=fees.as_of)
    if role not in OVERRIDERS:
        raise Forbidden("only the estate manager may let a household move out past its fees",
                        rule="override_not_allowed", field="override_reason")
    return True


def check_exit(*, cancelled: bool, used: bool, day: str, today: date, gates: list[str], gate_id: str) -> None:
    """A slip at a gate now: not cancelled, not used, on its date, at a gate it names."""
    if cancelled:
        raise Conflict("this slip was cancelled", rule="slip_cancelled")
    if used:
        raise Conflict("this slip has already been used", rule="slip_used")
    if day != today.isoformat():
        raise RuleViolation("this slip is for {day}, not today ({today})", rule="slip_wrong_date", day=day,
                            today=today.isoformat())
    if gate_id not in gates:
        raise RuleViolation("this slip is not for gate {gate}: it names {gates}", rule="slip_wrong_gate",
                            field="gate_id", gate=gate_id, gates=", ".join(gates))

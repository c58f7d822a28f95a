"""The moves a complaint allows from each state, and who may make them: pure, over the
complaint's row and the principal. Each refusal is a domain error naming its rule, raised
before anything is written, so a refused move changes nothing.

    registered -forward-> forwarded -sign-> in_progress -resolve-> resolved -tell-> told -close-> closed
    a dissatisfied follow-up may reopen a closed complaint (back to in_progress)
    an invalid complaint is closed from registered (explained to the complainant)
    pause/resume is a flag over registered, forwarded and in_progress (waiting on the complainant)
"""

from __future__ import annotations

from typing import Any

from hub.auth import Principal, Role
from hub.errors import Forbidden, RuleViolation, Word
from hub.complaints.models import STATES
from hub.i18n.validation import N_

#: move -> the states it may be made from
FROM: dict[str, tuple[str, ...]] = {
    "forward": ("registered",),
    "sign": ("forwarded",),
    "answer": ("registered", "forwarded", "in_progress"),
    "validity": ("registered",),
    "pause": ("registered", "forwarded", "in_progress"),
    "resume": ("registered", "forwarded", "in_progress"),
    "extend": ("registered", "forwarded", "in_progress"),
    "resolve": ("in_progress",),
    "tell": ("resolved",),
    "accept": ("told",),
    "close": ("told", "registered"),
    "office_report": ("registered", "forwarded", "in_progress", "resolved", "told", "closed"),
    "reopen": ("closed",),
}
#: where each move leads (None: the state stays)
TO: dict[str, str | None] = {
    "forward": "forwarded", "sign": "in_progress", "answer": None, "validity": None, "pause": None,
    "resume": None, "extend": None, "resolve": "resolved", "tell": "told", "accept": None, "close": "closed",
    "office_report": None, "reopen": "in_progress",
}

#: the moves a department's staff may make, on their own department's complaints only
DEPARTMENT_MOVES = frozenset({"sign", "pause", "resume", "resolve"})
#: the department's own work: by the department, or a supervisor or the manager for it
DEPARTMENT_WORK = frozenset({"sign", "resolve"})
#: the moves only the manager (and admin) may make
MANAGER_MOVES = frozenset({"extend"})


def may_read(who: Principal, c: dict[str, Any]) -> bool:
    """A department sees only the complaints sent to it; every other complaint role sees all."""
    if who.role == Role.DEPARTMENT:
        return bool(who.department) and c.get("department") == who.department
    return True


def check_role(move: str, who: Principal, c: dict[str, Any]) -> None:
    if move in MANAGER_MOVES and who.role not in (Role.MANAGER, Role.ADMIN):
        raise Forbidden("only the estate manager may extend a complaint's deadline", rule="extension_needs_manager")
    if move in DEPARTMENT_WORK and who.role in (Role.CLERK, Role.SHIFT_LEADER):
        raise Forbidden("the department signs its coordination sheet and resolves the work (or a supervisor for it)",
                        rule="department_work")
    if who.role == Role.DEPARTMENT:
        if move not in DEPARTMENT_MOVES:
            raise Forbidden("a department may sign, pause, resume and resolve its own complaints only",
                            rule="not_for_department")
        if c.get("department") != who.department:
            raise Forbidden("complaint {id} is not sent to your department", rule="not_your_department", id=c["id"])


def check(move: str, c: dict[str, Any], who: Principal) -> None:
    """Refuse ``move`` on complaint row ``c`` by ``who`` unless the procedures allow it."""
    check_role(move, who, c)
    state = c["state"]
    if move == "resolve" and state == "forwarded":
        raise RuleViolation("the department has not signed the coordination sheet of complaint {id} yet",
                            rule="sheet_not_signed", id=c["id"])
    if state not in FROM[move]:
        raise RuleViolation("a complaint that is {state} cannot be {move}", rule="not_in_state",
                            state=Word(STATES[state]), move=Word(MOVE_NAMES[move]))
    paused = bool(c.get("paused_since"))
    if move == "pause" and paused:
        raise RuleViolation("complaint {id} is already waiting on the complainant", rule="already_paused", id=c["id"])
    if move == "resume" and not paused:
        raise RuleViolation("complaint {id} is not waiting on the complainant", rule="not_paused", id=c["id"])
    if move in ("forward", "sign", "resolve") and paused:
        raise RuleViolation("complaint {id} is waiting on the complainant: resume it first", rule="paused", id=c["id"])
    if move == "forward" and not c["valid"]:
        raise RuleViolation("an invalid complaint is explained to the complainant, not forwarded",
                            rule="invalid_complaint")
    if move == "answer":
        if c["severity"] != "major":
            raise RuleViolation("only a major complaint has a clear answer step", rule="answer_only_major")
        if c.get("answered_at"):
            raise RuleViolation("complaint {id} has its clear answer already", rule="already_answered", id=c["id"])
    if move == "close":
        if state == "registered" and c["valid"]:
            raise RuleViolation("a complaint that is {state} cannot be {move}", rule="not_in_state",
                                state=Word(STATES[state]), move=Word(MOVE_NAMES[move]))
        if state == "told" and c.get("accepted") is None:
            raise RuleViolation("record whether the complainant accepts the result before closing",
                                rule="acceptance_missing")
    if move == "office_report":
        if not c["joint"]:
            raise RuleViolation("only a joint complaint (three or more households) is reported to the office",
                                rule="not_joint")
        if c.get("office_reported_at"):
            raise RuleViolation("complaint {id} is reported to the complaints office already",
                                rule="office_already_reported", id=c["id"])


#: each move as a person reads it in "cannot be {move}" (msgids)
MOVE_NAMES = {
    "forward": N_("forwarded to a department"), "sign": N_("signed off"), "answer": N_("given a clear answer"),
    "validity": N_("judged valid or invalid"), "pause": N_("paused"), "resume": N_("resumed"),
    "extend": N_("extended"), "resolve": N_("marked resolved"), "tell": N_("told the result"),
    "accept": N_("given the complainant's acceptance"), "close": N_("closed as done"),
    "office_report": N_("reported to the complaints office"), "reopen": N_("reopened"),
}

"""The violations' rules that need no database: the order of measures, who penalises, how
long a record is kept. Each refusal names its rule."""

from __future__ import annotations

from datetime import date, datetime

from hub.auth import Role
from hub.errors import BadInput, Forbidden, RuleViolation, Word
from hub.violations.models import MEASURE_NAMES, MEASURES

#: years a record is kept after it was found, by level (ESTATE.md: 1 general, 5 major)
KEEP_YEARS = {"general": 1, "major": 5}
#: only the manager penalises (ESTATE.md "Violations")
PENALISERS = frozenset({Role.MANAGER})


def check_measure(taken: list[str], measure: str, deadline: str | None, today: date) -> None:
    """A measure is the last one taken again or the next in order; the first is persuasion.
    Rectification needs a deadline, not in the past."""
    last = MEASURES.index(taken[-1]) if taken else -1
    step = MEASURES.index(measure)
    if not (step == last + 1 or (taken and step == last)):
        expected = MEASURES[last + 1] if last + 1 < len(MEASURES) else MEASURES[last]
        raise RuleViolation("measures are taken in order: after {last} comes {expected}, not {measure}",
                            rule="measure_out_of_order", field="measure",
                            last=Word(MEASURE_NAMES[taken[-1]]) if taken else "-",
                            expected=Word(MEASURE_NAMES[expected]), measure=Word(MEASURE_NAMES[measure]))
    if measure == "rectification":
        if not deadline:
            raise BadInput("rectification needs a deadline", rule="deadline_required", field="deadline")
        try:
            day = date.fromisoformat(deadline)
        except ValueError:
            raise BadInput("{deadline} is not a date", rule="bad_deadline", field="deadline",
                           deadline=deadline) from None
        if day < today:
            raise BadInput("the deadline {deadline} is already past", rule="deadline_in_past", field="deadline",
                           deadline=deadline)
    elif deadline:
        raise BadInput("only rectification has a deadline", rule="deadline_not_wanted", field="deadline")


def check_penaliser(role: Role) -> None:
    if role not in PENALISERS:
        raise Forbidden("only the estate manager sets a penalty", rule="manager_only")


def keep_until(found_at: datetime, level: str) -> datetime:
    """found_at plus the level's years (29 February kept as 28 February in a common year)."""
    years = KEEP_YEARS[level]
    try:
        return found_at.replace(year=found_at.year + years)
    except ValueError:
        return found_at.replace(year=found_at.year + years, day=28)

"""The estate's working calendar: working hours, public holidays and make-up working days,
the one calendar every deadline counts on (DESIGN.md).

- ``hub.workcal.calendar.WorkCalendar``: the pure, immutable value and its rules
  (add_working_hours, add_working_days, working_time, is_working_day);
- ``load_calendar(db)``: the estate's calendar now, from the database (cached by version);
- service (seeding, edits, the 1 December check), views (/api/v1/calendar), pages (/calendar).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hub.workcal.calendar import NoWorkingTime, WorkCalendar

if TYPE_CHECKING:
    import sqlite_utils


def load_calendar(db: "sqlite_utils.Database") -> WorkCalendar:
    """hub.workcal.service.load_calendar (imported when used: hub.config imports this package)."""
    from hub.workcal.service import load_calendar as load

    return load(db)


__all__ = ["NoWorkingTime", "WorkCalendar", "load_calendar"]

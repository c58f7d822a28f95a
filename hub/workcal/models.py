"""The stored working calendar: its settings, its days, the years seeded, and API bodies.

- ``workcal_settings`` (one row): the working periods and weekdays ([calendar] in the hub's
  config, written here at startup so ``load_calendar(db)`` needs only the database) and
  ``version``, bumped by every change of the calendar (the loaded calendar is cached by it).
- ``workcal_days``: the exceptions: a ``holiday`` (a day off, even on a weekday) or a
  ``workday`` (a make-up working day on a weekend), each with its name (国庆节, or the
  package's English name, which the catalogs translate) and where it came from: ``seed``
  (chinesecalendar) or ``person`` (a supervisor's edit; seeding again leaves it alone).
- ``workcal_years``: each year seeded, when, and from which version of the package.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

SCHEMA = """
CREATE TABLE IF NOT EXISTS workcal_settings (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    periods TEXT NOT NULL,
    weekdays TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE IF NOT EXISTS workcal_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('holiday', 'workday')),
    name TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('seed', 'person')),
    changed_by TEXT NOT NULL,
    changed_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS workcal_years (
    year INTEGER PRIMARY KEY,
    seeded_at TEXT NOT NULL,
    seeded_by TEXT NOT NULL,
    package TEXT NOT NULL
);
"""


class DayKind(StrEnum):
    HOLIDAY = "holiday"
    WORKDAY = "workday"


MAX_NAME = 60


class SetDay(BaseModel):
    """PUT /api/v1/calendar/days/{date}: what the day is, and its name."""

    model_config = ConfigDict(extra="forbid")

    kind: DayKind
    name: str = Field(min_length=1, max_length=MAX_NAME)
    #: why (kept in the audit log)
    reason: str | None = Field(default=None, max_length=200)

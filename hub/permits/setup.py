"""The permits' one line in hub.app: the ticker's check that keeps the workers' schedules
on the estate's working calendar.

A permit's schedule carries the estate's holidays (hub.permits.access), read from
hub.workcal when its cards are projected. A holiday added or removed in the calendar
(hub.workcal.service.set_day / remove_day bump the calendar's version) is therefore
re-projected onto the open permits' cards by this check within CHECK_EVERY_S (and once a
day, when passed holidays leave the entries, as hub.access's do); the hourly
housekeeping ends permits past their period (hub.permits.moves.expire_due).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlite_utils
from fastapi import FastAPI

from hub.gates import acl

#: how often the check looks at the calendar's version (one small read)
CHECK_EVERY_S = 5.0


class CalendarWatch:
    """Re-projects the open permits' cards when the working calendar changes."""

    def __init__(self) -> None:
        self.seen: Any = None
        self.reprojected = 0

    def __call__(self, db: sqlite_utils.Database, now: datetime) -> None:
        version = _calendar_version(db)
        if version == self.seen:
            return
        uids = [r[0] for r in db.execute(
            "SELECT c.uid FROM permit_cards c JOIN permits p ON p.id = c.permit_id"
            " WHERE p.state IN ('approved', 'suspended') ORDER BY c.uid")]
        if uids:
            acl.schedule_reproject(db, uids)
        self.reprojected += len(uids)
        self.seen = version


def _calendar_version(db: sqlite_utils.Database) -> Any:
    from hub.access.plan import calendar, holiday_cutoff

    row = db.execute("SELECT version FROM workcal_settings WHERE id = 1").fetchone() \
        if db["workcal_settings"].exists() else None
    # the day too: a holiday two days past leaves the entries (hub.access.plan.HOLIDAY_KEEP)
    return (row[0] if row else 0, calendar(db)[0], holiday_cutoff())


def permits_setup(app: FastAPI) -> None:
    app.state.permits_calendar = CalendarWatch()
    app.state.ticker.every(CHECK_EVERY_S, "permits.calendar", app.state.permits_calendar)

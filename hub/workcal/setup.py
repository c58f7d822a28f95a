"""The working calendar's one line in hub.app: its settings from [calendar] written to the
database, this year's and next year's days seeded where chinesecalendar has them, and the
ticker's check for next year's days from 1 December."""

from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from hub.access.plan import calendar as estate_calendar
from hub.workcal import service

#: how often the ticker looks for next year's days (seconds): once an hour is plenty for a date
CHECK_EVERY_S = 3600.0


def workcal_setup(app: FastAPI) -> None:
    section = app.state.config.calendar
    with app.state.store.tx() as db:
        service.apply_settings(db, section.working_periods, section.working_weekdays)
        if section.seed_at_startup:
            tz, _ = estate_calendar(db)
            service.seed_missing(db, datetime.now(timezone.utc).astimezone(ZoneInfo(tz)).date())
    app.state.ticker.every(CHECK_EVERY_S, "workcal.next_year", service.check_next_year)

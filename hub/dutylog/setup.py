"""The duty log's one line in hub.app: its settings and its ticker check."""

from __future__ import annotations

from functools import partial

from fastapi import FastAPI

from hub.dutylog import service

#: how often the ticker looks for incidents past their report-up time (seconds)
CHECK_EVERY_S = 5.0


def duty_setup(app: FastAPI) -> None:
    settings = service.Settings.of(app.state.config.duty)
    app.state.duty = settings
    app.state.ticker.every(CHECK_EVERY_S, "duty incidents overdue",
                           partial(service.check_overdue, within=settings.report_within))

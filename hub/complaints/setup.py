"""The complaints domain in the hub: ``setup(app)`` (one line in hub.app.create_app).

- ``app.state.complaints``: the rules' context (hub.complaints.service.Complaints), its
  deadlines counted on the estate's working calendar (hub.workcal.load_calendar);
- the ticker: the escalation check every EVERY_S (hub.complaints.escalation).
"""

from __future__ import annotations

from fastapi import FastAPI

from hub.complaints import escalation, service


def setup(app: FastAPI) -> service.Complaints:
    ctx = service.Complaints(store=app.state.store, settings=app.state.config.complaints)
    app.state.complaints = ctx
    app.state.ticker.every(escalation.EVERY_S, "complaints.escalation", escalation.check(ctx))
    return ctx

"""Escalation done by the system: a ticker check (hub.ticker) over the open complaints.

A complaint not forwarded in time, or about to miss a deadline, is shown to its shift
leader, then the supervisor, then the manager (hub.complaints.deadlines.escalation_level
says when). The level is kept on the complaint (``escalation_level``, ``escalation_kind``),
each change is a step and an audit row, and reaching the manager raises an alarm
(hub.alarms) so that it reaches someone now. A major complaint went to the manager when it
was registered and stays there until its clear answer is given; a paused complaint's clock
is stopped, so its level stays as it was. Tests call ``check(ctx)(db, now)`` with chosen times.
"""

from __future__ import annotations

from datetime import datetime
from typing import Callable

import sqlite_utils

from hub import audit
from hub.complaints import service
from hub.complaints.deadlines import escalation
from hub.complaints.models import OPEN_STATES, utc

EVERY_S = 60.0


def check(ctx: service.Complaints) -> Callable[[sqlite_utils.Database, datetime], int]:
    """The check: the number of complaints whose escalation changed."""

    def run(db: sqlite_utils.Database, now: datetime) -> int:
        cal = ctx.calendar(db)
        limits = ctx.limits
        changed = 0
        marks = ",".join("?" * len(OPEN_STATES))
        rows = [dict(r) for r in db.execute(
            f"SELECT * FROM complaints WHERE state IN ({marks}) AND valid = 1 AND id NOT IN"
            " (SELECT complaint_id FROM complaint_pauses WHERE end IS NULL)", list(OPEN_STATES))]
        for row in rows:
            kind, level = row["escalation_kind"], row["escalation_level"]
            if kind == "major" and row["answered_at"] is None:
                continue  # with the manager since registration, until the clear answer
            esc = escalation(service.stored_times(db, row), cal, limits, now)
            still = esc.reasons.get(kind or "", 0)  # what the kept kind's deadline is at now
            if esc.level > level or (esc.kind != kind and still < level):
                _set(db, row["id"], now, esc.level, esc.kind)
                changed += 1
        return changed

    return run


def _set(db: sqlite_utils.Database, cid: int, now: datetime, level: int, kind: str | None) -> None:
    db["complaints"].update(cid, {"escalation_level": level, "escalation_kind": kind,
                                  "escalated_at": utc(now) if level else None})
    if level:
        service.record_escalation(db, cid, now, level, kind or "")
    else:
        service.add_step(db, cid, now, service.HUB, "escalation_cleared")
        audit.record(db, service.HUB, "escalation_cleared", "complaint", str(cid))

"""How alarms come to be: the gate events and statuses that raise them, the checks that
escalate them and turn unanswered remote opens into alarms, and the wake-up of consoles.

A door closed again or a gate back online does not close an alarm: a person does (service).
"""

from __future__ import annotations

from datetime import datetime, timezone

import sqlite_utils
from fastapi import FastAPI

from hub.alarms import remote_opens, service
from protocols.messages import EventKind, GateEvent, GateStatus

#: how often the checks look (seconds); a check is one indexed query over the few open rows
CHECK_EVERY_S = 1.0

_DOOR_KINDS = {EventKind.DOOR_FORCED: "door_forced", EventKind.DOOR_HELD: "door_held"}


def on_door(db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
    service.raise_alarm(db, _DOOR_KINDS[event.kind], datetime.now(timezone.utc), gate_id=event.gate_id,
                        door_id=event.door_id, detail={"at": event.at.isoformat()}, source_seq=seq)


def on_device(db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
    """A reader or relay lost (a device coming back raises nothing and closes nothing)."""
    if event.detail.get("state") != "lost":
        return
    device = event.detail.get("device") or None
    detail = {k: v for k, v in (("device", device), ("problem", event.detail.get("problem"))) if v}
    service.raise_alarm(db, "device_degraded", datetime.now(timezone.utc), gate_id=event.gate_id,
                        door_id=event.door_id, subject=device, detail=detail, source_seq=seq)


def on_status(db: sqlite_utils.Database, status: GateStatus, was_online: bool | None) -> None:
    """A gate that was online and now says it is not (its status, or its last will)."""
    if was_online and not status.online:
        service.raise_alarm(db, "gate_offline", datetime.now(timezone.utc), gate_id=status.gate_id)


def alarms_setup(app: FastAPI) -> None:
    """Register the alarms' reactions and checks on ``app`` (hub.app.create_app)."""
    state = app.state
    config = state.config.alarms
    service.wake_on_change(state.store, state.bus.notify)
    reactions = state.reactions
    reactions.on_event((EventKind.DOOR_FORCED, EventKind.DOOR_HELD), on_door)
    reactions.on_event((EventKind.DEVICE,), on_device)
    reactions.on_event((EventKind.REMOTE_OPEN,), remote_opens.on_remote_open)
    reactions.on_event((EventKind.OPEN_RESULT,), remote_opens.on_open_result)
    reactions.on_status(on_status)
    state.ticker.every(CHECK_EVERY_S, "alarms.escalate",
                       lambda db, now: service.escalate_due(db, now, config.escalate_after_s))
    state.ticker.every(CHECK_EVERY_S, "alarms.remote_open_unacknowledged",
                       lambda db, now: remote_opens.check_unacknowledged(db, now, config.ack_timeout_s))

"""HTTP routes for gates: list, one gate, remote open, and the MQTT health counters."""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from hub import audit
from hub.alarms import remote_opens
from hub.auth import Principal, Role, require
from hub.errors import Forbidden
from hub.deadletters import store as dead_letters
from hub.gates import acl, service
from hub.mqtt import HubUnavailable
from protocols.topics import gate_topic

router = APIRouter(prefix="/api/v1", tags=["gates"])

_viewers = require(Role.GUARD, Role.SUPERVISOR, Role.CLERK)
_openers = require(Role.GUARD, Role.SUPERVISOR)


def _stale(request: Request) -> int:
    return request.app.state.config.hub.gate_stale_s


@router.get("/gates")
def list_gates(request: Request, who: Principal = Depends(_viewers)) -> list[dict]:
    gates = service.list_gates(request.app.state.store, _stale(request))
    drops = request.app.state.drops
    return [g | {"forged": drops.forged(g["gate_id"])} for g in gates if who.may_use_gate(g["gate_id"])]


@router.get("/gates/{gate_id}")
def get_gate(request: Request, gate_id: str, who: Principal = Depends(_viewers)) -> dict:
    if not who.may_use_gate(gate_id):
        raise Forbidden("{who} may not see gate {gate}", rule="gate_not_allowed", who=who.who, gate=gate_id)
    gate = service.get_gate(request.app.state.store, gate_id, _stale(request))
    return gate | {"forged": request.app.state.drops.forged(gate_id)}


class OpenRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: why the door is opened (a visitor at the gate, a delivery ...): kept with the command
    #: and shown on the live page; optional here for older clients, the page always sends one
    reason: str | None = Field(default=None, max_length=2 * remote_opens.MAX_REASON)


@router.post("/gates/{gate_id}/doors/{door_id}/open", status_code=202)
def open_door(request: Request, gate_id: str, door_id: str, body: OpenRequest | None = None,
              who: Principal = Depends(_openers)) -> dict:
    """Signed, expiring, single-use command; 202 because the gate's own event confirms it."""
    state = request.app.state
    mqtt = state.mqtt
    if mqtt is None or not mqtt.connected:
        raise HubUnavailable("the hub is not connected to the MQTT broker; the gate cannot be reached")
    reason = body.reason if body is not None else None
    cmd = service.open_command(state.store, who, gate_id, door_id, _stale(request), state.gate_keys,
                               state.config.hub.site, reason)
    try:
        mqtt.publish(gate_topic(state.config.hub.site, gate_id, "cmd"), cmd.to_bytes(), qos=1, retain=False)
    except HubUnavailable:
        with state.store.tx() as db:
            remote_opens.record_failed(db, cmd.nonce, datetime.now(timezone.utc))
            audit.record(db, who.who, "remote_open_failed", "gate", gate_id, "broker unavailable", nonce=cmd.nonce)
        raise
    return {
        "gate_id": gate_id,
        "door_id": door_id,
        "nonce": cmd.nonce,
        "expires_at": cmd.expires_at.isoformat(),
        "by": cmd.by,
        "reason": remote_opens.check_reason(reason),
    }


@router.get("/health/mqtt")
def mqtt_health(request: Request, _: Principal = Depends(require(Role.SUPERVISOR))) -> dict:
    state = request.app.state
    mqtt = state.mqtt
    return {
        "connected": bool(mqtt and mqtt.connected),
        "connects": mqtt.connects if mqtt else 0,
        "retrying": mqtt.retrying if mqtt else 0,
        "dropped": state.drops.snapshot(),
        "events_stored": state.event_ingest.stored if state.event_ingest else 0,
        "events_repeated": state.event_ingest.repeats if state.event_ingest else 0,
        "events_flagged": state.event_ingest.flagged if state.event_ingest else 0,
        "keys_pushed": state.key_pusher.pushed if getattr(state, "key_pusher", None) else 0,
        "acl_updates_published": state.publisher.published if state.publisher else 0,
        "sync_answers": state.gate_ingest.sync_answers if state.gate_ingest else 0,
        "dead_letters": _dead_letters(state),
        "intake_queued": mqtt.queued if mqtt else 0,  # received, not yet stored and acknowledged
        "acl_jobs": _acl_jobs(state),
    }


def _acl_jobs(state) -> dict:
    with state.store.read() as db:
        counts = acl.job_counts(db)
    projector = getattr(state, "projector", None)
    return {**counts, "steps": projector.steps if projector else 0,
            "longest_hold_ms": round(projector.longest_hold_s * 1000, 1) if projector else 0.0}


def _dead_letters(state) -> dict:
    """Kept in the database (all time) and kept or seen again since this hub started."""
    with state.store.read() as db:
        kept = dead_letters.summary(db)
    sink = state.dead_letters
    return kept | {"new_since_start": sink.kept, "repeats_since_start": sink.repeats}

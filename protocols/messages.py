"""Message models on the MQTT wire, version 1.

Each model forbids unknown keys and carries ``v`` so that a payload from a newer peer is
refused with a clear error instead of half-understood. ``parse`` is the one entry point
for bytes off the wire: it raises BadMessage, never a library exception.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from enum import StrEnum
from typing import Literal, TypeVar

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from protocols.acl import AclEntry, Uid
from protocols.cards import Decision, Reason

MAX_PAYLOAD = 256 * 1024


class BadMessage(ValueError):
    """A payload that is not valid JSON for the expected model; the text says which field."""


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1

    def to_bytes(self) -> bytes:
        return self.model_dump_json(exclude_none=False).encode()


class EventKind(StrEnum):
    PASS = "pass"  # a card presented at a door reader
    REMOTE_OPEN = "remote_open"  # a signed command from the hub
    EXIT_BUTTON = "exit_button"
    DOOR_FORCED = "door_forced"  # contact opened without a grant
    DOOR_HELD = "door_held"  # contact left open past its time
    DOOR_CLOSED = "door_closed"
    DEVICE = "device"  # a reader or relay went away or came back
    PRESENTED = "presented"  # a card tapped on a desk (enrolment) reader: no decision


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class GateEvent(_Msg):
    """One thing that happened at a gate. ``event_id`` is made at the gate, once, and is
    how the hub stores each event exactly once however often it is delivered."""

    event_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    gate_id: str
    door_id: str | None = None
    reader: str | None = None
    direction: Direction | None = None
    kind: EventKind = EventKind.PASS
    uid: Uid | None = None
    decision: Decision | None = None
    reason: Reason | str | None = None
    at: AwareDatetime
    acl_rev: int = Field(default=0, ge=0)
    detail: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _pass_has_card_and_decision(self) -> "GateEvent":
        if self.kind == EventKind.PASS and (self.uid is None or self.decision is None or self.reason is None):
            raise ValueError("a pass event needs uid, decision and reason")
        if self.kind == EventKind.PRESENTED and self.uid is None:
            raise ValueError("a presented event needs uid")
        return self


class DoorState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # a reader or the relay is missing; the door may not work


class DoorStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    state: DoorState = DoorState.OK
    problems: tuple[str, ...] = ()


class GateStatus(_Msg):
    """Retained on the gate's status topic; the offline form is also the gate's last will."""

    gate_id: str
    online: bool
    at: AwareDatetime
    role: Literal["gate", "enroll"] = "gate"
    acl_rev: int = Field(default=0, ge=0)
    checksum: str | None = None
    outbox_depth: int = Field(default=0, ge=0)
    outbox_error: str | None = None
    agent_version: str | None = None
    doors: dict[str, DoorStatus] = Field(default_factory=dict)


class SyncRequest(_Msg):
    """A gate tells the hub what it holds; the hub answers on the gate's acl topic."""

    gate_id: str
    rev: int = Field(ge=0)
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$")
    at: AwareDatetime


class AclUpdate(_Msg):
    """Either a delta from ``base_rev`` to ``rev`` or one chunk of a whole snapshot at ``rev``.

    A delta applies only on top of exactly ``base_rev``; anything else is a gap and the
    gate asks again. Snapshot chunks share ``snapshot_id`` and are applied together, only
    when all ``chunks`` have arrived and the result has ``checksum``.
    """

    gate_id: str
    kind: Literal["delta", "snapshot"]
    rev: int = Field(ge=0)
    checksum: str = Field(pattern=r"^[0-9a-f]{64}$")
    base_rev: int | None = Field(default=None, ge=0)
    upserts: tuple[AclEntry, ...] = ()
    removes: tuple[Uid, ...] = ()
    snapshot_id: str | None = None
    chunk: int = Field(default=0, ge=0)
    chunks: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _shape(self) -> "AclUpdate":
        if self.kind == "delta":
            if self.base_rev is None or self.base_rev >= self.rev:
                raise ValueError("a delta needs base_rev below rev")
        else:
            if self.snapshot_id is None or self.chunk >= self.chunks or self.removes:
                raise ValueError("a snapshot chunk needs snapshot_id, chunk < chunks and no removes")
        return self


M = TypeVar("M", bound=BaseModel)


def parse(model: type[M], payload: bytes | str) -> M:
    """Bytes off the wire to a model, or BadMessage naming the first bad field."""
    if isinstance(payload, bytes):
        if len(payload) > MAX_PAYLOAD:
            raise BadMessage(f"payload of {len(payload)} bytes is over {MAX_PAYLOAD}")
        try:
            payload = payload.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadMessage(f"payload is not UTF-8: {exc}") from None
    try:
        data = json.loads(payload)
    except json.JSONDecodeError as exc:
        raise BadMessage(f"payload is not JSON: {exc.msg} at {exc.pos}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(message)"
        raise BadMessage(f"{model.__name__}: {where}: {first['msg']}") from None


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def json_schemas() -> dict[str, dict]:
    """JSON Schema of every wire model, for peers written in other languages."""
    return {m.__name__: m.model_json_schema() for m in (GateEvent, GateStatus, SyncRequest, AclUpdate)}

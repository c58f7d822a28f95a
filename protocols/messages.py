"""Message models on the MQTT wire, version 1.

Each model forbids unknown keys and carries ``v`` so that a payload from a newer peer is
refused with a clear error instead of half-understood. ``parse`` is the one entry point
for bytes off the wire: it raises BadMessage, never a library exception.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from enum import StrEnum
from typing import Annotated, Literal, TypeVar

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo,
                      model_validator)

from protocols.acl import AclEntry, Schedule, ScheduleId, Uid, canonical_json
from protocols.cardformats import UidForm
from protocols.cards import Decision, Reason
from protocols.signing import with_sig
from protocols.topics import check_name

MAX_PAYLOAD = 256 * 1024


#: HMAC-SHA256 hex by the gate's key (protocols.signing); empty only before signing
Sig = Annotated[str, Field(default="", pattern=r"^([0-9a-f]{64})?$")]


class BadMessage(ValueError):
    """A payload that is not valid JSON for the expected model; the text says which field."""


# -- bounds: whatever parses, the hub can store (SQLite INTEGER, UTF-8 TEXT, datetime) ------
#: what SQLite's INTEGER holds; the hub's own numbers (AclUpdate revisions) stay below it
SQLITE_MAX_INT = 2**63 - 1
#: a revision a gate reports: exact as a JSON number in any language, and far enough below
#: SQLITE_MAX_INT that the hub can number past a gate's claim (hub.gates.acl._jump_head)
MAX_REV = 2**53 - 1
MAX_OUTBOX = 10**9
MAX_CHUNKS = 1_000_000
MAX_SCHEDULES = 1000  # distinct schedules one AclUpdate may carry (an estate has dozens)
MAX_TEXT = 1000  # free text a gate reports (an error, a problem, a detail value)
#: the epoch (where a Pi without a clock battery starts) to the end of the century; converting
#: any time in range to UTC cannot overflow, and no gate can date an event to the year 9999
EARLIEST = datetime(1970, 1, 1, tzinfo=timezone.utc)
LATEST = datetime(2100, 1, 1, tzinfo=timezone.utc)


def _in_range(value: datetime) -> datetime:
    try:
        utc = value.astimezone(timezone.utc)
    except (OverflowError, ValueError):
        raise ValueError("time is out of range") from None
    if not EARLIEST <= utc < LATEST:
        raise ValueError(f"time must be from {EARLIEST.year} to before {LATEST.year} (UTC)")
    return value


def _name(value: str) -> str:
    return check_name("id", value)


WireTime = Annotated[AwareDatetime, AfterValidator(_in_range)]
Rev = Annotated[int, Field(ge=0, le=MAX_REV)]
HubRev = Annotated[int, Field(ge=0, le=SQLITE_MAX_INT)]
Name = Annotated[str, Field(min_length=1, max_length=64), AfterValidator(_name)]  # a gate or door id: a topic level
Text = Annotated[str, Field(max_length=MAX_TEXT)]
ShortText = Annotated[str, Field(max_length=128)]
Checksum = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
#: a visitor pass's id (protocols.visitpass): 32 upper-case hex
PassId = Annotated[str, Field(pattern=r"^[0-9A-F]{32}$")]
#: a pass key's id (protocols.visitpass.pass_key_id)
PassKeyId = Annotated[str, Field(pattern=r"^[0-9a-f]{16}$")]


def _no_lone_surrogates(data: object) -> None:
    """JSON escapes can spell a lone surrogate (``"\\ud800"``), which no UTF-8 column or
    signature can encode: refuse it here rather than fail later in the hub's store."""
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise ValueError("text has a lone surrogate (not valid Unicode)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, (list, tuple)):
            stack.extend(item)


#: a JSON escape of a surrogate (\uD800 to \uDFFF), the only way text decoded from UTF-8 can
#: come to hold one; an escaped backslash before "ud8.." also matches, which only costs the walk
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
#: validation context key: ``parse`` has seen that the text cannot hold a lone surrogate
_UNICODE_CHECKED = "unicode_checked"


def _cannot_hold_surrogates(text: str, from_utf8: bool) -> bool:
    """True if nothing json.loads makes of ``text`` can hold a lone surrogate, so the walk of
    every string (_no_lone_surrogates: 15% of a snapshot chunk's parse) is known to pass.
    Text decoded from UTF-8 holds none (the decoder refuses encoded surrogates); only an escape
    can make one. A str given as it is may hold one raw, so it keeps the walk."""
    return from_utf8 and _SURROGATE_ESCAPE.search(text) is None


class _Msg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    v: Literal[1] = 1

    @model_validator(mode="before")
    @classmethod
    def _valid_unicode(cls, data: object, info: ValidationInfo) -> object:
        if not (info.context and info.context.get(_UNICODE_CHECKED)):
            _no_lone_surrogates(data)
        return data

    def to_bytes(self) -> bytes:
        """The wire form: canonical JSON with ``sig`` last (protocols.signing.with_sig), which a
        receiver verifies as it came. ``signed_bytes`` signs and encodes in one go."""
        return with_sig(canonical_json(self, exclude={"sig"}), self.sig)  # type: ignore[attr-defined]


class EventKind(StrEnum):
    PASS = "pass"  # a card presented at a door reader
    REMOTE_OPEN = "remote_open"  # a signed command from the hub
    EXIT_BUTTON = "exit_button"
    DOOR_FORCED = "door_forced"  # contact opened without a grant
    DOOR_HELD = "door_held"  # contact left open past its time
    DOOR_CLOSED = "door_closed"
    DEVICE = "device"  # a reader or relay went away or came back
    PRESENTED = "presented"  # a card tapped on a desk (enrolment) reader: no decision
    VISIT = "visit"  # a visitor's QR pass scanned at a door (protocols.visitpass)
    OPEN_RESULT = "open_result"  # after a remote open: did the door's contact open? detail nonce, opened yes|no


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class GateEvent(_Msg):
    """One thing that happened at a gate. ``event_id`` is made at the gate, once, and is
    how the hub stores each event exactly once however often it is delivered."""

    event_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    gate_id: Name
    door_id: Name | None = None
    reader: ShortText | None = None
    direction: Direction | None = None
    kind: EventKind = EventKind.PASS
    uid: Uid | None = None
    #: a VISIT event's pass, once its signature is checked (none for an unreadable or forged one)
    pass_id: PassId | None = None
    decision: Decision | None = None
    reason: Reason | Annotated[str, Field(max_length=64)] | None = None
    at: WireTime
    acl_rev: Rev = 0
    detail: dict[Annotated[str, Field(max_length=64)], Text] = Field(default_factory=dict, max_length=32)
    sig: Sig = ""

    @model_validator(mode="after")
    def _pass_has_card_and_decision(self) -> "GateEvent":
        if self.kind == EventKind.PASS and (self.uid is None or self.decision is None or self.reason is None):
            raise ValueError("a pass event needs uid, decision and reason")
        if self.kind == EventKind.PRESENTED and self.uid is None:
            raise ValueError("a presented event needs uid")
        if self.kind == EventKind.VISIT and (self.decision is None or self.reason is None or self.uid is not None):
            raise ValueError("a visit event needs decision and reason, and no uid")
        if self.pass_id is not None and self.kind != EventKind.VISIT:
            raise ValueError("only a visit event has a pass_id")
        return self


class DoorState(StrEnum):
    OK = "ok"
    DEGRADED = "degraded"  # a reader or the relay is missing; the door may not work


class DoorStatus(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    state: DoorState = DoorState.OK
    problems: tuple[Text, ...] = Field(default=(), max_length=32)


class GateStatus(_Msg):
    """Retained on the gate's status topic; the offline form is also the gate's last will."""

    gate_id: Name
    online: bool
    at: WireTime
    role: Literal["gate", "enroll"] = "gate"
    acl_rev: Rev = 0
    checksum: Checksum | None = None
    outbox_depth: int = Field(default=0, ge=0, le=MAX_OUTBOX)
    outbox_error: Text | None = None
    agent_version: Annotated[str, Field(max_length=64)] | None = None
    doors: dict[Name, DoorStatus] = Field(default_factory=dict, max_length=64)
    #: how this gate's readers report cards besides the whole UID (protocols.cardformats):
    #: the hub lists each card under these forms too
    uid_forms: tuple[UidForm, ...] = Field(default=(), max_length=16)
    #: the ids of the visitor-pass keys this gate holds (protocols.commands.PassKeys): the hub
    #: sends its own when they differ
    pass_keys: tuple[PassKeyId, ...] = Field(default=(), max_length=8)
    sig: Sig = ""


class SyncRequest(_Msg):
    """A gate tells the hub what it holds; the hub answers on the gate's acl topic."""

    gate_id: Name
    rev: Rev
    checksum: Checksum
    at: WireTime
    sig: Sig = ""


class AclUpdate(_Msg):
    """Either a delta from ``base_rev`` to ``rev`` or one chunk of a whole snapshot at ``rev``.

    A delta applies only on top of exactly ``base_rev``; anything else is a gap and the
    gate asks again. Snapshot chunks share ``snapshot_id`` and are applied together, only
    when all ``chunks`` have arrived and the result has ``checksum``.

    ``schedules`` carries, by id (protocols.acl.schedule_id), every schedule the message's
    entries name: each snapshot chunk those of its own entries, a delta those of its upserts. A gate refuses a message whose schedule does not
    hash to its id, or whose entry names an id it has neither been sent nor holds.
    """

    gate_id: Name
    kind: Literal["delta", "snapshot"]
    rev: HubRev
    checksum: Checksum
    base_rev: HubRev | None = None
    upserts: tuple[AclEntry, ...] = Field(default=(), max_length=100_000)
    removes: tuple[Uid, ...] = Field(default=(), max_length=100_000)
    snapshot_id: Annotated[str, Field(max_length=64)] | None = None
    chunk: int = Field(default=0, ge=0, le=MAX_CHUNKS)
    chunks: int = Field(default=1, ge=1, le=MAX_CHUNKS)
    schedules: dict[ScheduleId, Schedule] = Field(default_factory=dict, max_length=MAX_SCHEDULES)
    sig: Sig = ""

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
    return parse_received(model, payload)[0]


def parse_received(model: type[M], payload: bytes | str) -> tuple[M, object]:
    """``parse``, with the JSON value the model was validated from: a signature can then be
    checked over exactly that (protocols.signing.verify, ``received``). It is the caller's
    to read, never to change."""
    from_utf8 = isinstance(payload, bytes)
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
    except ValueError:  # a number of more digits than Python converts (sys.get_int_max_str_digits)
        raise BadMessage("payload has a number too long to read") from None
    except RecursionError:
        raise BadMessage("payload is nested too deeply") from None
    try:
        msg = model.model_validate(data, context={_UNICODE_CHECKED: _cannot_hold_surrogates(payload, from_utf8)})
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "(message)"
        raise BadMessage(f"{model.__name__}: {where}: {first['msg']}") from None
    return msg, data


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def json_schemas() -> dict[str, dict]:
    """JSON Schema of every wire model, for peers written in other languages."""
    return {m.__name__: m.model_json_schema() for m in (GateEvent, GateStatus, SyncRequest, AclUpdate)}

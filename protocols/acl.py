"""The access list a gate holds, and its checksum.

An entry says everything a gate needs to decide on one card without asking anyone.
The checksum is the XOR of a SHA-256 per entry: order does not matter, and both sides
update it in O(1) per change instead of rehashing 30,000 cards on every revocation.

Schedules are content-addressed: a LISTED entry (what the hub stores, what travels, what the
checksum covers) names its schedule by ``schedule_id``, the hash of its canonical JSON, and
the message carrying the entry carries each schedule it names once (AclUpdate.schedules).
An estate has a handful of schedules and 100,000 cards: sent in full in every entry they
were most of a snapshot's bytes and of a gate's parsing. Since the id is the content's hash,
the checksum still covers what each card's schedule says. An entry holding a whole Schedule
(the form before ids) is still read, so a gate upgraded in place decides from its old list
until the new one swaps in.
"""

from __future__ import annotations

import hashlib
import json
import re
from datetime import date, time
from typing import Annotated, Iterable, Mapping, Sequence

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from protocols.cards import CardStatus, CardType
from protocols.uid import normalise_uid

#: a UID already in normalise_uid's canonical form, which normalise_uid returns unchanged
_CANONICAL_UID = re.compile(r"(?:[0-9A-F]{2}){1,16}")


def _uid(raw: str) -> str:
    """normalise_uid, skipped for text already canonical: every UID a hub lists is, and the
    full rule cost a 100,000-card snapshot a sixth of the gate's parse."""
    if isinstance(raw, str) and _CANONICAL_UID.fullmatch(raw):
        return raw
    return normalise_uid(raw)


Uid = Annotated[str, AfterValidator(_uid)]

EMPTY_CHECKSUM = "0" * 64


class TimeWindow(BaseModel):
    """Open on the given weekdays (0 = Monday) from start to end, local time.

    An end at or before the start crosses midnight: the window belongs to the day it
    starts on (a night shift from Friday 22:00 to 06:00 is Friday's window).
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    days: tuple[int, ...] = Field(default=(0, 1, 2, 3, 4, 5, 6))
    start: time
    end: time

    @model_validator(mode="after")
    def _days_are_weekdays(self) -> "TimeWindow":
        if not self.days or any(d < 0 or d > 6 for d in self.days):
            raise ValueError("days must be weekday numbers 0 (Monday) to 6 (Sunday)")
        return self


class Schedule(BaseModel):
    """When a card works. On a listed holiday only holiday_windows apply (none: closed)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = "UTC"
    windows: tuple[TimeWindow, ...] = ()
    holidays: tuple[date, ...] = ()
    holiday_windows: tuple[TimeWindow, ...] = ()


#: ``schedule_id`` of a Schedule (32 lower-case hex): how a listed entry names it
ScheduleId = Annotated[str, Field(pattern=r"^[0-9a-f]{32}$")]


class AclEntry(BaseModel):
    """One card at one gate. The fields are declared in sorted order, so that pydantic's own
    JSON of a listed entry is its canonical JSON (``canonical_texts``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    anti_passback: bool = False
    card_type: CardType
    doors: tuple[str, ...] | None = None  # None: every door of the gate
    #: None: any time. Listed form: the ScheduleId; a whole Schedule only in a list stored
    #: before ids (read, never sent: see the module docstring)
    schedule: Schedule | ScheduleId | None = None
    status: CardStatus
    uid: Uid
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(model: BaseModel, exclude: set[str] | None = None) -> bytes:
    """Bytes both sides hash and sign: sorted keys, no spaces, JSON-mode values."""
    return _CANONICAL.encode(model.model_dump(mode="json", exclude=exclude)).encode()


def canonical_data(data: object) -> bytes:
    """``canonical_json``'s encoding of a JSON value as parsed (a message off the wire: the
    hub's intake signs over it without building the model's dump again, protocols.signing)."""
    return _CANONICAL.encode(data).encode()


def schedule_id(s: Schedule) -> str:
    """The content address of a schedule: the one rule for the id entries name it by."""
    return hashlib.sha256(canonical_json(s)).hexdigest()[:32]


def listed(entry: AclEntry) -> tuple[AclEntry, Schedule | None]:
    """``entry`` in its listed form (its schedule named by id) and the schedule it names."""
    if isinstance(entry.schedule, Schedule):
        return entry.model_copy(update={"schedule": schedule_id(entry.schedule)}), entry.schedule
    return entry, None


def resolved(entry: AclEntry, schedules: Mapping[str, Schedule]) -> AclEntry:
    """``entry`` with the schedule it names put in place (KeyError: not in ``schedules``)."""
    if isinstance(entry.schedule, str):
        return entry.model_copy(update={"schedule": schedules[entry.schedule]})
    return entry


def canonical_texts(entries: Sequence[AclEntry]) -> list[bytes]:
    """``canonical_json`` of each entry. A listed entry (no whole Schedule inside) is
    pydantic's own compact JSON, byte for byte (its fields are declared sorted, and its
    values are strings, enums, booleans and times, which both write alike): a sixth of the
    cost of the dict and the json module, which remain for an entry holding a whole Schedule.
    """
    return [_json_of(e) if not isinstance(e.schedule, Schedule) else canonical_json(e) for e in entries]


_json_of = AclEntry.__pydantic_serializer__.to_json


_ENTRIES = TypeAdapter(tuple[AclEntry, ...])  # not Sequence: pydantic serialises that in Python


def entry_digest(entry: AclEntry) -> int:
    return int.from_bytes(hashlib.sha256(canonical_json(entry)).digest(), "big")


def checksum_of_texts(texts: Iterable[bytes]) -> str:
    """The checksum of entries already in canonical JSON (saves serialising them again)."""
    acc = 0
    for text in texts:
        acc ^= int.from_bytes(hashlib.sha256(text).digest(), "big")
    return f"{acc:064x}"


def checksum_of(entries: Iterable[AclEntry]) -> str:
    return checksum_of_texts(canonical_json(e) for e in entries)


def checksum_update(checksum: str, removed: AclEntry | None, added: AclEntry | None) -> str:
    """The checksum after replacing ``removed`` by ``added`` (either may be None)."""
    acc = int(checksum, 16)
    if removed is not None:
        acc ^= entry_digest(removed)
    if added is not None:
        acc ^= entry_digest(added)
    return f"{acc:064x}"



def checksum_update_texts(checksum: str, removed: bytes | None, added: bytes | None) -> str:
    """``checksum_update`` for entries already in canonical JSON (no parsing, no serialising)."""
    acc = int(checksum, 16)
    for text in (removed, added):
        if text is not None:
            acc ^= text_digest(text)
    return f"{acc:064x}"


def text_digest(text: bytes) -> int:
    """An entry's share of the checksum, from its canonical JSON."""
    return int.from_bytes(hashlib.sha256(text).digest(), "big")

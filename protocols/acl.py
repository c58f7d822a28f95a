"""The access list a gate holds, and its checksum.

An entry says everything a gate needs to decide on one card without asking anyone.
The checksum is the XOR of a SHA-256 per entry: order does not matter, and both sides
update it in O(1) per change instead of rehashing 30,000 cards on every revocation.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date, time
from typing import Annotated, Iterable, Sequence

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, model_validator

from protocols.cards import CardStatus, CardType
from protocols.uid import normalise_uid

Uid = Annotated[str, AfterValidator(normalise_uid)]

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


class AclEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    uid: Uid
    status: CardStatus
    card_type: CardType
    valid_from: AwareDatetime | None = None
    valid_until: AwareDatetime | None = None
    doors: tuple[str, ...] | None = None  # None: every door of the gate
    schedule: Schedule | None = None  # None: any time
    anti_passback: bool = False


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def canonical_json(model: BaseModel, exclude: set[str] | None = None) -> bytes:
    """Bytes both sides hash and sign: sorted keys, no spaces, JSON-mode values."""
    return _CANONICAL.encode(model.model_dump(mode="json", exclude=exclude)).encode()


def canonical_texts(entries: Sequence[AclEntry]) -> list[bytes]:
    """``canonical_json`` of each entry, the lot dumped in one call (a snapshot chunk of 500
    costs a third less than entry by entry)."""
    return [_CANONICAL.encode(d).encode() for d in _ENTRIES.dump_python(tuple(entries), mode="json")]


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

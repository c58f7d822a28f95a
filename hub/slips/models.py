"""The release slips' tables, the finance system's fee positions, and what a slip or a
check may say.

A slip is valid on one day (``day``, estate-local YYYY-MM-DD) at the gates it names, once.
Its fee position is copied onto it when it is made (what the desk saw, and how old it was),
so a later import does not change what a slip was issued on. Times are UTC text in one
fixed form (hub.visitors.models.utc); money is in cents (fen).
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from hub.i18n.validation import N_
from hub.validators import EmptyIsNone, UnitCode
from hub.visitors.models import Plate

SCHEMA = """
CREATE TABLE IF NOT EXISTS slips (
    id INTEGER PRIMARY KEY,
    number TEXT NOT NULL UNIQUE,   -- RS-YYYYMMDD-NNNN (the day it was made, estate-local)
    pass_id TEXT NOT NULL UNIQUE,  -- 32 upper hex: its QR's pass_id (protocols.visitpass)
    kind TEXT NOT NULL,            -- goods | move_out
    unit TEXT NOT NULL,
    applicant TEXT NOT NULL,
    standing TEXT NOT NULL,        -- owner | tenant | agent
    items TEXT NOT NULL DEFAULT '[]',
    vehicle TEXT,
    day TEXT NOT NULL,             -- the day it is valid on, estate-local YYYY-MM-DD
    gates TEXT NOT NULL,           -- JSON list, never empty
    owner_name TEXT,               -- the owner's confirmation of a tenant's move-out
    owner_how TEXT,
    owner_at TEXT,
    owner_by TEXT,
    fee_owed_cents INTEGER,        -- the fee position when it was made (NULL: none on record)
    fee_as_of TEXT,
    fee_imported_at TEXT,
    override_reason TEXT,          -- a manager's reason for a move-out past owed fees
    override_by TEXT,
    override_at TEXT,
    qr TEXT NOT NULL,
    month TEXT NOT NULL,           -- YYYY-MM of day
    used_at TEXT,
    used_gate TEXT,
    used_by TEXT,
    cancelled_at TEXT,
    cancelled_by TEXT,
    cancel_reason TEXT,
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS slips_day ON slips (day);
CREATE INDEX IF NOT EXISTS slips_month ON slips (month);
CREATE INDEX IF NOT EXISTS slips_unit ON slips (unit, day);
-- the estate finance system's position per unit: the last import that named the unit
CREATE TABLE IF NOT EXISTS fee_positions (
    unit TEXT PRIMARY KEY,
    owed_cents INTEGER NOT NULL,
    as_of TEXT NOT NULL,           -- YYYY-MM-DD, as the finance system says
    imported_at TEXT NOT NULL,
    import_id INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS fee_imports (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    by TEXT NOT NULL,
    filename TEXT NOT NULL,
    rows INTEGER NOT NULL,
    owing INTEGER NOT NULL
);
"""

KINDS = {"goods": N_("goods leaving"), "move_out": N_("moving out")}
STANDINGS = {"owner": N_("owner"), "tenant": N_("tenant"), "agent": N_("owner's agent")}
STATES = {"issued": N_("issued"), "used": N_("used"), "cancelled": N_("cancelled"), "expired": N_("expired")}
MAX_ITEMS = 100
MAX_GATES = 16


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Item(_In):
    name: str = Field(min_length=1, max_length=100)
    quantity: int = Field(ge=1, le=10_000)


class OwnerConfirmation(_In):
    """The owner's confirmation of a tenant's move-out: who confirmed, and how (in person,
    by phone, in writing)."""

    name: str = Field(min_length=1, max_length=64)
    how: Literal["in_person", "phone", "written"] = "in_person"


class SlipIn(_In):
    kind: Literal["goods", "move_out"]
    unit: UnitCode = Field(min_length=1, max_length=64)
    applicant: str = Field(min_length=1, max_length=64)
    standing: Literal["owner", "tenant", "agent"] = "owner"
    items: list[Item] = Field(default_factory=list, max_length=MAX_ITEMS)
    vehicle: Plate = Field(default=None, max_length=16)
    date: dt.date
    gates: list[str] = Field(default_factory=list, max_length=MAX_GATES)
    owner_confirmation: OwnerConfirmation | None = None
    #: a manager's reason for a move-out past owed fees (audited)
    override_reason: EmptyIsNone = Field(default=None, max_length=500)


class CheckIn(_In):
    """A guard's check at a gate: the slip's number as printed, or the text its QR scans to."""

    gate_id: str = Field(min_length=1, max_length=64)
    number: str | None = Field(default=None, max_length=32)
    qr: str | None = Field(default=None, max_length=1024)


class CancelIn(_In):
    reason: str = Field(min_length=1, max_length=200)

"""Renovation permits: the tables, and the API's input models.

- ``permits``: one row per permit, its state (hub.permits.rules.State), what was applied
  for (unit, applicant and their standing, company, manager on site, workers, period,
  working hours, deposit and its receipt, the drawings and who approved them when), and
  what happened since (approval, suspension with engineering's approval, the document's
  copy and its loss, the exit's inspection and the deposit's refund or deductions);
- ``permit_moves``: every move, append-only (the audit log has each too);
- ``permit_cards``: the renovation worker cards issued against a permit (hub.cards.rules
  writes the link in the issuing transaction); hub.permits.access projects them.

Phones and ID numbers are stored whole (the desk needs them) and never shown whole: the
API shows a phone masked and an ID number's last four characters.
"""

from __future__ import annotations

import re
from datetime import date, time

from pydantic import BaseModel, ConfigDict, Field, field_validator

SCHEMA = """
CREATE TABLE IF NOT EXISTS permits (
    id INTEGER PRIMARY KEY,
    permit_no TEXT NOT NULL UNIQUE,
    state TEXT NOT NULL CHECK (state IN ('applied', 'approved', 'suspended', 'ended')),
    unit TEXT NOT NULL,
    applicant TEXT NOT NULL,        -- JSON: name, standing, person_id, authorisation_ref, company_letter_ref
    company TEXT,
    site_manager TEXT NOT NULL,     -- JSON: name, phone
    workers TEXT NOT NULL,          -- JSON list: name, id_doc_no
    period_from TEXT NOT NULL,      -- estate-local dates
    period_until TEXT NOT NULL,
    hours_start TEXT NOT NULL,      -- HH:MM estate time
    hours_end TEXT NOT NULL,
    weekdays TEXT NOT NULL,         -- JSON list 1 (Monday) .. 7
    deposit_cents INTEGER NOT NULL CHECK (deposit_cents > 0),
    deposit_receipt TEXT NOT NULL,
    drawings TEXT NOT NULL,         -- JSON: ref, approved_by, approved_on
    document_copy INTEGER NOT NULL DEFAULT 1,
    document_lost INTEGER NOT NULL DEFAULT 0,
    loss_declaration_ref TEXT,
    suspension TEXT,                -- JSON while suspended: reason, engineering_by, engineering_on, by
    exit_record TEXT,               -- JSON: inspected_by, inspection, at, by
    refund_on TEXT,
    deductions_cents INTEGER NOT NULL DEFAULT 0,
    deduction_reason TEXT,
    end_reason TEXT,                -- exited | expired
    approved_by TEXT,
    approved_at TEXT,
    created_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS permits_unit ON permits (unit);
CREATE INDEX IF NOT EXISTS permits_state ON permits (state, period_until);
CREATE TABLE IF NOT EXISTS permit_moves (
    id INTEGER PRIMARY KEY,
    permit_id INTEGER NOT NULL REFERENCES permits (id),
    at TEXT NOT NULL,
    move TEXT NOT NULL,
    from_state TEXT,
    to_state TEXT NOT NULL,
    who TEXT NOT NULL,
    reason TEXT,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS permit_moves_permit ON permit_moves (permit_id);
CREATE INDEX IF NOT EXISTS permit_moves_at ON permit_moves (at, move);
CREATE TRIGGER IF NOT EXISTS permit_moves_no_update BEFORE UPDATE ON permit_moves
BEGIN SELECT RAISE(ABORT, 'permit moves are append-only'); END;
CREATE TRIGGER IF NOT EXISTS permit_moves_no_delete BEFORE DELETE ON permit_moves
BEGIN SELECT RAISE(ABORT, 'permit moves are append-only'); END;
CREATE TABLE IF NOT EXISTS permit_cards (
    uid TEXT PRIMARY KEY,           -- a renovation_worker card
    permit_id INTEGER NOT NULL REFERENCES permits (id),
    linked_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS permit_cards_permit ON permit_cards (permit_id);
"""

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{5,30}$")
_DOC = re.compile(r"^[0-9A-Za-z]{4,30}$")


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ApplicantIn(_In):
    name: str = Field(min_length=1, max_length=200)
    #: owner (the unit's owner in person), agent (for the owner, with the owner's written
    #: authorisation), company (for a company-owned unit, with the company's letter)
    standing: str = Field(pattern=r"^(owner|agent|company)$")
    person_id: int | None = Field(default=None, ge=1)
    authorisation_ref: str | None = Field(default=None, max_length=64)
    company_letter_ref: str | None = Field(default=None, max_length=64)


class SiteManagerIn(_In):
    name: str = Field(min_length=1, max_length=200)
    phone: str = Field(min_length=6, max_length=32)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str) -> str:
        if not _PHONE.match(v):
            raise ValueError("a phone number is digits, spaces or dashes, optionally after +")
        return v


class WorkerIn(_In):
    name: str = Field(min_length=1, max_length=200)
    id_doc_no: str | None = Field(default=None, max_length=30)

    @field_validator("id_doc_no")
    @classmethod
    def _doc(cls, v: str | None) -> str | None:
        if v and not _DOC.match(v):
            raise ValueError("4 to 30 letters and digits")
        return v.upper() if v else None


class HoursIn(_In):
    start: time
    end: time
    #: working weekdays, 1 (Monday) .. 7 (Sunday)
    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6], min_length=1, max_length=7)

    @field_validator("weekdays")
    @classmethod
    def _days(cls, v: list[int]) -> list[int]:
        if any(d < 1 or d > 7 for d in v):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return sorted(set(v))


class DepositIn(_In):
    amount_cents: int = Field(gt=0, le=100_000_000)
    receipt_no: str = Field(max_length=64)


class DrawingsIn(_In):
    ref: str = Field(min_length=1, max_length=64)
    approved_by: str | None = Field(default=None, max_length=200)
    approved_on: date | None = None


class PermitIn(_In):
    unit: str = Field(min_length=1, max_length=64)
    applicant: ApplicantIn
    company: str | None = Field(default=None, max_length=200)
    site_manager: SiteManagerIn
    workers: list[WorkerIn] = Field(default_factory=list, max_length=200)
    period_from: date
    period_until: date
    hours: HoursIn
    deposit: DepositIn | None = None
    drawings: DrawingsIn

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        return v.upper()


class NoteIn(_In):
    note: str | None = Field(default=None, max_length=500)


class ReasonIn(_In):
    reason: str | None = Field(default=None, max_length=500)


class ExtendIn(_In):
    #: the number on the permit document the applicant shows (its current copy)
    document_no: str | None = Field(default=None, max_length=80)
    period_until: date
    reason: str | None = Field(default=None, max_length=500)


class EngineeringApprovalIn(_In):
    by: str = Field(min_length=1, max_length=200)
    on: date


class SuspendIn(_In):
    reason: str | None = Field(default=None, max_length=500)
    engineering_approval: EngineeringApprovalIn | None = None


class LostIn(_In):
    loss_declaration_ref: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class ExitIn(_In):
    inspected_by: str | None = Field(default=None, max_length=200)
    inspection: str | None = Field(default=None, max_length=2000)
    refund_on: date | None = None
    deductions_cents: int = Field(default=0, ge=0, le=100_000_000)
    deduction_reason: str | None = Field(default=None, max_length=500)

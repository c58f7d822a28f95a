"""The duty log's tables and its API bodies.

An entry is a note, a handover item or a special incident. It is written into the shift that
held the log when it was written (hub.dutylog.shifts); that shift is stored with it, so the
log reads the same after the configured shifts change. A handover item and an incident stay
open until someone closes them with what was done, and are handed from shift to shift until
then. An incident also has its report up: to whom and when; ``overdue_at`` is when the
ticker found it unreported past its time and raised the alarm (once).

Instants are stored in one text form (UTC, microseconds: hub.stock.ledger.utc_iso), so SQLite
compares them as strings.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

SCHEMA = """
CREATE TABLE IF NOT EXISTS duty_entries (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('note', 'handover', 'incident')),
    incident_kind TEXT,
    text TEXT NOT NULL,
    at TEXT NOT NULL,
    shift TEXT NOT NULL,
    shift_day TEXT NOT NULL,
    written_by TEXT NOT NULL,
    closed_at TEXT,
    closed_by TEXT,
    closed_note TEXT,
    reported_to TEXT,
    reported_at TEXT,
    reported_by TEXT,
    overdue_at TEXT
);
CREATE INDEX IF NOT EXISTS duty_entries_shift ON duty_entries (shift, at);
CREATE INDEX IF NOT EXISTS duty_entries_day ON duty_entries (shift_day, at);
CREATE INDEX IF NOT EXISTS duty_entries_open ON duty_entries (at) WHERE kind != 'note' AND closed_at IS NULL;
CREATE INDEX IF NOT EXISTS duty_entries_unreported ON duty_entries (at)
    WHERE kind = 'incident' AND reported_at IS NULL AND overdue_at IS NULL;
CREATE TABLE IF NOT EXISTS duty_handovers (
    shift TEXT PRIMARY KEY,
    accepted_by TEXT NOT NULL,
    accepted_at TEXT NOT NULL,
    note TEXT,
    open_items TEXT NOT NULL DEFAULT '[]'
);
"""


class EntryKind(StrEnum):
    NOTE = "note"
    HANDOVER = "handover"
    INCIDENT = "incident"


class IncidentKind(StrEnum):
    WATER_CUT = "water_cut"
    POWER_CUT = "power_cut"
    FIRE = "fire"
    INJURY = "injury"
    SECURITY = "security"
    OTHER = "other"

MAX_TEXT = 2000
MAX_NOTE = 1000
MAX_NAME = 100


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class NewEntry(_Body):
    kind: EntryKind = EntryKind.NOTE
    text: str = Field(min_length=1, max_length=MAX_TEXT)
    #: required for an incident, refused for anything else
    incident_kind: IncidentKind | None = None


class CloseEntry(_Body):
    #: what was done
    note: str = Field(min_length=1, max_length=MAX_NOTE)


class ReportIncident(_Body):
    #: who it was reported to (the shift leader, the supervisor: a name or a post)
    to: str = Field(min_length=1, max_length=MAX_NAME)
    #: when (with its offset); default now. Not before the incident, not in the future
    at: AwareDatetime | None = None


class AcceptHandover(_Body):
    #: the shift handed over (``2026-11-29T18:00``); default the one before the current shift
    shift: str | None = Field(default=None, max_length=16)
    note: str | None = Field(default=None, max_length=MAX_NOTE)

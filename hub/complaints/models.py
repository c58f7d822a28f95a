"""The complaints' tables, their code lists, and what each request may say.

Personal data: the complainant's contact (name, phone) is kept, because the desk must call
back, but is shown masked in every list and never written to a log or the audit detail.
Times are UTC text in one fixed form (``utc``), so they compare as text; ``month`` is the
month of registration in the estate's timezone (the monthly figures count by it).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from hub.i18n.validation import N_

SCHEMA = """
CREATE TABLE IF NOT EXISTS complaints (
    id INTEGER PRIMARY KEY,
    state TEXT NOT NULL,           -- registered | forwarded | in_progress | resolved | told | closed
    channel TEXT NOT NULL,         -- visit | phone | letter | online
    category TEXT NOT NULL,
    severity TEXT NOT NULL,        -- major | general | minor
    valid INTEGER NOT NULL DEFAULT 1,
    invalid_reason TEXT,
    joint INTEGER NOT NULL DEFAULT 0,
    units TEXT NOT NULL,           -- JSON list of the complainant households' units
    complainants TEXT NOT NULL DEFAULT '[]',  -- JSON [{unit, name}]
    what TEXT NOT NULL,
    place TEXT NOT NULL DEFAULT '',
    happened_at TEXT,
    concerns TEXT NOT NULL DEFAULT '',
    concerns_department TEXT,
    asks TEXT NOT NULL DEFAULT '',
    contact_name TEXT,
    contact_phone TEXT,            -- shown masked in lists; never logged
    reply_wanted INTEGER NOT NULL DEFAULT 1,
    wanted_by TEXT,                -- the complainant's own date (estate-local YYYY-MM-DD)
    department TEXT,
    sheet_task TEXT,
    sheet_note TEXT,
    forwarded_at TEXT,
    forwarded_by TEXT,
    signed_at TEXT,
    signed_by TEXT,
    sign_note TEXT,
    answer TEXT,
    answered_at TEXT,
    answered_by TEXT,
    result TEXT,
    resolved_at TEXT,
    resolved_by TEXT,
    told_at TEXT,
    told_how TEXT,
    told_note TEXT,
    accepted INTEGER,
    acceptance_how TEXT,
    acceptance_note TEXT,
    accepted_at TEXT,
    closed_at TEXT,
    closed_by TEXT,
    close_reason TEXT,
    office_reported_at TEXT,
    office_reference TEXT,
    office_reported_by TEXT,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    escalation_kind TEXT,
    escalated_at TEXT,
    repeat_of INTEGER,
    reopened INTEGER NOT NULL DEFAULT 0,
    reopened_at TEXT,
    form_opened_at TEXT,
    registered_at TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    month TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS complaints_month ON complaints (month);
CREATE INDEX IF NOT EXISTS complaints_state ON complaints (state);
CREATE INDEX IF NOT EXISTS complaints_department ON complaints (department, state);
-- each complainant household of a complaint (the repeat check: same unit, same category)
CREATE TABLE IF NOT EXISTS complaint_units (
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    unit TEXT NOT NULL,
    category TEXT NOT NULL,
    registered_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS complaint_units_unit ON complaint_units (unit, category, registered_at);
CREATE TABLE IF NOT EXISTS complaint_pauses (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    start TEXT NOT NULL,
    end TEXT,
    reason TEXT NOT NULL,
    paused_by TEXT NOT NULL,
    resumed_by TEXT
);
CREATE INDEX IF NOT EXISTS complaint_pauses_complaint ON complaint_pauses (complaint_id);
CREATE TABLE IF NOT EXISTS complaint_extensions (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    days INTEGER NOT NULL,
    reason TEXT NOT NULL,
    by TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS complaint_extensions_complaint ON complaint_extensions (complaint_id);
CREATE TABLE IF NOT EXISTS complaint_steps (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    at TEXT NOT NULL,
    who TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX IF NOT EXISTS complaint_steps_complaint ON complaint_steps (complaint_id, id);
CREATE TABLE IF NOT EXISTS complaint_followups (
    id INTEGER PRIMARY KEY,
    complaint_id INTEGER NOT NULL REFERENCES complaints (id),
    due TEXT NOT NULL,
    created_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open',   -- open | done
    done_at TEXT,
    done_by TEXT,
    quality TEXT,
    effect TEXT,
    satisfaction TEXT,
    shortcomings TEXT,
    suggestions TEXT,
    score INTEGER,
    satisfied INTEGER,
    then_ TEXT,
    next_visit_on TEXT
);
CREATE INDEX IF NOT EXISTS complaint_followups_complaint ON complaint_followups (complaint_id);
CREATE INDEX IF NOT EXISTS complaint_followups_open ON complaint_followups (due) WHERE state = 'open';
-- a filed month's figures, frozen as they were filed (hub.complaints.report)
CREATE TABLE IF NOT EXISTS complaint_months (
    month TEXT PRIMARY KEY,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    figures TEXT NOT NULL
);
"""

# -- the code lists, as the pages name them (msgids) ------------------------------------------

STATES = {
    "registered": N_("registered"),
    "forwarded": N_("forwarded"),
    "in_progress": N_("in progress"),
    "resolved": N_("resolved"),
    "told": N_("result told"),
    "closed": N_("closed"),
}
OPEN_STATES = ("registered", "forwarded", "in_progress", "resolved", "told")
CHANNELS = {"visit": N_("visit"), "phone": N_("phone"), "letter": N_("letter"), "online": N_("online")}
SEVERITIES = {"major": N_("major complaint"), "general": N_("general complaint"), "minor": N_("minor complaint")}
CATEGORIES = {
    "repair": N_("repairs"),
    "cleaning": N_("cleaning"),
    "security": N_("security"),
    "greening": N_("greening"),
    "parking": N_("parking"),
    "noise": N_("noise"),
    "charges": N_("charges"),
    "staff": N_("staff conduct"),
    "facilities": N_("facilities"),
    "other": N_("other"),
}
#: the departments the pages name; a configured code not here is shown as it is
DEPARTMENTS = {
    "customer_service": N_("customer service"),
    "engineering": N_("engineering"),
    "security": N_("security"),
    "cleaning": N_("cleaning"),
    "greening": N_("greening"),
    "finance": N_("finance"),
}
ESCALATION_LEVELS = {0: N_("not escalated"), 1: N_("shift leader"), 2: N_("supervisor"), 3: N_("estate manager")}
ESCALATION_TO = {1: "shift_leader", 2: "supervisor", 3: "manager"}
DEADLINES = {
    "forward": N_("forwarded"),
    "answer": N_("clear answer"),
    "resolve": N_("resolved"),
    "tell": N_("result told"),
    "office_report": N_("written report to the complaints office"),
    "followup": N_("follow-up visit"),
}
DEADLINE_STATES = {"open": N_("open"), "due_soon": N_("due soon"), "late": N_("late"), "met": N_("met"),
                   "missed": N_("missed")}

Channel = Literal["visit", "phone", "letter", "online"]
Severity = Literal["major", "general", "minor"]
Category = Literal["repair", "cleaning", "security", "greening", "parking", "noise", "charges", "staff",
                   "facilities", "other"]

#: three or more complainant households make a complaint joint
JOINT_AT = 3

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{3,22}$")
_CODE = re.compile(r"^[a-z0-9_\-]{1,32}$")


def utc(at: datetime) -> str:
    """The one stored form of an instant: UTC, microseconds always, so text order is time order."""
    if at.tzinfo is None:
        raise ValueError("a naive time")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def parse(at: str | None) -> datetime | None:
    return datetime.fromisoformat(at) if at else None


def masked_phone(phone: str | None) -> str | None:
    """All but the last four digits hidden."""
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    return "*" * max(0, len(digits) - 4) + digits[-4:]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Complainant(_In):
    unit: str = Field(min_length=1, max_length=64)
    name: str = Field(default="", max_length=64)

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        return v.upper()


class ComplaintIn(_In):
    """A complaint as the desk records it (by phone in under two minutes: only channel,
    category, severity, the units and what happened are required)."""

    channel: Channel
    category: Category
    severity: Severity
    units: list[str] = Field(min_length=1, max_length=50)
    complainants: list[Complainant] = Field(default_factory=list, max_length=50)
    what: str = Field(min_length=1, max_length=4000)
    where: str = Field(default="", max_length=200)
    happened_at: AwareDatetime | None = None
    concerns: str = Field(default="", max_length=200)
    concerns_department: str | None = Field(default=None, max_length=32)
    asks: str = Field(default="", max_length=2000)
    contact_name: str | None = Field(default=None, max_length=64)
    contact_phone: str | None = Field(default=None, max_length=24)
    reply_wanted: bool = True
    wanted_by: date | None = None
    valid: bool = True
    invalid_reason: str | None = Field(default=None, max_length=1000)
    form_opened_at: AwareDatetime | None = None

    @field_validator("units")
    @classmethod
    def _units(cls, v: list[str]) -> list[str]:
        out: list[str] = []
        for u in v:
            u = u.strip().upper()
            if not u or len(u) > 64:
                raise ValueError(N_("a unit code is 1 to 64 characters"))
            if u not in out:
                out.append(u)
        return out

    @field_validator("contact_phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not _PHONE.match(v):
            raise ValueError(N_("a phone number is digits, spaces or dashes, optionally after +"))
        return v

    @field_validator("concerns_department")
    @classmethod
    def _dept(cls, v: str | None) -> str | None:
        v = (v or "").strip().lower() or None
        if v is not None and not _CODE.match(v):
            raise ValueError(N_("a department code is letters, digits, dashes or underscores"))
        return v

    @field_validator("invalid_reason", "contact_name")
    @classmethod
    def _blank(cls, v: str | None) -> str | None:
        return v or None


class ForwardIn(_In):
    """The coordination sheet: which department, and what it is asked to do."""

    department: str = Field(min_length=1, max_length=32)
    task: str = Field(min_length=1, max_length=2000)
    note: str = Field(default="", max_length=1000)

    @field_validator("department")
    @classmethod
    def _dept(cls, v: str) -> str:
        return v.strip().lower()


class NoteIn(_In):
    note: str = Field(default="", max_length=1000)


class AnswerIn(_In):
    answer: str = Field(min_length=1, max_length=2000)


class ValidityIn(_In):
    valid: bool
    invalid_reason: str | None = Field(default=None, max_length=1000)


class PauseIn(_In):
    reason: str = Field(min_length=1, max_length=500)


class ExtendIn(_In):
    days: int = Field(ge=1, le=60)
    reason: str = Field(min_length=1, max_length=1000)


class ResolveIn(_In):
    result: str = Field(min_length=1, max_length=4000)


class TellIn(_In):
    how: Channel
    note: str = Field(default="", max_length=1000)


class AcceptIn(_In):
    accepted: bool
    how: Literal["signature", "recorded"] = "recorded"
    note: str = Field(default="", max_length=1000)


class CloseIn(_In):
    reason: str = Field(default="", max_length=1000)


class OfficeReportIn(_In):
    reference: str = Field(min_length=1, max_length=100)
    note: str = Field(default="", max_length=1000)


class FollowupIn(_In):
    """The follow-up visit's five points and a satisfaction score; dissatisfied says what next."""

    quality: str = Field(default="", max_length=1000)
    effect: str = Field(default="", max_length=1000)
    satisfaction: str = Field(default="", max_length=1000)
    shortcomings: str = Field(default="", max_length=1000)
    suggestions: str = Field(default="", max_length=1000)
    score: int = Field(ge=1, le=5)
    satisfied: bool
    then: Literal["reopen", "next_visit"] | None = None
    next_visit_on: date | None = None

    @model_validator(mode="after")
    def _next(self) -> "FollowupIn":
        if self.satisfied and self.then is not None:
            raise ValueError(N_("a satisfied follow-up needs nothing next"))
        return self

"""The visitors' tables, and what a registration, a pass and a watch-list entry may say.

Personal data: an ID number is never stored, only its keyed hash (hub.visitors.keys: HMAC
under a key sealed with the hub's secret file) with its last four characters and length, so
it can be matched against the watch list and shown masked; a phone likewise (hash, last
four). Times are UTC text in one fixed form (``utc``), so they compare as text.
"""

from __future__ import annotations

import re
from datetime import datetime, timezone
from typing import Annotated, Literal

import sqlite_utils
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from hub.i18n.validation import N_
from hub.validators import EmptyIsNone, UnitCode

SCHEMA = """
CREATE TABLE IF NOT EXISTS visits (
    id INTEGER PRIMARY KEY,
    visitor_name TEXT NOT NULL,
    id_type TEXT NOT NULL,
    id_hash TEXT,             -- HMAC of the ID number (hub.visitors.keys), never the number
    id_last4 TEXT,
    id_len INTEGER,
    phone_hash TEXT,
    phone_last4 TEXT,
    phone_len INTEGER,
    host_unit TEXT NOT NULL,
    purpose TEXT NOT NULL DEFAULT '',
    party_size INTEGER NOT NULL DEFAULT 1,
    plate TEXT,
    expected_leave_at TEXT,
    form_opened_at TEXT,
    handled_s REAL,           -- form opened to pass in hand (or to registration, until a pass)
    pre_registered INTEGER NOT NULL DEFAULT 0,
    registered_at TEXT NOT NULL,
    registered_by TEXT NOT NULL,
    month TEXT NOT NULL,      -- YYYY-MM of registered_at in the estate's timezone
    watch_override TEXT,      -- a supervisor's reason for registering past a watch-list hit
    checked_in_at TEXT,
    checked_out_at TEXT,
    cancelled_at TEXT,
    overstay_at TEXT          -- when the overstay alarm was raised (once)
);
CREATE INDEX IF NOT EXISTS visits_registered ON visits (registered_at);
CREATE INDEX IF NOT EXISTS visits_month ON visits (month);
CREATE INDEX IF NOT EXISTS visits_plate ON visits (plate);
CREATE INDEX IF NOT EXISTS visits_unit ON visits (host_unit, registered_at);
CREATE INDEX IF NOT EXISTS visits_inside ON visits (checked_in_at)
    WHERE checked_out_at IS NULL AND cancelled_at IS NULL;
-- the visitors inside now, newest first (the guard's list, state=inside): its WHERE is the
-- state's (hub.visitors.service), so the list reads these rows alone, in order; without it
-- the list walks the whole time index for the few visitors inside
CREATE INDEX IF NOT EXISTS visits_inside_newest ON visits (registered_at, id)
    WHERE checked_in_at IS NOT NULL AND checked_out_at IS NULL AND cancelled_at IS NULL;
CREATE TABLE IF NOT EXISTS visit_passes (
    pass_id TEXT PRIMARY KEY,  -- 32 upper hex (protocols.visitpass)
    visit_id INTEGER NOT NULL REFERENCES visits (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,        -- qr | card
    text TEXT,                 -- the QR text (qr)
    uid TEXT,                  -- the temporary card (card)
    valid_from TEXT NOT NULL,
    valid_until TEXT NOT NULL,
    gates TEXT NOT NULL DEFAULT '[]',
    entries INTEGER NOT NULL,
    used INTEGER NOT NULL DEFAULT 0,
    revoked_at TEXT,
    blocked TEXT,              -- listed at the gates as: revoked | used_up
    created_at TEXT NOT NULL,
    created_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS visit_passes_visit ON visit_passes (visit_id);
CREATE INDEX IF NOT EXISTS visit_passes_uid ON visit_passes (uid) WHERE uid IS NOT NULL;
CREATE TABLE IF NOT EXISTS visit_watchlist (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,        -- id | phone | plate
    value TEXT NOT NULL,       -- id, phone: the keyed hash; plate: the plate
    shown TEXT NOT NULL,       -- masked (id, phone) or the plate
    reason TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL,
    removed_at TEXT,
    removed_by TEXT
);
CREATE INDEX IF NOT EXISTS visit_watchlist_value ON visit_watchlist (kind, value) WHERE removed_at IS NULL;
-- every watch-list hit at a registration, refused or overridden (the monthly figures)
CREATE TABLE IF NOT EXISTS visit_hits (
    id INTEGER PRIMARY KEY,
    at TEXT NOT NULL,
    month TEXT NOT NULL,
    kinds TEXT NOT NULL,       -- what matched: id, phone, plate (comma-separated)
    host_unit TEXT NOT NULL,
    who TEXT NOT NULL,
    visit_id INTEGER,          -- set when a supervisor overrode it
    overridden INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS visit_hits_at ON visit_hits (at);
-- what retention purged, counted per month first (hub.visitors.report)
CREATE TABLE IF NOT EXISTS visit_months (
    month TEXT PRIMARY KEY,
    visits INTEGER NOT NULL DEFAULT 0,
    timed INTEGER NOT NULL DEFAULT 0,
    within_5 INTEGER NOT NULL DEFAULT 0,
    overstays INTEGER NOT NULL DEFAULT 0,
    watch_hits INTEGER NOT NULL DEFAULT 0
);
-- the hub's visitor secrets, sealed with its secret file (hub.visitors.keys)
CREATE TABLE IF NOT EXISTS visit_keys (
    key_id TEXT PRIMARY KEY,   -- a pass key's id (protocols.visitpass.pass_key_id), or 'id-hmac'
    kind TEXT NOT NULL,        -- pass | hmac
    public TEXT,               -- a pass key's public half, hex
    sealed TEXT NOT NULL,
    created_at TEXT NOT NULL,
    retired_at TEXT
);
"""

#: the name, plate and host unit in a trigram index over the visits rows themselves (external
#: content, kept by triggers): finding a visit by part of them (service.list_visits). Made in
#: ``migrate``, not in SCHEMA: an older file's rows must be indexed once when it is made.
_FIND_FTS = """
CREATE VIRTUAL TABLE visits_find USING fts5(
    visitor_name, plate, host_unit, content='visits', content_rowid='id', tokenize='trigram');
"""
_FIND_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS visits_find_insert AFTER INSERT ON visits BEGIN
    INSERT INTO visits_find (rowid, visitor_name, plate, host_unit)
    VALUES (new.id, new.visitor_name, new.plate, new.host_unit);
END;
CREATE TRIGGER IF NOT EXISTS visits_find_delete AFTER DELETE ON visits BEGIN
    INSERT INTO visits_find (visits_find, rowid, visitor_name, plate, host_unit)
    VALUES ('delete', old.id, old.visitor_name, old.plate, old.host_unit);
END;
CREATE TRIGGER IF NOT EXISTS visits_find_update AFTER UPDATE OF id, visitor_name, plate, host_unit
ON visits BEGIN
    INSERT INTO visits_find (visits_find, rowid, visitor_name, plate, host_unit)
    VALUES ('delete', old.id, old.visitor_name, old.plate, old.host_unit);
    INSERT INTO visits_find (rowid, visitor_name, plate, host_unit)
    VALUES (new.id, new.visitor_name, new.plate, new.host_unit);
END;
"""


def migrate(db: sqlite_utils.Database) -> None:
    """Give a file without it the visits' trigram index, built whole from the rows already
    there, before its triggers exist (an external-content index must never be told to delete
    a row it does not hold). On the writer, outside any transaction (hub.schema); one
    transaction here, so the index and its triggers come together or not at all."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if not db["visits_find"].exists():
            db.execute(_FIND_FTS)
            db.execute("INSERT INTO visits_find (visits_find) VALUES ('rebuild')")
        for trigger in _FIND_TRIGGERS.strip().split("END;")[:-1]:
            db.execute(trigger + "END;")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


#: kinds of identity document a visitor shows, as the form offers them (msgids)
ID_TYPES: dict[str, str] = {
    "resident_id": N_("resident ID card"),
    "passport": N_("passport"),
    "hk_macau_permit": N_("Hong Kong and Macau travel permit"),
    "taiwan_permit": N_("Taiwan travel permit"),
    "driving_licence": N_("driving licence"),
    "other": N_("other document"),
}
IdType = Literal["resident_id", "passport", "hk_macau_permit", "taiwan_permit", "driving_licence", "other"]

#: a visit's states and a pass's, as the pages name them (msgids)
VISIT_STATES = {"expected": N_("expected"), "inside": N_("inside"), "left": N_("left"), "cancelled": N_("cancelled")}
PASS_STATES = {"active": N_("active"), "used_up": N_("used up"), "revoked": N_("revoked"), "expired": N_("expired")}

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{3,22}$")
_ID = re.compile(r"^[0-9A-Za-z]{4,32}$")


def utc(at: datetime) -> str:
    """The one stored form of an instant: UTC, microseconds always, so text order is time order."""
    if at.tzinfo is None:
        raise ValueError("a naive time")
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def id_number(raw: str) -> str:
    """An ID number as it is hashed: no spaces or dashes, letters upper-case."""
    return re.sub(r"[\s\-]", "", raw).upper()


def phone_digits(raw: str) -> str:
    """A phone as it is hashed: its digits, without China's +86 before a mobile number."""
    digits = re.sub(r"\D", "", raw)
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def plate_of(raw: str | None) -> str | None:
    """A plate as it is kept and matched: no spaces, dots or dashes, letters upper-case."""
    if raw is None:
        return None
    plate = re.sub(r"[\s.\-·]", "", raw).upper()
    return plate or None


#: a vehicle's plate in a request, kept as ``plate_of`` says (a visitor's car, a slip's van)
Plate = Annotated[str | None, AfterValidator(plate_of)]


def masked(last4: str | None, length: int | None) -> str | None:
    if not last4:
        return None
    return "*" * max(0, (length or len(last4)) - len(last4)) + last4


def _checked_id(v: str | None) -> str | None:
    if not v:
        return None
    v = id_number(v)
    if not _ID.match(v):
        raise ValueError("4 to 32 letters and digits")
    return v


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class VisitIn(_In):
    """A registration: at the gatehouse (guard, supervisor) or ahead of time (the desk, a
    resident app). The ID number is required at the gatehouse and may follow on arrival for
    a registration made ahead."""

    visitor_name: str = Field(min_length=1, max_length=64)
    id_type: IdType = "resident_id"
    id_number: str | None = Field(default=None, max_length=40)
    phone: str | None = Field(default=None, max_length=24)
    host_unit: UnitCode = Field(min_length=1, max_length=64)
    purpose: str = Field(default="", max_length=200)
    party_size: int = Field(default=1, ge=1, le=50)
    plate: Plate = Field(default=None, max_length=16)
    expected_leave_at: AwareDatetime | None = None
    #: when the registration form was opened (the monthly share done within 5 minutes)
    form_opened_at: AwareDatetime | None = None
    #: a supervisor registering past a watch-list hit says why (audited)
    override_reason: EmptyIsNone = Field(default=None, max_length=500)

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return _checked_id(v)

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if not v:
            return None
        if not _PHONE.match(v) or not 5 <= len(phone_digits(v)) <= 15:
            raise ValueError("a phone number is digits, spaces or dashes, optionally after +")
        return v


class ArriveIn(_In):
    """The guard confirms a visitor at the gate; a registration made ahead gets its ID here."""

    id_type: IdType | None = None
    id_number: str | None = Field(default=None, max_length=40)
    override_reason: str | None = Field(default=None, max_length=500)

    @field_validator("id_number")
    @classmethod
    def _id(cls, v: str | None) -> str | None:
        return _checked_id(v)


class LeaveIn(_In):
    note: str | None = Field(default=None, max_length=200)


class Deposit(_In):
    amount_cents: int = Field(gt=0, le=10_000_000)
    receipt_no: str = Field(min_length=1, max_length=64)


class PassIn(_In):
    """A pass for a visit: a QR code (default) or a temporary card from the card centre's pool."""

    kind: Literal["qr", "card"] = "qr"
    valid_from: AwareDatetime | None = None
    #: default: [visitors] pass_hours from now
    valid_until: AwareDatetime | None = None
    #: the gates it opens; empty: every gate (a guard limited to gates: theirs)
    gates: list[str] = Field(default_factory=list, max_length=64)
    #: default: [visitors] pass_entries
    entries: int | None = Field(default=None, ge=1, le=100)
    #: a card pass: the temporary card's UID and its deposit
    uid: str | None = Field(default=None, max_length=64)
    deposit: Deposit | None = None


class RevokeIn(_In):
    reason: str | None = Field(default=None, max_length=200)


class WatchIn(_In):
    kind: Literal["id", "phone", "plate"]
    value: str = Field(min_length=1, max_length=40)
    reason: str = Field(min_length=1, max_length=500)

"""The violations' tables, their kinds and measures, and what a record or a step may say.

Times are UTC text in one fixed form (hub.visitors.models.utc), so they compare as text;
``month`` is the estate-local month the violation was found in (the monthly figures).
"""

from __future__ import annotations

from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator

from hub.i18n.validation import N_

SCHEMA = """
CREATE TABLE IF NOT EXISTS violations (
    id INTEGER PRIMARY KEY,
    unit TEXT NOT NULL,
    permit TEXT,              -- the renovation permit's number or id, as given (hub.permits)
    category TEXT NOT NULL,   -- renovation | fire | sanitation | security | fees
    kind TEXT NOT NULL,
    what TEXT NOT NULL,
    place TEXT NOT NULL,
    found_at TEXT NOT NULL,
    found_by TEXT NOT NULL,
    level TEXT NOT NULL,      -- general | major
    month TEXT NOT NULL,      -- YYYY-MM of found_at in the estate's timezone
    keep_until TEXT NOT NULL, -- found_at + 1 year (general) or 5 (major): then purged
    photos TEXT NOT NULL DEFAULT '[]',
    penalty_cents INTEGER,
    penalty_reason TEXT,
    penalty_by TEXT,
    penalty_at TEXT,
    handled_at TEXT,
    handled_by TEXT,
    handled_note TEXT,
    recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS violations_month ON violations (month);
CREATE INDEX IF NOT EXISTS violations_unit ON violations (unit, found_at);
CREATE INDEX IF NOT EXISTS violations_keep ON violations (keep_until);
CREATE TABLE IF NOT EXISTS violation_measures (
    id INTEGER PRIMARY KEY,
    violation_id INTEGER NOT NULL REFERENCES violations (id) ON DELETE CASCADE,
    measure TEXT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    deadline TEXT,            -- rectification: YYYY-MM-DD
    at TEXT NOT NULL,
    by TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS violation_measures_of ON violation_measures (violation_id, id);
-- what retention purged, counted per month and level first (the monthly figures stay true)
CREATE TABLE IF NOT EXISTS violation_months (
    month TEXT NOT NULL,
    level TEXT NOT NULL,
    purged INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (month, level)
);
"""

#: category -> its kinds (ESTATE.md "Violations"); the machine names stay English
CATEGORIES: dict[str, tuple[str, ...]] = {
    "renovation": ("structure", "facade", "load_bearing_walls", "utilities", "floor_drains"),
    "fire": ("blocked_escape", "damaged_equipment"),
    "sanitation": ("litter", "common_area_storage", "illegal_building", "throwing_from_height", "noise"),
    "security": ("parking", "hazardous_goods"),
    "fees": ("refusing_fees",),
}
KIND_CATEGORY = {kind: cat for cat, kinds in CATEGORIES.items() for kind in kinds}

#: as the pages and the files name them (msgids)
CATEGORY_NAMES = {"renovation": N_("renovation"), "fire": N_("fire safety"), "sanitation": N_("sanitation"),
                  "security": N_("security"), "fees": N_("fees")}
KIND_NAMES = {
    "structure": N_("altering the structure"), "facade": N_("altering the facade"),
    "load_bearing_walls": N_("damaging load-bearing walls"), "utilities": N_("altering utilities"),
    "floor_drains": N_("blocking floor drains"), "blocked_escape": N_("blocked escape route"),
    "damaged_equipment": N_("damaged fire equipment"), "litter": N_("litter"),
    "common_area_storage": N_("storage in common areas"), "illegal_building": N_("illegal building"),
    "throwing_from_height": N_("throwing from height"), "noise": N_("noise"), "parking": N_("illegal parking"),
    "hazardous_goods": N_("hazardous goods"), "refusing_fees": N_("refusing to pay fees"),
}
LEVELS = ("general", "major")
LEVEL_NAMES = {"general": N_("general"), "major": N_("major")}
#: the measures, in the order they are taken (hub.violations.rules)
MEASURES = ("persuasion", "rectification", "compensation", "public_criticism", "lawyer_letter", "legal_action")
MEASURE_NAMES = {"persuasion": N_("persuasion"), "rectification": N_("rectification by a deadline"),
                 "compensation": N_("compensation"), "public_criticism": N_("public criticism"),
                 "lawyer_letter": N_("lawyer's letter"), "legal_action": N_("legal action")}
MAX_PHOTOS = 6

Kind = Literal["structure", "facade", "load_bearing_walls", "utilities", "floor_drains", "blocked_escape",
               "damaged_equipment", "litter", "common_area_storage", "illegal_building", "throwing_from_height",
               "noise", "parking", "hazardous_goods", "refusing_fees"]
Level = Literal["general", "major"]
Measure = Literal["persuasion", "rectification", "compensation", "public_criticism", "lawyer_letter", "legal_action"]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class ViolationIn(_In):
    unit: str = Field(min_length=1, max_length=64)
    #: the renovation permit's number or id, where there is one
    permit: str | None = Field(default=None, max_length=64)
    kind: Kind
    what: str = Field(min_length=1, max_length=1000)
    place: str = Field(min_length=1, max_length=200)
    found_at: AwareDatetime
    found_by: str = Field(min_length=1, max_length=64)
    level: Level

    @field_validator("unit")
    @classmethod
    def _unit(cls, v: str) -> str:
        return v.upper()

    @field_validator("permit")
    @classmethod
    def _permit(cls, v: str | None) -> str | None:
        return v or None


class MeasureIn(_In):
    measure: Measure
    note: str = Field(default="", max_length=1000)
    #: rectification: the day it must be put right by (YYYY-MM-DD)
    deadline: str | None = Field(default=None, pattern=r"^\d{4}-\d{2}-\d{2}$")


class PenaltyIn(_In):
    amount_cents: int = Field(gt=0, le=100_000_000)
    reason: str = Field(min_length=1, max_length=500)


class HandledIn(_In):
    note: str = Field(default="", max_length=500)

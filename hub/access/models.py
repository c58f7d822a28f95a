"""The tables of access levels, schedules and the estate calendar, and their API shapes.

Names are the keys (``residents``, ``north-renovation``): lower-case letters, digits, '-'
and '_', so they read well in URLs and audit rows. A schedule's timezone may be left null:
it then follows the estate calendar's timezone, as its holidays follow the estate's
holidays (when it keeps holidays at all).

A card's levels are its own list when it has one for its current issue
(``access_card_own``; even an empty list, which reaches no gate), else its card type's
default levels. A card whose levels reach no gate is listed at no gate. The first start seeds the
defaults in ``SEED_NOTE``; they are ordinary rows afterwards (editable, and not re-created
once deleted).
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocols.acl import TimeWindow
from protocols.topics import BadTopic, check_name

NAME_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,63}$"
Name = Annotated[str, Field(pattern=NAME_PATTERN)]

SEED_NOTE = """\
schedules: renovation-hours (Mon-Sat 08:00-12:00 and 14:00-18:00, closed on holidays),
           domestic-helper (every day 06:00-22:00, holidays like any day)
levels:    residents (every gate, any time; built in), renovation (every gate, renovation-hours),
           domestic-helper (every gate, domestic-helper)
defaults:  owner, resident, tenant, temporary, staff -> residents;
           domestic_helper -> domestic-helper; renovation_worker -> renovation"""

_MON_SAT = "[0,1,2,3,4,5]"
_EVERY_DAY = "[0,1,2,3,4,5,6]"
_RENOVATION = (
    f'[{{"days":{_MON_SAT},"start":"08:00:00","end":"12:00:00"}},'
    f'{{"days":{_MON_SAT},"start":"14:00:00","end":"18:00:00"}}]'
)
_HELPER = f'[{{"days":{_EVERY_DAY},"start":"06:00:00","end":"22:00:00"}}]'
_EVERYWHERE = '[{"gate_id":"*","doors":null}]'
_UNSEEDED = "WHERE NOT EXISTS (SELECT 1 FROM access_meta WHERE key = 'seeded')"

SCHEMA = f"""
CREATE TABLE IF NOT EXISTS access_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS access_calendar (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    timezone TEXT NOT NULL
);
INSERT OR IGNORE INTO access_calendar (id, timezone) VALUES (1, 'UTC');
CREATE TABLE IF NOT EXISTS access_holidays (
    day TEXT PRIMARY KEY,
    name TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS access_schedules (
    name TEXT PRIMARY KEY,
    description TEXT,
    timezone TEXT,
    windows TEXT NOT NULL,
    holiday_windows TEXT NOT NULL DEFAULT '[]',
    observe_holidays INTEGER NOT NULL DEFAULT 1,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS access_levels (
    name TEXT PRIMARY KEY,
    description TEXT,
    items TEXT NOT NULL,
    schedule TEXT REFERENCES access_schedules (name),
    anti_passback INTEGER NOT NULL DEFAULT 0,
    builtin INTEGER NOT NULL DEFAULT 0,
    updated_at TEXT
);
CREATE TABLE IF NOT EXISTS access_card_explicit (uid TEXT PRIMARY KEY, issued_at TEXT);
-- a card's own list holds for the issue it was set in: a card re-issued (to a new holder,
-- after a return and restock) starts again from its card type's defaults
CREATE VIEW IF NOT EXISTS access_card_own AS
    SELECT e.uid FROM access_card_explicit e JOIN cards c ON c.uid = e.uid AND e.issued_at IS c.issued_at;
CREATE TABLE IF NOT EXISTS access_card_levels (
    uid TEXT NOT NULL,
    level TEXT NOT NULL REFERENCES access_levels (name),
    position INTEGER NOT NULL,
    PRIMARY KEY (uid, level)
);
CREATE INDEX IF NOT EXISTS access_card_levels_level ON access_card_levels (level);
CREATE TABLE IF NOT EXISTS access_type_defaults (
    card_type TEXT NOT NULL,
    level TEXT NOT NULL REFERENCES access_levels (name),
    position INTEGER NOT NULL,
    PRIMARY KEY (card_type, level)
);
INSERT OR IGNORE INTO access_schedules (name, description, timezone, windows, holiday_windows, observe_holidays)
    SELECT 'renovation-hours', 'Renovation work: Mon-Sat 08:00-12:00 and 14:00-18:00, closed on holidays',
           NULL, '{_RENOVATION}', '[]', 1 {_UNSEEDED};
INSERT OR IGNORE INTO access_schedules (name, description, timezone, windows, holiday_windows, observe_holidays)
    SELECT 'domestic-helper', 'Domestic helpers: every day 06:00-22:00', NULL, '{_HELPER}', '[]', 0 {_UNSEEDED};
INSERT OR IGNORE INTO access_levels (name, description, items, schedule, anti_passback, builtin)
    SELECT 'residents', 'Every gate, any time', '{_EVERYWHERE}', NULL, 0, 1 {_UNSEEDED};
INSERT OR IGNORE INTO access_levels (name, description, items, schedule, anti_passback, builtin)
    SELECT 'renovation', 'Every gate, renovation hours', '{_EVERYWHERE}', 'renovation-hours', 0, 0 {_UNSEEDED};
INSERT OR IGNORE INTO access_levels (name, description, items, schedule, anti_passback, builtin)
    SELECT 'domestic-helper', 'Every gate, 06:00-22:00', '{_EVERYWHERE}', 'domestic-helper', 0, 0 {_UNSEEDED};
INSERT OR IGNORE INTO access_type_defaults (card_type, level, position)
    SELECT t.column1, t.column2, 0 FROM (VALUES
        ('owner', 'residents'), ('resident', 'residents'), ('tenant', 'residents'),
        ('temporary', 'residents'), ('staff', 'residents'),
        ('domestic_helper', 'domestic-helper'), ('renovation_worker', 'renovation')) AS t
    {_UNSEEDED};
INSERT OR IGNORE INTO access_meta (key, value) VALUES ('seeded', '1');
"""


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _zone(value: str | None) -> str | None:
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    if value is None:
        return None
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {value!r} (an IANA name such as Asia/Shanghai)") from None
    return value


class ScheduleBody(_Body):
    """PUT /api/v1/access/schedules/{name}; POST adds ``name``."""

    description: str | None = Field(default=None, max_length=500)
    timezone: str | None = Field(default=None, max_length=64)  # None: the estate calendar's
    windows: tuple[TimeWindow, ...] = Field(default=(), max_length=64)
    holiday_windows: tuple[TimeWindow, ...] = Field(default=(), max_length=64)
    observe_holidays: bool = True

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))


class NewSchedule(ScheduleBody):
    name: Name


class LevelItem(_Body):
    gate_id: str = Field(max_length=64)  # a gate id, or "*" for every gate
    doors: tuple[str, ...] | None = Field(default=None, min_length=1, max_length=64)

    @field_validator("gate_id")
    @classmethod
    def _gate(cls, v: str) -> str:
        if v == "*":
            return v
        try:
            return check_name("gate_id", v)
        except BadTopic as exc:
            raise ValueError(f"{exc}, or '*' for every gate") from None

    @field_validator("doors")
    @classmethod
    def _doors(cls, v: tuple[str, ...] | None) -> tuple[str, ...] | None:
        if v is None:
            return None
        for d in v:
            try:
                check_name("door_id", d)
            except BadTopic as exc:
                raise ValueError(str(exc)) from None
        if len(set(v)) != len(v):
            raise ValueError("a door is listed twice")
        return tuple(sorted(v))


class LevelBody(_Body):
    """PUT /api/v1/access/levels/{name}; POST adds ``name``."""

    description: str | None = Field(default=None, max_length=500)
    items: tuple[LevelItem, ...] = Field(min_length=1, max_length=256)
    schedule: Name | None = None  # None: any time
    anti_passback: bool = False


class NewLevel(LevelBody):
    name: Name


class LevelList(_Body):
    """PUT /api/v1/cards/{uid}/access and PUT /api/v1/access/card-types/{card_type}: in order;
    the first-listed level wins where levels cannot be merged exactly (hub.access.merge)."""

    levels: tuple[Name, ...] = Field(max_length=32)

    @field_validator("levels")
    @classmethod
    def _unique(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(v)) != len(v):
            raise ValueError("a level is listed twice")
        return v


class NewHoliday(_Body):
    date: date
    name: str = Field(min_length=1, max_length=100)


class CalendarBody(_Body):
    timezone: str = Field(max_length=64)

    _tz = field_validator("timezone")(classmethod(lambda cls, v: _zone(v)))


def window_dicts(windows: tuple[TimeWindow, ...]) -> list[dict[str, Any]]:
    return [w.model_dump(mode="json") for w in windows]

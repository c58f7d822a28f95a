"""Units, households and people: the register the card centre issues against.

A unit is a place (building, floor, room); a household is who lives there from a move-in
date until a move-out; people belong to a household by role. The same input models check
a form, an API body and an import row, so every way in refuses the same things with the
same field names.

ID document numbers are confidential: lists and searches show only their last four
characters; the whole record is in the household file (hub.people.files).
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from enum import StrEnum
from typing import Any

import sqlite_utils
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from hub import audit
from hub.db import Store
from hub.cards.rules import Particulars
from hub.errors import BadInput, Conflict, NotFound
from hub.people import names
from protocols.uid import InvalidUid, normalise_uid

SCHEMA = """
CREATE TABLE IF NOT EXISTS units (
    code TEXT PRIMARY KEY,
    building TEXT NOT NULL,
    floor INTEGER NOT NULL,
    room TEXT NOT NULL,
    area_m2 REAL,
    owner_kind TEXT NOT NULL DEFAULT 'person',
    handed_over INTEGER NOT NULL DEFAULT 1,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS households (
    id INTEGER PRIMARY KEY,
    unit_code TEXT NOT NULL REFERENCES units (code),
    name TEXT,
    move_in_date TEXT,
    move_out_date TEXT,
    notes TEXT,
    created_at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS households_unit ON households (unit_code);
CREATE TABLE IF NOT EXISTS people (
    id INTEGER PRIMARY KEY,
    household_id INTEGER REFERENCES households (id),
    unit_code TEXT REFERENCES units (code),
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    phone TEXT,
    email TEXT,
    id_doc_no TEXT,
    photo_id TEXT,
    tenancy_start TEXT,
    tenancy_end TEXT,
    police_registration_no TEXT,
    employer_household_id INTEGER REFERENCES households (id),
    permit_no TEXT,
    permit_until TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    name_pinyin TEXT,
    name_initials TEXT,
    name_keys TEXT
);
CREATE INDEX IF NOT EXISTS people_unit ON people (unit_code);
CREATE INDEX IF NOT EXISTS people_name ON people (name);
CREATE INDEX IF NOT EXISTS people_phone ON people (phone);
"""

#: a name's search keys (hub.people.names): the reading and the initials in B-tree indexes;
#: the name and the keys in a trigram index over the people rows themselves (external
#: content: nothing stored twice), which the triggers keep in step with every write of a
#: people row, whoever makes it
_NAME_COLUMNS = ("name_pinyin", "name_initials", "name_keys")
_NAME_INDEXES = """
CREATE INDEX IF NOT EXISTS people_pinyin ON people (name_pinyin);
CREATE INDEX IF NOT EXISTS people_initials ON people (name_initials);
"""
_NAME_FTS = """
CREATE VIRTUAL TABLE people_names USING fts5(
    name, name_pinyin, name_initials, name_keys, content='people', content_rowid='id', tokenize='trigram');
"""
_NAME_TRIGGERS = """
CREATE TRIGGER IF NOT EXISTS people_names_insert AFTER INSERT ON people BEGIN
    INSERT INTO people_names (rowid, name, name_pinyin, name_initials, name_keys)
    VALUES (new.id, new.name, new.name_pinyin, new.name_initials, new.name_keys);
END;
CREATE TRIGGER IF NOT EXISTS people_names_delete AFTER DELETE ON people BEGIN
    INSERT INTO people_names (people_names, rowid, name, name_pinyin, name_initials, name_keys)
    VALUES ('delete', old.id, old.name, old.name_pinyin, old.name_initials, old.name_keys);
END;
CREATE TRIGGER IF NOT EXISTS people_names_update AFTER UPDATE OF name, name_pinyin, name_initials, name_keys
ON people BEGIN
    INSERT INTO people_names (people_names, rowid, name, name_pinyin, name_initials, name_keys)
    VALUES ('delete', old.id, old.name, old.name_pinyin, old.name_initials, old.name_keys);
    INSERT INTO people_names (rowid, name, name_pinyin, name_initials, name_keys)
    VALUES (new.id, new.name, new.name_pinyin, new.name_initials, new.name_keys);
END;
"""


def _name_columns(name: str) -> dict[str, str]:
    """The one place a name's search keys are made for a people row."""
    keys = names.keys_of(name)
    return {"name_pinyin": keys.pinyin, "name_initials": keys.initials, "name_keys": keys.keys}


def migrate(db: sqlite_utils.Database) -> None:
    """Give an older register the name keys and their indexes, and key every unkeyed row.

    On the writer, outside any transaction (hub.schema); one transaction here. The trigram
    index is built whole once, from rows already keyed, before its triggers exist (an
    external-content index must never be told to delete a row it does not hold)."""
    have = {r["name"] for r in db.query("PRAGMA table_info(people)")}
    db.execute("BEGIN IMMEDIATE")
    try:
        for column in _NAME_COLUMNS:
            if column not in have:
                db.execute(f"ALTER TABLE people ADD COLUMN {column} TEXT")
        for statement in _NAME_INDEXES.strip().splitlines():
            db.execute(statement)
        fresh = not db["people_names"].exists()
        for row in list(db.query("SELECT id, name FROM people WHERE name_keys IS NULL")):
            db.execute("UPDATE people SET name_pinyin = ?, name_initials = ?, name_keys = ? WHERE id = ?",
                       [*_name_columns(row["name"]).values(), row["id"]])
        if fresh:
            db.execute(_NAME_FTS)
            db.execute("INSERT INTO people_names (people_names) VALUES ('rebuild')")
        for trigger in _NAME_TRIGGERS.strip().split("END;")[:-1]:
            db.execute(trigger + "END;")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")


class PersonRole(StrEnum):
    OWNER = "owner"
    FAMILY = "family"
    TENANT = "tenant"
    DOMESTIC_HELPER = "domestic_helper"
    VISITOR = "visitor"
    RENOVATION_WORKER = "renovation_worker"


#: roles that live in (or work for) a household of a unit
HOUSEHOLD_ROLES = {PersonRole.OWNER, PersonRole.FAMILY, PersonRole.TENANT, PersonRole.DOMESTIC_HELPER}

_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,19}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DOC = re.compile(r"^[0-9A-Za-z]{4,30}$")
_NAME_PART = re.compile(r"^[0-9A-Za-z]{1,8}$")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()


def unit_code(building: str, floor: int, room: str) -> str:
    """The estate's way of writing a unit: building-floor-room, floor as two digits (A-12-03)."""
    return f"{building}-{floor:02d}-{room}"


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class UnitIn(_In):
    building: str = Field(min_length=1, max_length=8)
    floor: int = Field(ge=-5, le=200)
    room: str = Field(min_length=1, max_length=8)
    area_m2: float | None = Field(default=None, gt=0, le=10_000)
    owner_kind: str = "person"
    handed_over: bool = True
    move_in_date: date | None = None
    household_name: str | None = Field(default=None, max_length=200)

    @field_validator("building", "room")
    @classmethod
    def _plain(cls, v: str) -> str:
        if not _NAME_PART.match(v):
            raise ValueError("letters and digits only")
        return v.upper()

    @field_validator("owner_kind")
    @classmethod
    def _kind(cls, v: str) -> str:
        if v not in ("person", "company"):
            raise ValueError("must be person or company")
        return v

    @property
    def code(self) -> str:
        return unit_code(self.building, self.floor, self.room)


class PersonIn(_In, Particulars):
    name: str = Field(min_length=1, max_length=200)
    role: PersonRole
    unit: str | None = Field(default=None, max_length=64, validate_default=True)
    phone: str | None = None
    email: str | None = None
    id_doc_no: str | None = None

    @field_validator("phone")
    @classmethod
    def _phone(cls, v: str | None) -> str | None:
        if v and not _PHONE.match(v):
            raise ValueError("a phone number is digits, spaces or dashes, optionally after +")
        return v or None

    @field_validator("email")
    @classmethod
    def _email(cls, v: str | None) -> str | None:
        if v and not _EMAIL.match(v):
            raise ValueError("not an email address")
        return v or None

    @field_validator("id_doc_no")
    @classmethod
    def _doc(cls, v: str | None) -> str | None:
        if v and not _DOC.match(v):
            raise ValueError("4 to 30 letters and digits")
        return v.upper() if v else None

    @field_validator("unit")
    @classmethod
    def _unit_by_role(cls, v: str | None, info: ValidationInfo) -> str | None:
        role = info.data.get("role")
        if role in HOUSEHOLD_ROLES and not v:
            raise ValueError(f"a {role.value} belongs to a unit: unit is required")
        return v.upper() if v else None

    @field_validator("employer_unit")
    @classmethod
    def _upper(cls, v: str | None) -> str | None:
        return v.upper() if v else None

    @field_validator("tenancy_end")
    @classmethod
    def _tenancy_order(cls, v: date | None, info: ValidationInfo) -> date | None:
        start = info.data.get("tenancy_start")
        if v and start and v < start:
            raise ValueError("tenancy_end is before tenancy_start")
        return v


def _unit_row(db: sqlite_utils.Database, code: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM units WHERE code = ?", [code]))
    return rows[0] if rows else None


def current_household(db: sqlite_utils.Database, code: str) -> dict[str, Any] | None:
    rows = list(db.query(
        "SELECT * FROM households WHERE unit_code = ? AND move_out_date IS NULL ORDER BY id DESC LIMIT 1", [code]))
    return rows[0] if rows else None


def insert_unit(db: sqlite_utils.Database, who: str, unit: UnitIn) -> str:
    """Inside the caller's transaction (the importer adds many in one)."""
    code = unit.code
    if _unit_row(db, code) is not None:
        raise Conflict("unit {unit} is already registered", rule="unit_exists", field="room", unit=code)
    db["units"].insert({
        "code": code, "building": unit.building, "floor": unit.floor, "room": unit.room, "area_m2": unit.area_m2,
        "owner_kind": unit.owner_kind, "handed_over": int(unit.handed_over), "created_at": _now(),
    })
    audit.record(db, who, "create", "unit", code)
    if unit.move_in_date or unit.household_name:
        insert_household(db, who, code, unit.move_in_date, unit.household_name)
    return code


def insert_household(db: sqlite_utils.Database, who: str, code: str, move_in: date | None,
                     name: str | None = None, notes: str | None = None) -> int:
    if _unit_row(db, code) is None:
        raise NotFound("no unit {unit}", rule="unknown_unit", field="unit", unit=code)
    if current_household(db, code) is not None:
        raise Conflict("unit {unit} already has a household living in it", rule="household_exists", field="unit",
                       unit=code)
    table = db["households"]
    table.insert({"unit_code": code, "name": name, "move_in_date": move_in.isoformat() if move_in else None,
                  "notes": notes, "created_at": _now()})
    audit.record(db, who, "create", "household", str(table.last_pk), unit=code)
    return table.last_pk


def insert_person(db: sqlite_utils.Database, who: str, person: PersonIn) -> int:
    household_id = employer_id = None
    if person.unit:
        if _unit_row(db, person.unit) is None:
            raise NotFound("no unit {unit}", rule="unknown_unit", field="unit", unit=person.unit)
    if person.role in HOUSEHOLD_ROLES:
        hh = current_household(db, person.unit)
        if hh is None:
            if person.role == PersonRole.DOMESTIC_HELPER:
                raise NotFound("no household lives in unit {unit} to employ a helper",
                               rule="unknown_household", field="unit", unit=person.unit)
            household_id = insert_household(db, who, person.unit, None)
        else:
            household_id = hh["id"]
    if person.role == PersonRole.DOMESTIC_HELPER:
        employer = person.employer_unit or person.unit
        hh = current_household(db, employer) if employer else None
        if hh is None:
            raise NotFound("no household lives in unit {unit}", rule="unknown_household", field="employer_unit",
                           unit=employer)
        employer_id = hh["id"]
    now = _now()
    table = db["people"]
    table.insert({
        "household_id": household_id, "unit_code": person.unit, "name": person.name, "role": person.role.value,
        "phone": person.phone, "email": person.email, "id_doc_no": person.id_doc_no,
        "tenancy_start": person.tenancy_start.isoformat() if person.tenancy_start else None,
        "tenancy_end": person.tenancy_end.isoformat() if person.tenancy_end else None,
        "police_registration_no": person.police_registration_no, "employer_household_id": employer_id,
        "permit_no": person.permit_no, "permit_until": person.permit_until.isoformat() if person.permit_until else None,
        "created_at": now, "updated_at": now, **_name_columns(person.name),
    })
    audit.record(db, who, "create", "person", str(table.last_pk), unit=person.unit, role=person.role.value)
    return table.last_pk


def add_unit(store: Store, who: str, unit: UnitIn) -> dict[str, Any]:
    with store.tx() as db:
        code = insert_unit(db, who, unit)
        return get_unit_in(db, code)


def add_person(store: Store, who: str, person: PersonIn) -> dict[str, Any]:
    with store.tx() as db:
        pid = insert_person(db, who, person)
        return public_person(_person_row(db, pid))


class PersonPatch(_In):
    """The details a clerk may correct; who a person is (name, role, unit) is a new record."""

    phone: str | None = None
    email: str | None = None
    id_doc_no: str | None = None
    tenancy_end: date | None = None
    police_registration_no: str | None = Field(default=None, max_length=64)
    permit_no: str | None = Field(default=None, max_length=64)
    permit_until: date | None = None

    _phone = field_validator("phone")(PersonIn._phone.__func__)
    _email = field_validator("email")(PersonIn._email.__func__)
    _doc = field_validator("id_doc_no")(PersonIn._doc.__func__)


def update_person(store: Store, who: str, pid: int, patch: PersonPatch) -> dict[str, Any]:
    changes = {k: (v.isoformat() if isinstance(v, date) else v) for k, v in patch.model_dump(exclude_unset=True).items()}
    if not changes:
        raise BadInput("nothing to change", field="(body)")
    with store.tx() as db:
        row = _person_row(db, pid)
        if "tenancy_end" in changes and row["tenancy_start"] and changes["tenancy_end"] and \
                changes["tenancy_end"] < row["tenancy_start"]:
            raise BadInput("tenancy_end is before tenancy_start", field="tenancy_end")
        db["people"].update(pid, {**changes, "updated_at": _now()})
        # the audit names what changed; an ID number's value stays out of the log
        audit.record(db, who, "update", "person", str(pid), None, fields=sorted(changes),
                     **{k: v for k, v in changes.items() if k != "id_doc_no"})
        return public_person(_person_row(db, pid))


def move_out(store: Store, who: str, household_id: int, on: date, reason: str | None = None) -> None:
    with store.tx() as db:
        rows = list(db.query("SELECT * FROM households WHERE id = ?", [household_id]))
        if not rows:
            raise NotFound("no household {household_id}", rule="unknown_household", household_id=household_id)
        if rows[0]["move_out_date"]:
            raise Conflict("the household has already moved out", rule="already_moved_out")
        db["households"].update(household_id, {"move_out_date": on.isoformat()})
        audit.record(db, who, "move_out", "household", str(household_id), reason, on=on.isoformat())


def mask(doc: str | None) -> str | None:
    return None if not doc else "*" * max(0, len(doc) - 4) + doc[-4:]


def public_person(row: dict[str, Any]) -> dict[str, Any]:
    """A person as lists and searches show them: the ID document masked."""
    out = dict(row)
    out["id_doc_no"] = mask(row.get("id_doc_no"))
    out["has_photo"] = bool(row.get("photo_id"))
    out.pop("photo_id", None)
    for column in _NAME_COLUMNS:  # how the search finds a name, not part of the person
        out.pop(column, None)
    return out


def _person_row(db: sqlite_utils.Database, pid: int) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM people WHERE id = ?", [pid]))
    if not rows:
        raise NotFound("no person {person_id}", rule="unknown_person", field="person_id", person_id=pid)
    return rows[0]


def get_person(store: Store, pid: int) -> dict[str, Any]:
    with store.read() as db:
        return public_person(_person_row(db, pid))


def photo_of(store: Store, pid: int, gates: frozenset[str] = frozenset()) -> str | None:
    """The person's photo; with ``gates`` (a guard limited to them), only if one of the
    person's cards has been seen at one of those gates, so counting ids shows no one else."""
    with store.read() as db:
        photo = _person_row(db, pid)["photo_id"]
        if gates and not _seen_at(db, pid, gates):
            return None
        return photo


def _seen_at(db: sqlite_utils.Database, pid: int, gates: frozenset[str]) -> bool:
    if not db["events"].exists():
        return False
    marks = ",".join("?" * len(gates))
    return bool(list(db.query(
        f"SELECT 1 FROM cards c JOIN events e ON e.uid = c.uid WHERE c.person_id = ? AND e.gate_id IN ({marks}) "
        "LIMIT 1", [pid, *sorted(gates)])))


def photo_of_card(store: Store, uid: str, gates: frozenset[str] = frozenset()) -> str | None:
    """The photo of the person a card was issued to, if the card names one (with ``gates``:
    and that person's cards have been seen at one of them)."""
    try:
        uid = normalise_uid(uid)
    except InvalidUid:
        return None
    with store.read() as db:
        rows = list(db.query(
            "SELECT p.id, p.photo_id FROM cards c JOIN people p ON p.id = c.person_id WHERE c.uid = ?", [uid]
        ))
        if not rows or (gates and not _seen_at(db, rows[0]["id"], gates)):
            return None
    return rows[0]["photo_id"]


def set_photo(store: Store, who: str, pid: int, photo_id: str) -> None:
    with store.tx() as db:
        _person_row(db, pid)
        db["people"].update(pid, {"photo_id": photo_id, "updated_at": _now()})
        audit.record(db, who, "photo", "person", str(pid), photo_id=photo_id)


def get_unit_in(db: sqlite_utils.Database, code: str) -> dict[str, Any]:
    row = _unit_row(db, code)
    if row is None:
        raise NotFound("no unit {unit}", rule="unknown_unit", field="unit", unit=code)
    hh = current_household(db, code)
    row["household_id"] = hh["id"] if hh else None
    row["move_in_date"] = hh["move_in_date"] if hh else None
    return row


def get_unit(store: Store, code: str) -> dict[str, Any]:
    with store.read() as db:
        unit = get_unit_in(db, code.strip().upper())
        unit["people"] = [public_person(r) for r in db.query(
            "SELECT * FROM people WHERE unit_code = ? ORDER BY role, name_pinyin, name", [unit["code"]])]  # 陈 before 李
        unit["cards"] = list(db.query(
            "SELECT uid, status, card_type, holder_name, valid_until FROM cards WHERE holder_unit = ? ORDER BY uid",
            [unit["code"]])) if db["cards"].exists() else []
    return unit


_CARD_COLUMNS = "uid, status, card_type, holder_name, holder_unit, valid_until"
#: the search box's lookups by the start of a unit code, phone number or card UID, each
#: walking its index in order (a test reads every plan); parameters: the range's ends, a limit
INDEXED_SEARCHES = {
    "units": "SELECT code, building, floor, room FROM units WHERE code >= ? AND code < ? ORDER BY code LIMIT ?",
    "people_by_unit": "SELECT * FROM people WHERE unit_code >= ? AND unit_code < ? ORDER BY unit_code LIMIT ?",
    "people_by_phone": "SELECT * FROM people WHERE phone >= ? AND phone < ? ORDER BY phone LIMIT ?",
    "cards_by_uid": f"SELECT {_CARD_COLUMNS} FROM cards WHERE uid >= ? AND uid < ? ORDER BY uid LIMIT ?",
    "cards_by_unit": f"SELECT {_CARD_COLUMNS} FROM cards WHERE holder_unit >= ? AND holder_unit < ? "
                     "ORDER BY holder_unit LIMIT ?",
}
#: a person by name (hub.people.names): the whole name, reading or initials, each through its
#: index (a test reads every plan); parameters: the name, the folded query twice, a limit
NAME_EXACT = "SELECT * FROM people WHERE name = ? OR name_pinyin = ? OR name_initials = ? LIMIT ?"
#: the start of the name, reading or initials: a range of one index each; the range's ends, a limit
NAME_STARTS = {
    "name": "SELECT * FROM people WHERE name >= ? AND name < ? ORDER BY name LIMIT ?",
    "pinyin": "SELECT * FROM people WHERE name_pinyin >= ? AND name_pinyin < ? ORDER BY name_pinyin LIMIT ?",
    "initials": "SELECT * FROM people WHERE name_initials >= ? AND name_initials < ? ORDER BY name_initials LIMIT ?",
}
#: anywhere in the name or its keys, through the trigram index; an FTS5 query, a limit
NAME_ANYWHERE = ("SELECT p.* FROM people_names f JOIN people p ON p.id = f.rowid "
                 "WHERE people_names MATCH ? LIMIT ?")
#: cards by holder name: those of the people the name search found (by person or the same
#: name), and those whose holder name begins with the text; each through an index
CARDS_BY_HOLDER_START = (f"SELECT {_CARD_COLUMNS} FROM cards WHERE holder_name >= ? AND holder_name < ? "
                         "ORDER BY holder_name LIMIT ?")


def cards_of_people_sql(people: int, names_: int) -> str:
    """Cards held by ``people`` person ids or in ``names_`` holder names (placeholders for each, then a limit)."""
    return (f"SELECT {_CARD_COLUMNS} FROM cards WHERE person_id IN ({','.join('?' * people) or 'NULL'}) "
            f"OR holder_name IN ({','.join('?' * names_) or 'NULL'}) LIMIT ?")


#: unit codes a page suggests as a unit is typed
UNIT_SUGGESTIONS = 8


def units_typed(db: sqlite_utils.Database, typed: str) -> dict[str, Any]:
    """A unit checked as it is typed (the visitor, complaint and permit desks): the codes
    beginning with it (upper-cased, as the register keeps them) and whether it is one. Codes
    only: who lives there is the register's to show."""
    text = typed.strip().upper()
    if not text or not db["units"].exists():
        return {"q": text, "known": False, "units": []}
    rows = db.execute(INDEXED_SEARCHES["units"], [*starting_with(text), UNIT_SUGGESTIONS]).fetchall()
    known = db.execute("SELECT 1 FROM units WHERE code = ?", [text]).fetchone() is not None
    return {"q": text, "known": known, "units": [r[0] for r in rows]}


def starting_with(text: str) -> tuple[str, str]:
    """The range [lo, hi) of strings that begin with ``text`` (in SQLite's binary order)."""
    last = ord(text[-1])
    return text, ((text[:-1] + chr(last + 1)) if last < 0x10FFFF else text + "\U0010ffff")


def _match(query: str) -> str:
    """The FTS5 query for ``query`` anywhere in a name or its keys: as typed and as folded
    (3 characters or more), or the wrapped token of a 1- or 2-character piece."""
    folded = names.folded(query)
    if len(folded) < names.TRIGRAM:
        return "name_keys : " + names.fts_phrase(names.short_token(folded))
    typed = query.strip()
    return " OR ".join(dict.fromkeys(names.fts_phrase(t) for t in (typed, folded) if len(t) >= names.TRIGRAM))


def search_names(db: sqlite_utils.Database, query: str, limit: int) -> list[dict[str, Any]]:
    """People whose name, reading or initials match ``query``: each lookup bounded by
    ``limit`` and served by an index, so the exact names are among the rows whatever the
    register's size; ranked by hub.people.names.rank, then by name."""
    folded = names.folded(query)
    typed = query.strip()
    rows = [*db.query(NAME_EXACT, [typed, folded, folded, limit])]
    rows += db.query(NAME_STARTS["name"], [*starting_with(typed), limit])
    for key in ("pinyin", "initials"):
        rows += db.query(NAME_STARTS[key], [*starting_with(folded), limit])
    rows += db.query(NAME_ANYWHERE, [_match(query), limit])
    unique = {r["id"]: r for r in rows}.values()
    return sorted(unique, key=lambda r: (names.rank(r["name"], r["name_pinyin"], r["name_initials"], query),
                                         *_as_listed(r)))[:limit]


def _as_listed(row: dict[str, Any]) -> tuple:
    """People of one rank in the order a Chinese list has them: by pinyin (陈 before 李)."""
    return row["name_pinyin"] or row["name"], row["name"], row["id"]


def search(store: Store, q: str, limit: int = 20) -> dict[str, list[dict[str, Any]]]:
    """One box for the clerk: a unit code, a name (its characters, pinyin or initials), a
    phone number or a card UID.

    A unit, phone number or card UID matches from its start (through an index, however big
    the estate); a name matches anywhere in it, by its pinyin or initials too (search_names),
    and is looked for only when the text has no digit (no name has one), so a search by
    number never reads names. People come best match first: the exact name, then the
    whole reading or initials, then those beginning with the text, then the rest. Cards
    by name are the found people's cards (linked, or in the same name) and those whose
    holder name begins with the text: a holder outside the register is found by the start
    of the name on the card, not by a part from its middle (which only a scan could find).
    """
    text = (q or "").strip()
    if not text:
        raise BadInput("type part of a name, a unit, a phone number or a card UID", field="q")
    if len(text) > 100:
        raise BadInput("the search is too long", field="q")
    limit = max(1, min(limit, 100))
    upper, plain = starting_with(text.upper()), starting_with(text)
    by_name = names.is_name_query(text)
    with store.read() as db:
        units = list(db.query(INDEXED_SEARCHES["units"], [*upper, limit]))
        named = search_names(db, text, limit) if by_name else []
        people_rows = [*db.query(INDEXED_SEARCHES["people_by_unit"], [*upper, limit]),
                       *db.query(INDEXED_SEARCHES["people_by_phone"], [*plain, limit]), *named]
        card_rows = [*db.query(INDEXED_SEARCHES["cards_by_uid"], [*upper, limit]),
                     *db.query(INDEXED_SEARCHES["cards_by_unit"], [*upper, limit])
                     ] if db["cards"].exists() else []
        if by_name and db["cards"].exists():
            card_rows += db.query(CARDS_BY_HOLDER_START, [*plain, limit])
            ids, held = [p["id"] for p in named], sorted({p["name"] for p in named})
            if ids:
                card_rows += db.query(cards_of_people_sql(len(ids), len(held)), [*ids, *held, limit])
    people = sorted({r["id"]: r for r in people_rows}.values(),
                    key=lambda r: (names.rank(r["name"], r["name_pinyin"], r["name_initials"], text) if by_name else 3,
                                   *_as_listed(r)))[:limit]
    cards = sorted({r["uid"]: r for r in card_rows}.values(), key=lambda r: r["uid"])[:limit]
    return {"units": units, "people": [public_person(r) for r in people], "cards": cards}

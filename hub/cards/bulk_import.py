"""Bulk card import: an estate's cards brought over from its old system, all or nothing.

A CSV (UTF-8 with or without BOM; GBK/GB18030 as a Chinese Excel saves it) or an XLSX sheet,
one card a row, headers in English or in the Chinese a clerk's sheet uses (``COLUMNS``: the
one mapping). The file is read and every row checked *before* the write lock is taken,
against sets loaded once from the database (``Known``), so a dry run and a real run check
exactly the same and a real run holds the lock only for the inserts. A real run with any bad
row writes nothing; so does a dry run, always.

What an imported card is, and why:
- the card already exists in a holder's hand (or is blocked): it is written in its status
  (``active``, ``suspended``, ``expired``, ``lost`` or ``revoked``: the old system's blocked
  cards stay blocked; a lost one is refused at the gates as lost);
- it was never in this hub's drawer, so it books nothing in the stock ledger: the monthly
  inventory (drawer stock) stays exact; a migrated card that later comes back and is put in
  the drawer is booked then, like any returned card;
- it gets one ``card_moves`` row (move ``issue`` from nothing, detail ``imported``: its
  history starts at the migration) and, with a deposit, its ``card_deposits`` record against
  that move: the money report then shows the migrated deposits as taken in the import's
  month, and its reconciliation (held = taken - refunded - forfeited) stays exact. Without a
  receipt number in the file the receipt is ``IMPORT-<uid>``, which a refund asks for;
- one audit row for the whole import (who, file name, count, SHA-256 of the file), not one
  per card;
- the issue-time paperwork of hub.cards.rules (tenancy and police registration, permit,
  company letter, a deposit taken) is not asked again: those cards were issued already.
  What an import checks is below (``RULES``), each refusal naming its rule; UIDs go through
  the one tidy-up (protocols.uid) and the card lengths and printed-number rule of
  hub.cards.printed; card-type/role fit through hub.cards.rules.TYPES_FOR_ROLE.

Dates: ISO 8601 with an offset, or a day / day and time without one (2026-03-01,
2026/3/1, 2026-03-01 08:00, Excel dates) read in the estate's timezone (the access
calendar's). A ``valid_until`` that is a bare day means to the end of that day.

Bounds: the file (MAX_BYTES), rows (MAX_ROWS), an XLSX's unpacked size, every field's length;
listed errors are capped at MAX_ERRORS_LISTED (their count per rule is always whole).
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import sqlite3
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Iterable, Iterator
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from hub import audit
from hub.access.plan import calendar
from hub.cards.rules import (DEPOSIT_TYPES, ENDING_TYPES, ROLE_BOUND_TYPES, TYPES_FOR_ROLE, UNIT_TYPES, spoken,
                             type_word)
from hub.cards.uid_words import uid_refused
from hub.db import Store
from hub.errors import BadInput
from hub.gates import acl
from hub.i18n.validation import N_
from hub.stock.ledger import utc_iso
from protocols.cardformats import FormatError, parse_printed, print_matches
from protocols.cards import CardStatus, CardType
from protocols.uid import InvalidUid, check_card_length, is_printed_number, normalise_uid

MB = 1024 * 1024
MAX_BYTES = 50 * MB
MAX_ROWS = 200_000
#: an XLSX is a zip: what its parts may unpack to (200,000 rows of a dozen columns, written
#: without shared strings, are about 130 MB)
MAX_UNPACKED_BYTES = 256 * MB
MAX_ZIP_ENTRIES = 200
MAX_ERRORS_LISTED = 10_000
#: rows per executemany step: progress is reported between steps (one transaction still)
WRITE_STEP = 5_000

#: canonical key -> its longest accepted text
FIELD_LENGTHS = {
    "uid": 64, "printed": 32, "card_type": 32, "name": 200, "unit": 64, "phone": 32, "person_id": 12,
    "valid_from": 40, "valid_until": 40, "status": 16, "deposit_cents": 12, "deposit_receipt": 64,
}

#: header as written in a sheet (casefolded, spaces and underscores dropped) -> canonical key
COLUMNS: dict[str, str] = {}
for _key, _names in {
    "uid": ("uid", "card_uid", "卡号", "卡片uid", "物理卡号"),
    "printed": ("printed", "printed_number", "印刷号", "卡面号"),
    "card_type": ("card_type", "type", "类型", "卡类型"),
    "name": ("name", "holder_name", "holder", "姓名", "持卡人"),
    "unit": ("unit", "holder_unit", "房号", "房间号"),
    "phone": ("phone", "holder_phone", "电话", "手机", "手机号"),
    "person_id": ("person_id", "人员编号"),
    "valid_from": ("valid_from", "有效期起", "开始日期"),
    "valid_until": ("valid_until", "有效期止", "截止日期", "结束日期"),
    "status": ("status", "状态"),
    "deposit_cents": ("deposit_cents", "deposit", "押金"),
    "deposit_receipt": ("deposit_receipt", "receipt_no", "押金收据号", "收据号"),
}.items():
    for _name in _names:
        COLUMNS[re.sub(r"[\s_]", "", _name.casefold())] = _key
REQUIRED = ("uid", "card_type", "name")

#: a card type as written (English value or the clerk's Chinese) -> CardType
TYPE_WORDS: dict[str, CardType] = {t.value: t for t in CardType} | {
    "业主": CardType.OWNER, "家属": CardType.RESIDENT, "住户": CardType.RESIDENT, "租户": CardType.TENANT,
    "保姆": CardType.DOMESTIC_HELPER, "家政": CardType.DOMESTIC_HELPER, "临时": CardType.TEMPORARY,
    "临时卡": CardType.TEMPORARY, "装修": CardType.RENOVATION_WORKER, "装修工": CardType.RENOVATION_WORKER,
    "员工": CardType.STAFF, "物业": CardType.STAFF,
}
#: the states a migrated card may arrive in -> CardStatus
STATUS_WORDS: dict[str, CardStatus] = {
    "active": CardStatus.ACTIVE, "正常": CardStatus.ACTIVE, "有效": CardStatus.ACTIVE,
    "suspended": CardStatus.SUSPENDED, "停用": CardStatus.SUSPENDED, "冻结": CardStatus.SUSPENDED,
    "expired": CardStatus.EXPIRED, "过期": CardStatus.EXPIRED, "已过期": CardStatus.EXPIRED,
    "lost": CardStatus.LOST, "挂失": CardStatus.LOST,
    "revoked": CardStatus.REVOKED, "注销": CardStatus.REVOKED, "作废": CardStatus.REVOKED,
}
#: states in which a card opens gates, so its validity must make sense now
WORKING = frozenset({CardStatus.ACTIVE, CardStatus.SUSPENDED})

#: (stage, rows done so far): how far a long import has got
Progress = Callable[[str, int], None]

#: every rule a row can break, with what it means (the API documents these)
RULES = {
    "required": "a required cell is empty (uid, card_type, name)",
    "too_long": "a cell is longer than its column takes",
    "bad_uid": "the UID is not whole bytes of hex",
    "uid_length": "no real card has a UID of that length",
    "printed_number_not_uid": "ten decimal digits: a 125 kHz card's printed number, not its UID",
    "duplicate_uid_in_file": "the same UID is on an earlier row",
    "uid_already_known": "the hub already has a card with this UID",
    "bad_printed_number": "the printed number cannot be read",
    "printed_number_mismatch": "the printed number is not this UID's",
    "unknown_card_type": "not a card type",
    "unknown_status": "not a status a migrated card may have (active, suspended, expired, lost, revoked)",
    "unit_required": "this card type belongs to a unit",
    "unknown_unit": "the unit is not in the units register",
    "unknown_person": "no such person in the register",
    "holder_differs_from_person": "the name or unit is not the person's own",
    "card_type_not_for_person": "the person's role in the register may not hold this card type",
    "bad_date": "not a date",
    "validity_reversed": "valid_until is not after valid_from",
    "validity_end_required": "a tenant, temporary or renovation worker card must have an end",
    "validity_in_past": "a working card whose validity has ended: import it as expired",
    "bad_amount": "the deposit is not a whole number of fen above 0",
    "deposit_not_taken": "this card type takes no deposit",
    "duplicate_receipt_in_file": "the receipt number is on an earlier row",
    "receipt_no_taken": "the receipt number is another deposit's already",
}


@dataclass
class RowError:
    row: int
    column: str | None
    rule: str
    detail: str  # in English; ``template`` and ``params`` give it in the reader's language
    template: str = field(default="", repr=False, compare=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def said(self, say: Callable[[str], str]) -> dict[str, Any]:
        """As answered: the detail through ``say`` (the reader's gettext), its rule as it is."""
        detail = self.detail
        if self.template:
            try:
                detail = say(self.template).format(**self.params) if self.params else say(self.template)
            except (KeyError, IndexError, ValueError):
                pass
        return {"row": self.row, "column": self.column, "rule": self.rule, "detail": detail}


@dataclass
class CardRow:
    """One checked row, as it will be written."""

    row: int
    uid: str
    card_type: str
    status: str
    name: str
    unit: str | None
    person_id: int | None
    valid_from: str | None
    valid_until: str | None
    deposit_cents: int | None
    receipt_no: str | None
    printed: str | None


@dataclass
class Table:
    """A file's rows, read: the header as written and (row number, canonical key -> text)."""

    header: list[str]
    columns: dict[str, str]  # canonical key -> header as written (for error messages)
    rows: list[tuple[int, dict[str, str]]]
    sha256: str


@dataclass
class Checked:
    cards: list[CardRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    error_count: int = 0
    errors_by_rule: dict[str, int] = field(default_factory=dict)
    rows: int = 0

    def refuse(self, row: int, column: str | None, rule: str, detail: str, **params: Any) -> None:
        """``detail``: a msgid (marked N_ where it is written), filled from ``params``."""
        self.error_count += 1
        self.errors_by_rule[rule] = self.errors_by_rule.get(rule, 0) + 1
        if len(self.errors) < MAX_ERRORS_LISTED:
            filled = detail.format(**params) if params else detail
            self.errors.append(RowError(row, column, rule, filled, detail, params))

    @property
    def ok(self) -> bool:
        return self.error_count == 0

    def counts(self) -> dict[str, Any]:
        by_status: dict[str, int] = {}
        by_type: dict[str, int] = {}
        for c in self.cards:
            by_status[c.status] = by_status.get(c.status, 0) + 1
            by_type[c.card_type] = by_type.get(c.card_type, 0) + 1
        return {"rows": self.rows, "good_rows": len(self.cards), "bad_rows": self.rows - len(self.cards),
                "errors": self.error_count, "errors_by_rule": dict(sorted(self.errors_by_rule.items())),
                "by_status": dict(sorted(by_status.items())), "by_type": dict(sorted(by_type.items())),
                "linked_to_person": sum(1 for c in self.cards if c.person_id is not None),
                "with_deposit": sum(1 for c in self.cards if c.deposit_cents)}


# --- reading the file -------------------------------------------------------------------


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        return value.date().isoformat() if value.time() == time() and value.tzinfo is None else value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value).strip()


def _csv_lines(data: bytes) -> Iterator[list[str]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = data.decode("gb18030")  # GBK's superset: what a Chinese Excel saves "CSV" as
        except UnicodeDecodeError:
            raise BadInput("the CSV file is neither UTF-8 nor GBK", field="file", rule="bad_file") from None
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error as exc:
        raise BadInput("the CSV file cannot be read: {why}", field="file", rule="bad_file", why=str(exc)) from None


def _check_zip(data: bytes) -> None:
    """Refuse an XLSX whose parts would inflate past the cap before openpyxl opens it (the sizes
    a zip declares bound what zipfile inflates)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise BadInput("the XLSX file cannot be read: it is not a sound zip file", field="file", rule="bad_file") from None
    if len(entries) > MAX_ZIP_ENTRIES or sum(e.file_size for e in entries) > MAX_UNPACKED_BYTES:
        raise BadInput("the XLSX file would unpack past {mb} MB; split the file",
                       field="file", rule="file_too_large", mb=MAX_UNPACKED_BYTES // MB)


def _xlsx_lines(data: bytes) -> Iterator[list[Any]]:
    if not data.startswith(b"PK\x03\x04"):
        raise BadInput("this is not an XLSX file", field="file", rule="bad_file")
    _check_zip(data)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise BadInput("the XLSX file cannot be read: {why}", field="file", rule="bad_file",
                       why=type(exc).__name__) from None
    try:
        for row in wb.worksheets[0].iter_rows(values_only=True):  # read-only: parsed as iterated
            yield list(row)
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput("the XLSX file cannot be read: {why}", field="file", rule="bad_file",
                       why=type(exc).__name__) from None
    finally:
        wb.close()


def header_key(name: str) -> str | None:
    """The canonical key of a header as written, or None if it is no column of ours."""
    return COLUMNS.get(re.sub(r"[\s_]", "", name.casefold()))


def read_table(data: bytes, filename: str) -> Table:
    """The file's header and rows; BadInput for a file that cannot be one (too big, no known
    columns, a required column missing, more than MAX_ROWS rows: reading stops there)."""
    if len(data) > MAX_BYTES:
        raise BadInput("the file is larger than {mb} MB; split it", field="file", rule="file_too_large",
                       mb=MAX_BYTES // MB)
    name = filename.lower()
    if name.endswith(".xlsx"):
        lines: Iterator[list[Any]] = _xlsx_lines(data)
    elif name.endswith(".csv"):
        lines = _csv_lines(data)
    else:
        raise BadInput("the file must be .csv or .xlsx", field="file", rule="bad_file")
    try:
        first = next(lines, None)
        if first is None:
            raise BadInput("the file is empty", field="file", rule="bad_file")
        header = [_cell(h) for h in first]
        keys = [header_key(h) for h in header]
        columns: dict[str, str] = {}
        for h, k in zip(header, keys):
            if k is None and h:
                raise BadInput("unknown column {column!r}; the columns are {columns} (or their Chinese names)",
                               field=h, rule="unknown_column", column=h, columns=", ".join(FIELD_LENGTHS))
            if k is not None:
                if k in columns:
                    raise BadInput("columns {first!r} and {second!r} are the same column", field=h,
                                   rule="duplicate_column", first=columns[k], second=h)
                columns[k] = h
        missing = [k for k in REQUIRED if k not in columns]
        if missing:
            raise BadInput("required column(s) missing: {columns}", field=missing[0],
                           rule="required_column_missing", columns=", ".join(missing))
        places = [(i, k) for i, k in enumerate(keys) if k is not None]
        rows: list[tuple[int, dict[str, str]]] = []
        for number, line in enumerate(lines, start=2):
            values = {k: _cell(line[i]) for i, k in places if i < len(line)}
            if not any(values.values()):
                continue  # blank lines in spreadsheets mean nothing
            if len(rows) == MAX_ROWS:
                raise BadInput("more than {rows} rows; split the file", field="file", rule="too_many_rows", rows=MAX_ROWS)
            rows.append((number, values))
    finally:
        lines.close()
    return Table(header, columns, rows, hashlib.sha256(data).hexdigest())


# --- what the database knows, loaded once ---------------------------------------------------


@dataclass
class Known:
    """What the rows are checked against: loaded in one read before any lock is taken."""

    uids: set[str]
    units: set[str] | None  # None: no units register yet (it cannot tell a wrong unit from a right one)
    people: dict[int, tuple[str, str | None, str]]  # id -> (name, unit, role)
    by_unit_name: dict[tuple[str, str], list[int]]
    phones: dict[int, str]
    receipts: set[str]
    read_uids: set[str]  # 10-decimal-digit UIDs a reader of this hub has reported
    tz: str


def _fold(name: str) -> str:
    return " ".join(name.split()).casefold()


def _digits(phone: str | None) -> str:
    return re.sub(r"\D", "", phone or "")


def printed_like(table: Table) -> set[str]:
    """The file's UIDs that look like a 125 kHz card's printed number (to ask whether any was read)."""
    return {v["uid"].replace(" ", "") for _, v in table.rows if is_printed_number(v.get("uid", ""))}


def load_known(db: sqlite_utils.Database, printed_uids: Iterable[str] = ()) -> Known:
    tables = set(db.table_names())
    uids = {r[0] for r in db.execute("SELECT uid FROM cards")}
    units = None
    if "units" in tables:
        units = {r[0] for r in db.execute("SELECT code FROM units")} or None
    people: dict[int, tuple[str, str | None, str]] = {}
    by_unit_name: dict[tuple[str, str], list[int]] = {}
    phones: dict[int, str] = {}
    if "people" in tables:
        for pid, name, unit, role, phone in db.execute("SELECT id, name, unit_code, role, phone FROM people"):
            people[pid] = (name, unit, role)
            by_unit_name.setdefault(((unit or "").upper(), _fold(name)), []).append(pid)
            if phone:
                phones[pid] = _digits(phone)
    receipts = {r[0] for r in db.execute("SELECT receipt_no FROM card_deposits")} if "card_deposits" in tables else set()
    read_uids: set[str] = set()
    wanted = sorted(set(printed_uids))
    for table in ("enroll_presentations", "events"):
        if table not in tables:
            continue
        for i in range(0, len(wanted), 500):
            part = wanted[i:i + 500]
            marks = ",".join("?" * len(part))
            read_uids |= {r[0] for r in db.execute(f"SELECT DISTINCT uid FROM {table} WHERE uid IN ({marks})", part)}
    return Known(uids, units, people, by_unit_name, phones, receipts, read_uids, calendar(db)[0])


# --- checking rows (pure) -------------------------------------------------------------------

_DAY = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_DAY_TIME = re.compile(r"^(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})[ T](\d{1,2}):(\d{2})(?::(\d{2}))?$")


class _BadDate(ValueError):
    pass


def parse_instant(text: str, zone: ZoneInfo, end_of_day: bool) -> datetime:
    """An instant from a cell: ISO 8601 with offset as it is; a day or day-and-time without
    one in the estate's zone; a bare day as its start (or, for an end, the next day's start)."""
    m = _DAY.match(text)
    if m:
        try:
            day = date(int(m[1]), int(m[2]), int(m[3]))
        except ValueError:
            raise _BadDate(text) from None
        start = datetime.combine(day + timedelta(days=1) if end_of_day else day, time(), zone)
        return start
    m = _DAY_TIME.match(text)
    if m:
        try:
            return datetime(int(m[1]), int(m[2]), int(m[3]), int(m[4]), int(m[5]), int(m[6] or 0), tzinfo=zone)
        except ValueError:
            raise _BadDate(text) from None
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        raise _BadDate(text) from None
    return at if at.tzinfo is not None else at.replace(tzinfo=zone)


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def check_rows(table: Table, known: Known, now: datetime, progress: Progress | None = None) -> Checked:
    """Every row against the rules (``RULES``), each bad cell reported with its row, column and rule."""
    out = Checked(rows=len(table.rows))
    col = table.columns
    zone = _zone(known.tz)
    instants: dict[tuple[str, bool], datetime] = {}  # the same dates recur on thousands of rows
    seen_uids: dict[str, int] = {}
    seen_receipts: dict[str, int] = {}

    def when(text: str, end: bool) -> datetime:
        key = (text, end)
        at = instants.get(key)
        if at is None:
            at = instants[key] = parse_instant(text, zone, end)
        return at

    for done, (number, cells) in enumerate(table.rows):
        if progress is not None and done % WRITE_STEP == 0:
            progress("checking", done)
        bad = False

        def refuse(key: str | None, rule: str, detail: str, **params: Any) -> None:
            nonlocal bad
            bad = True
            out.refuse(number, col.get(key, key) if key else None, rule, detail, **params)

        for key, text in cells.items():
            if len(text) > FIELD_LENGTHS[key]:
                refuse(key, "too_long", N_("{length} characters; this column takes {most}"), length=len(text),
                       most=FIELD_LENGTHS[key])
        if bad:
            continue
        for key in REQUIRED:
            if not cells.get(key):
                refuse(key, "required", N_("{column} is required"), column=key)
        if bad:
            continue

        raw_uid = cells["uid"]
        uid = ""
        try:
            uid = check_card_length(normalise_uid(raw_uid))
            if is_printed_number(raw_uid) and uid not in known.read_uids:
                refuse("uid", "printed_number_not_uid", N_("{uid} is ten decimal digits, as a 125 kHz card's number "
                       "is printed, and no reader here has read it: the old system's UID column must hold the UID"),
                       uid=raw_uid)
        except InvalidUid as exc:
            said = uid_refused(exc, exc.rule)
            refuse("uid", exc.rule, said.template, **said.params)
        if uid:
            if uid in seen_uids:
                refuse("uid", "duplicate_uid_in_file", N_("{uid} is on row {on_row} already"), uid=uid,
                       on_row=seen_uids[uid])
            else:
                seen_uids[uid] = number
            if uid in known.uids:
                refuse("uid", "uid_already_known", N_("the hub has a card {uid} already"), uid=uid)
        printed = cells.get("printed") or None
        if printed and uid:
            try:
                if not print_matches(parse_printed(printed), uid):
                    refuse("printed", "printed_number_mismatch", N_("{printed} is not the printed number of card {uid}"),
                           printed=printed, uid=uid)
            except FormatError as exc:
                refuse("printed", "bad_printed_number", str(exc))

        ctype = TYPE_WORDS.get(cells["card_type"].casefold())
        if ctype is None:
            refuse("card_type", "unknown_card_type", N_("{given!r} is not one of {card_types}"),
                   given=cells["card_type"], card_types=", ".join(t.value for t in CardType))
        status_text = cells.get("status") or "active"
        status = STATUS_WORDS.get(status_text.casefold())
        if status is None:
            refuse("status", "unknown_status", N_("{given!r}: a migrated card is active, suspended, expired, "
                   "lost or revoked"), given=status_text)

        name = " ".join(cells["name"].split())
        unit = cells.get("unit", "").strip().upper() or None
        if ctype in UNIT_TYPES and unit is None:
            refuse("unit", "unit_required", N_("a {card_type} card belongs to a unit"), card_type=type_word(ctype))
        if unit is not None and known.units is not None and unit not in known.units:
            refuse("unit", "unknown_unit", N_("unit {unit} is not in the units register"), unit=unit)

        person_id = _person(cells, name, unit, ctype, known, refuse)
        if person_id is not None:
            name, unit = known.people[person_id][0], known.people[person_id][1] or unit

        valid: dict[str, datetime | None] = {"valid_from": None, "valid_until": None}
        for key in valid:
            text = cells.get(key)
            if text:
                try:
                    valid[key] = when(text, key == "valid_until")
                except _BadDate:
                    refuse(key, "bad_date", N_("{given!r} is not a date (2026-03-01, 2026/3/1, or ISO 8601)"), given=text)
        start, end = valid["valid_from"], valid["valid_until"]
        if start and end and end <= start:
            refuse("valid_until", "validity_reversed", N_("valid_until must be after valid_from"))
        if status in WORKING and ctype in ENDING_TYPES and end is None and not cells.get("valid_until"):
            refuse("valid_until", "validity_end_required", N_("a {card_type} card must have an end"),
                   card_type=type_word(ctype))
        if status in WORKING and end is not None and end <= now:
            refuse("valid_until", "validity_in_past", N_("ended {at}: import it with status expired"), at=end.isoformat())

        amount = None
        receipt = None
        if cells.get("deposit_cents"):
            text = cells["deposit_cents"]
            if not text.isdigit() or int(text) <= 0:
                refuse("deposit_cents", "bad_amount", N_("{given!r}: the deposit is whole fen above 0"), given=text)
            elif ctype is not None and ctype not in DEPOSIT_TYPES:
                refuse("deposit_cents", "deposit_not_taken", N_("a {card_type} card takes no deposit"),
                       card_type=type_word(ctype))
            else:
                amount = int(text)
                receipt = cells.get("deposit_receipt") or (f"IMPORT-{uid}" if uid else None)
                if receipt in seen_receipts:
                    refuse("deposit_receipt", "duplicate_receipt_in_file", N_("receipt {receipt} is on row {on_row} already"),
                           receipt=receipt, on_row=seen_receipts[receipt])
                elif receipt is not None:
                    seen_receipts[receipt] = number
                if receipt in known.receipts:
                    refuse("deposit_receipt", "receipt_no_taken", N_("receipt {receipt} is another deposit's already"),
                           receipt=receipt)

        if bad:
            continue
        assert ctype is not None and status is not None
        out.cards.append(CardRow(
            number, uid, ctype.value, status.value, name, unit, person_id,
            utc_iso(start) if start else None, utc_iso(end) if end else None, amount, receipt, printed))
    return out


def _person(cells: dict[str, str], name: str, unit: str | None, ctype: CardType | None, known: Known,
            refuse: Callable[..., None]) -> int | None:
    """The register's person this card is for: by person_id, else the one person of that
    name in that unit (the phone decides between namesakes); None when nobody matches."""
    text = cells.get("person_id")
    if text:
        if not text.isdigit() or int(text) not in known.people:
            refuse("person_id", "unknown_person", N_("no person {pid} in the register"), pid=text)
            return None
        pid = int(text)
        p_name, p_unit, _ = known.people[pid]
        if _fold(p_name) != _fold(name) or (p_unit and unit and p_unit.upper() != unit):
            refuse("name", "holder_differs_from_person",
                   N_("person {pid} is {name!r} of unit {unit}: not {given!r} of {given_unit}"),
                   pid=pid, name=p_name, unit=p_unit, given=name, given_unit=unit)
            return None
    else:
        found = known.by_unit_name.get(((unit or ""), _fold(name)), [])
        if len(found) > 1 and cells.get("phone"):
            found = [p for p in found if known.phones.get(p) == _digits(cells["phone"])]
        if len(found) != 1:
            return None
        pid = found[0]
    role = known.people[pid][2]
    if ctype in ROLE_BOUND_TYPES and ctype not in TYPES_FOR_ROLE.get(role, frozenset()):
        refuse("card_type", "card_type_not_for_person",
               N_("{name} is registered as {role}: a {card_type} card is not for them"),
               name=known.people[pid][0], role=spoken(role), card_type=spoken(ctype.value))
        return None
    return pid


# --- the write -------------------------------------------------------------------------------


class ImportRefused(Exception):
    """The import found bad rows (or met a card written since the check): nothing was written."""

    def __init__(self, checked: Checked) -> None:
        super().__init__(f"{checked.error_count} problem(s); nothing was imported")
        self.checked = checked


def _no_progress(_stage: str, _n: int) -> None:
    return None


def check_file(store: Store, data: bytes, filename: str, now: datetime | None = None,
               progress: Progress = _no_progress) -> tuple[Table, Checked]:
    """Read and check the file against one read of the database (no lock taken)."""
    progress("reading", 0)
    table = read_table(data, filename)
    with store.read() as db:
        known = load_known(db, printed_like(table))
    checked = check_rows(table, known, now or datetime.now(timezone.utc), progress)
    progress("checking", len(table.rows))
    return table, checked


def write_cards(
    store: Store, who: str, table: Table, filename: str, checked: Checked, import_id: str,
    progress: Progress = _no_progress, now: datetime | None = None,
) -> int:
    """Write every checked card in one transaction: the cards, their move rows and deposits,
    one audit row, and the gates' lists scheduled for re-projection (hub.gates.acl). A card or
    receipt written since the check (the check ran outside the lock) refuses the whole import."""
    if not checked.ok:
        raise ImportRefused(checked)
    at = utc_iso(now)
    # in UID order: the cards' primary key and the moves' uid index then grow at their end
    cards = sorted(checked.cards, key=lambda c: c.uid)
    reason = f"imported from {filename} (import {import_id})"
    # every row made before the lock is taken: the lock is held for the inserts alone
    card_rows = [(c.uid, c.status, c.card_type, c.name, c.unit, c.person_id, c.valid_from, c.valid_until,
                  at, at, at, who) for c in cards]
    move_rows = [(at, c.uid, c.status, who, reason, c.deposit_cents, c.receipt_no,
                  json.dumps({"imported": import_id, "row": c.row, "printed": c.printed,
                              "holder": {"name": c.name, "unit": c.unit, "person_id": c.person_id}}, sort_keys=True))
                 for c in cards]
    has_deposits = any(c.deposit_cents for c in cards)
    audit_detail = {"import_id": import_id, "count": len(cards), "sha256": table.sha256,
                    "by_status": checked.counts()["by_status"]}
    uids = [c.uid for c in cards]
    try:
        with store.tx() as db:
            conn = db.conn
            late = _receipts_taken_since(db, cards)
            if late.error_count:
                raise ImportRefused(late)
            # the moves written below are the ones after this id (the write transaction is the only writer)
            moves_before = conn.execute("SELECT COALESCE(MAX(id), 0) FROM card_moves").fetchone()[0]
            for i in range(0, len(cards), WRITE_STEP):
                # a UID another writer took since the check fails the cards' primary key: all rolled back
                conn.executemany(
                    "INSERT INTO cards (uid, status, card_type, holder_name, holder_unit, person_id, valid_from, "
                    "valid_until, created_at, updated_at, issued_at, issued_by) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    card_rows[i:i + WRITE_STEP])
                conn.executemany(
                    "INSERT INTO card_moves (at, uid, move, from_status, to_status, who, reason, amount_cents, "
                    "receipt_no, detail) VALUES (?,?,'issue',NULL,?,?,?,?,?,?)", move_rows[i:i + WRITE_STEP])
                progress("writing", min(i + WRITE_STEP, len(cards)))
            if has_deposits:  # each deposit against its card's move, from the moves just written
                conn.execute(
                    "INSERT INTO card_deposits (uid, amount_cents, receipt_no, paid_at, paid_move_id) "
                    "SELECT uid, amount_cents, receipt_no, at, id FROM card_moves WHERE id > ? AND amount_cents > 0",
                    [moves_before])
            audit.record(db, who, "import", "cards", filename, None, **audit_detail)
            acl.schedule_reproject(db, uids)
    except sqlite3.IntegrityError:
        with store.read() as db:
            late = _uids_taken_since(db, cards)
        if not late.error_count:
            raise
        raise ImportRefused(late) from None
    return len(cards)


def _receipts_taken_since(db: sqlite_utils.Database, cards: list[CardRow]) -> Checked:
    """Inside the write: receipts another writer took since the check (a small table)."""
    late = Checked(rows=len(cards))
    receipts = {c.receipt_no: c.row for c in cards if c.receipt_no}
    if receipts:
        for receipt, in db.execute("SELECT receipt_no FROM card_deposits"):
            if receipt in receipts:
                late.refuse(receipts[receipt], "deposit_receipt", "receipt_no_taken",
                            N_("receipt {receipt} was taken since the check"), receipt=receipt)
    return late


def _uids_taken_since(db: sqlite_utils.Database, cards: list[CardRow]) -> Checked:
    """After a refused write: the UIDs another writer took since the check."""
    late = Checked(rows=len(cards))
    mine = {c.uid: c.row for c in cards}
    for uid, in db.execute("SELECT uid FROM cards"):
        if uid in mine:
            late.refuse(mine[uid], "uid", "uid_already_known", N_("card {uid} was written since the check"), uid=uid)
    return late

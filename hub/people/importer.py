"""Bulk import of units and people from CSV or XLSX: all rows or none.

Every row goes through the same input model and the same insert as a single form, inside
one transaction that is rolled back unless every row passed (and always on a dry run), so
a dry run reports exactly what a real run would do. Errors name the row as a spreadsheet
shows it (the header is row 1, the first data row is row 2) and the column by its header.

A file is untrusted input that costs CPU: the route runs the import in a worker thread (never
on the event loop), reading stops at the first row past MAX_ROWS, and an XLSX (a zip) is
refused before it is opened if its parts would unpack past MAX_PART_BYTES / MAX_UNPACKED_BYTES.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
import zlib
from xml.etree import ElementTree
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable, Iterator

import sqlite_utils
from pydantic import BaseModel, ValidationError

from hub import audit
from hub.db import Store
from hub.errors import BadInput, DomainError
from hub.i18n.validation import N_, explained
from hub.people.registry import PersonIn, UnitIn, insert_person, insert_unit

MB = 1024 * 1024
MAX_ROWS = 20_000
MAX_BYTES = 5 * MB
#: an XLSX is a zip: what it may unpack to (20,000 rows of a dozen columns is well under this)
MAX_UNPACKED_BYTES = 64 * MB
MAX_PART_BYTES = 32 * MB
MAX_ZIP_ENTRIES = 200

KINDS: dict[str, tuple[type[BaseModel], Callable[[sqlite_utils.Database, str, Any], Any]]] = {
    "units": (UnitIn, insert_unit),
    "people": (PersonIn, insert_person),
}


@dataclass
class RowError:
    """A bad row. ``message`` is English; ``said`` gives it in the reader's language from what
    made it: a template and its values, a domain error, or a pydantic error."""

    row: int
    column: str | None
    message: str
    template: str = field(default="", repr=False, compare=False)
    params: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    cause: DomainError | dict[str, Any] | None = field(default=None, repr=False, compare=False)

    def said(self, say: Callable[[str], str]) -> dict[str, Any]:
        message = self.message
        if isinstance(self.cause, DomainError):
            message = self.cause.in_language(say)
        elif isinstance(self.cause, dict):
            message = explained(self.column or "", self.cause, say)[1]
        elif self.template:
            try:
                message = say(self.template).format(**self.params)
            except (KeyError, IndexError, ValueError):
                pass
        return {"row": self.row, "column": self.column, "message": message}


@dataclass
class ImportReport:
    kind: str
    dry_run: bool
    rows: int = 0
    created: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, say: Callable[[str], str] = str) -> dict[str, Any]:
        """The report as answered, its messages through ``say`` (the reader's gettext)."""
        return {"kind": self.kind, "dry_run": self.dry_run, "ok": self.ok, "rows": self.rows,
                "created": self.created if self.ok and not self.dry_run else 0,
                "would_create": self.created if self.ok else 0,
                "errors": [e.said(say) for e in self.errors]}


class _Abandon(Exception):
    """Rolls the import's transaction back."""


def _cell(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, datetime):
        value = value.date() if value.time() == datetime.min.time() else value
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()
    return text or None


def _check_zip(data: bytes) -> None:
    """Refuse an XLSX whose parts would inflate past the caps, before openpyxl opens it.

    The sizes a zip declares bound what zipfile will inflate (it stops at the declared size
    and fails on a mismatch), so checking them bounds the memory and time of the parse.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            entries = zf.infolist()
    except (zipfile.BadZipFile, ValueError, OSError):
        raise BadInput("the XLSX file cannot be read: it is not a sound zip file", field="file") from None
    if len(entries) > MAX_ZIP_ENTRIES:
        raise BadInput("the XLSX file has more than {parts} parts", field="file", rule="file_too_large",
                       parts=MAX_ZIP_ENTRIES)
    total = 0
    for entry in entries:
        if entry.file_size > MAX_PART_BYTES:
            raise BadInput("the XLSX file's {part} would be larger than {mb} MB unpacked; split the file",
                           field="file", rule="file_too_large", part=entry.filename, mb=MAX_PART_BYTES // MB)
        total += entry.file_size
    if total > MAX_UNPACKED_BYTES:
        raise BadInput("the XLSX file would be larger than {mb} MB unpacked; split the file",
                       field="file", rule="file_too_large", mb=MAX_UNPACKED_BYTES // MB)


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_SHEET_PART = re.compile(r"^xl/worksheets/[^/]+\.xml$")


def _count_sheet_rows(data: bytes) -> None:
    """Refuse a sheet with more than MAX_ROWS rows of values, reading no further than that.

    openpyxl, asked for a sheet's first rows, first looks for its <dimension> and, in a file
    without one, parses the whole sheet to find it: a million-row sheet costs seconds before
    the first row. So the rows are counted here first, on the sheet's XML as it inflates,
    stopping at the first row past the limit.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        for entry in zf.infolist():
            if not _SHEET_PART.match(entry.filename):
                continue
            rows = 0
            with zf.open(entry) as xml:
                try:
                    for _event, element in ElementTree.iterparse(xml, events=("end",)):
                        if element.tag != _SHEET_NS + "row":
                            continue
                        if any(c.find(_SHEET_NS + "v") is not None or c.find(_SHEET_NS + "is") is not None
                               for c in element):
                            rows += 1
                            if rows > MAX_ROWS + 1:  # the header and MAX_ROWS rows
                                raise BadInput("more than {rows} rows; split the file", field="file",
                                               rule="too_many_rows", rows=MAX_ROWS)
                        element.clear()
                except ElementTree.ParseError:
                    raise BadInput("the XLSX file cannot be read: a sheet is not sound XML", field="file") from None
                except (zipfile.BadZipFile, zlib.error, EOFError):
                    raise BadInput("the XLSX file cannot be read: it is not a sound zip file", field="file") from None


def _xlsx_lines(data: bytes) -> Iterator[list[Any]]:
    if not data.startswith(b"PK\x03\x04"):
        raise BadInput("this is not an XLSX file", field="file")
    _check_zip(data)
    _count_sheet_rows(data)
    from openpyxl import load_workbook

    try:
        wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a broken file
        raise BadInput("the XLSX file cannot be read: {why}", field="file", why=type(exc).__name__) from None
    try:
        # read-only mode parses the sheet as it is iterated, so stopping early stops the work
        for row in wb.worksheets[0].iter_rows(values_only=True):
            yield list(row)
    except BadInput:
        raise
    except Exception as exc:
        raise BadInput("the XLSX file cannot be read: {why}", field="file", why=type(exc).__name__) from None
    finally:
        wb.close()


def _csv_lines(data: bytes) -> Iterator[list[Any]]:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadInput("the CSV file is not UTF-8", field="file") from None
    try:
        yield from csv.reader(io.StringIO(text))
    except csv.Error as exc:
        raise BadInput("the CSV file cannot be read: {why}", field="file", why=str(exc)) from None


def read_rows(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """Header and (row number, row) pairs from a CSV (UTF-8) or XLSX file.

    Rows are read one at a time and reading stops at the first row past MAX_ROWS, so a file
    of a million rows costs no more than one just over the limit.
    """
    if len(data) > MAX_BYTES:
        raise BadInput("the file is larger than {mb} MB", field="file", rule="file_too_large", mb=MAX_BYTES // MB)
    name = filename.lower()
    if name.endswith(".xlsx"):
        lines = _xlsx_lines(data)
    elif name.endswith(".csv"):
        lines = _csv_lines(data)
    else:
        raise BadInput("the file must be .csv or .xlsx", field="file")
    try:
        first = next(lines, None)
        if first is None:
            raise BadInput("the file is empty", field="file")
        header = [(_cell(h) or "").lower() for h in first]
        rows = []
        for number, line in enumerate(lines, start=2):
            cells = [_cell(v) for v in line]
            if not any(cells):
                continue  # blank lines in spreadsheets are common and mean nothing
            if len(rows) == MAX_ROWS:
                raise BadInput("more than {rows} rows; split the file", field="file", rule="too_many_rows", rows=MAX_ROWS)
            rows.append((number, {header[i]: v for i, v in enumerate(cells) if i < len(header) and header[i]}))
    finally:
        lines.close()
    return header, rows


def run_import(store: Store, who: str, kind: str, data: bytes, filename: str, dry_run: bool = True) -> ImportReport:
    if kind not in KINDS:
        raise BadInput("kind must be one of {kinds}", field="kind", kinds=", ".join(KINDS))
    model, insert = KINDS[kind]
    report = ImportReport(kind, dry_run)
    header, rows = read_rows(data, filename)
    report.rows = len(rows)
    known = set(model.model_fields)
    for col in header:
        if col and col not in known:
            columns = ", ".join(model.model_fields)
            report.errors.append(RowError(1, col, f"unknown column; the columns are {columns}",
                                          N_("unknown column; the columns are {columns}"), {"columns": columns}))
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    for col in required:
        if col not in header:
            report.errors.append(RowError(1, col, "required column missing", N_("required column missing")))
    if report.errors:
        return report
    try:
        with store.tx() as db:
            for number, row in rows:
                values = {k: v for k, v in row.items() if v is not None}
                try:
                    item = model.model_validate(values)
                except ValidationError as exc:
                    for err in exc.errors():
                        col = str(err["loc"][0]) if err["loc"] else None
                        report.errors.append(RowError(number, col, err["msg"], cause=dict(err)))
                    continue
                try:
                    insert(db, who, item)
                    report.created += 1
                except DomainError as exc:
                    report.errors.append(RowError(number, exc.field, exc.detail, cause=exc))
            if report.errors or dry_run:
                raise _Abandon()
            audit.record(db, who, "import", kind, filename, rows=report.rows, created=report.created)
    except _Abandon:
        pass
    return report

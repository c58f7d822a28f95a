"""Bulk import of units and people from CSV or XLSX: all rows or none.

Every row goes through the same input model and the same insert as a single form, inside
one transaction that is rolled back unless every row passed (and always on a dry run), so
a dry run reports exactly what a real run would do. Errors name the row as a spreadsheet
shows it (the header is row 1, the first data row is row 2) and the column by its header.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Callable

import sqlite_utils
from pydantic import BaseModel, ValidationError

from hub import audit
from hub.db import Store
from hub.errors import BadInput, DomainError
from hub.people.registry import PersonIn, UnitIn, insert_person, insert_unit

MAX_ROWS = 20_000
MAX_BYTES = 5 * 1024 * 1024

KINDS: dict[str, tuple[type[BaseModel], Callable[[sqlite_utils.Database, str, Any], Any]]] = {
    "units": (UnitIn, insert_unit),
    "people": (PersonIn, insert_person),
}


@dataclass
class RowError:
    row: int
    column: str | None
    message: str


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

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "dry_run": self.dry_run, "ok": self.ok, "rows": self.rows,
                "created": self.created if self.ok and not self.dry_run else 0,
                "would_create": self.created if self.ok else 0,
                "errors": [e.__dict__ for e in self.errors]}


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


def read_rows(data: bytes, filename: str) -> tuple[list[str], list[tuple[int, dict[str, str | None]]]]:
    """Header and (row number, row) pairs from a CSV (UTF-8) or XLSX file."""
    if len(data) > MAX_BYTES:
        raise BadInput(f"the file is larger than {MAX_BYTES // 1024 // 1024} MB", field="file")
    name = filename.lower()
    if name.endswith(".xlsx"):
        if not data.startswith(b"PK\x03\x04"):
            raise BadInput("this is not an XLSX file", field="file")
        from openpyxl import load_workbook

        try:
            wb = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a broken file
            raise BadInput(f"the XLSX file cannot be read: {type(exc).__name__}", field="file") from None
        lines = [list(r) for r in wb.worksheets[0].iter_rows(values_only=True)]
        wb.close()
    elif name.endswith(".csv"):
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise BadInput("the CSV file is not UTF-8", field="file") from None
        lines = [list(r) for r in csv.reader(io.StringIO(text))]
    else:
        raise BadInput("the file must be .csv or .xlsx", field="file")
    if not lines:
        raise BadInput("the file is empty", field="file")
    header = [(_cell(h) or "").lower() for h in lines[0]]
    rows = []
    for number, line in enumerate(lines[1:], start=2):
        cells = [_cell(v) for v in line]
        if not any(cells):
            continue  # blank lines in spreadsheets are common and mean nothing
        rows.append((number, {header[i]: v for i, v in enumerate(cells) if i < len(header) and header[i]}))
        if len(rows) > MAX_ROWS:
            raise BadInput(f"more than {MAX_ROWS} rows; split the file", field="file")
    return header, rows


def run_import(store: Store, who: str, kind: str, data: bytes, filename: str, dry_run: bool = True) -> ImportReport:
    if kind not in KINDS:
        raise BadInput(f"kind must be one of {', '.join(KINDS)}", field="kind")
    model, insert = KINDS[kind]
    report = ImportReport(kind, dry_run)
    header, rows = read_rows(data, filename)
    report.rows = len(rows)
    known = set(model.model_fields)
    for col in header:
        if col and col not in known:
            report.errors.append(RowError(1, col, f"unknown column; the columns are {', '.join(model.model_fields)}"))
    required = [n for n, f in model.model_fields.items() if f.is_required()]
    for col in required:
        if col not in header:
            report.errors.append(RowError(1, col, "required column missing"))
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
                        report.errors.append(RowError(number, col, err["msg"]))
                    continue
                try:
                    insert(db, who, item)
                    report.created += 1
                except DomainError as exc:
                    report.errors.append(RowError(number, exc.field, exc.detail))
            if report.errors or dry_run:
                raise _Abandon()
            audit.record(db, who, "import", kind, filename, rows=report.rows, created=report.created)
    except _Abandon:
        pass
    return report

"""The fee position from the estate's finance system: a CSV or XLSX of unit, amount owed and
as-of date, imported all or nothing, after a dry run.

The file is read by the people importer's reader (hub.people.importer.read_rows: UTF-8 CSV
or XLSX, size and row caps, zip bombs refused), so it is bounded the same way. Every row is
checked (the unit in the register, the amount a non-negative sum in yuan with at most two
decimals, the date a real day not after today, each unit once); one bad row refuses the whole
file and nothing changes. A dry run reports what would be applied and changes nothing. An
applied file replaces the position of every unit it names; a unit it does not name keeps
its last one (with its own as-of date, which the slip shows).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Callable

from hub import audit
from hub.db import Store
from hub.errors import BadInput
from hub.i18n.validation import N_
from hub.people.importer import read_rows
from hub.visitors.models import utc

#: a column's accepted headings (lower-cased), the finance system's Chinese ones included
COLUMNS: dict[str, tuple[str, ...]] = {
    "unit": ("unit", "房号", "单元", "房屋编号", "單元", "房號"),
    "amount_owed": ("amount_owed", "owed", "欠费金额", "欠费", "欠費金額", "欠費"),
    "as_of": ("as_of", "截止日期", "日期", "截止日"),
}
MAX_CENTS = 10_000_000_000  # 100 million yuan: a typing error, not a household's fees


@dataclass
class RowError:
    row: int
    column: str | None
    rule: str
    template: str
    params: dict[str, Any] = field(default_factory=dict)

    def said(self, say: Callable[[str], str]) -> dict[str, Any]:
        try:
            detail = say(self.template).format(**self.params)
        except (KeyError, IndexError, ValueError):
            detail = self.template.format(**self.params)
        return {"row": self.row, "column": self.column, "rule": self.rule, "detail": detail}


@dataclass
class FeeReport:
    dry_run: bool
    rows: int = 0
    owing: int = 0
    owed_cents: int = 0
    errors: list[RowError] = field(default_factory=list)
    applied: bool = False
    import_id: int | None = None

    @property
    def ok(self) -> bool:
        return not self.errors

    def as_dict(self, say: Callable[[str], str] = str) -> dict[str, Any]:
        return {"dry_run": self.dry_run, "ok": self.ok, "rows": self.rows, "units": self.rows if self.ok else 0,
                "owing": self.owing, "owed_yuan": f"{self.owed_cents / 100:.2f}", "applied": self.applied,
                "import_id": self.import_id, "errors": [e.said(say) for e in self.errors]}


def _column_map(header: list[str]) -> tuple[dict[str, str], list[RowError]]:
    """{our column: the file's heading}, and the headings' problems."""
    found: dict[str, str] = {}
    errors: list[RowError] = []
    for ours, names in COLUMNS.items():
        hit = [h for h in header if h in names]
        if not hit:
            errors.append(RowError(1, ours, "column_missing", N_("required column {column} missing"),
                                   {"column": ours}))
        else:
            found[ours] = hit[0]
    return found, errors


def cents_of(text: str) -> int:
    """Yuan as written (``1,234.50``, ``¥80``) to cents; ValueError for anything else."""
    cleaned = text.replace(",", "").replace("¥", "").replace("￥", "").strip()
    try:
        amount = Decimal(cleaned)
    except InvalidOperation:
        raise ValueError(text) from None
    if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
        raise ValueError(text)
    return int(amount * 100)


def check_rows(units: set[str], header: list[str], rows: list[tuple[int, dict[str, str | None]]],
               today: date) -> tuple[list[tuple[str, int, str]], list[RowError]]:
    """The positions a file gives ([(unit, cents, as_of)]) and every problem in it."""
    cols, errors = _column_map(header)
    if errors:
        return [], errors
    seen: dict[str, int] = {}
    out: list[tuple[str, int, str]] = []
    for number, row in rows:
        unit = (row.get(cols["unit"]) or "").strip().upper()
        amount = row.get(cols["amount_owed"]) or ""
        as_of = (row.get(cols["as_of"]) or "").strip()
        bad = len(errors)
        if not unit:
            errors.append(RowError(number, "unit", "unit_required", N_("the unit is missing")))
        elif unit not in units:
            errors.append(RowError(number, "unit", "unknown_unit", N_("unit {unit} is not in the units register"),
                                   {"unit": unit}))
        elif unit in seen:
            errors.append(RowError(number, "unit", "duplicate_unit", N_("unit {unit} is also on row {other}"),
                                   {"unit": unit, "other": seen[unit]}))
        try:
            cents = cents_of(amount)
            if cents > MAX_CENTS:
                raise ValueError(amount)
        except ValueError:
            cents = 0
            errors.append(RowError(number, "amount_owed", "bad_amount",
                                   N_("{amount} is not an amount in yuan (0 or more, at most 2 decimals)"),
                                   {"amount": amount or "-"}))
        try:
            day = date.fromisoformat(as_of[:10]) if len(as_of) >= 10 else date.fromisoformat(as_of)
            if day > today:
                errors.append(RowError(number, "as_of", "as_of_in_future", N_("the date {day} is after today"),
                                       {"day": day.isoformat()}))
        except ValueError:
            day = None
            errors.append(RowError(number, "as_of", "bad_date", N_("{day} is not a date (YYYY-MM-DD)"),
                                   {"day": as_of or "-"}))
        if unit:
            seen.setdefault(unit, number)
        if len(errors) == bad and day is not None:
            out.append((unit, cents, day.isoformat()))
    return out, errors


def run_import(store: Store, who: str, data: bytes, filename: str, today: date, now: datetime,
               dry_run: bool = True) -> FeeReport:
    report = FeeReport(dry_run=dry_run)
    header, rows = read_rows(data, filename)
    report.rows = len(rows)
    if not rows:
        raise BadInput("the file has no rows", rule="file_empty", field="file")
    with store.read() as db:
        units = {r[0] for r in db.execute("SELECT code FROM units")}
    positions, report.errors = check_rows(units, header, rows, today)
    report.owing = sum(1 for _, cents, _ in positions if cents > 0)
    report.owed_cents = sum(cents for _, cents, _ in positions)
    if report.errors or dry_run:
        return report
    with store.tx() as db:
        units = {r[0] for r in db.execute("SELECT code FROM units")}
        gone = sorted({u for u, _, _ in positions} - units)
        if gone:  # a unit removed between the check and now: the whole file again
            raise BadInput("unit {unit} is not in the units register", rule="unknown_unit", field="file", unit=gone[0])
        at = utc(now)
        import_id = db["fee_imports"].insert({"at": at, "by": who, "filename": filename[:200], "rows": len(positions),
                                              "owing": report.owing}).last_pk
        db.conn.executemany(
            "INSERT INTO fee_positions (unit, owed_cents, as_of, imported_at, import_id) VALUES (?, ?, ?, ?, ?)"
            " ON CONFLICT (unit) DO UPDATE SET owed_cents = excluded.owed_cents, as_of = excluded.as_of,"
            " imported_at = excluded.imported_at, import_id = excluded.import_id",
            [(u, c, d, at, import_id) for u, c, d in positions])
        audit.record(db, who, "fee_import", "fee_import", str(import_id), filename=filename[:200],
                     rows=len(positions), owing=report.owing, owed_cents=report.owed_cents)
    report.applied = True
    report.import_id = import_id
    return report


def position(db: Any, unit: str, today: date) -> dict[str, Any] | None:
    row = db.execute("SELECT unit, owed_cents, as_of, imported_at FROM fee_positions WHERE unit = ?", [unit]).fetchone()
    if row is None:
        return None
    return {"unit": row[0], "owed_cents": row[1], "as_of": row[2], "imported_at": row[3],
            "age_days": (today - date.fromisoformat(row[2])).days}

"""The monthly card inventory report: per card type, opening, purchased, returned to stock,
personalised (made), scrapped, adjusted (approved stocktake differences) and closing; due by
the 5th of the next month.

Opening and closing are each the sum of the whole ledger up to the month's bounds, and the
movements are summed within the month, so "balanced" is a real check (the three sums are
independent queries), not an identity. Month bounds are in the estate's timezone.

Filing freezes the numbers as they were sent. Filing the same month again is a correction
and counts, with late filings, towards the estate's limit of late or wrong reports a year.
A month that ended before the card centre's first record (its first stock entry or card
move) is ``before_records``: a fresh install owes no report for the months before it.
A filed month is closed: nothing may be booked into it, or into a month before it, after
the fact (``refuse_if_filed``).
"""

from __future__ import annotations

import json
import re
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, time, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from hub import audit
from hub.db import Store
from hub.errors import BadInput, RuleViolation
from hub.stock.ledger import Kind, utc_iso
from protocols.cards import CardType

SCHEMA = """
CREATE TABLE IF NOT EXISTS stock_reports (
    id INTEGER PRIMARY KEY,
    month TEXT NOT NULL,
    revision INTEGER NOT NULL,
    filed_at TEXT NOT NULL,
    filed_by TEXT NOT NULL,
    late INTEGER NOT NULL,
    snapshot TEXT NOT NULL,
    note TEXT,
    UNIQUE (month, revision)
);
"""

DUE_DAY = 5
#: the estate's limit of late or wrong monthly reports in a year
MAX_LATE_OR_WRONG_A_YEAR = 2
COLUMNS = ("card_type", "opening", "purchased", "returned", "personalised", "scrapped", "adjusted", "closing",
           "retired")
MONTH = re.compile(r"[0-9]{4}-[0-9]{2}")


@dataclass
class Row:
    card_type: str
    opening: int = 0
    purchased: int = 0
    returned: int = 0
    personalised: int = 0
    scrapped: int = 0
    #: approved stocktake differences (signed: + cards found, - cards missing)
    adjusted: int = 0
    closing: int = 0
    #: cards already out of stock (a holder's damaged card) destroyed this month: not stock
    retired: int = 0

    @property
    def balanced(self) -> bool:
        return self.closing == (self.opening + self.purchased + self.returned - self.personalised - self.scrapped
                                + self.adjusted)


@dataclass
class MonthlyReport:
    month: str
    timezone: str
    rows: list[Row]
    total: Row
    due: date
    status: str  # before_records, open, due, late, filed, filed_late
    filed_at: str | None = None
    filed_by: str | None = None
    revision: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def balanced(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict:
        return {
            "month": self.month,
            "timezone": self.timezone,
            "rows": [asdict(r) for r in self.rows],
            "total": asdict(self.total),
            "balanced": self.balanced,
            "problems": self.problems,
            "due": self.due.isoformat(),
            "status": self.status,
            "late": self.status in ("late", "filed_late"),
            "filed_at": self.filed_at,
            "filed_by": self.filed_by,
            "revision": self.revision,
        }


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadInput("unknown timezone {value}", field="tz", value=repr(name)) from None


def parse_month(text: str, field: str = "month") -> tuple[int, int]:
    """``YYYY-MM`` only: ``2026-1`` or ``2026-001`` would be the same month typed two ways."""
    try:
        if not isinstance(text, str) or not MONTH.fullmatch(text):
            raise ValueError(text)
        year, month = (int(p) for p in text.split("-"))
        date(year, month, 1)
        if not 2000 <= year <= 2200:
            raise ValueError(year)
    except (ValueError, TypeError):
        raise BadInput("{what} must be YYYY-MM (four-digit year, two-digit month), not {value}",
                       field=field, what=field, value=repr(text)) from None
    return year, month


def _next(year: int, month: int) -> tuple[int, int]:
    return (year + 1, 1) if month == 12 else (year, month + 1)


def bounds(year: int, month: int, tz: ZoneInfo) -> tuple[str, str]:
    """The month as [start, end) instants in the ledger's text form."""
    ny, nm = _next(year, month)
    start = datetime.combine(date(year, month, 1), time(0), tz)
    end = datetime.combine(date(ny, nm, 1), time(0), tz)
    return utc_iso(start), utc_iso(end)


def due_date(year: int, month: int) -> date:
    ny, nm = _next(year, month)
    return date(ny, nm, DUE_DAY)


def _filings(db: sqlite_utils.Database, month: str) -> list[dict]:
    return list(db.query("SELECT * FROM stock_reports WHERE month = ? ORDER BY revision", [month]))


def compute(db: sqlite_utils.Database, year: int, month: int, tz_name: str = "UTC", now: datetime | None = None) -> MonthlyReport:
    """The report of a month from the ledger as it stands."""
    tz = zone(tz_name)
    now = now or datetime.now(timezone.utc)
    start, end = bounds(year, month, tz)
    opening = {r["card_type"]: r["n"] for r in db.query(
        "SELECT card_type, SUM(delta) AS n FROM stock_ledger WHERE at < ? GROUP BY card_type", [start])}
    closing = {r["card_type"]: r["n"] for r in db.query(
        "SELECT card_type, SUM(delta) AS n FROM stock_ledger WHERE at < ? GROUP BY card_type", [end])}
    moved: dict[str, dict[str, int]] = {}
    for r in db.query(
        "SELECT card_type, kind, SUM(qty) AS n FROM stock_ledger WHERE at >= ? AND at < ? GROUP BY card_type, kind",
        [start, end],
    ):
        moved.setdefault(r["card_type"], {})[r["kind"]] = r["n"]
    adjusted = {r["card_type"]: r["n"] for r in db.query(
        "SELECT card_type, SUM(delta) AS n FROM stock_ledger WHERE kind = ? AND at >= ? AND at < ? GROUP BY card_type",
        [Kind.ADJUSTED.value, start, end])}
    types = [t.value for t in CardType if t.value in opening or t.value in closing or t.value in moved]
    rows: list[Row] = []
    for t in types:
        m = moved.get(t, {})
        rows.append(
            Row(
                card_type=t,
                opening=opening.get(t, 0),
                purchased=m.get(Kind.PURCHASED, 0),
                returned=m.get(Kind.RETURNED, 0),
                personalised=m.get(Kind.PERSONALISED, 0),
                scrapped=m.get(Kind.SCRAPPED, 0),
                adjusted=adjusted.get(t, 0),
                closing=closing.get(t, 0),
                retired=m.get(Kind.RETIRED, 0),
            )
        )
    total = Row("total")
    for r in rows:
        for c in COLUMNS[1:]:
            setattr(total, c, getattr(total, c) + getattr(r, c))
    problems = [f"{r.card_type}: closing {r.closing} is not opening + purchased + returned - personalised - scrapped"
                f" + adjusted"
                for r in rows if not r.balanced]
    problems += [f"{r.card_type}: closing stock is negative ({r.closing}): cards were made that were never delivered"
                 for r in rows if r.closing < 0]
    report = MonthlyReport(f"{year:04d}-{month:02d}", tz_name, rows, total, due_date(year, month), "open",
                           problems=problems)
    _set_status(db, report, year, month, tz_name, now)
    return report


def _set_status(db: sqlite_utils.Database, report: MonthlyReport, year: int, month: int, tz_name: str,
                now: datetime) -> None:
    """A month's filing state (status, revision, who filed it): from the filings and the
    calendar alone, so the year's summary need not add up the ledger twelve times."""
    tz = zone(tz_name)
    _, end = bounds(year, month, tz)
    due = report.due
    filings = _filings(db, report.month)
    today = now.astimezone(tz).date()
    if filings:
        last = filings[-1]
        first = filings[0]
        report.filed_at, report.filed_by, report.revision = last["filed_at"], last["filed_by"], last["revision"]
        report.status = "filed_late" if first["late"] else "filed"
    elif _before_records(db, end):
        report.status = "before_records"
    elif today > due:
        report.status = "late"
    elif today >= date(*_next(year, month), 1):
        report.status = "due"


def first_record(db: sqlite_utils.Database) -> str | None:
    """When the card centre's books begin: its first stock entry or card move, whichever is
    first (both are kept from install, so a month before this is one the hub never saw)."""
    rows = list(db.query(
        "SELECT MIN(at) AS at FROM (SELECT MIN(at) AS at FROM stock_ledger UNION ALL SELECT MIN(at) FROM card_moves)"))
    return rows[0]["at"] if rows else None


def _before_records(db: sqlite_utils.Database, end: str) -> bool:
    first = first_record(db)
    return first is None or end <= first


def month_of(at: datetime, tz_name: str) -> str:
    """The estate's month an instant falls in, as YYYY-MM."""
    return at.astimezone(zone(tz_name)).strftime("%Y-%m")


def refuse_if_filed(db: sqlite_utils.Database, at: datetime, tz_name: str) -> None:
    """Refuse to book anything at ``at`` when its month, or a later one, has been filed: the
    filed numbers (a later month's opening included) would no longer be true."""
    month = month_of(at, tz_name)
    rows = list(db.query("SELECT MIN(month) AS m FROM stock_reports WHERE month >= ?", [month]))
    if rows and rows[0]["m"]:
        raise RuleViolation(
            "{filed} has been filed; nothing can be booked in {month} any more", rule="month_filed", field="at",
            filed=rows[0]["m"], month=month)


def file_report(
    store: Store, who: str, year: int, month: int, tz_name: str = "UTC", note: str | None = None,
    now: datetime | None = None,
) -> MonthlyReport:
    """File (or correct) a month's report; only a finished month, and only if it balances."""
    now = now or datetime.now(timezone.utc)
    tz = zone(tz_name)
    with store.tx() as db:
        report = compute(db, year, month, tz_name, now)
        if now.astimezone(tz).date() < date(*_next(year, month), 1):
            raise RuleViolation("{month} is not over yet", rule="month_not_over", month=report.month)
        if not report.balanced:
            raise RuleViolation("the report does not balance: {problems}", rule="report_unbalanced",
                                problems="; ".join(report.problems))
        revision = report.revision + 1
        late = now.astimezone(tz).date() > report.due
        if revision > 1 and not (note or "").strip():
            raise BadInput("a correction needs a note saying what was wrong", field="note", rule="reason_required")
        db["stock_reports"].insert(
            {
                "month": report.month,
                "revision": revision,
                "filed_at": utc_iso(now),
                "filed_by": who,
                "late": int(late),
                "snapshot": json.dumps(report.as_dict(), sort_keys=True),
                "note": note,
            }
        )
        audit.record(db, who, "stock_report_filed", "stock_report", report.month, note, revision=revision, late=late)
        return compute(db, year, month, tz_name, now)


def late_or_wrong(db: sqlite_utils.Database, year: int, tz_name: str = "UTC", now: datetime | None = None) -> dict:
    """The year's count of late and corrected reports, against the estate's limit."""
    now = now or datetime.now(timezone.utc)
    late, corrected, missing = [], [], []
    for m in range(1, 13):
        r = MonthlyReport(f"{year:04d}-{m:02d}", tz_name, [], Row("total"), due_date(year, m), "open")
        _set_status(db, r, year, m, tz_name, now)
        if r.status in ("late", "filed_late"):
            (missing if r.status == "late" else late).append(r.month)
        if r.revision > 1:
            corrected.append(r.month)
    count = len(late) + len(missing) + len(corrected)
    return {"year": year, "filed_late": late, "not_filed_past_due": missing, "corrected": corrected,
            "count": count, "limit": MAX_LATE_OR_WRONG_A_YEAR, "within_limit": count <= MAX_LATE_OR_WRONG_A_YEAR}

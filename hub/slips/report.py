"""The month's figures of release slips and violations, as JSON, CSV and XLSX.

``figures(db, month)`` gives ``[(key, heading msgid, value)]`` rows: the monthly pages join
them with the permits' figures (hub.permits) into one table; ``to_csv`` and ``to_xlsx``
write any such rows with headings in the reader's language.
"""

from __future__ import annotations

from typing import Any, Callable

import sqlite_utils

from hub.i18n.validation import N_
from hub.violations import service as violations
from hub.violations.models import CATEGORIES, CATEGORY_NAMES
from hub.web.downloads import Sheet, csv_bytes, xlsx_bytes

Row = tuple[str, str, Any]
Say = Callable[[str], str]

NAMES = {
    "slips": N_("Release slips issued"),
    "slips_goods": N_("Release slips for goods"),
    "slips_move_out": N_("Release slips for moving out"),
    "slips_used": N_("Release slips used at a gate"),
    "slips_cancelled": N_("Release slips cancelled"),
    "slips_fee_overrides": N_("Move-outs past owed fees (manager's override)"),
    "violations": N_("Violations"),
    "violations_general": N_("General violations"),
    "violations_major": N_("Major violations"),
    "violations_handled": N_("Violations handled"),
    "violation_rate": N_("Violation rate (% of households)"),
    "households": N_("Households"),
}
CATEGORY_ROW = N_("Violations: {category}")


def slip_figures(db: sqlite_utils.Database, month: str) -> list[Row]:
    violations.check_month(month)
    r = db.execute(
        "SELECT COUNT(*), COALESCE(SUM(kind = 'goods'), 0), COALESCE(SUM(kind = 'move_out'), 0),"
        " COALESCE(SUM(used_at IS NOT NULL), 0), COALESCE(SUM(cancelled_at IS NOT NULL), 0),"
        " COALESCE(SUM(override_reason IS NOT NULL), 0) FROM slips WHERE month = ?", [month]).fetchone()
    keys = ("slips", "slips_goods", "slips_move_out", "slips_used", "slips_cancelled", "slips_fee_overrides")
    return [(k, NAMES[k], r[i]) for i, k in enumerate(keys)]


def violation_figures(db: sqlite_utils.Database, month: str) -> list[Row]:
    f = violations.figures(db, month)
    rows: list[Row] = [
        ("violations", NAMES["violations"], f["count"]),
        ("violations_general", NAMES["violations_general"], f["by_level"].get("general", 0)),
        ("violations_major", NAMES["violations_major"], f["by_level"].get("major", 0)),
        ("violations_handled", NAMES["violations_handled"], f["handled"]),
        ("households", NAMES["households"], f["households"]),
        ("violation_rate", NAMES["violation_rate"], f["rate_percent"] if f["rate_percent"] is not None else ""),
    ]
    by_cat = {c: 0 for c in CATEGORIES}
    for kind, n in f["by_kind"].items():
        for cat, kinds in CATEGORIES.items():
            if kind in kinds:
                by_cat[cat] += n
    for cat, n in by_cat.items():
        rows.append((f"violations_{cat}", CATEGORY_ROW, n))
    return rows


def figures(db: sqlite_utils.Database, month: str) -> list[Row]:
    """The month's slips and violations: what the monthly pages join with the permits'."""
    return slip_figures(db, month) + violation_figures(db, month)


def _heading(key: str, name: str, say: Say) -> str:
    text = say(name)
    if key.startswith("violations_") and key[len("violations_"):] in CATEGORIES:
        return text.format(category=say(CATEGORY_NAMES[key[len("violations_"):]]))
    return text


def as_json(month: str, rows: list[Row]) -> dict[str, Any]:
    return {"month": month, **{k: v for k, _, v in rows}}


def to_csv(month: str, rows: list[Row], say: Say = str) -> bytes:
    return csv_bytes([say(N_("Month")), month], ([_heading(key, name, say), value] for key, name, value in rows))


def to_xlsx(month: str, rows: list[Row], say: Say = str) -> bytes:
    lines = [[say(N_("Release slips and violations {month}")).format(month=month)],
             *([_heading(key, name, say), value] for key, name, value in rows)]
    return xlsx_bytes([Sheet(month, lines, bold_rows=(1,), widths={"A": 44, "B": 14})])

"""The monthly report as files: CSV for anyone's spreadsheet, XLSX for the company's, and a
printable HTML page for the paper file. All three come from the same MonthlyReport, so they
cannot disagree."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from jinja2 import Environment, FileSystemLoader, select_autoescape
from openpyxl import Workbook
from openpyxl.styles import Font

from hub.stock.report import COLUMNS, MonthlyReport

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
_env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))

HEADINGS = {
    "card_type": "Card type",
    "opening": "Opening stock",
    "purchased": "Purchased",
    "returned": "Returned to stock",
    "personalised": "Personalised (made)",
    "scrapped": "Scrapped from stock",
    "closing": "Closing stock",
    "retired": "Cards in use scrapped",
}


def _lines(report: MonthlyReport) -> list[list]:
    rows = [[getattr(r, c) for c in COLUMNS] for r in report.rows]
    rows.append([getattr(report.total, c) for c in COLUMNS])
    return rows


def to_csv(report: MonthlyReport) -> str:
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\r\n")
    w.writerow([HEADINGS[c] for c in COLUMNS])
    w.writerows(_lines(report))
    return out.getvalue()


def to_xlsx(report: MonthlyReport) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = f"Cards {report.month}"
    ws.append([f"IC card inventory {report.month}", f"due {report.due.isoformat()}", report.status])
    ws.append([HEADINGS[c] for c in COLUMNS])
    for cell in ws[2]:
        cell.font = Font(bold=True)
    for line in _lines(report):
        ws.append(line)
    for cell in ws[ws.max_row]:
        cell.font = Font(bold=True)
    ws.column_dimensions["A"].width = 22
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def to_html(report: MonthlyReport) -> str:
    return _env.get_template("clerk_stock_report.html").render(
        report=report, columns=COLUMNS, headings=HEADINGS, lines=_lines(report)
    )

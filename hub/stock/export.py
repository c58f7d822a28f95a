"""The monthly report as files: CSV for anyone's spreadsheet, XLSX for the company's, and a
printable HTML page for the paper file. All three come from the same MonthlyReport, so they
cannot disagree. The month's money ledger (hub.stock.money) likewise as CSV and XLSX."""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from hub.i18n.validation import N_
from hub.stock.money import MoneyReport
from hub.stock.report import COLUMNS, MonthlyReport
from hub.web.downloads import Sheet, csv_bytes, xlsx_bytes

if TYPE_CHECKING:
    from fastapi import Request
    from fastapi.responses import HTMLResponse

    from hub.auth import Principal

#: the columns' headings (msgids): the page and the files say them in the reader's language
HEADINGS = {
    "card_type": N_("Card type"),
    "opening": N_("Opening stock"),
    "purchased": N_("Purchased"),
    "returned": N_("Returned to stock"),
    "personalised": N_("Personalised (made)"),
    "scrapped": N_("Scrapped from stock"),
    "adjusted": N_("Stocktake adjustment"),
    "closing": N_("Closing stock"),
    "retired": N_("Cards in use scrapped"),
}


def _lines(report: MonthlyReport) -> list[list]:
    rows = [[getattr(r, c) for c in COLUMNS] for r in report.rows]
    rows.append([getattr(report.total, c) for c in COLUMNS])
    return rows


def _same(text: str) -> str:
    return text


Say = Callable[[str], str]  # a msgid to the reader's language (hub.i18n.catalogs.gettext, bound)


def to_csv(report: MonthlyReport, say: Say = _same) -> bytes:
    return csv_bytes([say(HEADINGS[c]) for c in COLUMNS], _lines(report), bom=False)


def to_xlsx(report: MonthlyReport, say: Say = _same) -> bytes:
    rows = [[say(N_("IC card inventory {month}")).format(month=report.month),
             say(N_("due {date}")).format(date=report.due.isoformat()), report.status],
            [say(HEADINGS[c]) for c in COLUMNS], *_lines(report)]
    title = say(N_("Cards {month}")).format(month=report.month)
    return xlsx_bytes([Sheet(title, rows, bold_rows=(2, len(rows)), widths={"A": 22})])


def _months_beside(month: str) -> tuple[str, str]:
    year, mon = (int(x) for x in month.split("-"))
    before = f"{year - 1:04d}-12" if mon == 1 else f"{year:04d}-{mon - 1:02d}"
    after = f"{year + 1:04d}-01" if mon == 12 else f"{year:04d}-{mon + 1:02d}"
    return before, after


def _page_context(report: MonthlyReport) -> dict:
    from hub.people.pages import CARD_TYPE_NAMES

    before, after = _months_beside(report.month)
    return dict(report=report, columns=COLUMNS, headings=HEADINGS, lines=_lines(report), prev_month=before,
                next_month=after, type_names={**CARD_TYPE_NAMES, "total": N_("Total")})


def report_page(request: "Request", who: "Principal", report: MonthlyReport) -> "HTMLResponse":
    """The report page inside the shell, in the reader's language, with its files, print and
    (for a supervisor, once the month is over) the File button, which calls the filing API."""
    from hub.auth import Role
    from hub.people.pages import static_url
    from hub.web.shell import page

    over = report.status not in ("open", "before_records")
    return page(request, "clerk_stock_report.html", who, current="nav-report", static_url=static_url,
                can_file=over and who.role in (Role.SUPERVISOR, Role.ADMIN), **_page_context(report))


def to_html(report: MonthlyReport, language: str = "en") -> str:
    """The report as a page of its own (no shell links), in ``language``: ``?format=html`` of the API."""
    from hub.i18n.pages import render

    return render(language, "clerk_stock_report.html", site="", who=None, links=[], role_name="", current="",
                  estate_tz=report.timezone, here=f"/clerk/stock/{report.month}", static_url=None, can_file=False,
                  **_page_context(report))


# --- the money ledger -----------------------------------------------------------------------

MONEY_HEADINGS = {
    "deposit_taken": N_("Deposits taken (fen)"),
    "deposit_refunded": N_("Deposits refunded (fen)"),
    "deposit_forfeited": N_("Deposits forfeited (fen)"),
    "fee_replacement": N_("Replacement fees (fen)"),
    "fee_damage": N_("Damage fees (fen)"),
    "fee_other": N_("Other fees (fen)"),
}
LINE_COLUMNS = ("at", "uid", "card_type", "clerk", "move", "kind", "amount_cents", "receipt_no", "related_uid")
LINE_HEADINGS = (N_("Time"), N_("Card UID"), N_("Card type"), N_("Clerk"), N_("Move"), N_("Kind"), N_("Amount (fen)"),
                 N_("Receipt no."), N_("Related card"))


def _money_summary(report: MoneyReport, say: Say) -> list[list]:
    """The summary block: a line per card type, per clerk, the total, and the deposits held."""
    out: list[list] = [[say(N_("Group")), say(N_("Name")), *(say(h) for h in MONEY_HEADINGS.values())]]
    for group, sums in ((N_("card type"), report.by_card_type), (N_("clerk"), report.by_clerk)):
        for name, s in sums.items():
            out.append([say(group), name, *(getattr(s, k) for k in MONEY_HEADINGS)])
    out.append([say(N_("total")), "", *(getattr(report.total, k) for k in MONEY_HEADINGS)])
    held = say(N_("deposits held"))
    out.append([held, say(N_("at start")), report.deposits_held_at_start])
    out.append([held, say(N_("at end")), report.deposits_held_at_end])
    out.append([held, say(N_("reconciles")), say(N_("yes")) if report.reconciles else say(N_("no"))])
    return out


def _money_lines(report: MoneyReport, say: Say) -> list[list]:
    return [[say(h) for h in LINE_HEADINGS]] + [[ln[c] for c in LINE_COLUMNS] for ln in report.lines]


def money_csv(report: MoneyReport, say: Say = _same) -> bytes:
    """Two blocks, the summary then the lines (one per receipt), parted by an empty line."""
    head, *summary = _money_summary(report, say)
    return csv_bytes(head, [*summary, [], *_money_lines(report, say)], bom=False)


def money_xlsx(report: MoneyReport, say: Say = _same) -> bytes:
    summary = [[say(N_("IC card centre money {month}")).format(month=report.month),
                say(N_("times in {zone}")).format(zone=report.timezone), say(N_("amounts in fen"))],
               *_money_summary(report, say)]
    return xlsx_bytes([
        Sheet(say(N_("Money {month}")).format(month=report.month), summary, bold_rows=(2,), widths={"B": 22}),
        Sheet(say(N_("Lines")), _money_lines(report, say), bold_rows=(1,)),
    ])

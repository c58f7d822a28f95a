"""The files staff download (a month's figures, the copy for finance), written and handed over
one way, so that every report opens alike in the estate office's Excel and in any script.

- CSV is UTF-8 with ``\\r\\n`` line ends (what RFC 4180 and Excel expect), with a BOM for
  the files made to be opened in Excel (Excel on a Chinese Windows reads a CSV without one as
  GBK and garbles every Chinese heading). The API's reports published without a BOM (the
  stock and money months, the complaint and visitor months) stay without one: scripts read
  them as plain UTF-8, and a person opens their XLSX.
- XLSX is openpyxl's, each sheet given as plain rows plus the little styling the reports use
  (bold rows, column widths, number formats), so a report states what it shows, not how
  openpyxl is driven.
- The response names the file per RFC 6266: an ASCII ``filename`` for old clients and
  ``filename*`` in UTF-8 for a Chinese name, and is never cached: the figures are personal
  data of the estate and change until the month is filed.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal
from urllib.parse import quote

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font

Kind = Literal["csv", "xlsx", "json"]

MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "json": "application/json",
}
#: the strictest any download used before they shared this module (the permits' month file)
CACHE_CONTROL = "no-store"
#: Excel refuses a longer sheet name
MAX_TITLE = 31


def csv_bytes(header: Sequence[object], rows: Iterable[Sequence[object]], *, bom: bool = True) -> bytes:
    """The header first so no report forgets to say what its columns are; ``None`` is an
    empty cell, as the csv module writes it. ``bom=False`` only for a file already published
    without one (see above)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8-sig" if bom else "utf-8")


@dataclass(frozen=True)
class Sheet:
    """One worksheet: its rows as they are read, and the styling that helps a person read
    them. Rows and columns count from 1, as Excel shows them."""

    title: str
    rows: Sequence[Sequence[object]]
    bold_rows: Collection[int] = ()
    widths: Mapping[str, float] = field(default_factory=dict)
    #: (row, column) -> an Excel number format, e.g. ``"0.0%"``
    number_formats: Mapping[tuple[int, int], str] = field(default_factory=dict)


def xlsx_bytes(sheets: Sequence[Sheet]) -> bytes:
    """Titles are cut to Excel's 31 characters rather than refused: a long translated title
    should still give the file."""
    if not sheets:
        raise ValueError("an XLSX file needs at least one sheet")
    book = Workbook()
    for i, sheet in enumerate(sheets):
        ws = book.active if i == 0 else book.create_sheet()
        ws.title = sheet.title[:MAX_TITLE]
        for row in sheet.rows:
            ws.append(list(row))
        bold = Font(bold=True)
        for n in sheet.bold_rows:
            for col in range(1, len(sheet.rows[n - 1]) + 1):
                ws.cell(row=n, column=col).font = bold
        for letter, width in sheet.widths.items():
            ws.column_dimensions[letter].width = width
        for (r, c), fmt in sheet.number_formats.items():
            ws.cell(row=r, column=c).number_format = fmt
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def content_disposition(filename: str) -> str:
    """RFC 6266 with RFC 5987's ``filename*``: every current browser takes the UTF-8 name;
    an older client gets the fallback, non-ASCII and the characters that would break or be
    misread in a quoted string (``"``, ``\\``, ``%``) replaced by ``_``."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\%' else "_" for c in filename)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def download(body: bytes, filename: str, kind: Kind) -> Response:
    """The one way a file leaves the hub, so its type, name and caching cannot drift apart
    between reports."""
    return Response(body, media_type=MEDIA_TYPES[kind],
                    headers={"Content-Disposition": content_disposition(filename), "Cache-Control": CACHE_CONTROL})

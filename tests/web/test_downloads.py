"""The one rule every downloaded file follows (hub.web.downloads): CSV in UTF-8 with a BOM and
``\\r\\n``, XLSX that openpyxl reads back as written, and a response whose name survives a
Chinese file name and which no cache keeps."""

from __future__ import annotations

import csv
import io
from urllib.parse import unquote

from openpyxl import load_workbook

from hub.web.downloads import Sheet, content_disposition, csv_bytes, download, xlsx_bytes

HEADER = ["月份", "放行条", "违章：环境卫生"]
ROWS = [["2026-11", 12, 3], ["2026-12", 0, None], ["备注, 含逗号", '引号"内', "两行\n文字"]]


def test_csv_is_utf8_with_a_bom_and_crlf_and_reads_back_as_written() -> None:
    body = csv_bytes(HEADER, ROWS)
    assert body.startswith(b"\xef\xbb\xbf") and not body.startswith(b"\xef\xbb\xbf\xef\xbb\xbf")
    assert body.count(b"\r\n") == len(ROWS) + 1  # a line end per record ...
    assert body.replace(b"\r\n", b"").count(b"\n") == 1  # ... the only bare \n the one inside a quoted cell
    assert body.split(b"\r\n")[0] == "\ufeff月份,放行条,违章：环境卫生".encode()
    back = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline="")))
    assert back[0] == HEADER
    assert back[1:] == [["2026-11", "12", "3"], ["2026-12", "0", ""],
                        ["备注, 含逗号", '引号"内', "两行\n文字"]]


def test_csv_of_a_header_alone_is_one_line() -> None:
    assert csv_bytes(["a", "b"], []) == b"\xef\xbb\xbfa,b\r\n"


def test_xlsx_reads_back_with_the_same_numbers_sheets_and_styling() -> None:
    rows = [["访客统计 2026-11"], HEADER, [2026, 12, 3.5], [None, 0, 0.25]]
    body = xlsx_bytes([
        Sheet("访客 2026-11", rows, bold_rows=(2,), widths={"A": 30}, number_formats={(4, 3): "0.0%"}),
        Sheet("明细" * 20, [["单号", "金额（分）"], ["R-1", 10000]], bold_rows=(1,)),
    ])
    book = load_workbook(io.BytesIO(body))
    first, second = book.worksheets
    assert first.title == "访客 2026-11"
    assert [list(r) for r in first.iter_rows(values_only=True)] == \
        [["访客统计 2026-11", None, None], HEADER, [2026, 12, 3.5], [None, 0, 0.25]]
    assert all(c.font.bold for c in first[2]) and not first["A1"].font.bold and not first["A3"].font.bold
    assert first["C4"].number_format == "0.0%" and first.column_dimensions["A"].width == 30
    assert second.title == ("明细" * 20)[:31]  # Excel's limit: cut, not refused
    assert [list(r) for r in second.iter_rows(values_only=True)] == [["单号", "金额（分）"], ["R-1", 10000]]


def test_the_filename_header_for_a_chinese_name_has_an_ascii_fallback_and_the_utf8_name() -> None:
    name = "投诉月报-2026-11.xlsx"
    value = content_disposition(name)
    value.encode("latin-1")  # a header must be: Starlette refuses anything else
    assert value.isascii()
    disposition, plain, star = (part.strip() for part in value.split(";"))
    assert disposition == "attachment"
    assert plain == 'filename="____-2026-11.xlsx"'
    assert star.startswith("filename*=UTF-8''") and unquote(star.removeprefix("filename*=UTF-8''")) == name
    # what would break a quoted string, or be read as percent-encoding, is not in the fallback
    assert content_disposition('a"b\\c%41.csv').split(";")[1].strip() == 'filename="a_b_c_41.csv"'
    # a plain ASCII name reads the same both ways
    assert content_disposition("slips-violations-2026-11.csv") == \
        "attachment; filename=\"slips-violations-2026-11.csv\"; filename*=UTF-8''slips-violations-2026-11.csv"


def test_the_response_carries_type_name_and_no_store() -> None:
    csv_r = download(csv_bytes(HEADER, ROWS), "违章-2026-11.csv", "csv")
    assert csv_r.headers["content-type"] == "text/csv; charset=utf-8"
    assert csv_r.headers["cache-control"] == "no-store"
    assert csv_r.headers["content-disposition"] == content_disposition("违章-2026-11.csv")
    assert csv_r.body.startswith(b"\xef\xbb\xbf")
    xlsx_r = download(xlsx_bytes([Sheet("s", [[1]])]), "a.xlsx", "xlsx")
    assert xlsx_r.headers["content-type"] == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert xlsx_r.body[:2] == b"PK"
    assert download(b"{}", "a.json", "json").headers["content-type"] == "application/json"


def test_a_file_published_without_a_bom_stays_without_one() -> None:
    assert csv_bytes(["month", "月份"], [["2026-03", 1]], bom=False) == "month,月份\r\n2026-03,1\r\n".encode()

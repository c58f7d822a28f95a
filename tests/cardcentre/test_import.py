"""Bulk import of units and people: a file with one bad row imports nothing and says which
row and column; a dry run reports and writes nothing."""

from __future__ import annotations

import io

import pytest
from openpyxl import Workbook

from hub.errors import BadInput
from hub.people.importer import run_import

from .conftest import CLERK, count

UNITS = [
    ["building", "floor", "room", "area_m2", "owner_kind", "move_in_date"],
    ["A", "12", "03", "89.5", "person", "2019-05-01"],
    ["A", "12", "04", "120", "person", "2020-01-15"],
    ["B", "3", "01", "75", "company", ""],
    ["B", "3", "02", "75", "person", "2021-07-01"],
]
PEOPLE = [
    ["unit", "name", "role", "phone", "id_doc_no", "tenancy_end", "police_registration_no"],
    ["A-12-03", "Wang Fang", "owner", "+86 138 0000 0001", "110101199001011234", "", ""],
    ["A-12-03", "Wang Lei", "family", "13800000002", "", "", ""],
    ["A-12-04", "Chen Jie", "tenant", "13800000003", "E12345678", "2027-06-30", "PR-2026-118"],
    ["A-12-03", "Ana Cruz", "domestic_helper", "13800000004", "P7654321", "", ""],
]


def _csv(rows) -> bytes:
    return "\n".join(",".join(r) for r in rows).encode()


def _number(cell: str):
    if cell.isdigit() and not cell.startswith("0"):
        return int(cell)
    if cell.replace(".", "", 1).isdigit() and "." in cell:
        return float(cell)
    return cell  # "03" stays text, as a spreadsheet keeps a room number typed as text


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    for r in rows:
        # numbers as numbers, the way a spreadsheet keeps them
        ws.append([_number(c) for c in r])
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


FORMATS = [("csv", _csv), ("xlsx", _xlsx)]


def _writes(store):
    return tuple(count(store, t) for t in ("units", "households", "people", "audit"))


@pytest.mark.parametrize("ext,make", FORMATS)
def test_good_files_import_all_rows(store, ext, make):
    dry = run_import(store, CLERK, "units", make(UNITS), f"units.{ext}", dry_run=True)
    assert dry.ok and dry.as_dict()["would_create"] == 4 and dry.as_dict()["created"] == 0
    assert _writes(store) == (0, 0, 0, 0)
    rep = run_import(store, CLERK, "units", make(UNITS), f"units.{ext}", dry_run=False)
    assert rep.ok and rep.as_dict()["created"] == 4
    rep = run_import(store, CLERK, "people", make(PEOPLE), f"people.{ext}", dry_run=False)
    assert rep.ok, rep.errors
    with store.read() as db:
        units = {r["code"]: r for r in db.query("SELECT * FROM units")}
        people = {r["name"]: r for r in db.query("SELECT * FROM people")}
        hh = list(db.query("SELECT * FROM households WHERE unit_code = 'A-12-03'"))
    assert set(units) == {"A-12-03", "A-12-04", "B-03-01", "B-03-02"}
    assert units["A-12-03"]["area_m2"] == 89.5 and units["B-03-01"]["owner_kind"] == "company"
    assert hh[0]["move_in_date"] == "2019-05-01"
    assert people["Chen Jie"]["tenancy_end"] == "2027-06-30"
    assert people["Ana Cruz"]["employer_household_id"] == hh[0]["id"]
    assert people["Wang Fang"]["household_id"] == people["Wang Lei"]["household_id"] == hh[0]["id"]


BAD_UNITS = [
    # rows[i] is the spreadsheet's row i + 1 (the header is row 1)
    (4, "floor", lambda rows: rows[3].__setitem__(1, "twelve")),
    (6, "room", lambda rows: rows[5].__setitem__(2, "02")),  # B-03-02 twice in one file
    (5, "area_m2", lambda rows: rows[4].__setitem__(3, "-5")),
    (3, "owner_kind", lambda rows: rows[2].__setitem__(4, "council")),
]


@pytest.mark.parametrize("ext,make", FORMATS)
@pytest.mark.parametrize("row,column,spoil", BAD_UNITS, ids=[b[1] for b in BAD_UNITS])
def test_one_bad_unit_row_imports_nothing_and_names_row_and_column(store, ext, make, row, column, spoil):
    rows = [list(r) for r in UNITS] + [["B", "3", "05", "75", "person", ""]]
    spoil(rows)
    for dry in (True, False):
        rep = run_import(store, CLERK, "units", make(rows), f"units.{ext}", dry_run=dry)
        assert not rep.ok
        assert [(e.row, e.column) for e in rep.errors] == [(row, column)], rep.errors
        assert _writes(store) == (0, 0, 0, 0)


@pytest.mark.parametrize("ext,make", FORMATS)
def test_one_bad_person_row_imports_nothing(store, ext, make):
    run_import(store, CLERK, "units", make(UNITS), f"units.{ext}", dry_run=False)
    before = _writes(store)
    for row, column, value in ((3, "role", "landlord"), (5, "phone", "call me"), (2, "unit", "Z-99-99"),
                               (4, "tenancy_end", "30/06/2027")):
        rows = [list(r) for r in PEOPLE]
        rows[row - 1][PEOPLE[0].index(column)] = value
        rep = run_import(store, CLERK, "people", make(rows), f"people.{ext}", dry_run=False)
        assert [(e.row, e.column) for e in rep.errors] == [(row, column)], rep.errors
        assert _writes(store) == before


def test_a_missing_unit_for_a_tenant_is_reported_on_its_row(store):
    run_import(store, CLERK, "units", _csv(UNITS), "units.csv", dry_run=False)
    rows = [list(r) for r in PEOPLE]
    rows[3][0] = ""
    rep = run_import(store, CLERK, "people", _csv(rows), "people.csv", dry_run=False)
    assert [(e.row, e.column) for e in rep.errors] == [(4, "unit")]
    assert "unit is required" in rep.errors[0].message


def test_unknown_and_missing_columns_are_reported_on_the_header(store):
    rows = [["building", "floor", "colour"], ["A", "1", "red"]]
    rep = run_import(store, CLERK, "units", _csv(rows), "units.csv", dry_run=False)
    assert {(e.row, e.column) for e in rep.errors} == {(1, "colour"), (1, "room")}
    assert _writes(store) == (0, 0, 0, 0)


def test_not_a_spreadsheet_is_refused(store):
    with pytest.raises(BadInput):
        run_import(store, CLERK, "units", b"%PDF-1.4 ...", "units.xlsx")
    with pytest.raises(BadInput):
        run_import(store, CLERK, "units", b"\xff\xfe\x00bad", "units.csv")
    with pytest.raises(BadInput):
        run_import(store, CLERK, "units", _csv(UNITS), "units.txt")

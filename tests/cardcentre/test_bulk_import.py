"""Bulk card import (the migration from an estate's old system): a dry run changes nothing and
names every bad row's rule; a real run is all or nothing; a good file writes every card as the
sheet says, in CSV (UTF-8 with BOM, or GBK) or XLSX, with English or Chinese headers; the
cards reach the gate's list; only a supervisor may import."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from openpyxl import Workbook

from hub.app import create_app
from hub.auth import create_token
from hub.cards import bulk_import
from hub.cards.bulk_import import ImportRefused, check_file, write_cards
from hub.cards.import_views import ImportJobs
from hub.config import HubConfig
from hub.errors import Conflict
from hub.gates import projector
from hub.people.importer import run_import
from hub.stock import money
from tests.rigs.wait import wait_for

from .conftest import CLERK, count, gate_holds, issue

SUPERVISOR = "supervisor:lan"
UNITS = b"building,floor,room\nA,12,03\nA,12,04\nB,3,01\n"
PEOPLE = (b"unit,name,role,phone,tenancy_end,police_registration_no\n"
          b"A-12-03,Wang Fang,owner,13800000001,,\n"
          b"A-12-04,Chen Jie,tenant,13800000003,2031-06-30,PR-2026-118\n")
HEADER = ["uid", "printed", "card_type", "name", "unit", "phone", "valid_from", "valid_until", "status", "deposit"]
GOOD = [
    ["04A1B2C3", "", "owner", "Wang Fang", "A-12-03", "13800000001", "", "", "", ""],
    ["04A1B2C4", "", "tenant", "Chen Jie", "a-12-04", "", "2026-01-01", "2030-06-30", "active", "20000"],
    ["04A1B2C5", "", "owner", "Wang Fang", "A-12-03", "", "", "", "lost", ""],
    ["04A1B2C6", "", "staff", "Guard Zhou", "", "", "", "", "revoked", ""],
    ["0A0B0C0D0E", "0185339150", "temporary", "Visitor Li", "B-03-01", "", "", "2030-01-31 18:00", "", "5000"],
]
TABLES = ("cards", "card_moves", "card_deposits", "stock_ledger", "audit", "acl_log", "acl_pending", "acl_sweeps")


def _csv(rows, encoding="utf-8") -> bytes:
    return "\n".join(",".join(r) for r in rows).encode(encoding)


def _xlsx(rows) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.append(rows[0])
    for r in rows[1:]:
        # a clerk's sheet keeps dates as dates and money as numbers
        cells: list = list(r)
        for i, v in enumerate(cells):
            if len(v) == 10 and v[4] == "-" and v[7] == "-":
                cells[i] = datetime.fromisoformat(v)
            elif v.isdigit() and not v.startswith("0"):
                cells[i] = int(v)
        ws.append(cells)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


def _counts(store) -> dict[str, int]:
    return {t: count(store, t) for t in TABLES}


@pytest.fixture
def estate(store):
    """The hub of conftest (one gate, north) with a units and people register."""
    for kind, data in (("units", UNITS), ("people", PEOPLE)):
        assert run_import(store, CLERK, kind, data, f"{kind}.csv", dry_run=False).ok
    return store


@pytest.fixture
def api(estate, tmp_path):
    config = HubConfig.model_validate({"hub": {"site": "demo", "db_path": str(tmp_path / "hub.db"),
                                               "timezone": "UTC"}})  # the sheet's dates are UTC days
    tokens = {role: create_token(estate, role, f"t-{role}") for role in ("admin", "supervisor", "clerk", "guard")}
    with TestClient(create_app(config, estate, connect_mqtt=False)) as client:
        def call(method, path, role="supervisor", **kw):
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            return client.request(method, path, headers=headers, **kw)
        yield call


def _run(api, data: bytes, name: str = "cards.csv", dry_run: bool | None = None) -> dict:
    """Post the file and poll its job to the end; the finished job."""
    query = "" if dry_run is None else f"?dry_run={str(dry_run).lower()}"
    r = api("POST", f"/api/v1/cards/imports{query}", files={"file": (name, data, "application/octet-stream")})
    assert r.status_code == 202, r.text
    job = r.json()
    assert r.headers["location"] == job["url"] == f"/api/v1/cards/imports/{job['id']}"
    return wait_for(lambda: (j := api("GET", job["url"]).json())["finished_at"] and j, timeout=30,
                    what=f"import {job['id']} to finish")


def test_a_dry_run_changes_nothing_and_names_each_bad_rows_rule(api, estate):
    issue(estate, "0B0B0B01")
    before = _counts(estate)
    rows = [HEADER, GOOD[0],
            ["04a1b2c3", "", "owner", "Wang Lei", "A-12-03", "", "", "", "", ""],  # row 3: the same UID as row 2
            ["ZZ", "", "owner", "A", "A-12-03", "", "", "", "", ""],
            ["04A1B2D1", "", "dragon", "A", "A-12-03", "", "", "", "", ""],
            ["04A1B2D2", "", "owner", "A", "Z-99-99", "", "", "", "", ""],
            ["04A1B2D3", "", "staff", "A", "", "", "", "2030-13-45", "", ""],
            ["04A1B2D4", "", "staff", "A", "", "", "2030-06-01", "2030-01-01", "", ""],
            ["0B0B0B01", "", "owner", "A", "A-12-03", "", "", "", "", ""],  # row 9: the hub has it
            ["04A1B2D5", "", "owner", "A", "A-12-03", "", "", "", "stolen", ""],
            ["04A1B2D6", "", "owner", "A", "A-12-03", "", "", "", "", "100"],
            ["0012345678", "", "staff", "A", "", "", "", "", "", ""],
            ["04A1B2D7", "", "tenant", "A", "A-12-04", "", "", "", "", ""],
            ["04A1B2D8", "", "owner", "Chen Jie", "A-12-04", "", "", "", "", ""],  # row 14: Chen Jie is a tenant
            ["0A0B0C0D0F", "0185339150", "staff", "A", "", "", "", "", "", ""]]
    job = _run(api, _csv(rows))
    assert job["state"] == "refused" and job["dry_run"] and job["written"] == 0
    assert [(e["row"], e["column"], e["rule"]) for e in job["errors"]] == [
        (3, "uid", "duplicate_uid_in_file"),
        (4, "uid", "bad_uid"),
        (5, "card_type", "unknown_card_type"),
        (6, "unit", "unknown_unit"),
        (7, "valid_until", "bad_date"),
        (8, "valid_until", "validity_reversed"),
        (9, "uid", "uid_already_known"),
        (10, "status", "unknown_status"),
        (11, "deposit", "deposit_not_taken"),
        (12, "uid", "printed_number_not_uid"),
        (13, "valid_until", "validity_end_required"),
        (14, "card_type", "card_type_not_for_person"),
        (15, "printed", "printed_number_mismatch"),
    ]
    assert job["counts"]["rows"] == 14 and job["counts"]["good_rows"] == 1 and job["counts"]["bad_rows"] == 13
    assert job["checked"] == 14 and job["rows"] == 14
    assert _counts(estate) == before

    # a good file's dry run: the counts a real run would give, and still nothing written
    job = _run(api, _csv([HEADER, *GOOD]))
    assert job["state"] == "done" and job["dry_run"] and job["errors"] == []
    assert job["counts"]["good_rows"] == 5 and job["counts"]["by_status"] == {"active": 3, "lost": 1, "revoked": 1}
    assert job["counts"]["linked_to_person"] == 3 and job["counts"]["with_deposit"] == 2
    assert _counts(estate) == before


def test_one_bad_row_among_good_ones_writes_nothing(api, estate):
    before = _counts(estate)
    good = [[f"0C{i:06X}", "", "owner", f"Holder {i}", "A-12-03", "", "", "", "", ""] for i in range(200)]
    bad = ["0CFFFFFF", "", "owner", "Holder x", "A-12-03", "", "2030-01-01", "2029-01-01", "", ""]
    job = _run(api, _csv([HEADER, *good[:100], bad, *good[100:]]), dry_run=False)
    assert job["state"] == "refused" and not job["dry_run"]
    assert [(e["row"], e["rule"]) for e in job["errors"]] == [(102, "validity_reversed")]
    assert job["written"] == 0 and _counts(estate) == before


def test_a_good_file_writes_every_card_as_the_sheet_says_and_the_books_stay_exact(api, estate):
    stock_before, audit_before = count(estate, "stock_ledger"), count(estate, "audit")
    job = _run(api, _csv([HEADER, *GOOD]), dry_run=False)
    assert job["state"] == "done" and job["written"] == 5 and job["errors"] == [], job
    with estate.read() as db:
        cards = {r["uid"]: r for r in db.query("SELECT * FROM cards WHERE uid LIKE '04A1%' OR uid LIKE '0A0B%'")}
        people = {r["name"]: r["id"] for r in db.query("SELECT id, name FROM people")}
        deposits = {r["uid"]: r for r in db.query("SELECT * FROM card_deposits")}
        audits = list(db.query("SELECT * FROM audit WHERE id > ?", [audit_before]))
        moves = {r["uid"]: r for r in db.query("SELECT * FROM card_moves")}
        report = money.compute(db, datetime.now(timezone.utc).year, datetime.now(timezone.utc).month)
    owner, tenant, lost, staff, temp = (cards[r[0].upper()] for r in GOOD)
    assert (owner["status"], owner["card_type"], owner["holder_name"], owner["holder_unit"], owner["person_id"]) == (
        "active", "owner", "Wang Fang", "A-12-03", people["Wang Fang"])
    assert (tenant["holder_unit"], tenant["person_id"], tenant["valid_from"], tenant["valid_until"]) == (
        "A-12-04", people["Chen Jie"], "2026-01-01T00:00:00.000000+00:00", "2030-07-01T00:00:00.000000+00:00")
    assert (lost["status"], staff["status"], staff["holder_unit"]) == ("lost", "revoked", None)
    assert temp["valid_until"] == "2030-01-31T18:00:00.000000+00:00" and temp["card_type"] == "temporary"
    assert all(c["issued_by"] == "supervisor:t-supervisor" for c in cards.values())
    # deposits: on the card, against its move, under the receipt a refund asks for
    assert {u: (d["amount_cents"], d["receipt_no"]) for u, d in deposits.items()} == {
        "04A1B2C4": (20000, "IMPORT-04A1B2C4"), "0A0B0C0D0E": (5000, "IMPORT-0A0B0C0D0E")}
    assert deposits["04A1B2C4"]["paid_move_id"] == moves["04A1B2C4"]["id"]
    assert json.loads(moves["0A0B0C0D0E"]["detail"])["imported"] == job["id"]
    assert moves["04A1B2C3"]["to_status"] == "active" and moves["04A1B2C5"]["to_status"] == "lost"
    # never in this hub's drawer: no stock entry; the money report reconciles with the migrated deposits
    assert count(estate, "stock_ledger") == stock_before
    assert report.problems == [] and report.total.deposit_taken == 25000
    # one audit row for the whole import, with the file's hash
    assert [(a["who"], a["action"], a["entity"], a["entity_id"]) for a in audits] == [
        ("supervisor:t-supervisor", "import", "cards", "cards.csv")]
    detail = json.loads(audits[0]["detail"])
    assert detail["count"] == 5 and len(detail["sha256"]) == 64 and detail["sha256"] == job["sha256"]
    # the gate's list: every card, in its status (after the re-projection job)
    projector.drain(estate, pause=False)
    assert {u: gate_holds(estate, u) for u in cards} == {u: c["status"] for u, c in cards.items()}


CHINESE = ["卡号", "印刷号", "类型", "姓名", "房号", "电话", "有效期起", "有效期止", "状态", "押金"]
CHINESE_WORDS = {"owner": "业主", "tenant": "租户", "staff": "员工", "temporary": "临时", "lost": "挂失",
                 "revoked": "注销", "active": "正常"}


def _in_chinese(rows):
    return [CHINESE, *[[CHINESE_WORDS.get(c, c) for c in r] for r in rows[1:]]]


@pytest.mark.parametrize("name, encode", [
    ("cards.csv", lambda rows: b"\xef\xbb\xbf" + _csv(rows)),  # Excel's "CSV UTF-8": a BOM first
    ("cards.csv", lambda rows: _csv(_in_chinese(rows), "gbk")),  # a Chinese Excel's plain CSV
    ("cards.csv", lambda rows: b"\xef\xbb\xbf" + _csv(_in_chinese(rows))),
    ("cards.xlsx", _xlsx),
    ("cards.xlsx", lambda rows: _xlsx(_in_chinese(rows))),
], ids=["csv-bom", "csv-gbk-chinese", "csv-bom-chinese", "xlsx", "xlsx-chinese"])
def test_every_format_and_both_header_languages_read_the_same_cards(estate, name, encode):
    reference = check_file(estate, _csv([HEADER, *GOOD]), "cards.csv")[1]
    table, checked = check_file(estate, encode([HEADER, *GOOD]), name)
    assert checked.errors == [] and reference.errors == []
    assert [c.__dict__ for c in checked.cards] == [c.__dict__ for c in reference.cards]
    assert checked.cards[0].uid == "04A1B2C3" and checked.cards[3].status == "revoked"


def test_only_a_supervisor_or_admin_may_import(api):
    data = _csv([HEADER, GOOD[0]])
    for role, status in (("clerk", 403), ("guard", 403), (None, 401)):
        r = api("POST", "/api/v1/cards/imports", role=role, files={"file": ("c.csv", data, "text/csv")})
        assert r.status_code == status, (role, r.text)
    job = _run(api, data)
    assert api("GET", job["url"], role="clerk").status_code == 403
    assert api("GET", job["url"], role="admin").json()["state"] == "done"
    assert api("GET", "/api/v1/cards/imports/nope").json()["error"] == "unknown_import"


def test_bounds_file_rows_fields_and_columns(api, estate, monkeypatch):
    long_name = ["04A1B2C9", "", "owner", "x" * 201, "A-12-03", "", "", "", "", ""]
    job = _run(api, _csv([HEADER, long_name]))
    assert [(e["row"], e["column"], e["rule"]) for e in job["errors"]] == [(2, "name", "too_long")]
    job = _run(api, _csv([["uid", "card_type", "name", "colour"], ["04A1B2C9", "owner", "A", "red"]]))
    assert job["state"] == "failed" and job["error"]["error"] == "unknown_column" and job["error"]["field"] == "colour"
    job = _run(api, _csv([["uid", "name"], ["04A1B2C9", "A"]]))
    assert job["error"]["error"] == "required_column_missing" and job["error"]["field"] == "card_type"
    job = _run(api, b"uid,card_type,name\n04A1B2C9,owner,A\n", name="cards.txt")
    assert job["error"]["error"] == "bad_file"
    monkeypatch.setattr(bulk_import, "MAX_ROWS", 3)
    job = _run(api, _csv([HEADER, *GOOD]))
    assert job["state"] == "failed" and job["error"]["error"] == "too_many_rows"
    monkeypatch.setattr(bulk_import, "MAX_BYTES", 100)
    r = api("POST", "/api/v1/cards/imports", files={"file": ("c.csv", _csv([HEADER, *GOOD]), "text/csv")})
    assert r.status_code == 422 and r.json()["error"] == "file_too_large"


def test_one_import_at_a_time(estate):
    jobs = ImportJobs()
    with estate.tx():  # another writer holds the lock: the import, checked, waits to write
        running = jobs.start(estate, SUPERVISOR, _csv([HEADER, *GOOD]), "cards.csv", dry_run=False)
        wait_for(lambda: running.rows == 5, what="the first import checked and waiting for the lock")
        with pytest.raises(Conflict) as refused:
            jobs.start(estate, SUPERVISOR, _csv([HEADER, *GOOD]), "other.csv", dry_run=True)
        assert refused.value.rule == "import_running" and running.finished_at is None
    wait_for(lambda: running.finished_at, what="the first import to finish")
    assert running.state == "done" and running.written == 5
    later = jobs.start(estate, SUPERVISOR, _csv([HEADER, *GOOD]), "cards.csv", dry_run=True)
    wait_for(lambda: later.finished_at, what="the second import to finish")
    assert later.state == "refused" and later.counts["errors_by_rule"] == {"uid_already_known": 5, "receipt_no_taken": 2}


def test_a_card_written_between_the_check_and_the_write_refuses_the_whole_import(estate):
    table, checked = check_file(estate, _csv([HEADER, *GOOD]), "cards.csv")
    assert checked.ok
    issue(estate, "04A1B2C6", "staff")  # a clerk issues one of the file's cards meanwhile
    before = _counts(estate)
    with pytest.raises(ImportRefused) as refused:
        write_cards(estate, SUPERVISOR, table, "cards.csv", checked, "race")
    assert [(e.row, e.rule) for e in refused.value.checked.errors] == [(5, "uid_already_known")]
    assert _counts(estate) == before


def test_the_cli_checks_then_imports_and_refuses_a_bad_file(estate, tmp_path):
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsite = "demo"\ndb_path = "{estate.path}"\n')
    good, bad = tmp_path / "cards.csv", tmp_path / "bad.csv"
    good.write_bytes(_csv([HEADER, *GOOD]))
    bad.write_bytes(_csv([HEADER, GOOD[0], ["04A1B2C3", "", "owner", "Wang Fang", "A-12-03", "", "", "", "", ""]]))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "hub.cli", "cards", "import", *args, "--config", str(config)],
                              capture_output=True, text=True, timeout=60, cwd=Path(__file__).parents[2])

    before = _counts(estate)
    done = cli(str(good), "--dry-run")
    assert done.returncode == 0 and json.loads(done.stdout)["good_rows"] == 5, done.stderr
    assert _counts(estate) == before
    done = cli(str(bad))
    assert done.returncode == 1 and "row 3, uid: duplicate_uid_in_file" in done.stderr
    assert _counts(estate) == before
    done = cli(str(good))
    assert done.returncode == 0 and json.loads(done.stdout)["written"] == 5, done.stderr
    assert count(estate, "cards") == before["cards"] + 5

"""The report files say their headings in the reader's language: a clerk's page link gives a
Chinese clerk Chinese headings; a script with a token gets English. The figures are the same."""

from __future__ import annotations

import csv
import io

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hub.app import create_app
from hub.auth import create_token
from hub.db import Store
from hub.i18n.catalogs import gettext
from hub.stock.export import HEADINGS, LINE_HEADINGS, MONEY_HEADINGS
from hub.stock.report import COLUMNS
from tests.hub.conftest import make_config

MONTH = "2026-11"


@pytest.fixture
def estate(tmp_path):
    config = make_config(tmp_path, language="zh_Hans")
    store = Store.open(config.hub.db_path)
    with TestClient(create_app(config, store, connect_mqtt=False)) as client:
        client.store = store
        client.bearer = {"Authorization": "Bearer " + create_token(store, "supervisor", "script")}
        r = client.post("/api/v1/stock/deliveries", json={"card_type": "owner", "qty": 40, "ref": "DN-1"},
                        headers=client.bearer)
        assert r.status_code in (200, 201), r.text
        signed = client.post("/login", data={"token": create_token(store, "clerk", "mei")},
                             headers={"Origin": "http://testserver"}, follow_redirects=False)
        assert signed.status_code == 303
        yield client
    store.close()


def _csv_rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_monthly_report_file_in_the_clerks_language_and_in_english_for_a_script(estate) -> None:
    page = estate.get(f"/api/v1/stock/reports/{MONTH}", params={"format": "csv"})
    script = estate.get(f"/api/v1/stock/reports/{MONTH}", params={"format": "csv"}, headers=estate.bearer)
    zh, en = _csv_rows(page.text), _csv_rows(script.text)
    assert zh[0] == [gettext("zh_Hans", HEADINGS[c]) for c in COLUMNS] and zh[0] != en[0]
    assert en[0] == [HEADINGS[c] for c in COLUMNS]
    assert zh[1:] == en[1:], "the figures do not depend on the language"
    book = load_workbook(io.BytesIO(estate.get(f"/api/v1/stock/reports/{MONTH}", params={"format": "xlsx"}).content))
    sheet = book.active
    assert [c.value for c in sheet[2]] == zh[0]
    assert sheet["A1"].value == gettext("zh_Hans", "IC card inventory {month}").format(month=MONTH)
    printable = estate.get(f"/api/v1/stock/reports/{MONTH}", params={"format": "html"}).text
    assert '<html lang="zh-Hans">' in printable and gettext("zh_Hans", HEADINGS["purchased"]) in printable


def test_the_money_file_in_the_clerks_language(estate) -> None:
    zh = _csv_rows(estate.get(f"/api/v1/money/reports/{MONTH}", params={"format": "csv"}).text)
    assert zh[0][2:] == [gettext("zh_Hans", h) for h in MONEY_HEADINGS.values()]
    lines_head = zh[zh.index([]) + 1]
    assert lines_head == [gettext("zh_Hans", h) for h in LINE_HEADINGS]
    assert not any(cell.isascii() for cell in lines_head), lines_head  # every heading said in Chinese

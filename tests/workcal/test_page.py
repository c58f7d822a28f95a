"""The working calendar's page in chromium, on a hub served for real in Asia/Shanghai: the
supervisor sees 2025's National Day and its make-up Saturday, sets a day by keyboard and
removes it, and the stored calendar (so a deadline) follows; the page passes axe, fits
360 px, and is not for a guard."""

from __future__ import annotations

from datetime import date

import pytest

from hub.app import start_hub
from hub.auth import create_token
from hub.workcal import service
from tests.hub.conftest import make_config
from tests.rigs.axe import serious_violations, sideways
from tests.workcal.conftest import TZ, audit_rows

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path):
    running = start_hub(make_config(tmp_path, timezone=TZ), connect_mqtt=False)
    with running.store.tx() as db:
        service.seed_year(db, 2025, "hub setup")
    yield running
    running.stop()


def _signed_in(browser, served, role: str, name: str, width: int = 1280, language: str | None = None):
    context = browser.new_context(viewport={"width": width, "height": 900})
    if language:
        context.add_cookies([{"name": "gh_lang", "value": language, "url": served.url}])
    page = context.new_page()
    page.goto(served.url + "/calendar?year=2025")
    assert page.url.endswith("/login")  # no session: the login page first
    page.fill("#token", create_token(served.store, role, name))
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(served.url + "/calendar?year=2025")
    return page


def _is_working(served, day: date) -> bool:
    with served.store.read() as db:
        return service.load_calendar(db).is_working_day(day)


def test_the_supervisor_sets_and_removes_a_day_by_keyboard(served, browser) -> None:
    page = _signed_in(browser, served, "supervisor", "li", width=360)
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.wait_for_selector("#days[data-drawn='2025']", state="attached")
    saturday = page.inner_text("#days li[data-date='2025-10-11']")
    assert "Saturday" in saturday and "make-up working day" in saturday and "National Day" in saturday
    assert "public holiday" in page.inner_text("#days li[data-date='2025-10-06']")
    assert "08:30-12:00, 13:30-17:30" in page.inner_text("#hours")
    assert sideways(page) <= 0

    assert _is_working(served, date(2025, 10, 9))
    page.fill("#day-date", "2025-10-09")  # (a date box's typed order depends on the browser's locale)
    page.focus("#day-kind")  # (Tab walks the date box's own fields first)
    page.keyboard.press("ArrowDown")  # the kind: still a public holiday (first), then back
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Tab")
    page.keyboard.type("公司活动日")
    page.keyboard.press("Tab")
    page.keyboard.type("全体员工外出")
    page.keyboard.press("Enter")
    row = page.wait_for_selector("#days li[data-date='2025-10-09']")
    assert "公司活动日" in row.inner_text() and "supervisor:li" in row.inner_text()
    assert page.inner_text("#day-result").startswith("2025-10-09 saved")
    assert not _is_working(served, date(2025, 10, 9))
    edits = audit_rows(served.store, "workcal_day")
    assert [(r["action"], r["entity_id"], r["who"], r["reason"]) for r in edits] == [
        ("create", "2025-10-09", "supervisor:li", "全体员工外出")]

    page.click("#days li[data-date='2025-10-09'] button")
    page.wait_for_selector("#days li[data-date='2025-10-09']", state="detached")
    assert _is_working(served, date(2025, 10, 9))
    assert "removed" in page.inner_text("#cal-state")
    assert errors == []


def test_a_refusal_is_said_and_changes_nothing(served, browser) -> None:
    page = _signed_in(browser, served, "supervisor", "li")
    page.wait_for_selector("#days[data-drawn='2025']", state="attached")
    page.fill("#year", "2031")
    page.press("#year", "Enter")
    page.wait_for_selector("#days[data-drawn='2031']", state="attached")
    assert page.is_visible("#days-none")
    page.click("#seed")
    page.wait_for_selector("#cal-state.error")
    assert "chinesecalendar has no holidays for 2031" in page.inner_text("#cal-state")
    assert page.get_attribute("#cal-state", "class") == "result error"
    with served.store.read() as db:
        assert not service.year_present(db, 2031)
    # a year the package has: taken, and said
    page.fill("#year", "2025")
    page.press("#year", "Enter")
    page.wait_for_selector("#days[data-drawn='2025']", state="attached")
    page.click("#seed")
    page.wait_for_selector("#cal-state:has-text('2025: 28 holidays and 5 make-up working days taken')")
    assert audit_rows(served.store, "workcal_year")[-1]["who"] == "supervisor:li"


def test_the_page_in_chinese_passes_axe(served, browser) -> None:
    page = _signed_in(browser, served, "manager", "wang", language="zh_Hans")
    page.wait_for_selector("#days[data-drawn='2025']", state="attached")
    row = page.inner_text("#days li[data-date='2025-10-11']")
    assert "国庆节" in row and "调休上班日" in row and "星期六" in row
    assert page.inner_text("#cal-h") == "工作日历"
    assert serious_violations(page) == []


def test_not_for_a_guard(served, browser) -> None:
    page = _signed_in(browser, served, "guard", "zhang")
    assert page.wait_for_selector("#problem-h")
    assert page.query_selector("#nav-calendar") is None

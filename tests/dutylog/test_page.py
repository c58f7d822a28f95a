"""The duty desk's page in chromium, on a hub served for real in Asia/Shanghai: an entry
written with Ctrl+Enter is drawn with its estate-time stamp; an incident shows its countdown
to the report-up time and, once reported, waits among the open items to be closed; the
handover is accepted; every change is in the audit log; the page passes axe and fits 360 px."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import httpx
import pytest

from hub.app import start_hub
from hub.auth import Principal, Role, create_token
from hub.dutylog.models import NewEntry
from tests.dutylog.conftest import SHANGHAI, TZ, audit_rows, service
from tests.hub.conftest import make_config
from tests.rigs.axe import serious_violations, sideways
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser


@pytest.fixture
def served(tmp_path):
    running = start_hub(make_config(tmp_path, timezone=TZ), connect_mqtt=False)
    yield running
    running.stop()


def _signed_in(browser, served, role: str, name: str, width: int = 1280):
    page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
    page.goto(served.url + "/duty")
    assert page.url.endswith("/login")  # no session: the login page first
    page.fill("#token", create_token(served.store, role, name))
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(served.url + "/duty")
    page.wait_for_selector("#log[data-drawn]", state="attached")
    return page


def test_the_page_writes_an_entry_and_draws_it_in_estate_time(served, browser) -> None:
    alarms = pytest.importorskip("hub.alarms.service")
    with served.store.tx() as db:  # an open alarm, for the handover to show
        alarms.raise_alarm(db, "door_forced", datetime.now(timezone.utc), gate_id="north", door_id="north-in")
    late = service.write_entry(served.store, served.app.state.duty, Principal("wang", Role.GUARD),
                               NewEntry(kind="incident", incident_kind="security", text="stranger climbing the fence"),
                               now=datetime.now(timezone.utc) - timedelta(minutes=11))
    page = _signed_in(browser, served, "guard", "zhang", width=360)
    overdue = page.wait_for_selector(f"#incidents li[data-entry-id='{late['id']}'] .countdown.overdue")
    # written 11 minutes ago: a minute past its 10
    assert re.fullmatch(r"Overdue by 1:\d\d", overdue.inner_text())
    assert page.inner_text("#handover-alarms li").endswith("door forced open · north / north-in")
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    assert page.inner_text("#nav-duty") == "Duty log"

    page.fill("#entry-text", "patrol of blocks 1-3, all quiet")
    page.press("#entry-text", "Control+Enter")
    row = page.wait_for_selector("#log li:has-text('patrol of blocks 1-3')")
    api = httpx.Client(base_url=served.url, headers={"Authorization": "Bearer " + create_token(served.store, "guard", "api")})
    written = api.get("/api/v1/duty/entries").json()["items"][-1]
    at = datetime.fromisoformat(written["at"])
    shown = row.query_selector("time.at").inner_text()
    assert shown == at.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M:%S")  # the estate's clock, not UTC's
    assert "zhang" in row.inner_text() and "note" in row.inner_text()
    assert page.input_value("#entry-text") == ""

    # a special incident: its countdown to the report-up time, then reported, then open until closed
    assert page.is_hidden("#incident-kind")  # asked only for an incident
    page.check("input[name=kind][value=incident]")
    page.select_option("#incident-kind", "water_cut")
    page.fill("#entry-text", "burst pipe, block 3 basement")
    page.click("#entry-submit")
    incident = page.wait_for_selector("#incidents li:has-text('burst pipe')")
    countdown = incident.query_selector(".countdown")
    wait_for(lambda: re.fullmatch(r"\d+:\d\d left to report up", countdown.inner_text()), 10, "the countdown")
    assert "water cut" in incident.inner_text()
    assert serious_violations(page) == []
    assert sideways(page) <= 0, f"the page scrolls {sideways(page)} px sideways at 360 px"

    entry_id = incident.get_attribute("data-entry-id")
    page.fill(f"#report-{entry_id}", "shift leader Li")
    page.click(f"#report-{entry_id}-go")
    page.wait_for_selector(f"#open-items li[data-entry-id='{entry_id}']:has-text('Reported to shift leader Li')")
    assert page.query_selector(f"#incidents li[data-entry-id='{entry_id}']") is None
    page.fill(f"#close-{entry_id}", "plumber shut the valve")
    page.click(f"#close-{entry_id}-go")
    page.wait_for_selector(f"#log li[data-entry-id='{entry_id}'].closed:has-text('plumber shut the valve')")
    assert page.query_selector(f"#open-items li[data-entry-id='{entry_id}']") is None

    # the handover of this shift, accepted by whoever takes over
    page.select_option("#handover-shift", "current")
    wait_for(lambda: page.inner_text("#handover-title") == page.inner_text("#shift-now"), 10, "this shift's handover")
    page.fill("#accept-note", "read the log")
    page.click("#accept-submit")
    page.wait_for_selector("#handover-accepted:has-text('Accepted by zhang')")
    assert page.is_hidden("#accept-form")
    assert serious_violations(page) == []
    assert sideways(page) <= 0
    assert errors == []

    mine = [(r["entity_id"], r["action"]) for r in audit_rows(served.store, "duty_entry") if r["who"] == "guard:zhang"]
    assert [a for _, a in mine] == ["write", "write", "report", "close"]
    assert mine[2][0] == mine[3][0] == entry_id
    # the hub's own ticker found the late incident: one alarm, audited
    late_rows = wait_for(lambda: [r for r in audit_rows(served.store, "duty_entry", str(late["id"]))
                                  if r["action"] == "overdue"], 15, "the ticker's overdue alarm")
    assert len(late_rows) == 1 and late_rows[0]["who"] == "hub"
    with served.store.read() as db:
        assert [a["subject"] for a in alarms.open_alarms(db) if a["kind"] == "incident_overdue"] == [
            f"duty_entry:{late['id']}"]
    assert [r["action"] for r in audit_rows(served.store, "duty_handover")] == ["accept"]


def test_a_clerk_is_shown_the_page_is_not_for_them(served, browser) -> None:
    page = browser.new_context().new_page()
    page.goto(served.url + "/login")
    page.fill("#token", create_token(served.store, "clerk", "lin"))
    with page.expect_navigation():
        page.click("#login-submit")
    assert page.query_selector("#nav-duty") is None
    response = page.goto(served.url + "/duty")
    assert response.status == 403
    page.wait_for_selector("#problem-h")

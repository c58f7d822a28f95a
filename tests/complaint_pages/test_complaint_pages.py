"""The complaint pages in chromium against a real hub (its estate in Asia/Shanghai, the
browser in UTC): the service desk registers a phone complaint by keyboard alone and forwards
it; the department signs the coordination sheet and records the result in its queue; the
desk tells the complainant, records the acceptance and closes it, and records the follow-up
visit; a refused registration is said on its field and registers nothing; a complaint
registered twelve days ago (the service with a chosen clock) is on the supervisor's page
marked late, a major one escalated; the complaint page offers each role its moves (office
report, clear answer, pause, resume, the manager's extension) and hides another
department's complaint; the month page shows the API's figures, its files download and last
month files; with complaints on them, the pages fit a 360 px phone and pass axe. The
complainant's phone never appears whole in a list."""

from __future__ import annotations

import dataclasses
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.auth import Principal, Role
from hub.complaints import service
from hub.complaints.models import ComplaintIn
from hub.i18n.pages import instant
from tests.rigs.axe import serious_violations, sideways
from tests.rigs.wait import wait_for

from .conftest import TZ

pytestmark = pytest.mark.browser

PHONE = "13912345678"


def api(estate, method: str, path: str, role: str = "supervisor", **kw):
    r = httpx.request(method, estate.url + "/api/v1/complaints" + path, headers=estate.h(role), timeout=10, **kw)
    assert r.status_code < 300, r.text
    return r.json()


def complaints(estate, **query) -> list[dict]:
    return api(estate, "GET", "", params={"limit": 500, **query})


def register(estate, **body) -> dict:
    data = {"channel": "phone", "category": "repair", "severity": "general", "units": ["C-01-01"],
            "what": "Water drips from the ceiling", **body}
    return api(estate, "POST", "", role="clerk", json=data)


def test_a_phone_complaint_by_keyboard_is_forwarded_resolved_closed_and_followed_up(estate, open_page):
    page = open_page("clerk", "/complaints", "#register-form[data-ready]")
    assert page.is_visible("#nav-complaints")
    assert page.evaluate("document.activeElement.id") == "c-units"  # the first field is ready to type in
    kb = page.keyboard
    kb.type("a-12-0")
    page.wait_for_selector("#c-units-check:not(.ok):not(.bad):not(:empty)")  # "keep typing": several begin so
    kb.type("3")
    page.wait_for_selector("#c-units-check.ok")  # checked against the register as typed
    kb.press("Tab")
    assert page.evaluate("document.activeElement.id") == "c-name"
    kb.type("Wang Fang")
    kb.press("Tab")
    kb.type(PHONE)
    kb.press("Tab")
    assert page.evaluate("document.activeElement.id") == "c-what"
    kb.type("The lift in block A stops between floors")
    kb.press("Shift+Enter")  # a new line, not a submit
    kb.type("every evening")
    kb.press("Tab")
    assert page.evaluate("document.activeElement.id") == "sev-general"  # the quick choice, ready
    kb.press("Tab")
    assert page.evaluate("document.activeElement.id") == "ch-phone"
    kb.press("Enter")  # registers

    page.wait_for_selector("#registered:not([hidden])")
    no = page.get_attribute("#registered", "data-no")
    cid = int(page.get_attribute("#registered", "data-id"))
    assert page.evaluate("document.activeElement.id") == "f-department"  # straight on to forwarding
    [made] = [c for c in complaints(estate) if c["id"] == cid]
    assert made["no"] == no and made["state"] == "registered"
    assert made["channel"] == "phone" and made["severity"] == "general" and made["units"] == ["A-12-03"]
    whole = api(estate, "GET", f"/{cid}", role="clerk")
    assert whole["what"] == "The lift in block A stops between floors\nevery evening"
    assert whole["contact_name"] == "Wang Fang"
    assert page.input_value("#c-units") == "" and page.input_value("#c-what") == ""  # ready for the next call

    kb.press("ArrowDown")  # the next department on the list
    department = page.input_value("#f-department")
    assert department and department != "customer_service"
    kb.press("Tab")
    kb.type("Inspect the lift's door sensor")
    kb.press("Enter")
    page.wait_for_selector("#forward-form[hidden]", state="attached")
    assert page.evaluate("document.activeElement.id") == "next-complaint"
    done = api(estate, "GET", f"/{cid}", role="clerk")
    assert done["state"] == "forwarded" and done["department"] == department
    assert done["sheet"]["task"] == "Inspect the lift's door sensor"
    # in the desk's list, the phone masked
    page.wait_for_selector(f"#recent-list li[data-id='{cid}']")
    assert PHONE not in page.inner_text("body")
    assert page.errors == []

    # the department: its queue, the sheet signed, the result recorded
    dept = open_page("department", "/complaints/queue", f"#queue-list li[data-id='{cid}']", department=department)
    item = dept.locator(f"#queue-list li[data-id='{cid}']")
    item.get_by_role("button", name="Sign the coordination sheet").click()
    wait_for(lambda: api(estate, "GET", f"/{cid}")["state"] == "in_progress", 10, "the sheet to be signed")
    dept.wait_for_selector(f"#queue-list li[data-id='{cid}'][data-state='in_progress'] textarea")
    item.locator("textarea").fill("Sensor replaced; the lift runs")
    item.get_by_role("button", name="Record the result").click()
    wait_for(lambda: api(estate, "GET", f"/{cid}")["state"] == "resolved", 10, "the result to be recorded")
    assert api(estate, "GET", f"/{cid}")["result"] == "Sensor replaced; the lift runs"
    assert dept.errors == []

    # the desk: told, accepted, closed, on the complaint's own page
    one = open_page("clerk", f"/complaints/{cid}", "#complaint-desk[data-drawn='yes']")
    assert one.text_content("#c-no") == no
    assert one.locator("#deadlines li[data-deadline='forward']").get_attribute("data-state") in ("met", "missed")
    assert one.locator("#steps li").count() >= 4  # registered, forwarded, signed, resolved
    one.click("#mt-submit")
    one.wait_for_selector("#complaint-desk[data-state='told']")
    one.click("#mac-submit")
    one.wait_for_selector("#m-close:not([hidden])")
    one.click("#mc-submit")
    one.wait_for_selector("#complaint-desk[data-state='closed']")
    closed = api(estate, "GET", f"/{cid}")
    assert closed["state"] == "closed" and closed["accepted"] is True
    assert one.errors == []

    # the follow-up visit: five points and a score
    visits = open_page("clerk", "/complaints/follow-ups", f"#visits-list li[data-complaint='{cid}']")
    visits.locator(f"#visits-list li[data-complaint='{cid}'] button.record").click()
    assert visits.evaluate("document.activeElement.id") == "fu-quality"
    for key, text in [("quality", "Good"), ("effect", "The lift runs"), ("satisfaction", "Satisfied"),
                      ("shortcomings", "Slow to come"), ("suggestions", "Check lifts monthly")]:
        visits.fill(f"#fu-{key}", text)
    visits.check("#score-4")
    visits.press("#fu-suggestions", "Enter")
    visits.wait_for_selector("#visit-panel[hidden]", state="attached")
    [fu] = [f for f in api(estate, "GET", "/followups", params={"state": "done"}) if f["complaint_id"] == cid]
    assert fu["score"] == 4 and fu["satisfied"] is True and fu["shortcomings"] == "Slow to come"
    assert visits.locator(f"#visits-list li[data-complaint='{cid}']").count() == 0
    assert visits.errors == []


def test_a_refused_registration_is_said_on_its_field_and_registers_nothing(estate, open_page):
    page = open_page("clerk", "/complaints", "#register-form[data-ready]")
    before = len(complaints(estate))
    # a unit not in the register: said as it is typed, and refused by the hub on that field
    page.fill("#c-units", "Z-99-99")
    page.wait_for_selector("#c-units-check.bad")
    page.fill("#c-what", "Rubbish left by the gate")
    page.press("#c-what", "Enter")  # Enter in the text box registers
    page.wait_for_selector("#register-error[data-rule='unknown_unit']")
    assert page.get_attribute("#c-units", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "c-units"
    assert page.get_attribute("#register-error", "aria-live") == "assertive"
    assert "Z-99-99" in page.text_content("#register-error")
    # the hub refuses a complainant's date already past: said on that field, focused, announced
    page.fill("#c-units", "B-03-01")
    page.check("#sev-minor")
    page.fill("#c-wanted-by", "2020-01-01")
    page.click("#register-submit")
    page.wait_for_selector("#register-error[data-rule='wanted_by_past']")
    assert page.get_attribute("#c-wanted-by", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "c-wanted-by"
    assert page.get_attribute("#register-error", "aria-live") == "assertive"
    assert page.text_content("#register-error").strip()
    # the page's own check: what happened is required
    page.fill("#c-wanted-by", "")
    page.fill("#c-what", "")
    page.click("#register-submit")
    page.wait_for_selector("#register-error:not(:empty)")
    assert page.evaluate("document.activeElement.id") == "c-what"
    assert len(complaints(estate)) == before
    # put right, it registers; the time typed is the estate's wall clock (not the browser's UTC)
    yesterday = (datetime.now(ZoneInfo(TZ)) - timedelta(days=1)).replace(hour=9, minute=15, second=0, microsecond=0)
    page.fill("#c-what", "Rubbish left by the gate")
    page.fill("#c-happened", yesterday.strftime("%Y-%m-%dT%H:%M"))
    page.click("#register-submit")
    page.wait_for_selector("#registered:not([hidden])")
    made = api(estate, "GET", f"/{page.get_attribute('#registered', 'data-id')}", role="clerk")
    assert datetime.fromisoformat(made["happened_at"]) == yesterday
    assert made["severity"] == "minor" and made["units"] == ["B-03-01"]
    assert page.errors == []


def test_the_supervisor_sees_a_complaint_registered_long_ago_as_late(estate, open_page):
    app = estate.app
    ctx = dataclasses.replace(app.state.complaints, clock=lambda: datetime.now(timezone.utc) - timedelta(days=12))
    clerk = Principal(name="clerk:past", role=Role.CLERK)
    old = service.register(ctx, clerk, ComplaintIn(channel="visit", category="noise", severity="general",
                                                    units=["B-03-02"], what="Drilling at night",
                                                    contact_phone=PHONE))
    fresh = register(estate, units=["A-12-04"], what="A broken bench")
    major = register(estate, units=["C-01-01"], severity="major", what="A child hurt by a falling tile")
    page = open_page("supervisor", "/complaints/supervise", "#late-list[data-drawn]")
    escalated = page.wait_for_selector(f"#escalated-list li[data-id='{major['id']}']")  # to the manager at once
    assert "escalated to the manager" in escalated.inner_text()
    late = page.wait_for_selector(f"#late-list li[data-id='{old['id']}']")
    assert "late" in late.get_attribute("class").split()
    assert late.query_selector(".flag.late[data-late='yes']") is not None
    assert "LATE" in late.inner_text()
    assert "late by" in late.inner_text()
    assert page.locator(f"#late-list li[data-id='{fresh['id']}']").count() == 0  # not late: not there
    assert page.locator(f"#soon-list li[data-id='{old['id']}']").count() == 0
    [listed] = [c for c in complaints(estate, late="true") if c["id"] == old["id"]]
    assert listed["late"] is True
    assert PHONE not in page.inner_text("body")  # masked in the list
    # its deadline as the estate's clocks show it, not the browser's (UTC here)
    due = listed["next_due"]
    assert instant(due, TZ, seconds=False) in late.inner_text()
    # and on its own page, its deadlines late
    one = open_page("supervisor", f"/complaints/{old['id']}", "#complaint-desk[data-drawn='yes']")
    assert one.locator("#deadlines li.late").count() >= 1
    assert page.errors == [] and one.errors == []


def test_the_month_page_shows_the_apis_figures(estate, open_page):
    register(estate, severity="minor", channel="online", units=["C-01-01"])
    c = register(estate, severity="general", channel="letter", category="cleaning", units=["A-12-04"])
    api(estate, "POST", f"/{c['id']}/forward", role="clerk", json={"department": "cleaning", "task": "Sweep"})
    month = datetime.now(ZoneInfo(TZ)).strftime("%Y-%m")  # the estate's month
    page = open_page("supervisor", f"/complaints/month/{month}", "#complaint-desk[data-drawn='yes']")
    report = api(estate, "GET", f"/report/{month}")
    assert report["figures"], "the API gives figures"
    for f in report["figures"]:
        row = page.locator(f"#figures tr[data-key='{f['key']}']")
        shown = row.locator("td.value").get_attribute("data-value")
        assert (shown == "" if f["value"] is None else float(shown) == pytest.approx(f["value"])), f["key"]
        assert row.locator("td.formula").inner_text().strip()  # its formula on the page
    for table, key in [("by-severity", "by_severity"), ("by-channel", "by_channel"), ("by-department", "by_department")]:
        shown = {tr.get_attribute("data-code"): int(tr.locator("td").get_attribute("data-value"))
                 for tr in page.locator(f"#{table} tbody tr").all()}
        assert shown == report["counts"][key], table
    for t in report["year"]["targets"]:
        assert page.locator(f"#year tr[data-key='{t['key']}']").count() == 1
    assert page.get_attribute("#csv-link", "href") == f"/api/v1/complaints/report/{month}.csv"
    assert page.get_attribute("#xlsx-link", "href") == f"/api/v1/complaints/report/{month}.xlsx"
    assert page.is_visible("#print")
    # the links give the files, with the page's session
    csv = page.request.get(estate.url + page.get_attribute("#csv-link", "href"))
    assert csv.status == 200 and "text/csv" in csv.headers["content-type"]
    assert str(report["counts"]["complaints"]) in csv.text()
    xlsx = page.request.get(estate.url + page.get_attribute("#xlsx-link", "href"))
    assert xlsx.status == 200 and xlsx.body()[:2] == b"PK"  # a zip: an XLSX workbook
    assert page.locator("#file-submit").count() == 0  # the month is not over: nothing to file yet
    page.emulate_media(media="print")
    assert page.is_hidden("header.shell") and page.is_hidden("#csv-link") and page.is_visible("#figures")
    assert page.errors == []

    # last month is over: the supervisor files it, and it says so, frozen
    last = (datetime.now(ZoneInfo(TZ)).replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    before = open_page("supervisor", f"/complaints/month/{last}", "#complaint-desk[data-drawn='yes']")
    assert before.get_attribute("#report-status", "data-filed") == "no"
    with before.expect_navigation():
        before.click("#file-submit")
    before.wait_for_selector("#report-status[data-filed='yes']")
    assert api(estate, "GET", f"/report/{last}")["filed"] is True
    assert before.is_hidden("#file-form")
    assert before.errors == []



def test_the_complaint_page_offers_each_role_its_moves_and_records_them(estate, open_page):
    """A joint major complaint: the desk records the clear answer and the written report to the
    complaints office; the manager pauses and resumes the clock and extends the deadline (a
    clerk is not offered the extension); another department's staff cannot open it."""
    c = register(estate, units=["A-12-03", "A-12-04", "B-03-02"], severity="major", category="facilities",
                 what="The garage floods when it rains")
    assert c["joint"] is True
    clerk = open_page("clerk", f"/complaints/{c['id']}", "#complaint-desk[data-drawn='yes']")
    assert clerk.is_visible("#m-office") and clerk.is_visible("#m-answer") and clerk.is_visible("#m-forward")
    assert clerk.is_hidden("#m-extend") and clerk.is_hidden("#m-resolve")
    assert clerk.locator("#deadlines li[data-deadline='office_report']").count() == 1
    clerk.fill("#mo-reference", "GS-2026-118")
    clerk.press("#mo-reference", "Enter")
    clerk.wait_for_selector("#m-office[hidden]", state="attached")
    assert api(estate, "GET", f"/{c['id']}")["office_report"]["reference"] == "GS-2026-118"
    assert clerk.locator("#deadlines li[data-deadline='office_report']").get_attribute("data-state") in ("met", "missed")
    clerk.fill("#ma-answer", "Pumps will be installed within ten days")
    clerk.click("#ma-submit")
    clerk.wait_for_selector("#m-answer[hidden]", state="attached")
    assert api(estate, "GET", f"/{c['id']}")["answer"] == "Pumps will be installed within ten days"
    assert clerk.errors == []

    manager = open_page("manager", f"/complaints/{c['id']}", "#complaint-desk[data-drawn='yes']")
    manager.fill("#mp-reason", "Waiting for the owners' photos")
    manager.click("#mp-submit")
    manager.wait_for_selector("#m-resume:not([hidden])")
    assert api(estate, "GET", f"/{c['id']}")["paused"] is True
    manager.click("#mu-submit")
    manager.wait_for_selector("#m-pause:not([hidden])")
    assert api(estate, "GET", f"/{c['id']}")["paused"] is False
    manager.fill("#me-days", "2")
    manager.fill("#me-reason", "Pumps on order")
    manager.click("#me-submit")
    wait_for(lambda: len(api(estate, "GET", f"/{c['id']}")["extensions"]) == 1, 10, "the extension")
    manager.wait_for_selector("#steps li[data-action='extend']")
    assert "Pumps on order" in manager.inner_text("#facts")
    assert manager.errors == []

    other = open_page("department", f"/complaints/{c['id']}", "#complaint-desk[data-drawn='error']",
                      department="cleaning")
    assert other.text_content("#message").strip()  # not its department's: refused, said
    assert "garage" not in other.inner_text("body")


PAGES = [("clerk", "/complaints", "#recent-list[data-drawn]"), ("supervisor", "/complaints/queue", "#queue-list[data-drawn]"),
         ("supervisor", "/complaints/supervise", "#escalated-list[data-drawn]"),
         ("manager", "/complaints/month/{month}", "#complaint-desk[data-drawn='yes']"),
         ("clerk", "/complaints/follow-ups", "#visits-list[data-drawn]"),
         ("clerk", "/complaints/{id}", "#complaint-desk[data-drawn='yes']"),
         ("department", "/complaints/queue", "#queue-list li")]


@pytest.mark.parametrize("language", ["zh_Hans"])  # the staff's; every language: tests/i18n
def test_the_pages_with_complaints_on_them_fit_a_phone_and_pass_axe(estate, open_page, language):
    long_what = "漏水" * 150 + " " + "x" * 120  # long words and long Chinese lines wrap, never widen the page
    c = register(estate, units=["A-12-03", "A-12-04", "B-03-01"], what=long_what, contact_phone=PHONE,
                 contact_name="王芳", where="3号楼电梯间", asks="尽快修好")  # joint: three households
    api(estate, "POST", f"/{c['id']}/forward", role="clerk", json={"department": "engineering", "task": long_what})
    month = datetime.now(ZoneInfo(TZ)).strftime("%Y-%m")
    for role, path, ready in PAGES:
        path = path.format(month=month, id=c["id"])
        department = "engineering" if role == "department" else None
        for viewport in ({"width": 360, "height": 740}, {"width": 1366, "height": 900}):
            page = open_page(role, path, ready, department=department, viewport=viewport, language=language)
            page.wait_for_load_state("load")
            assert page.get_attribute("html", "lang") == {"zh_Hans": "zh-Hans", "en": "en"}[language]
            if viewport["width"] == 360:
                assert sideways(page) <= 0, f"{path} scrolls {sideways(page)} px sideways at 360 px"
            else:
                assert serious_violations(page) == [], path
            assert page.errors == [], path
            page.context.close()

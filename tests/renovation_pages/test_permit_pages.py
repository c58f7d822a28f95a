"""The permit pages in chromium against a real hub: the desk applies for a permit by
keyboard and sees it applied (the hub has it, as typed); engineering approves it on its
page; a suspension without engineering's approval is refused on its field at the desk and
changes nothing; the month's figures count it and download as CSV and XLSX."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from openpyxl import load_workbook

from tests.rigs.axe import serious_violations

pytestmark = pytest.mark.browser


def call(estate, method: str, path: str, role: str = "supervisor", **kw) -> httpx.Response:
    return httpx.request(method, estate.url + path, headers=estate.h(role), timeout=15, **kw)


def permit(estate, no: str) -> dict:
    r = call(estate, "GET", f"/api/v1/permits/{no}")
    assert r.status_code == 200, r.text
    return r.json()


def permits(estate) -> list[dict]:
    r = call(estate, "GET", "/api/v1/permits?limit=100")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def days(n: int) -> str:
    return (datetime.now(timezone.utc) + timedelta(days=n)).strftime("%Y-%m-%d")


def applied_by_api(estate, unit: str = "B-01-01") -> dict:
    body = {"unit": unit, "applicant": {"name": "Wang Fang", "standing": "owner"}, "company": "Fine Build",
            "site_manager": {"name": "Li Qiang", "phone": "13800138000"},
            "workers": [{"name": "Zhang San", "id_doc_no": "110101199001011234"}],
            "period_from": days(0), "period_until": days(30),
            "hours": {"start": "08:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5, 6]},
            "deposit": {"amount_cents": 200000, "receipt_no": "R-88"},
            "drawings": {"ref": "DWG-7", "approved_by": "Eng. Zhou", "approved_on": days(-1)}}
    r = call(estate, "POST", "/api/v1/permits", "clerk", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def type_into(page, selector: str, text: str) -> None:
    """Focus by keyboard's way (the field), then type, as a person at the desk does."""
    page.focus(selector)
    page.keyboard.type(text)


def test_the_desk_applies_by_keyboard_and_engineering_approves(estate, open_page):
    page = open_page("clerk", "/permits", "#permits-list[data-drawn]")
    assert page.is_visible("#nav-permits")
    assert page.evaluate("document.activeElement.id") == "p-unit"  # the form starts where typing starts
    page.keyboard.type("a-12-03")  # lower case: the register's code is upper
    page.wait_for_selector("#p-unit-check.ok")  # checked against the register as typed
    page.keyboard.press("Tab")
    page.keyboard.type("Wang Fang")
    page.keyboard.press("Tab")  # standing: the owner (the first choice)
    page.keyboard.press("Tab")
    page.keyboard.type("Fine Build Ltd")
    page.keyboard.press("Tab")
    page.keyboard.type("Li Qiang")
    page.keyboard.press("Tab")
    page.keyboard.type("13800138000")
    page.keyboard.press("Tab")
    page.keyboard.type("Zhang San, 110101199001011234")
    page.keyboard.press("Enter")
    page.keyboard.type("Zhao Liu 440301198805051234")
    page.fill("#p-until", days(30))
    type_into(page, "#p-deposit", "2000")
    page.keyboard.press("Tab")
    page.keyboard.type("R-88")
    type_into(page, "#p-drawings", "DWG-7")
    page.keyboard.press("Tab")
    page.keyboard.type("Eng. Zhou")
    page.fill("#p-drawings-on", days(-1))
    page.focus("#p-receipt")
    page.keyboard.press("Enter")  # submits the form

    panel = page.wait_for_selector("#permit-panel[data-state='applied']")
    no = panel.get_attribute("data-permit")
    page.wait_for_selector(f"#permits-list li[data-permit='{no}'][data-state='applied']")
    assert "A-12-03" in page.inner_text("#permit-facts")
    assert "110101199001011234" not in page.inner_text("body")  # an ID number never whole
    p = permit(estate, no)
    assert p["state"] == "applied" and p["unit"] == "A-12-03"
    assert p["deposit"]["amount_cents"] == 200000 and p["deposit"]["receipt_no"] == "R-88"
    assert [w["name"] for w in p["workers"]] == ["Zhang San", "Zhao Liu"]
    assert p["hours"]["start"] == "08:00" and p["hours"]["weekdays"] == [1, 2, 3, 4, 5, 6]
    assert p["drawings"]["approved_by"] == "Eng. Zhou"
    assert page.input_value("#p-unit") == ""  # emptied for the next applicant
    assert page.errors == []

    eng = open_page("engineering", "/permits/engineering", "#drawings-list[data-drawn]")
    row = eng.wait_for_selector(f"#drawings-list li[data-permit='{no}']")
    row.query_selector("form[data-move=approve] input").fill("drawings checked")
    row.query_selector("form[data-move=approve] button[type=submit]").click()
    eng.wait_for_selector(f"#suspensions-list li[data-permit='{no}']")
    assert eng.query_selector(f"#drawings-list li[data-permit='{no}']") is None
    assert permit(estate, no)["state"] == "approved"

    # stopping work: engineering's own approval (no approver to type), recorded with the reason
    row = eng.wait_for_selector(f"#suspensions-list li[data-permit='{no}']")
    assert serious_violations(eng) == []  # the lists with their forms
    assert row.query_selector("[data-field='engineering_approval.by']") is None
    row.query_selector("form[data-move=suspend] [data-field=reason]").fill("fire door blocked by materials")
    row.query_selector("form[data-move=suspend] [data-field=reason]").press("Enter")
    eng.wait_for_selector(f"#suspended-list li[data-permit='{no}'] form[data-move=resume]")
    p = permit(estate, no)
    assert p["state"] == "suspended" and p["suspension"]["reason"] == "fire door blocked by materials"
    assert p["suspension"]["engineering_by"]
    assert eng.errors == []


def test_a_suspension_without_engineering_is_refused_on_its_field_and_changes_nothing(estate, open_page):
    no = applied_by_api(estate)["permit_no"]
    assert call(estate, "POST", f"/api/v1/permits/{no}/approve", "clerk", json={}).status_code == 200
    history = call(estate, "GET", f"/api/v1/permits/{no}/history").json()["items"]

    page = open_page("clerk", "/permits", "#permits-list[data-drawn]")
    page.fill("#find-q", no)
    page.press("#find-q", "Enter")
    page.wait_for_selector(f"#permit-panel[data-permit='{no}'][data-state='approved']")
    page.click("#move-suspend")
    page.wait_for_selector("#form-suspend")
    assert page.evaluate("document.activeElement.dataset.field") == "reason"
    page.keyboard.type("water leaking to the unit below")
    page.fill("#form-suspend [data-field='engineering_approval.by']", "")  # no engineering approval
    page.press("#form-suspend [data-field=reason]", "Enter")

    error = page.wait_for_selector("#form-suspend .form-error:not(:empty)")
    assert error.get_attribute("data-rule") == "engineering_approval_required"
    assert error.get_attribute("aria-live") == "assertive"
    by = "#form-suspend [data-field='engineering_approval.by']"
    assert page.get_attribute(by, "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.dataset.field") == "engineering_approval.by"
    # nothing changed: still active, no move recorded
    assert permit(estate, no)["state"] == "approved"
    assert call(estate, "GET", f"/api/v1/permits/{no}/history").json()["items"] == history

    # with engineering's approval recorded, the same form suspends it
    page.fill(by, "Eng. Zhou")
    page.press(by, "Enter")
    page.wait_for_selector(f"#permit-panel[data-permit='{no}'][data-state='suspended']")
    p = permit(estate, no)
    assert p["state"] == "suspended" and p["suspension"]["engineering_by"] == "Eng. Zhou"
    assert page.errors == []


def test_the_month_figures_count_the_permits_and_download(estate, open_page):
    no = applied_by_api(estate)["permit_no"]
    assert call(estate, "POST", f"/api/v1/permits/{no}/approve", "clerk", json={}).status_code == 200
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    page = open_page("supervisor", f"/permits/month/{month}", "#figures[data-drawn]")
    assert page.text_content("td[data-key='permits_active']") == "1"
    assert page.text_content("td[data-key='approvals']") == "1"
    csv_text = call(estate, "GET", f"/permits/month/{month}.csv").text
    assert "Permits active,1" in csv_text and "Approvals,1" in csv_text
    book = load_workbook(io.BytesIO(call(estate, "GET", f"/permits/month/{month}.xlsx").content))
    rows = {r[0]: r[1] for r in book.active.iter_rows(values_only=True)}
    assert rows["Permits active"] == 1 and rows["Applications"] == 1
    assert page.errors == []


def test_exit_refuses_deductions_without_a_reason_then_ends_the_permit_with_its_refund_date(estate, open_page):
    no = applied_by_api(estate)["permit_no"]
    assert call(estate, "POST", f"/api/v1/permits/{no}/approve", "clerk", json={}).status_code == 200
    page = open_page("clerk", "/permits", "#permits-list[data-drawn]")
    page.click(f"#permits-list li[data-permit='{no}'] button.open")
    page.wait_for_selector(f"#permit-panel[data-permit='{no}'][data-state='approved']")
    assert page.is_visible("#move-extend") and page.is_visible("#move-report-lost")
    assert page.query_selector("#move-resume") is None  # not while it is active
    page.click("#move-exit")
    form = "#form-exit"
    page.keyboard.type("Eng. Zhou")  # the first box has the focus
    page.fill(f"{form} [data-field=inspection]", "scratched lift door")
    page.fill(f"{form} [data-field=deductions_cents]", "300")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"{form} .form-error[data-rule='deduction_reason_required']")
    assert serious_violations(page) == []  # the permit's panel, its move's form and the refusal
    assert page.get_attribute(f"{form} [data-field=deduction_reason]", "aria-invalid") == "true"
    assert permit(estate, no)["state"] == "approved"  # nothing changed

    page.fill(f"{form} [data-field=deduction_reason]", "lift door repair")
    page.click(f"{form} button[type=submit]")
    page.wait_for_selector(f"#permit-panel[data-permit='{no}'][data-state='ended']")
    p = permit(estate, no)
    assert p["state"] == "ended" and p["deposit"]["deductions_cents"] == 30000
    assert p["deposit"]["refund_on"] in page.inner_text("#permit-facts")  # the refund date said
    assert page.query_selector("#permit-moves button") is None  # an ended permit has no moves
    assert page.errors == []

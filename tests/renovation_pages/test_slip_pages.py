"""The release slip pages in chromium against a real hub: the guard checks a slip by its
number on a phone: accepted the first time, refused the second with the reason drawn large;
a move-out for a household with fees owed (the finance system's import) is refused on its
field at the desk, issues nothing, then passes with the manager's override, whose reason is
in the audit log."""

from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest

from tests.rigs.axe import serious_violations

pytestmark = pytest.mark.browser


def call(estate, method: str, path: str, role: str = "supervisor", **kw) -> httpx.Response:
    return httpx.request(method, estate.url + path, headers=estate.h(role), timeout=15, **kw)


def today() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%d")  # the rigs' estate keeps UTC days


def slips(estate) -> list[dict]:
    r = call(estate, "GET", "/api/v1/slips?limit=100")
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_the_guard_checks_a_slip_accepted_once_then_refused_with_the_reason(estate, open_page):
    r = call(estate, "POST", "/api/v1/slips", "clerk", json={
        "kind": "goods", "unit": "A-12-03", "applicant": "Wang Fang", "standing": "owner",
        "items": [{"name": "sofa", "quantity": 1}], "vehicle": "粤B12345", "date": today(), "gates": ["north"],
        "owner_confirmation": None, "override_reason": None})
    assert r.status_code == 201, r.text
    number = r.json()["number"]

    page = open_page("guard", "/slips/check", "#reno[data-ready]", viewport={"width": 360, "height": 740})
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0
    assert page.evaluate("document.activeElement.id") == "c-text"
    page.fill("#c-gate", "north")
    page.focus("#c-text")
    page.keyboard.type(number.lower())
    page.keyboard.press("Enter")  # as a scanner ends its text
    page.wait_for_selector("#verdict[data-result], #check-error:not(:empty)")
    assert page.get_attribute("#verdict", "data-result") == "accepted", \
        (page.text_content("#verdict"), page.text_content("#check-error"))
    verdict = page.query_selector("#verdict")
    assert "sofa" in verdict.inner_text() and number in verdict.inner_text()
    assert call(estate, "GET", f"/api/v1/slips/{number}").json()["state"] == "used"
    # drawn large: the word is at least twice the body's text
    size = page.evaluate("parseFloat(getComputedStyle(document.getElementById('verdict-word')).fontSize)")
    assert size >= 32

    page.fill("#c-text", number)
    page.press("#c-text", "Enter")
    page.wait_for_selector("#verdict[data-result='refused'][data-rule='slip_used']")
    reason = page.text_content("#verdict-reason")
    assert reason.strip(), "the refusal's reason is drawn"
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 0

    # by its QR's text, as a scanner types it: the gate it does not name refuses it
    r = call(estate, "POST", "/api/v1/slips", "clerk", json={
        "kind": "goods", "unit": "A-12-03", "applicant": "Wang Fang", "standing": "owner",
        "items": [{"name": "fridge", "quantity": 1}], "vehicle": None, "date": today(), "gates": ["south"],
        "owner_confirmation": None, "override_reason": None})
    assert r.status_code == 201, r.text
    page.fill("#c-text", r.json()["qr"])
    page.press("#c-text", "Enter")
    page.wait_for_selector("#verdict[data-result='refused'][data-rule='slip_wrong_gate']")
    page.fill("#c-gate", "south")
    page.fill("#c-text", r.json()["qr"])
    page.press("#c-text", "Enter")
    page.wait_for_selector("#verdict[data-result='accepted']")
    assert "fridge" in page.inner_text("#verdict")
    assert page.errors == []


def test_a_move_out_with_fees_owed_is_refused_then_passes_with_the_managers_override(estate, open_page):
    csv_file = "unit,amount_owed,as_of\nA-12-03,1234.50,2026-11-20\n".encode()
    r = call(estate, "POST", "/api/v1/slips/fees/import?dry_run=false",
             files={"file": ("fees.csv", csv_file, "text/csv")})
    assert r.status_code == 200, r.text

    page = open_page("manager", "/slips", "#recent-list[data-drawn]")
    page.check("#kind-move-out")
    page.fill("#s-unit", "A-12-03")
    fee = page.wait_for_selector("#s-fees.owed")  # the fee position, as the unit is typed
    assert "1,234.50" in fee.inner_text()
    page.fill("#s-applicant", "Wang Fang")
    page.fill("#s-gates", "north")
    page.click("#slip-submit")

    error = page.wait_for_selector("#slip-error:not(:empty)")
    assert error.get_attribute("data-rule") == "fees_owed"
    assert page.is_visible("#override-box")
    assert page.get_attribute("#s-override", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "s-override"
    assert slips(estate) == []  # refused: nothing issued
    assert serious_violations(page) == []

    page.keyboard.type("owner settled with finance by phone; receipt to follow")
    page.keyboard.press("Enter")
    page.wait_for_selector("#slip-panel[data-number]:not([hidden])")
    [slip] = slips(estate)
    assert slip["kind"] == "move_out" and slip["override"]["reason"].startswith("owner settled")
    page.wait_for_selector(f"#recent-list li[data-number='{slip['number']}']")
    with estate.store.read() as db:
        said = [f"{r[0]} {r[1]}" for r in db.execute(
            "SELECT reason, detail FROM audit WHERE action = 'slip_fee_override'").fetchall()]
    assert any("owner settled with finance" in (d or "") for d in said), said
    assert page.errors == []

    # a clerk is told to call the manager, and offered no override
    clerk = open_page("clerk", "/slips", "#recent-list[data-drawn]")
    clerk.check("#kind-move-out")
    clerk.fill("#s-unit", "A-12-03")
    clerk.wait_for_selector("#s-fees.owed")
    clerk.fill("#s-applicant", "Wang Fang")
    clerk.fill("#s-gates", "north")
    clerk.click("#slip-submit")
    clerk.wait_for_selector("#slip-error[data-rule='fees_owed']")
    assert clerk.is_hidden("#override-box")
    assert clerk.get_attribute("#s-unit", "aria-invalid") == "true"
    assert len(slips(estate)) == 1

"""The visitor page in chromium against a real hub: a guard registers a visitor and is handed
a QR pass whose image is drawn and whose text is genuine (it verifies with the hub's public
key, as a gate checks it); an unknown host unit is refused on its field and registers
nothing; a visitor pre-registered through the API is found by plate and confirmed, which
issues the pass; a visitor the gate let in (a signed visit event over MQTT) is listed inside
marked when overstaying, and checked out by hand; a watch-list match stops a guard, and only
a supervisor is offered the override, which registers the visitor with a reason. ID numbers and phones never appear whole on the page."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import pytest

from hub.auth import create_token
from hub.stock import ledger
from hub.visitors import service
from protocols.messages import Direction, EventKind, GateEvent
from protocols.topics import gate_topic
from protocols.visitpass import read_pass
from tests.rigs.axe import serious_violations, sideways
from tests.rigs.wait import wait_for

from .rig import hub_public_keys, pre_register

pytestmark = pytest.mark.browser

ID_NUMBER = "110101199003074512"
PHONE = "13912345678"


def open_page(browser, estate, role: str = "guard", viewport: dict | None = None):
    """A signed-in visitor page (token sign-in, as the login page takes it)."""
    page = browser.new_page(viewport=viewport or {"width": 1366, "height": 900})
    page.set_default_timeout(15_000)
    page.errors = []
    page.on("pageerror", lambda e: page.errors.append(str(e)))
    page.goto(estate.url + "/login")
    page.fill("#token", create_token(estate.store, role, f"{role}-visitors"))
    with page.expect_navigation():
        page.click("#login-submit")
    page.goto(estate.url + "/visitors")
    page.wait_for_selector("#inside-list[data-drawn]", state="attached")
    return page


def visits(estate, **query) -> list[dict]:
    r = httpx.get(estate.url + "/api/v1/visits", params={"limit": 100, **query}, headers=estate.h("supervisor"))
    assert r.status_code == 200, r.text
    data = r.json()
    return data["items"] if isinstance(data, dict) else data


def fill_visitor(page, unit: str, name: str = "Zhang San") -> None:
    page.fill("#v-name", name)
    page.select_option("#v-id-type", index=0)
    page.fill("#v-id-number", ID_NUMBER)
    page.fill("#v-phone", PHONE)
    page.fill("#v-unit", unit)
    page.fill("#v-purpose", "Visiting family")
    page.fill("#v-plate", "粤B 12345")
    page.check("#leave-4h")


def qr_drawn(page) -> bool:
    return page.evaluate("(() => { const i = document.getElementById('pass-qr');"
                         " return i.complete && i.naturalWidth > 0; })()")


def test_a_guard_registers_a_visitor_and_gets_a_genuine_qr_pass(estate, browser):
    page = open_page(browser, estate)
    assert page.is_visible("#nav-visitors")
    fill_visitor(page, "a-12-03")  # typed in lower case: the register's code is upper
    page.wait_for_selector("#v-unit-check.ok")  # checked against the register as typed
    page.click("#register-submit")

    passbox = page.wait_for_selector("#pass[data-pass-text^='GHP1.']")
    assert page.is_visible("#pass-panel") and page.is_visible("#pass-print")
    wait_for(lambda: qr_drawn(page), 10, "the QR image to load")
    assert page.evaluate("document.getElementById('pass-qr').naturalWidth") > 100  # drawn large

    text = passbox.get_attribute("data-pass-text")
    claims = read_pass(text, hub_public_keys(estate))  # raises if forged or tampered
    assert claims.site == estate.site
    assert claims.pass_id == passbox.get_attribute("data-pass-id")
    assert claims.entries == 1
    assert page.text_content("#pass-name") == "Zhang San"
    assert page.text_content("#pass-unit") == "A-12-03"
    assert page.text_content("#pass-entries") == "1"
    leaves = datetime.fromtimestamp(claims.valid_until, timezone.utc)
    assert timedelta(hours=3) < leaves - datetime.now(timezone.utc) < timedelta(hours=6)

    # the hub has it: one visit, inside or expected at the gate, its ID and phone masked
    [visit] = visits(estate)
    assert visit["visitor_name"] == "Zhang San" and visit["host_unit"] == "A-12-03"
    assert visit["plate"] == "粤B12345"
    assert ID_NUMBER not in str(visit) and ID_NUMBER[-4:] in visit["id_masked"]
    # the form's opening went with it: the registration is timed to the pass in hand
    with estate.store.read() as db:
        opened, handled = db.execute("SELECT form_opened_at, handled_s FROM visits").fetchone()
    assert opened is not None and 0 <= handled < 300
    # printed, the pass alone
    page.emulate_media(media="print")
    assert page.is_visible("#pass-qr") and page.is_visible("#pass-name")
    assert all(page.is_hidden(s) for s in ("#register", "#expected", "#inside", "header.shell", "#pass-print"))
    page.emulate_media(media="screen")
    # nothing whole on the page once registered (the form is emptied)
    body = page.inner_text("body")
    assert ID_NUMBER not in body and PHONE not in body
    assert page.input_value("#v-name") == ""
    assert page.errors == []


def test_an_unknown_host_unit_is_refused_on_its_field_and_registers_nothing(estate, browser):
    page = open_page(browser, estate)
    fill_visitor(page, "Z-99-99")
    page.wait_for_selector("#v-unit-check.bad")  # said as typed
    page.click("#register-submit")

    error = page.wait_for_selector("#register-error:not(:empty)")
    assert error.get_attribute("aria-live") == "assertive"  # announced
    assert page.get_attribute("#v-unit", "aria-invalid") == "true"
    assert page.evaluate("document.activeElement.id") == "v-unit"
    assert page.is_hidden("#pass-panel")
    assert visits(estate) == []
    # what was typed stays, to be corrected
    assert page.input_value("#v-name") == "Zhang San"
    assert page.errors == []


def test_a_pre_registered_visitor_is_found_by_plate_and_confirmed(estate, browser):
    visit = pre_register(estate, name="Li Si", plate="京A88888", unit="A-12-03")
    assert visit["state"] == "expected"
    page = open_page(browser, estate)
    page.fill("#expected-q", "京A88888")
    page.press("#expected-q", "Enter")
    page.wait_for_selector("#expected-list[data-drawn='京A88888']", state="attached")
    row = page.wait_for_selector(f"#expected-list li[data-visit-id='{visit['visit_id']}']")
    assert "Li Si" in row.inner_text() and "A-12-03" in row.inner_text()
    assert PHONE not in row.inner_text()

    # registered ahead without an ID: the guard types it at the gate, then confirms
    row.query_selector("input[data-field=id_number]").fill("440301198805051234")
    row.query_selector("button.arrive").click()
    passbox = page.wait_for_selector("#pass[data-pass-text^='GHP1.']")
    assert page.text_content("#pass-name") == "Li Si"
    wait_for(lambda: qr_drawn(page), 10, "the QR image to load")
    claims = read_pass(passbox.get_attribute("data-pass-text"), hub_public_keys(estate))
    after = httpx.get(f"{estate.url}/api/v1/visits/{visit['visit_id']}", headers=estate.h("supervisor")).json()
    assert claims.pass_id in [p["pass_id"] for p in after["passes"]]
    page.wait_for_selector(f"#expected-list li[data-visit-id='{visit['visit_id']}']", state="detached")
    assert page.errors == []


def test_a_visitor_the_gate_let_in_is_listed_inside_and_checked_out(estate, browser, peer):
    visit = pre_register(estate, name="Wang Wu", plate="沪C00001", unit="A-12-03", at_gate=True)
    pass_id = visit["passes"][0]["pass_id"]
    gate = peer()
    event = GateEvent(event_id="ev-visit-in-0001", gate_id="north", door_id="north-in", kind=EventKind.VISIT,
                      direction=Direction.IN, pass_id=pass_id, decision="granted", reason="valid_pass",
                      at=datetime.now(timezone.utc))
    gate.publish(gate_topic(estate.site, "north", "event"), estate.signed("north", event, "event"))
    wait_for(lambda: [v["visit_id"] for v in visits(estate, state="inside")] == [visit["visit_id"]], 15,
             "the visit event to check the visitor in")

    page = open_page(browser, estate)
    row = page.wait_for_selector(f"#inside-list li[data-visit-id='{visit['visit_id']}']")
    assert "Wang Wu" in row.inner_text() and "沪C00001" in row.inner_text()
    assert "overstay" not in (row.get_attribute("class") or "")

    # the hub's overstay check, run as the ticker runs it, five hours on: the row is marked
    with estate.store.tx() as db:
        service.check_overstays(timedelta(minutes=30))(db, datetime.now(timezone.utc) + timedelta(hours=5))
    page.click("#inside-refresh")
    row = page.wait_for_selector(f"#inside-list li.overstay[data-visit-id='{visit['visit_id']}']")
    assert row.query_selector(".flag") is not None
    row.query_selector("button.leave").click()
    page.wait_for_selector(f"#inside-list li[data-visit-id='{visit['visit_id']}']", state="detached")
    page.wait_for_selector("#inside-none:not([hidden])")
    assert visits(estate, state="inside") == []
    after = httpx.get(f"{estate.url}/api/v1/visits/{visit['visit_id']}", headers=estate.h("supervisor")).json()
    assert after["state"] == "left" and after["checked_out_at"]
    assert page.errors == []


def test_a_watch_list_match_stops_the_guard_and_a_supervisor_overrides_with_a_reason(estate, browser):
    added = httpx.post(estate.url + "/api/v1/watchlist", json={"kind": "plate", "value": "粤B12345",
                                                               "reason": "damaged the barrier"},
                       headers=estate.h("supervisor"))
    assert added.status_code == 201, added.text

    guard = open_page(browser, estate)
    fill_visitor(guard, "A-12-03")
    guard.click("#register-submit")
    error = guard.wait_for_selector("#register-error[data-rule='watch_list_hit']")
    assert "supervisor" in error.inner_text()
    assert guard.is_hidden("#override")  # the override is not the guard's
    assert visits(estate) == []

    boss = open_page(browser, estate, "supervisor")
    fill_visitor(boss, "A-12-03", name="Zhao Liu")
    boss.click("#register-submit")
    boss.wait_for_selector("#register-error[data-rule='watch_list_hit']")
    boss.wait_for_selector("#override:not([hidden])")
    assert boss.evaluate("document.activeElement.id") == "v-override"  # the refusal's field
    boss.fill("#v-override", "the host came to the gate and vouched for him")
    boss.click("#register-submit")
    boss.wait_for_selector("#pass[data-pass-text^='GHP1.']")
    [visit] = visits(estate)
    assert visit["visitor_name"] == "Zhao Liu" and visit["watch_override"] is True
    assert guard.errors == [] and boss.errors == []


def test_on_a_phone_the_whole_task_fits_and_reads_well(estate, browser):
    """At 360 px: a pre-registered visit's confirmation form, a refusal and the pass itself
    neither scroll sideways nor break axe's serious rules (tests/i18n checks the empty page)."""
    visit = pre_register(estate, name="Sun Qi", plate="苏E55555", unit="A-12-03")
    page = open_page(browser, estate, viewport={"width": 360, "height": 740})
    page.wait_for_selector(f"#expected-list li[data-visit-id='{visit['visit_id']}'] form.arrive-form")
    fill_visitor(page, "B-01-01")
    page.click("#register-submit")
    page.wait_for_selector("#register-error:not(:empty)")
    assert sideways(page) <= 0 and serious_violations(page) == []
    page.fill("#v-unit", "A-12-03")
    page.click("#register-submit")
    page.wait_for_selector("#pass[data-pass-text^='GHP1.']")
    wait_for(lambda: qr_drawn(page), 10, "the QR image to load")
    assert page.evaluate("document.getElementById('pass-qr').getBoundingClientRect().width") >= 250  # large
    assert sideways(page) <= 0 and serious_violations(page) == []
    assert page.errors == []


def test_a_temporary_card_is_the_pass_when_the_guard_chooses_one(estate, browser):
    """The card centre's temporary card, with its deposit, instead of a QR code."""
    ledger.receive_delivery(estate.store, "clerk:seed", "temporary", 5, "DN-7")
    page = open_page(browser, estate)
    fill_visitor(page, "A-12-03")
    page.check("#kind-card")
    page.fill("#v-card-uid", "0a:0b:0c:0d")
    page.fill("#v-deposit", "50")
    page.fill("#v-receipt", "R-77")
    page.click("#register-submit")
    page.wait_for_selector("#pass[data-kind='card']")
    assert page.text_content("#pass-card") == "0A0B0C0D"
    assert page.is_hidden("#pass-qr") and page.is_hidden("#pass-copy")
    [visit] = visits(estate)
    [made] = visit["passes"]
    assert made["kind"] == "card" and made["uid"] == "0A0B0C0D" and made["state"] == "active"
    with estate.store.read() as db:
        card = db.execute("SELECT status, card_type FROM cards WHERE uid = '0A0B0C0D'").fetchone()
    assert tuple(card) == ("active", "temporary")
    assert page.errors == []


def test_the_visitor_desk_pre_registers_on_a_hosts_call(estate, browser):
    """The desk (a clerk) registers ahead, without the ID (it follows at the gate) and
    without a pass; confirming the arrival is the gate's, so the desk is not offered it."""
    page = open_page(browser, estate, "clerk")
    assert page.is_checked("#v-later")
    page.fill("#v-name", "Qian Ba")
    page.fill("#v-unit", "A-12-03")
    page.fill("#v-plate", "浙A 12345")
    page.click("#register-submit")
    page.wait_for_selector("#message:has-text('Qian Ba')")
    [visit] = visits(estate)
    assert visit["state"] == "expected" and visit["pre_registered"] and visit["passes"] == []
    assert visit["id_masked"] is None
    row = page.wait_for_selector(f"#expected-list li[data-visit-id='{visit['visit_id']}']")
    assert row.query_selector("form.arrive-form") is None
    assert page.is_hidden("#pass-panel")
    assert page.errors == []

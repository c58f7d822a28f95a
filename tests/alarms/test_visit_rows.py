"""A visitor's pass on the guard's console, in chromium: the gate's visit event (signed, on
mosquitto) is drawn with the visitor's name and the unit visited, and the pass's decision
and reason in the reader's words (a refused pass says why)."""

from __future__ import annotations

import pytest

from tests.alarms.conftest import api, console

pytestmark = pytest.mark.browser


def test_a_visit_row_names_the_visitor_the_host_unit_and_the_pass_decision(alarm_hub, gate, browser):
    hub = alarm_hub()
    north = gate(hub, "north")
    north.status()
    admin = api(hub, "admin")
    assert admin.post("/api/v1/units", json={"building": "A", "floor": 12, "room": "03"}).status_code == 201
    guard = api(hub, "guard")
    visit = guard.post("/api/v1/visits", json={"visitor_name": "Wang Fang", "id_type": "resident_id",
                                               "id_number": "110101199003071234", "host_unit": "A-12-03",
                                               "purpose": "family"})
    assert visit.status_code == 201, visit.text
    issued = guard.post(f"/api/v1/visits/{visit.json()['visit_id']}/passes", json={"kind": "qr"})
    assert issued.status_code == 201, issued.text
    body = issued.json()
    pass_id = body["pass_id"] if "pass_id" in body else body["passes"][-1]["pass_id"]
    page = console(browser, hub, "guard", "gina")

    north.event("ev-visit-0001", "visit", direction="in", pass_id=pass_id, decision="granted", reason="valid_pass")
    north.event("ev-visit-0002", "visit", direction="in", pass_id=pass_id, decision="denied", reason="pass_used_up")
    row = page.wait_for_selector('tr[data-event-id="ev-visit-0001"]', timeout=15000)
    assert row.query_selector("td.holder").inner_text() == "Visitor Wang Fang"
    assert row.query_selector("td.unit").inner_text() == "A-12-03"
    assert row.query_selector("td.decision").inner_text() == "granted"
    assert row.query_selector("td.reason").inner_text() == "valid visitor pass"
    refused = page.wait_for_selector('tr[data-event-id="ev-visit-0002"]', timeout=15000)
    assert refused.query_selector("td.reason").inner_text() == "pass used up"
    assert refused.query_selector("td.decision").inner_text() == "denied"
    assert page.errors == []

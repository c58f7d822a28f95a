"""The guard's console in chromium against a real hub and mosquitto, the gate's messages signed
and published as an agent publishes them: a forced door raises one alarm that reaches the
consoles of its gate (not a guard's of another gate), is acknowledged in the browser with a
note (an empty one refused) and audited both ways; an alarm left alone goes to the
supervisor's console; a gate going offline or a reader lost raises one too."""

from __future__ import annotations

import httpx
import pytest

from tests.alarms.conftest import api, console, one_alarm, open_alarms
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser


def test_a_forced_door_is_answered_on_the_console_with_a_note(alarm_hub, gate, browser):
    hub = alarm_hub()
    north = gate(hub, "north")
    north.status()
    guard = console(browser, hub, "guard", "gina", ("north",))
    other = console(browser, hub, "guard", "sam", ("south",))  # a guard of another gate
    sam = api(hub, "guard", ("south",))
    admin = api(hub, "admin")

    north.event("ev-forced-0001", "door_forced")
    north.event("ev-forced-0002", "door_forced")  # the door flaps: still one alarm to answer
    north.event("ev-closed-0003", "door_closed")  # closing it answers nothing
    alarm = one_alarm(admin, "door_forced", "the door_forced alarm")
    wait_for(lambda: admin.get("/api/v1/events?limit=10").json()[0]["event_id"] == "ev-closed-0003",
             what="every event stored")
    assert [a["id"] for a in open_alarms(admin)] == [alarm["id"]]

    item = guard.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', timeout=15000)
    text = item.inner_text()
    assert "door forced open" in text and "gate north" in text and "door north-in" in text
    assert int(guard.get_attribute("#alarm-panel", "data-beeps")) >= 1  # the sound was played
    assert open_alarms(sam) == []
    assert other.query_selector("li.alarm") is None  # drawn from the same stream, filtered by the hub

    # an empty note is refused: in the browser (nothing sent) and by the API
    item.query_selector("button[type=submit]").click()
    assert "Write what you found or did" in item.query_selector(".error").inner_text()
    refused = httpx.post(hub.url + f"/api/v1/alarms/{alarm['id']}/ack", json={"note": " "}, headers=admin.headers)
    assert (refused.status_code, refused.json()["error"]) == (422, "note_required")
    assert open_alarms(admin)[0]["state"] == "open"

    item.query_selector("input[name=note]").fill("Checked the door: wind, shut and locked")
    item.query_selector("button[type=submit]").click()
    guard.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', state="detached", timeout=15000)
    assert open_alarms(admin) == []
    done = admin.get(f"/api/v1/alarms/{alarm['id']}").json()
    assert (done["state"], done["note"], done["acked_by"]) == ("acknowledged", "Checked the door: wind, shut and locked",
                                                             "guard:gina")
    with hub.store.read() as db:
        rows = list(db.query("SELECT action, who, reason FROM audit WHERE entity = 'alarm' AND entity_id = ? ORDER BY id",
                             [str(alarm["id"])]))
    assert [(r["action"], r["who"]) for r in rows] == [("raise", "hub"), ("acknowledge", "guard:gina")]
    assert rows[1]["reason"] == "Checked the door: wind, shut and locked"
    assert guard.errors == [] and other.errors == []


def test_an_alarm_nobody_answers_goes_to_the_supervisors_console(alarm_hub, gate, browser):
    hub = alarm_hub(escalate_after_s=3)
    north = gate(hub, "north")
    north.status()
    chief = console(browser, hub, "supervisor", "sue")
    guard = console(browser, hub, "guard", "gina")
    admin = api(hub, "admin")

    north.event("ev-held-0001", "door_held")
    alarm = one_alarm(admin, "door_held", "the door_held alarm")
    guard.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', timeout=15000)
    shown_early = chief.query_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]')
    if not admin.get(f"/api/v1/alarms/{alarm['id']}").json()["escalated"]:  # still the guards' alone
        assert shown_early is None

    item = chief.wait_for_selector(f'li.alarm.escalated[data-alarm-id="{alarm["id"]}"]', timeout=15000)
    assert "escalated to the supervisor" in item.inner_text() and "door held open" in item.inner_text()
    assert int(chief.get_attribute("#alarm-panel", "data-beeps")) >= 1
    guard.wait_for_selector(f'li.alarm.escalated[data-alarm-id="{alarm["id"]}"]', timeout=15000)
    with hub.store.read() as db:
        actions = [r["action"] for r in db.query("SELECT action FROM audit WHERE entity = 'alarm' ORDER BY id")]
    assert actions == ["raise", "escalate"]
    # the supervisor answers it from the console
    item.query_selector("input[name=note]").fill("Called the guard post; door repaired")
    item.query_selector("button[type=submit]").click()
    chief.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', state="detached", timeout=15000)
    guard.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', state="detached", timeout=15000)
    assert admin.get(f"/api/v1/alarms/{alarm['id']}").json()["acked_by"] == "supervisor:sue"
    assert chief.errors == [] and guard.errors == []


def test_a_gate_going_offline_and_a_lost_reader_raise_alarms_that_stay(alarm_hub, gate):
    hub = alarm_hub()
    north = gate(hub, "north")
    admin = api(hub, "admin")
    north.status(online=True)
    wait_for(lambda: admin.get("/api/v1/gates").json()[0]["online"], what="north online")
    north.status(online=False)
    offline = one_alarm(admin, "gate_offline", "the gate_offline alarm")
    assert offline["gate_id"] == "north"
    north.status(online=True)  # back online: the alarm stays until someone answers it
    wait_for(lambda: admin.get("/api/v1/gates").json()[0]["online"], what="north online again")
    assert [a["kind"] for a in open_alarms(admin)] == ["gate_offline"]

    north.event("ev-device-0001", "device", detail={"device": "north-in/reader0", "state": "lost", "problem": "gone"})
    north.event("ev-device-0002", "device", detail={"device": "north-in/reader0", "state": "ok"})
    lost = one_alarm(admin, "device_degraded", "the device_degraded alarm")
    assert (lost["subject"], lost["detail"]["problem"]) == ("north-in/reader0", "gone")


def test_the_console_with_an_alarm_and_the_open_form_fits_a_phone_and_passes_axe(alarm_hub, gate, browser):
    from tests.rigs.axe import serious_violations, sideways

    hub = alarm_hub()
    north = gate(hub, "north-east-service-gate")
    north.status(doors=("vehicle-entrance", "pedestrian"))
    north.event("ev-phone-0001", "device", door="vehicle-entrance",
                detail={"device": "north-east-service-gate-vehicle-entrance/reader0", "state": "lost"})
    admin = api(hub, "admin")
    alarm = one_alarm(admin, "device_degraded", "the device_degraded alarm")
    page = console(browser, hub, "guard", "gina", width=360)
    page.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', timeout=15000)
    page.wait_for_selector('button[data-key="north-east-service-gate/north-east-service-gate-pedestrian"]:not([disabled])',
                           timeout=15000).click()
    page.wait_for_selector("#open-form:not([hidden])")
    page.fill("#open-other", "a very long reason typed by the guard to see that nothing overflows the screen")
    assert page.is_checked("#open-reason-other")  # typing picks "other"
    assert serious_violations(page) == []
    assert sideways(page) == 0
    assert page.errors == []

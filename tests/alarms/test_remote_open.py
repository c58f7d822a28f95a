"""An accountable remote open, in chromium against a real hub and mosquitto: the button asks
why (no reason, no command), the command carries the guard's name and is kept with the
reason; the gate's REMOTE_OPEN event (with the command's nonce) marks it acknowledged and its
OPEN_RESULT the door's result, and the live row names guard, reason, acknowledgement and
result; a command no gate acknowledges in time becomes an alarm on the console."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from protocols.commands import GateCommand, verify_command
from protocols.messages import parse
from protocols.topics import gate_topic
from tests.alarms.conftest import api, console, no_open_command, one_alarm, open_command
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser


def _kept(hub, nonce: str) -> dict:
    with hub.store.read() as db:
        rows = list(db.query("SELECT * FROM remote_opens WHERE nonce = ?", [nonce]))
    return rows[0] if rows else {}


def _kept_count(hub) -> int:
    with hub.store.read() as db:
        return db.execute("SELECT COUNT(*) FROM remote_opens").fetchone()[0]


def test_a_remote_open_names_the_guard_the_reason_and_the_gates_answer(alarm_hub, gate, browser):
    hub = alarm_hub(ack_timeout_s=30)
    north = gate(hub, "north")
    north.link.subscribe(gate_topic(hub.site, "north", "cmd"))
    north.status()
    page = console(browser, hub, "guard", "gina", ("north",))

    button = page.wait_for_selector('button[data-key="north/north-in"]:not([disabled])', timeout=15000)
    button.click()
    page.wait_for_selector("#open-form:not([hidden])")
    page.click("#open-send")  # no reason: refused on the page, nothing sent
    assert "Pick a reason" in page.inner_text("#open-error")
    no_open_command(north.link)
    assert _kept_count(hub) == 0
    page.check("input[name=open-reason][value='delivery']")
    page.click("#open-send")
    payload = open_command(north.link)
    command = parse(GateCommand, payload)
    verify_command(command, north.key, "north", datetime.now(timezone.utc), site=hub.site)
    assert command.by == "guard:gina"
    page.wait_for_selector("#open-result:has-text('Open sent to north-in at north.')", timeout=15000)
    kept = _kept(hub, command.nonce)
    assert (kept["reason"], kept["by"], kept["door_id"], kept["acked_at"]) == ("delivery", "guard:gina", "north-in", None)

    # the gate answers as an agent does: the command's sender and nonce in the detail
    north.event("ev-remote-0001", "remote_open", decision="granted", reason="remote_open",
                detail={"by": command.by, "nonce": command.nonce})
    row = page.wait_for_selector('tr[data-event-id="ev-remote-0001"]', timeout=15000)
    assert row.query_selector("td.holder").inner_text() == "Opened by gina: delivery"
    assert row.query_selector("td.reason").inner_text() == "acknowledged by the gate"
    assert _kept(hub, command.nonce)["ack_decision"] == "granted"

    north.event("ev-result-0002", "open_result", detail={"nonce": command.nonce, "opened": "yes"})
    result = page.wait_for_selector('tr[data-event-id="ev-result-0002"]', timeout=15000)
    assert result.query_selector("td.reason").inner_text() == "door opened"
    assert "Opened by gina: delivery" in result.query_selector("td.holder").inner_text()
    page.wait_for_selector('tr[data-event-id="ev-remote-0001"] td.reason:has-text("acknowledged by the gate; door opened")')
    assert _kept(hub, command.nonce)["opened"] == "yes"
    with hub.store.read() as db:
        (audited,) = db.query("SELECT reason, detail FROM audit WHERE action = 'remote_open'")
    assert audited["reason"] == "delivery" and command.nonce in audited["detail"]

    # an older client sends no reason: still opened, and kept without one
    old = api(hub, "guard").post("/api/v1/gates/north/doors/north-in/open")
    assert old.status_code == 202, old.text
    assert _kept(hub, old.json()["nonce"])["reason"] is None
    open_command(north.link, "the second open command")
    assert page.errors == []


def test_a_command_no_gate_acknowledges_becomes_an_alarm(alarm_hub, gate, browser):
    hub = alarm_hub(ack_timeout_s=1)
    north = gate(hub, "north")
    north.link.subscribe(gate_topic(hub.site, "north", "cmd"))
    north.status()
    guard = api(hub, "guard")
    wait_for(lambda: guard.get("/api/v1/gates").json()[0]["online"], what="north online")
    page = console(browser, hub, "guard", "gina")

    sent = guard.post("/api/v1/gates/north/doors/north-in/open", json={"reason": "emergency vehicle"})
    assert sent.status_code == 202, sent.text
    nonce = sent.json()["nonce"]
    open_command(north.link)  # delivered, and never answered
    alarm = one_alarm(guard, "remote_open_unacknowledged", "the unacknowledged remote open's alarm")
    assert (alarm["subject"], alarm["gate_id"], alarm["door_id"]) == (nonce, "north", "north-in")
    item = page.wait_for_selector(f'li.alarm[data-alarm-id="{alarm["id"]}"]', timeout=15000)
    assert "remote open not acknowledged by the gate" in item.inner_text()
    assert "reason: emergency vehicle" in item.inner_text()

    assert page.errors == []

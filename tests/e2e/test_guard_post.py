"""The guard's post, end to end on real parts (tests/rigs/gatepost.py): a real gate agent
reading EM4100 cards and QR passes off ptys, pulsing an LCUS relay on another and watching
a door contact on a Modbus RTU board on a fourth, over a real mosquitto; the hub's live and
visitor pages in chromium with a guard signed in.

- a resident's pass at the gate is drawn on the guard's page with the holder's name and
  photo (the photo actually loaded by the browser);
- a remote open clicked on the guard's page, with the reason typed, reaches the relay's line,
  and its row names the guard, the reason, the gate's acknowledgement and the door's result;
- a visitor registered in the browser gets a QR pass whose text, scanned at the gate, opens
  the door and checks them in (the live page names them), the exit scan checks them out,
  and a visitor staying past their time raises an alarm on the guard's console;
- with the broker down, the gate still lets a valid pass in and refuses a tampered, an
  expired (the gate's clock moved past its end), a wrong-gate and a used-up one, each reason
  arriving at the hub afterwards;
- a door opened without a grant raises "door forced" on the console; the guard
  acknowledges it with a note, and the audit log has both.
"""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest

from protocols.visitpass import PREFIX
from tests.cardcentre.test_photos_files import png
from tests.rigs import stack
from tests.rigs.gatepost import DOOR, GATE, GUARD, OFF, ON, PAGE_MS, GatePost, gate_post, persistent_broker
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser

UID = "0A0012AB34"
UNIT = "A-12-03"
#: a resident identity number of the right form (its check digit is right too)
ID_NUMBER = "11010519491231002X"


def _unit(api) -> None:
    r = api.post("/api/v1/units", json={"building": "A", "floor": 12, "room": "03"})
    assert r.status_code == 201, r.text


def _resident_with_photo(api) -> None:
    """Li Wei of A-12-03, with a photo, holding card UID (issued through the API)."""
    _unit(api)
    person = api.post("/api/v1/people", json={"name": "Li Wei", "role": "owner", "unit": UNIT})
    assert person.status_code == 201, person.text
    pid = person.json()["id"]
    photo = api.post(f"/api/v1/people/{pid}/photo", files={"photo": ("p.png", png(64, 64), "image/png")})
    assert photo.status_code == 201, photo.text
    card = api.post("/api/v1/cards", json={"uid": UID, "card_type": "owner", "person_id": pid,
                                           "holder": {"name": "Li Wei", "unit": UNIT}})
    assert card.status_code == 201, card.text


def _visit(post: GatePost, name: str, **more) -> dict:
    """A visit registered through the API (the desk's hands), as the hub answers it."""
    r = post.api.post("/api/v1/visits", json={"visitor_name": name, "id_number": ID_NUMBER, "host_unit": UNIT,
                                              "purpose": "visiting family", **more})
    assert r.status_code == 201, r.text
    return r.json()


def _qr_pass(post: GatePost, visit_id: int, **more) -> dict:
    r = post.api.post(f"/api/v1/visits/{visit_id}/passes", json={"kind": "qr", **more})
    assert r.status_code == 201, r.text
    body = r.json()
    found = [p for p in body.get("passes", [body]) if p.get("kind") == "qr"]
    assert found and found[-1]["text"].startswith(PREFIX), body
    return found[-1]


def _visit_state(post: GatePost, visit_id: int) -> dict:
    r = post.api.get(f"/api/v1/visits/{visit_id}")
    r.raise_for_status()
    return r.json()


def _holds_pass_keys(post: GatePost) -> None:
    """The gate holds the hub's visitor-pass key (pushed after its first status)."""
    wanted = set(post.hub.app.state.visitors.keys.public_keys())
    wait_for(lambda: set(post.agent.pass_keys.ids) == wanted, timeout=20, what="the hub's pass key at the gate")


def _tampered(text: str) -> str:
    """The pass with one claim changed (more entries) and its signature kept."""
    claims, sig = text[len(PREFIX):].split(".")
    data = json.loads(base64.urlsafe_b64decode(claims + "=" * (-len(claims) % 4)))
    data["entries"] = data["entries"] + 5
    body = base64.urlsafe_b64encode(json.dumps(data, sort_keys=True, separators=(",", ":")).encode()).rstrip(b"=")
    return PREFIX + body.decode() + "." + sig


def test_a_real_agents_pass_is_drawn_with_the_holders_photo(tmp_path, broker, pty_device, browser):
    with gate_post(tmp_path, broker, pty_device, browser) as post:
        _resident_with_photo(post.api)
        stack.in_step(post.hub, post.agent, timeout=15, what="the new card in the gate's list")

        post.tap(UID)
        post.pulse("a granted tap")
        granted = wait_for(lambda: post.events("pass"), timeout=15, what="the pass stored at the hub")
        assert [(e["uid"], e["decision"], e["reason"], e["gate_id"], e["door_id"]) for e in granted] == [
            (UID, "granted", "valid_card", GATE, DOOR)]

        row = post.row(granted[0]["event_id"])
        assert row.query_selector("td.holder").inner_text() == "Li Wei"
        assert row.query_selector("td.unit").inner_text() == UNIT
        assert row.query_selector("td.decision").inner_text() == "granted"
        img = row.wait_for_selector("td.photo img", timeout=PAGE_MS)
        wait_for(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), timeout=15,
                 what="the holder's photo loaded in the row")
        assert img.evaluate("i => i.naturalWidth") == 64, "the photo drawn is the one uploaded"
        assert post.page_errors == []


def test_a_remote_open_on_the_live_page_pulses_the_relay_and_names_the_guard(tmp_path, broker, pty_device, browser):
    # a long pulse: the contact opening while the lock is released must not be late enough to
    # count as forced on a busy machine
    with gate_post(tmp_path, broker, pty_device, browser, contact=True, pulse_ms=1500) as post:
        button = post.page.wait_for_selector(f'button[data-key="{GATE}/{DOOR}"]:not([disabled])', timeout=PAGE_MS)
        button.click()
        # the page asks why: the guard types a reason of their own
        post.page.wait_for_selector("#open-form:not([hidden])", timeout=PAGE_MS)
        post.page.fill("#open-other", "courier with a parcel")
        assert post.page.is_checked("#open-reason-other"), "typing a reason picks 'other'"
        post.page.click("#open-send")
        got = post.relay.read_exactly(4, timeout=10)
        assert got == ON, f"the remote open from the page: the relay wrote {got.hex()}"
        post.door(True)  # the courier pushes the door while it is released
        got = post.relay.read_exactly(4, timeout=10)
        assert got == OFF, f"the relay locks again after the pulse; it wrote {got.hex()}"
        post.door(False)

        opened = wait_for(lambda: post.events("remote_open"), timeout=15, what="the gate's remote-open event at the hub")
        assert [(e["gate_id"], e["door_id"], e["decision"], e["reason"]) for e in opened] == [
            (GATE, DOOR, "granted", "remote_open")]
        wait_for(lambda: post.events("open_result"), timeout=15, what="the door's result at the hub")
        row = post.row(opened[0]["event_id"])
        assert row.query_selector("td.holder").inner_text() == f"Opened by {GUARD['name']}: courier with a parcel"
        # the door's result may come after the row is drawn: the row then says it too
        post.page.wait_for_selector(f'tr[data-event-id="{opened[0]["event_id"]}"] td.reason'
                                    ':text-is("acknowledged by the gate; door opened")', timeout=PAGE_MS)
        post.page.wait_for_selector(f"#open-result:has-text('Open sent to {DOOR} at {GATE}.')", timeout=PAGE_MS)
        post.still("one click, one pulse")
        assert post.events("door_forced") == [], "a door opened on a remote open is not forced"
        assert post.page_errors == []


def test_a_visitor_registered_in_the_browser_goes_in_and_out_on_a_qr_pass(tmp_path, broker, pty_device, browser):
    with gate_post(tmp_path, broker, pty_device, browser, qr=True,
                   hub_extra={"visitors": {"overstay_grace_minutes": 0}}) as post:
        _unit(post.api)
        _holds_pass_keys(post)

        # the guard registers a visitor at the gatehouse, in the browser
        desk = post.page.context.new_page()
        desk.on("pageerror", lambda e: post.page_errors.append(str(e)))
        desk.goto(post.hub.url + "/visitors")
        desk.fill("#v-name", "Zhang San")
        desk.fill("#v-id-number", ID_NUMBER)
        desk.fill("#v-phone", "13800138000")
        desk.fill("#v-unit", UNIT)
        desk.fill("#v-purpose", "visiting family")
        desk.click("#register-submit")
        desk.wait_for_selector("#pass-panel:not([hidden])", timeout=PAGE_MS)
        box = desk.wait_for_selector('#pass[data-pass-text^="GHP1."]', timeout=PAGE_MS)
        text, visit_id = box.get_attribute("data-pass-text"), int(box.get_attribute("data-visit-id"))
        assert desk.inner_text("#pass-name") == "Zhang San"
        qr = desk.wait_for_selector("#pass-qr", timeout=PAGE_MS)
        wait_for(lambda: qr.evaluate("i => i.complete && i.naturalWidth > 0"), timeout=15, what="the pass's QR image")
        assert _visit_state(post, visit_id)["state"] == "expected"

        # the pass's text under the way-in scanner: the door opens, the visitor is in
        post.scan(text, "in")
        post.pulse("a valid visitor pass scanned in")
        entry = wait_for(lambda: post.events("visit"), timeout=15, what="the visit event at the hub")
        assert [(e["decision"], e["reason"], e["direction"], e["gate_id"], e["door_id"]) for e in entry] == [
            ("granted", "valid_pass", "in", GATE, DOOR)]
        assert entry[0]["visitor"] == {"name": "Zhang San", "host_unit": UNIT}
        row = post.row(entry[0]["event_id"])
        assert row.query_selector("td.holder").inner_text() == "Visitor Zhang San"
        assert row.query_selector("td.unit").inner_text() == UNIT
        inside = wait_for(lambda: (lambda v: v if v["state"] == "inside" else None)(_visit_state(post, visit_id)),
                          timeout=15, what="the visit checked in")
        assert inside["checked_in_at"]

        # the way out: the exit scan opens and checks the visit out
        post.scan(text, "out")
        post.pulse("the visitor's pass scanned out")
        left = wait_for(lambda: (lambda v: v if v["state"] == "left" else None)(_visit_state(post, visit_id)),
                        timeout=15, what="the visit checked out")
        assert left["checked_out_at"] >= left["checked_in_at"]
        out = [e for e in post.events("visit") if e["direction"] == "out"]
        assert [(e["decision"], e["visitor"]["name"]) for e in out] == [("granted", "Zhang San")]

        # a visitor still inside past their time: an alarm on the guard's console
        due = datetime.now(timezone.utc) + timedelta(seconds=5)
        late = _visit(post, "Li Si", expected_leave_at=due.isoformat())
        post.scan(_qr_pass(post, late["visit_id"])["text"], "in")
        post.pulse("the second visitor's pass")
        alarm = post.page.wait_for_selector('#alarms li.alarm[data-kind="overstay"]', timeout=40_000)
        assert "Visitor Li Si" in alarm.inner_text() and UNIT in alarm.inner_text()
        assert post.page_errors == []


@pytest.fixture
def kept_broker(tmp_path):
    """A broker this test stops and starts again, keeping sessions as config/mosquitto.conf
    does (persistence): the hub's subscription outlives the restart, so what the gate sends
    first on reconnecting is queued for the hub instead of dropped."""
    broker = persistent_broker(tmp_path).start()
    yield broker
    broker.stop()


def test_with_the_broker_down_the_gate_checks_passes_itself(tmp_path, kept_broker, pty_device):
    # the scanners' repeat window off (it joins the same text read twice in a row into one
    # scan, drivers/qr_serial.py): the one-entry pass shown again below is a second scan
    # whatever is scanned between, with no wait for a window to pass
    with gate_post(tmp_path, kept_broker, pty_device, qr=True, qr_repeat_s=0) as post:
        _unit(post.api)
        stack.register(post.hub, "south")  # another gate of the estate
        _holds_pass_keys(post)
        guest = _visit(post, "Wang Wu")
        good = _qr_pass(post, guest["visit_id"], entries=1)
        # ends well after the scans before it on any machine: only the gate's clock, moved
        # past the end below, makes it expired
        soon = datetime.now(timezone.utc) + timedelta(seconds=30)
        ending = _qr_pass(post, _visit(post, "Zhao Liu")["visit_id"], valid_until=soon.isoformat())
        elsewhere = _qr_pass(post, _visit(post, "Sun Qi")["visit_id"], gates=["south"])

        kept_broker.stop()
        wait_for(lambda: not post.agent.link.connected.is_set(), timeout=15, what="the agent to notice the broker is gone")
        post.scan(good["text"])
        post.pulse("a valid pass with the broker down")
        post.scan(_tampered(good["text"]))
        post.still("a tampered pass")
        post.scan(elsewhere["text"])
        post.still("a pass for another gate")
        # the gate's clock a second past the pass's end (the pass counts whole seconds)
        post.clock.advance_to(soon + timedelta(seconds=1))
        post.scan(ending["text"])
        post.still("an expired pass")
        post.scan(good["text"])
        post.still("the one-entry pass scanned again")
        wait_for(lambda: post.agent.outbox.depth >= 5, timeout=15, what="five visit events waiting in the outbox")
        assert post.events("visit") == [], "nothing reached the hub with the broker down"

        kept_broker.start()
        events = wait_for(lambda: (lambda v: v if len(v) >= 5 else None)(post.events("visit")), timeout=30,
                          what="the five visit events at the hub once the broker is back")
        seen = sorted((e["at"], e["pass_id"], e["decision"], e["reason"]) for e in events)
        assert [(p, d, r) for _, p, d, r in seen] == [
            (good["pass_id"], "granted", "valid_pass"),
            (None, "denied", "pass_tampered"),
            (elsewhere["pass_id"], "denied", "pass_wrong_gate"),
            (ending["pass_id"], "denied", "pass_expired"),
            (good["pass_id"], "denied", "pass_used_up"),
        ]
        # the entry the gate let in while cut off checks the visitor in, once the hub hears of it
        visit = wait_for(lambda: (lambda v: v if v["state"] == "inside" else None)(
            _visit_state(post, guest["visit_id"])), timeout=15, what="Wang Wu checked in")
        assert [p["used"] for p in visit["passes"] if p["pass_id"] == good["pass_id"]] == [1]


def test_a_forced_door_raises_an_alarm_the_guard_acknowledges(tmp_path, broker, pty_device, browser):
    with gate_post(tmp_path, broker, pty_device, browser, contact=True) as post:
        post.door(True)  # no card, no button, no remote open: forced
        alarm = post.page.wait_for_selector('#alarms li.alarm[data-kind="door_forced"]', timeout=PAGE_MS)
        assert "door forced open" in alarm.inner_text() and DOOR in alarm.inner_text()
        alarm_id = alarm.get_attribute("data-alarm-id")
        assert int(post.page.get_attribute("#alarm-panel", "data-beeps") or 0) >= 1, "the console sounded"
        post.still("nothing opened the lock")
        post.door(False)

        alarm.query_selector("input[name=note]").fill("checked the door: wind blew it open, latched again")
        alarm.query_selector("button[type=submit]").click()
        post.page.wait_for_selector(f'#alarms li.alarm[data-alarm-id="{alarm_id}"]', state="detached", timeout=PAGE_MS)
        post.page.wait_for_selector("#no-alarms:not([hidden])", timeout=PAGE_MS)

        r = post.api.get(f"/api/v1/alarms/{alarm_id}")
        assert r.status_code == 200, r.text
        assert r.json()["state"] != "open"
        rows = post.api.get("/api/v1/audit", params={"limit": 100}).json()["items"]
        mine = [(a["action"], a["who"], a.get("reason")) for a in rows
                if a["entity"] == "alarm" and a["entity_id"] == alarm_id]
        assert ("acknowledge", f"guard:{GUARD['username']}", "checked the door: wind blew it open, latched again") in mine
        assert any(action == "raise" for action, _, _ in mine), mine
        assert post.page_errors == []

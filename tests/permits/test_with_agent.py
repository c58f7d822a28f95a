"""Issue 14's "Done when", through a real gate agent (an EM4100 reader and an LCUS relay on
ptys) and the session's mosquitto, with a real hub: a worker's card opens during the
working hours of an active permit, is denied outside them and on a holiday; suspending the
permit makes it denied with permit_suspended once the gate's list has changed; resuming
restores it; the exit ends it (permit_ended). The agent's clock is driven by the test."""

from __future__ import annotations

import time as clock_time
from datetime import date, datetime, time, timedelta, timezone

import httpx

from gate_agent.agent import GateAgent
from hub.workcal import load_calendar
from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from tests.permits.conftest import TODAY, add_estate, application, worker_card
from tests.rigs.stack import agent_config, in_step, passes
from tests.rigs.wait import wait_for

DOOR = "north-in"
WORKER = "0C0FFEE0AB"
ON, OFF = relay_frame(1, True), relay_frame(1, False)


def _weekday_on_or_after(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def test_a_workers_card_follows_its_permit_at_the_gate(hub, tmp_path, broker, pty_device):
    owner_id = add_estate(hub.store)
    reader, relay = pty_device(), pty_device()
    door = {"id": DOOR, "relay": {"kind": "lcus-serial", "port": relay.path, "channel": 1, "pulse_ms": 100},
            "readers": [{"kind": "em4100-serial", "port": reader.path, "direction": "in"}]}
    clock = [datetime.now(timezone.utc)]
    agent = GateAgent(agent_config(hub.site, "north", tmp_path / "agent", broker, [door], gate_key=hub.key("north")),
                      clock=lambda: clock[0])
    agent.start()
    desk = httpx.Client(base_url=hub.url, headers=hub.h("clerk"), timeout=10)
    engineering = httpx.Client(base_url=hub.url, headers=hub.h("engineering"), timeout=10)
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"), timeout=10)
    try:
        assert relay.read_exactly(4) == OFF  # driven locked at start
        wait_for(lambda: agent.reader(f"{DOOR}/0").ok, what="the pty reader open")
        agent.reader(f"{DOOR}/0").repeat_window_s = 0  # each test tap is a new presentation
        # working days: a Tuesday and the Thursday after it, the Wednesday between them a holiday
        with hub.store.read() as db:
            cal = load_calendar(db)
        tue = _weekday_on_or_after(TODAY + timedelta(days=2), 1)
        while not (cal.is_working_day(tue) and cal.is_working_day(tue + timedelta(days=2))):
            tue += timedelta(days=7)  # a week of the estate's own holidays: the next one
        wed, thu = tue + timedelta(days=1), tue + timedelta(days=2)
        r = sup.put(f"/api/v1/calendar/days/{wed.isoformat()}", json={"kind": "holiday", "name": "Estate day"})
        assert r.status_code == 200, r.text
        with hub.store.read() as db:
            cal = load_calendar(db)
        assert cal.is_working_day(tue) and cal.is_working_day(thu) and not cal.is_working_day(wed)

        permit = desk.post("/api/v1/permits", json=application(owner_id, days=(thu - TODAY).days + 10)).json()
        no = permit["permit_no"]
        assert desk.post(f"/api/v1/permits/{no}/approve", json={}).json()["state"] == "approved"
        until = datetime.combine(thu + timedelta(days=10), time(23, 59), tzinfo=timezone.utc)
        r = desk.post("/api/v1/cards", json=worker_card(WORKER, no, until))
        assert r.status_code == 201, r.text
        in_step(hub, agent, what="the agent holding the worker's card")
        held = agent.acl.get(WORKER)
        assert held.schedule is not None and wed in held.schedule.holidays

        seen: set[str] = set()

        def tap(day: date, hour: int) -> tuple[str, str]:
            clock[0] = datetime.combine(day, time(hour, 30), tzinfo=timezone.utc)
            reader.write(encode_frame(WORKER))
            ev = wait_for(lambda: [e for e in passes(sup) if e["uid"] == WORKER and e["event_id"] not in seen
                                   and datetime.fromisoformat(e["at"]) == clock[0]],
                          what=f"the tap at {hour}:30 on {day} at the hub")[0]
            seen.add(ev["event_id"])
            return ev["decision"], ev["reason"]

        def opened() -> bool:
            return relay.read_exactly(4) == ON and relay.read_exactly(4) == OFF

        assert tap(tue, 10) == ("granted", "valid_card") and opened()
        assert tap(tue, 19) == ("denied", "outside_schedule")
        assert tap(wed, 10) == ("denied", "holiday")
        assert relay.read_available(quiet=0.3) == b"", "the door stayed shut"

        started = clock_time.monotonic()
        r = engineering.post(f"/api/v1/permits/{no}/suspend", json={"reason": "load-bearing wall cut"})
        assert r.status_code == 200, r.text
        in_step(hub, agent, what="the suspension in the gate's list")
        print(f"suspension at the gate after {clock_time.monotonic() - started:.3f} s")
        assert tap(thu, 10) == ("denied", "permit_suspended")
        assert relay.read_available(quiet=0.3) == b""

        assert desk.post(f"/api/v1/permits/{no}/resume", json={}).json()["state"] == "approved"
        in_step(hub, agent, what="the resumption in the gate's list")
        assert tap(thu, 11) == ("granted", "valid_card") and opened()

        done = desk.post(f"/api/v1/permits/{no}/exit", json={
            "inspected_by": "Eng. Zhou", "inspection": "no damage", "refund_on": thu.isoformat()}).json()
        assert done["state"] == "ended" and done["passes_out"] == [WORKER]
        in_step(hub, agent, what="the exit in the gate's list")
        assert tap(thu, 12) == ("denied", "permit_ended")
        assert relay.read_available(quiet=0.3) == b""
    finally:
        agent.stop()

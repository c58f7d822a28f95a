"""A renovation worker's card at a real gate agent (sim reader and relay) on a real broker:
the renovation hours decide at the gate, and a holiday added through the API closes it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx

from gate_agent.agent import GateAgent
from hub.gates.service import register_gate
from tests.rigs.stack import agent_config, in_step, passes, sim_door
from tests.rigs.wait import wait_for

DOOR = "north-in"
WORKER = "0C0FFEE0"
OWNER = "0A0012AB34"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_renovation_hours_and_a_new_holiday_decide_at_the_gate(hub, tmp_path, broker):
    key = register_gate(hub.store, "north", "test")
    now = datetime.now(timezone.utc)
    start = now.astimezone(SHANGHAI).date() + timedelta(days=3)
    monday = start + timedelta(days=(7 - start.weekday()) % 7)  # a Monday at least 3 days ahead
    clock = [now]
    agent = GateAgent(agent_config(hub.site, "north", tmp_path / "agent", broker, [sim_door(DOOR, 50)], gate_key=key),
                      clock=lambda: clock[0])
    agent.start()
    sup = httpx.Client(base_url=hub.url, headers=hub.h("supervisor"))
    try:
        assert sup.put("/api/v1/access/calendar", json={"timezone": "Asia/Shanghai"}).status_code == 200
        until = now + timedelta(days=40)
        worker = {
            "uid": WORKER, "card_type": "renovation_worker", "holder": {"name": "Zhang San", "unit": "A-12-03"},
            "valid_until": until.isoformat(), "permit_no": "RP-7", "permit_until": until.date().isoformat(),
            "deposit": {"amount_cents": 20000, "receipt_no": "R-7"},
        }
        assert sup.post("/api/v1/cards", json=worker).status_code == 201, "worker card"
        owner = {"uid": OWNER, "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
        assert sup.post("/api/v1/cards", json=owner).status_code == 201
        view = sup.get(f"/api/v1/cards/{WORKER}/access").json()
        assert view["levels"] == ["renovation"] and view["source"] == "card_type"
        assert view["gates"]["north"]["schedule"]["timezone"] == "Asia/Shanghai"
        in_step(hub, agent, what="the agent holding both cards")
        assert agent.acl.get(WORKER).schedule is not None and agent.acl.get(OWNER).schedule is None

        reader = agent.reader(f"{DOOR}/0")

        seen: set[str] = set()

        def tap(uid: str, day, hour: int) -> tuple[str, str]:
            clock[0] = datetime(day.year, day.month, day.day, hour, 30, tzinfo=SHANGHAI).astimezone(timezone.utc)
            reader.tap(uid)
            ev = wait_for(lambda: [e for e in passes(sup) if e["uid"] == uid and e["event_id"] not in seen
                                   and datetime.fromisoformat(e["at"]) == clock[0]],
                          what=f"{uid}'s tap at {hour}:30 on {day} at the hub")[0]
            seen.add(ev["event_id"])
            return ev["decision"], ev["reason"]

        assert tap(WORKER, monday, 10) == ("granted", "valid_card")
        assert tap(WORKER, monday, 12) == ("denied", "outside_schedule")  # the lunch break
        assert tap(WORKER, monday + timedelta(days=6), 10) == ("denied", "outside_schedule")  # Sunday
        assert tap(OWNER, monday, 12) == ("granted", "valid_card")  # residents: any time

        r = sup.post("/api/v1/access/holidays", json={"date": monday.isoformat(), "name": "Estate day"})
        assert r.status_code == 201, r.text
        head = in_step(hub, agent, what="the holiday at the gate")
        assert monday in agent.acl.get(WORKER).schedule.holidays
        assert tap(WORKER, monday, 10) == ("denied", "holiday")
        assert tap(WORKER, monday + timedelta(days=1), 10) == ("granted", "valid_card")
        assert tap(OWNER, monday, 10) == ("granted", "valid_card")  # no schedule: holidays do not touch it
        assert agent.acl.state.rev == head[0]  # the owner's entry did not move
    finally:
        agent.stop()

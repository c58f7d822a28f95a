"""A renovation worker's card follows its permit at the gate, end to end: a real hub (uvicorn +
SQLite) on a real mosquitto, a real gate agent reading EM4100 frames off a pty and driving an
LCUS relay on another, the agent's clock driven through the permit's days (estate time,
Asia/Shanghai). The card opens during the permit's working hours, is refused outside them
and on the estate's holiday; suspending the permit refuses it with ``permit_suspended`` as
soon as the gate's list changes, resuming restores it, and the exit ends it (``permit_ended``)."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from gate_agent.agent import GateAgent
from hub.app import start_hub
from hub.auth import create_token
from hub.config import HubConfig
from hub.people.registry import PersonIn, UnitIn, add_person, add_unit
from hub.workcal import load_calendar
from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from tests.rigs import stack
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for

TZ = ZoneInfo("Asia/Shanghai")
UNIT = "A-12-03"
UID = "0A0012AB34"
WORKER = "Zhang San"
ON, OFF = relay_frame(1, True), relay_frame(1, False)
READER = "north-in/0"


class Clock:
    """The agent's clock: what time the gate thinks it is (set by the test, estate time)."""

    def __init__(self) -> None:
        self.at = datetime.now(timezone.utc)

    def __call__(self) -> datetime:
        return self.at

    def set(self, day: date, hh: int, mm: int = 0) -> None:
        self.at = datetime.combine(day, time(hh, mm), TZ).astimezone(timezone.utc)


def hub_config(tmp_path, broker) -> HubConfig:
    return HubConfig.model_validate({
        "hub": {"site": "s" + uuid.uuid4().hex[:8], "db_path": str(tmp_path / "hub.db"),
                "http_host": "127.0.0.1", "http_port": free_port(), "language": "en",
                "timezone": "Asia/Shanghai"},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5},
    })


def api(hub, role: str) -> httpx.Client:
    token = create_token(hub.store, role, f"e2e-{role}")
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def ok(r: httpx.Response, status: int = 200) -> dict:
    assert r.status_code == status, r.text
    return r.json()


def plan_days(hub, today: date) -> tuple[date, date, date]:
    """A working day (Monday to Thursday), the next day (to be made a holiday) and a Sunday,
    all after today and none a day the estate's calendar already names."""
    with hub.store.read() as db:
        named = set(load_calendar(db).days)
    day = today + timedelta(days=1)
    while day.weekday() > 3 or day in named or day + timedelta(days=1) in named:
        day += timedelta(days=1)
    sunday = today + timedelta(days=(6 - today.weekday()) or 7)
    return day, day + timedelta(days=1), sunday


@pytest.fixture
def site(tmp_path, broker, pty_device):
    hub = start_hub(hub_config(tmp_path / "hub", broker))
    assert hub.mqtt is not None and hub.mqtt.connected, "the hub did not connect to the broker"
    site_name = hub.app.state.config.hub.site
    reader, relay = pty_device(), pty_device()
    door = {"id": "north-in",
            "relay": {"kind": "lcus-serial", "port": relay.path, "channel": 1, "pulse_ms": 200},
            "readers": [{"kind": "em4100-serial", "port": reader.path, "direction": "in"}]}
    clock = Clock()
    agent = GateAgent(stack.agent_config(site_name, "north", tmp_path / "agent", broker, [door],
                                         gate_key=stack.register(hub, "north")), clock=clock)
    agent.start()
    try:
        assert relay.read_exactly(4) == OFF, "the relay is driven locked when the agent starts"
        wait_for(lambda: agent.reader(READER).ok, what="the reader's pty open")
        # each tap here is a new presentation (a held card's repeated frames are one, within
        # this window of real time: the driver's concern, not the permit's)
        agent.reader(READER).repeat_window_s = 0
        yield hub, agent, clock, reader, relay
    finally:
        agent.stop()
        hub.stop()


def permitted_worker(hub, agent) -> tuple[str, date, date, date, date, httpx.Client]:
    """Wang Fang's unit A-12-03 under an approved permit (30 days from today, 08:00-18:00 Monday
    to Saturday), a holiday on the estate's calendar, and Zhang San's worker card issued under
    the permit and listed at the gate: (permit number, today, a working day, the holiday, a
    Sunday, the clerk's client)."""
    clerk, supervisor = api(hub, "clerk"), api(hub, "supervisor")
    add_unit(hub.store, "test", UnitIn(building="A", floor=12, room="03"))
    owner = add_person(hub.store, "test", PersonIn(name="Wang Fang", role="owner", unit=UNIT))["id"]
    today = datetime.now(TZ).date()
    workday, holiday, sunday = plan_days(hub, today)
    until = today + timedelta(days=30)
    ok(supervisor.put(f"/api/v1/calendar/days/{holiday.isoformat()}",
                      json={"kind": "holiday", "name": "Estate holiday", "reason": "e2e"}))

    permit = ok(clerk.post("/api/v1/permits", json={
        "unit": UNIT, "applicant": {"name": "Wang Fang", "standing": "owner", "person_id": owner},
        "company": "Fine Build Ltd", "site_manager": {"name": "Li Qiang", "phone": "13800138000"},
        "workers": [{"name": WORKER, "id_doc_no": "110101199001011234"}],
        "period_from": today.isoformat(), "period_until": until.isoformat(),
        "hours": {"start": "08:00", "end": "18:00", "weekdays": [1, 2, 3, 4, 5, 6]},
        "deposit": {"amount_cents": 200000, "receipt_no": "R-88"},
        "drawings": {"ref": "DWG-7", "approved_by": "Eng. Zhou", "approved_on": today.isoformat()},
    }), 201)
    no = permit["permit_no"]
    # passes only with an approved permit: refused before approval
    card = {"uid": UID, "card_type": "renovation_worker", "holder": {"name": WORKER, "unit": UNIT},
            "valid_until": datetime.combine(until, time(23, 59), TZ).isoformat(), "permit_no": no,
            "deposit": {"amount_cents": 5000, "receipt_no": "W-1"}}
    r = clerk.post("/api/v1/cards", json=card)
    assert r.status_code == 422 and r.json()["error"] == "permit_not_approved", r.text
    ok(supervisor.post(f"/api/v1/permits/{no}/approve", json={}))
    assert ok(clerk.post("/api/v1/cards", json=card), 201)["status"] == "active"
    wait_for(lambda: agent.acl.get(UID) is not None and agent.acl.get(UID).status == "active",
             what="the worker's card on the gate's list")
    return no, today, workday, holiday, sunday, clerk


class Taps:
    """Presents the card and checks the far ends: the relay's pty (opened for a grant, shut
    otherwise) and the pass stored at the hub with its reason, in the order tapped."""

    def __init__(self, reader, relay, clerk: httpx.Client) -> None:
        self.reader, self.relay, self.clerk = reader, relay, clerk
        self.seen: list[tuple[str, str]] = []

    def __call__(self, expect: str) -> None:
        granted = expect == "valid_card"
        self.reader.write(encode_frame(UID))
        if granted:
            assert self.relay.read_exactly(4) == ON, "the relay opens"
            assert self.relay.read_exactly(4) == OFF, "and locks again"
        self.seen.append(("granted" if granted else "denied", expect))
        # in the order tapped: an event's id starts with the gate's real time (its ``at`` is
        # the driven clock's, which goes back and forth here)
        got = wait_for(lambda: (lambda p: p if len(p) == len(self.seen) else None)(
            [(e["decision"], e["reason"]) for e in sorted(stack.passes(self.clerk), key=lambda e: e["event_id"])
             if e["uid"] == UID]), timeout=10, what=f"pass {len(self.seen)} ({expect}) at the hub")
        assert got == self.seen
        if not granted:
            assert self.relay.read_available(quiet=0.3) == b"", f"the relay stays shut ({expect})"


def test_a_workers_card_follows_its_permit_at_the_gate(site):
    hub, agent, clock, reader, relay = site
    no, today, workday, holiday, sunday, clerk = permitted_worker(hub, agent)
    tap = Taps(reader, relay, clerk)

    clock.set(workday, 10)
    tap("valid_card")
    clock.set(workday, 7, 59)
    tap("outside_schedule")
    clock.set(workday, 18, 0)
    tap("outside_schedule")
    clock.set(sunday, 10)
    tap("outside_schedule")  # Sunday is not among the permit's working days
    clock.set(holiday, 10)
    tap("holiday")
    clock.set(today + timedelta(days=31), 10)
    tap("validity_ended")  # the day after the permit's period: the card ends with it

    clock.set(workday, 11)
    rev = agent.acl.rev
    ok(clerk.post(f"/api/v1/permits/{no}/suspend", json={
        "reason": "work without protection", "engineering_approval": {"by": "Eng. Zhou", "on": today.isoformat()}}))
    wait_for(lambda: agent.acl.get(UID).status == "permit_suspended", timeout=5,
             what="the suspension on the gate's list")
    assert agent.acl.rev > rev
    tap("permit_suspended")

    ok(clerk.post(f"/api/v1/permits/{no}/resume", json={}))
    wait_for(lambda: agent.acl.get(UID).status == "active", timeout=5, what="the resumption on the gate's list")
    tap("valid_card")

    ended = ok(clerk.post(f"/api/v1/permits/{no}/exit", json={
        "inspected_by": "Eng. Zhou", "inspection": "no damage", "refund_on": (today + timedelta(days=10)).isoformat(),
        "deductions_cents": 0, "deduction_reason": None}))
    assert ended["state"] == "ended" and UID in ended["passes_out"]  # the pass still out is listed at exit
    wait_for(lambda: agent.acl.get(UID).status == "permit_ended", timeout=5, what="the exit on the gate's list")
    tap("permit_ended")
    stack.in_step(hub, agent, what="the gate holding exactly the hub's list")



def test_a_holiday_added_to_the_calendar_later_reaches_the_gate_and_so_does_its_removal(site):
    """The estate's calendar changes after the card is listed (a typhoon day): the permit's
    cards are re-projected (hub.permits.setup watches the calendar) and the gate refuses the
    card on that day; the day taken off the calendar, the card opens again."""
    hub, agent, clock, reader, relay = site
    _, _, _, _, sunday, clerk = permitted_worker(hub, agent)
    supervisor = api(hub, "supervisor")
    tap = Taps(reader, relay, clerk)
    later = sunday + timedelta(days=1)  # a Monday: one of the permit's working days
    with hub.store.read() as db:
        assert later not in load_calendar(db).days
    clock.set(later, 10)
    tap("valid_card")

    rev = agent.acl.rev
    ok(supervisor.put(f"/api/v1/calendar/days/{later.isoformat()}",
                      json={"kind": "holiday", "name": "Typhoon day", "reason": "e2e"}))
    wait_for(lambda: agent.acl.rev > rev, timeout=20, what="the new holiday on the gate's list")
    stack.in_step(hub, agent, timeout=10)
    tap("holiday")

    rev = agent.acl.rev
    ok(supervisor.delete(f"/api/v1/calendar/days/{later.isoformat()}", params={"reason": "e2e"}))
    wait_for(lambda: agent.acl.rev > rev, timeout=20, what="the holiday's removal on the gate's list")
    stack.in_step(hub, agent, timeout=10)
    tap("valid_card")

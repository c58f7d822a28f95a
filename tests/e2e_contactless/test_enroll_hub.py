"""The hub side of the enrolment desk, with real enroll-role agents (simulated desk readers) on
the real broker: taps go to the clerk's per-station stream with each UID's standing, never to
the guards' events; stale taps are dropped; only clerks see any of it."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import httpx
import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from hub.auth import create_token
from hub.enroll.standing import is_fresh, standing
from protocols.messages import EventKind, GateEvent, utcnow
from protocols.topics import gate_topic
from tests.rigs import stack
from tests.e2e_contactless.conftest import issue
from tests.e2e_contactless.sse import SseReader
from tests.rigs.wait import wait_for

DESK = "desk-1"


def desk_doors() -> list[dict]:
    return [{"id": "desk", "readers": [{"kind": "sim"}]}]


def gate_doors() -> list[dict]:
    return [{"id": "west-in", "relay": {"kind": "sim", "pulse_ms": 100}, "readers": [{"kind": "sim"}]}]


def stations(client: httpx.Client) -> list[str]:
    return [s["gate_id"] for s in client.get("/api/v1/enroll/stations").json()]


@pytest.fixture
def desk(hub, make_agent):
    agent = make_agent(DESK, desk_doors(), role="enroll")
    clerk = hub.client("clerk")
    wait_for(lambda: DESK in stations(clerk), 10, "the desk station listed")
    return agent


def stream(hub, role: str = "clerk", gate_id: str = DESK, headers: dict | None = None) -> SseReader:
    h = {"Authorization": "Bearer " + create_token(hub.store, role, role), **(headers or {})}
    return SseReader(hub.url, f"/api/v1/enroll/stations/{gate_id}/stream", h)


def test_a_desk_tap_reaches_the_clerk_with_its_standing_and_never_the_guards(hub, make_agent, desk):
    gate = make_agent("west", gate_doors())
    guard = hub.client("guard")
    clerk = hub.client("clerk")
    wait_for(lambda: [g for g in guard.get("/api/v1/gates").json() if g["gate_id"] == "west" and g["online"]], 10,
             "the gate online")
    assert stations(clerk) == [DESK]  # a gate is not a desk station
    live = SseReader(hub.url, "/api/v1/events/stream", dict(guard.headers))
    taps = stream(hub)
    try:
        assert taps.status == 200
        desk.reader("desk/0").tap("04:a1:b2:c3")
        got = taps.next(what="the desk tap")
        assert got["event"] == "presented" and got["data"]["uid"] == "04A1B2C3"
        assert got["data"]["standing"]["state"] == "unknown" and got["data"]["standing"]["can_issue"] is True
        assert got["data"]["standing"]["text"] == "not known: a new card"

        gate.reader("west-in/0").tap("0A0B0C0D")  # a pass at a real gate, after the desk tap
        shown = live.next(what="the gate's pass on the live feed")
        while shown["data"]["kind"] != "pass":
            shown = live.next(what="the gate's pass on the live feed")
        assert shown["data"]["uid"] == "0A0B0C0D"  # the desk tap, ingested before it, never came
        assert all(e["kind"] != "presented" and e["uid"] != "04A1B2C3" for e in guard.get("/api/v1/events").json())

        issue(clerk, "04A1B2C3", name="Li Wei", unit="B-03-11")
        desk.reader("desk/0").tap("04A1B2C3")
        again = taps.next(what="the second tap")["data"]["standing"]
        assert (again["state"], again["can_issue"]) == ("issued", False)
        assert again["text"] == "already issued to Li Wei, B-03-11 (active)"

        assert clerk.post("/api/v1/cards/04A1B2C3/revoke").status_code == 200
        desk.reader("desk/0").tap("04A1B2C3")
        assert taps.next(what="the tap of a revoked card")["data"]["standing"]["state"] == "revoked"
        taps.nothing(0.3)
    finally:
        taps.close()
        live.close()


def test_a_stale_tap_delivered_late_is_not_shown(hub, broker, desk):
    taps = stream(hub)
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id="late-outbox")
    pub.connect(broker.host, broker.port)
    pub.loop_start()
    try:
        old = GateEvent(event_id="late-0000000001", gate_id=DESK, door_id="desk", kind=EventKind.PRESENTED,
                        uid="0BADF00D", at=utcnow() - timedelta(seconds=45))
        signed = stack.signed(hub.site, hub.gate_keys[DESK], old, "event")  # the desk's own outbox, late
        pub.publish(gate_topic(hub.site, DESK, "event"), signed, qos=1).wait_for_publish(5)
        desk.reader("desk/0").tap("600DF00D")
        assert taps.next(what="the fresh tap")["data"]["uid"] == "600DF00D"  # the late one never came first
        taps.nothing(0.5)
        assert hub.app.state.event_ingest.presented_ignored >= 1
    finally:
        pub.loop_stop()
        pub.disconnect()
        taps.close()


def test_a_desk_whose_clock_is_slow_still_gets_its_taps_shown(hub, make_agent):
    slow = make_agent("desk-2", desk_doors(), role="enroll", clock=lambda: utcnow() - timedelta(minutes=2))
    clerk = hub.client("clerk")
    wait_for(lambda: (g := clerk.get("/api/v1/gates/desk-2").json()).get("clock_offset_s") and
             g["clock_offset_s"] > 100, 10, "the hub to know the desk's clock is two minutes slow")
    taps = stream(hub, gate_id="desk-2")
    try:
        slow.reader("desk/0").tap("5105C10C")
        assert taps.next(what="the slow desk's tap")["data"]["uid"] == "5105C10C"
    finally:
        taps.close()


def test_a_lost_card_reads_as_lost_and_typed_uids_get_the_same_words(hub, desk):
    clerk = hub.client("clerk")
    issue(clerk, "0C0C0C0C", name="Chen Jie")
    r = clerk.post("/api/v1/cards/0C0C0C0C/lost", json={"reason": "lost on the bus"})
    assert r.status_code == 200, r.text
    lost = clerk.get("/api/v1/enroll/cards/0c:0c:0c:0c").json()
    assert (lost["state"], lost["can_issue"]) == ("lost", False)
    assert lost["text"].startswith("reported lost, blocked for good") and "Chen Jie" in lost["text"]
    assert clerk.get("/api/v1/enroll/cards/not-hex").status_code == 422


def test_only_clerks_supervisors_and_admins_see_the_desk(hub, desk):
    for role in ("clerk", "supervisor", "admin"):
        assert hub.client(role).get("/api/v1/enroll/stations").status_code == 200, role
    guard = hub.client("guard")
    assert guard.get("/api/v1/enroll/stations").status_code == 403
    assert guard.get("/api/v1/enroll/cards/0A0B").status_code == 403
    assert stream(hub, role="guard").status == 403
    anonymous = httpx.Client(base_url=hub.url)
    try:
        assert anonymous.get("/api/v1/enroll/stations").status_code == 401
        assert anonymous.get(f"/api/v1/enroll/stations/{DESK}/stream").status_code == 401
        assert anonymous.get("/enroll/static/enroll.js").status_code == 401
    finally:
        anonymous.close()
    assert stream(hub, gate_id="no-such-desk").status == 404
    other = {"Authorization": "Bearer " + create_token(hub.store, "clerk", "east-desk-clerk", ("desk-9",))}
    assert httpx.get(f"{hub.url}/api/v1/enroll/stations", headers=other).json() == []  # a token limited to desk-9
    assert SseReader(hub.url, f"/api/v1/enroll/stations/{DESK}/stream", other).status == 403
    assert hub.client("clerk").get("/enroll/static/enroll.js").headers["content-type"].startswith("text/javascript")


# -- pure parts ------------------------------------------------------------------------------


def test_freshness_is_judged_in_the_hubs_time():
    now = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    assert is_fresh(now - timedelta(seconds=5), now, None)
    assert not is_fresh(now - timedelta(seconds=45), now, None)  # the outbox delivered it late
    assert is_fresh(now - timedelta(seconds=125), now, 120.0)  # the desk's clock is 2 min slow
    assert not is_fresh(now + timedelta(minutes=5), now, None)  # from the future: a wrong clock


@pytest.mark.parametrize(("status", "state", "can_issue"), [
    ("in_stock", "in_stock", True), ("personalised", "personalised", True), ("active", "issued", False),
    ("suspended", "issued", False), ("revoked", "revoked", False), ("lost", "lost", False),
    ("returned", "returned", False), ("scrapped", "scrapped", False), ("expired", "issued", False),
])
def test_every_status_has_words_and_issue_follows_the_lifecycle(status, state, can_issue):
    s = standing("0A0B", {"status": status, "holder_name": "Wang Fang", "holder_unit": "A-12-03",
                          "card_type": "owner"})
    assert (s["state"], s["can_issue"]) == (state, can_issue)
    assert s["text"]

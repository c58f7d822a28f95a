"""The alarms' rules on a real hub database, with chosen times: one open alarm per kind, gate,
door and subject; a note to acknowledge; escalation after the set time; every alarm and
acknowledgement audited; a guard limited to gates sees only theirs; a remote open the gate
does not acknowledge in time becomes an alarm, one the gate answers does not."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub import audit
from hub.alarms import remote_opens, service
from hub.auth import Principal, Role
from hub.db import Store
from hub.errors import BadInput, Conflict, Forbidden
from protocols.messages import EventKind, GateEvent

T0 = datetime(2026, 11, 29, 8, 0, tzinfo=timezone.utc)
GUARD = Principal("gina", Role.GUARD)


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "hub.db")
    yield s
    s.close()


def test_one_open_alarm_per_door_until_acknowledged_then_a_new_one(store):
    with store.tx() as db:
        first = service.raise_alarm(db, "door_forced", T0, gate_id="north", door_id="north-in")
        again = service.raise_alarm(db, "door_forced", T0 + timedelta(seconds=5), gate_id="north", door_id="north-in")
        other = service.raise_alarm(db, "door_forced", T0, gate_id="north", door_id="north-out")
    assert first is not None and again is None and other not in (None, first)
    with store.tx() as db:
        service.acknowledge(db, GUARD, first, "door shut, nobody there", T0 + timedelta(minutes=1))
        later = service.raise_alarm(db, "door_forced", T0 + timedelta(minutes=2), gate_id="north", door_id="north-in")
    assert later not in (None, first)
    with store.read() as db:
        assert [a["id"] for a in service.open_alarms(db)] == [other, later]


def test_a_note_is_required_and_an_alarm_is_acknowledged_once(store):
    with store.tx() as db:
        alarm = service.raise_alarm(db, "door_held", T0, gate_id="north", door_id="north-in")
    for note in ("", "   "):
        with pytest.raises(BadInput) as refused, store.tx() as db:
            service.acknowledge(db, GUARD, alarm, note, T0)
        assert refused.value.rule == "note_required"
    with store.read() as db:
        assert service.open_alarms(db)[0]["state"] == "open"  # the refusal changed nothing
    with store.tx() as db:
        done = service.acknowledge(db, GUARD, alarm, "  closed it  ", T0 + timedelta(seconds=30))
    assert (done["state"], done["note"], done["acked_by"]) == ("acknowledged", "closed it", "guard:gina")
    with pytest.raises(Conflict), store.tx() as db:
        service.acknowledge(db, GUARD, alarm, "again", T0)
    with store.read() as db:
        rows = audit.search(db, action=None)
    mine = [(r["action"], r["who"], r["reason"]) for r in rows if r["entity"] == "alarm"]
    assert ("raise", "hub", None) in mine and ("acknowledge", "guard:gina", "closed it") in mine
    assert len([m for m in mine if m[0] == "acknowledge"]) == 1


def test_escalation_after_the_set_time_only(store):
    with store.tx() as db:
        alarm = service.raise_alarm(db, "gate_offline", T0, gate_id="north")
        assert service.escalate_due(db, T0 + timedelta(seconds=299), 300) == []
        assert service.escalate_due(db, T0 + timedelta(seconds=300), 300) == [alarm]
        assert service.escalate_due(db, T0 + timedelta(seconds=900), 300) == []  # once
    with store.read() as db:
        shown = service.open_alarms(db)[0]
    assert shown["escalated"] and shown["state"] == "open"
    with store.tx() as db:  # an acknowledged one is never escalated
        quiet = service.raise_alarm(db, "gate_offline", T0, gate_id="south")
        service.acknowledge(db, GUARD, quiet, "power restored", T0)
        assert service.escalate_due(db, T0 + timedelta(hours=1), 300) == []


def test_a_guard_limited_to_gates_sees_and_answers_only_theirs(store):
    south_guard = Principal("sam", Role.GUARD, frozenset({"south"}))
    with store.tx() as db:
        north = service.raise_alarm(db, "door_forced", T0, gate_id="north", door_id="north-in")
        estate = service.raise_alarm(db, "overstay", T0, subject="visit-7")
    with store.read() as db:
        assert [a["id"] for a in service.open_alarms(db, south_guard.gates)] == [estate]
        assert [a["id"] for a in service.changed_after(db, 0, south_guard.gates)] == [estate]
    with pytest.raises(Forbidden), store.tx() as db:
        service.acknowledge(db, south_guard, north, "not mine", T0)


def _sent(db, nonce: str, at: datetime, by: str = "guard:gina") -> None:
    remote_opens.record_sent(db, nonce=nonce, gate_id="north", door_id="north-in", by=by, reason="delivery",
                             sent_at=at, expires_at=at + timedelta(seconds=60))


def test_a_remote_open_not_acknowledged_in_time_becomes_one_alarm(store):
    with store.tx() as db:
        _sent(db, "a" * 32, T0)
        _sent(db, "b" * 32, T0)
        answer = GateEvent(event_id="ev-alarm-1", gate_id="north", door_id="north-in", kind=EventKind.REMOTE_OPEN,
                           decision="granted", reason="remote_open", at=T0 + timedelta(seconds=1),
                           detail={"by": "guard:gina", "nonce": "b" * 32})
        remote_opens.on_remote_open(db, answer, 41)
        assert remote_opens.check_unacknowledged(db, T0 + timedelta(seconds=9), 10) == []
        raised = remote_opens.check_unacknowledged(db, T0 + timedelta(seconds=10), 10)
        assert len(raised) == 1
        assert remote_opens.check_unacknowledged(db, T0 + timedelta(seconds=60), 10) == []  # once
    with store.read() as db:
        (alarm,) = service.open_alarms(db)
        kept, _ = remote_opens.by_nonces(db, ["a" * 32, "b" * 32])
    assert (alarm["kind"], alarm["subject"], alarm["detail"]["reason"]) == ("remote_open_unacknowledged", "a" * 32, "delivery")
    assert kept["b" * 32]["ack_decision"] == "granted" and kept["a" * 32]["acked_at"] is None


def test_an_older_agents_answer_without_a_nonce_finds_its_command(store):
    with store.tx() as db:
        _sent(db, "c" * 32, T0)
        answer = GateEvent(event_id="ev-alarm-2", gate_id="north", door_id="north-in", kind=EventKind.REMOTE_OPEN,
                           decision="denied", reason="command_rejected", at=T0 + timedelta(seconds=1),
                           detail={"by": "guard:gina", "why": "replayed command"})
        remote_opens.on_remote_open(db, answer, 42)
        result = GateEvent(event_id="ev-alarm-3", gate_id="north", door_id="north-in", kind=EventKind.OPEN_RESULT,
                           at=T0 + timedelta(seconds=3), detail={"nonce": "c" * 32, "opened": "no"})
        remote_opens.on_open_result(db, result, 43)
    with store.read() as db:
        _, by_ack = remote_opens.by_nonces(db, [], [42])
    kept = by_ack[42]
    assert (kept["ack_decision"], kept["ack_reason"], kept["ack_why"], kept["opened"]) == \
        ("denied", "command_rejected", "replayed command", "no")

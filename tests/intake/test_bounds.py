"""Wire bounds: whatever a gate can get past ``parse``, the hub can store; nothing it sends
makes ``parse`` raise anything but BadMessage.

Before the bounds, an event dated 9999-12-31T23:59:59-23:59 (OverflowError converting to
UTC) or a status with acl_rev 2**64 (OverflowError binding to SQLite) parsed and then failed
in the hub's handler on every delivery.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from hub.db import Store
from hub.enroll import store as desk
from hub.events import store as events
from hub.gates import acl, service
from protocols.messages import (
    MAX_REV,
    BadMessage,
    EventKind,
    GateEvent,
    GateStatus,
    SyncRequest,
    parse,
)

NOW = datetime(2026, 11, 29, 9, 0, tzinfo=timezone.utc)
EXAMPLES = settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# -- values a gate might send: mostly valid, with every edge the hub must survive ------------
unicode_text = st.text(alphabet=st.characters(exclude_categories=()), max_size=20)  # lone surrogates too
text = st.one_of(st.text(max_size=60), unicode_text, st.text(alphabet="ab\u00e9\u4e2d\U0001f600", min_size=990, max_size=1000))
name = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}", fullmatch=True)
number = st.one_of(
    st.integers(0, 10**6),
    st.integers(0, 2**70),
    st.sampled_from([0, MAX_REV - 1, MAX_REV, MAX_REV + 1, 2**63 - 1, 2**63, 2**64, 10**9, 10**9 + 1]),
    st.sampled_from(["12", 1e3, -1, 1e300]),
)
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(lambda m: timezone(timedelta(minutes=m)))
times = st.one_of(
    st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30), timezones=offsets).map(datetime.isoformat),
    st.datetimes(min_value=datetime(1969, 12, 30), max_value=datetime(2100, 1, 2), timezones=offsets).map(datetime.isoformat),
    st.sampled_from(["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "2099-12-31T23:59:59-23:59",
                     "1970-01-01T00:00:00+00:01", "2026-11-29T09:00:00", "not a time"]),
    st.integers(-10**11, 10**11),
)
uids = st.from_regex(r"([0-9A-F]{2}){1,16}", fullmatch=True)
checksums = st.one_of(st.from_regex(r"[0-9a-f]{64}", fullmatch=True), st.just("0" * 64), text)


def maybe(strategy):
    return st.one_of(st.none(), strategy)


gate_events = st.fixed_dictionaries(
    {"event_id": st.from_regex(r"[A-Za-z0-9_.:-]{8,64}", fullmatch=True), "gate_id": name, "at": times,
     "kind": st.sampled_from([k.value for k in EventKind]), "uid": uids,
     "decision": st.sampled_from(["granted", "denied"]), "reason": st.one_of(st.just("unknown_card"), text)},
    optional={
        "door_id": maybe(name), "reader": maybe(text), "direction": st.sampled_from(["in", "out"]),
        "acl_rev": number, "detail": st.dictionaries(text, text, max_size=34),
    },
)
door_statuses = st.fixed_dictionaries({}, optional={
    "state": st.sampled_from(["ok", "degraded"]), "problems": st.lists(text, max_size=33),
})
gate_statuses = st.fixed_dictionaries(
    {"gate_id": name, "online": st.booleans(), "at": times},
    optional={
        "role": st.sampled_from(["gate", "enroll"]), "acl_rev": number, "checksum": maybe(checksums),
        "outbox_depth": number, "outbox_error": maybe(text), "agent_version": maybe(text),
        "doors": st.dictionaries(name, door_statuses, max_size=66),
    },
)
sync_requests = st.fixed_dictionaries({"gate_id": name, "rev": number, "checksum": checksums, "at": times})


def _parsed(model, data: dict):
    try:
        return parse(model, json.dumps(data).encode())  # ensure_ascii: lone surrogates travel as \ud800
    except BadMessage:
        return None


@pytest.fixture
def store(tmp_path):
    s = Store.open(tmp_path / "hub.db")
    yield s
    s.close()


def test_any_event_that_parses_is_stored(store) -> None:
    stored = []

    @EXAMPLES
    @given(gate_events)
    def check(data: dict) -> None:
        event = _parsed(GateEvent, data)
        if event is None:
            return
        with store.tx() as db:  # as hub.events.ingest and hub.enroll do with it
            acl.ensure_gate(db, event.gate_id)
            if event.kind == EventKind.PRESENTED:
                desk.record(db, event, NOW)
            else:
                events.store_event(db, event, NOW)
        stored.append(event.event_id)

    check()
    assert len(stored) > 50, f"only {len(stored)} generated events parsed: the strategy tests nothing"


def test_any_status_that_parses_is_stored_and_reconciled(store) -> None:
    stored = []

    @EXAMPLES
    @given(gate_statuses)
    def check(data: dict) -> None:
        status = _parsed(GateStatus, data)
        if status is None:
            return
        with store.tx() as db:  # as hub.gates.ingest does with it
            service.apply_status(db, status, NOW)
            if status.checksum:
                acl.ensure_gate(db, status.gate_id)
                for update in acl.reconcile(db, status.gate_id, status.acl_rev, status.checksum):
                    update.to_bytes()
        stored.append(status.gate_id)

    check()
    assert len(stored) > 50, f"only {len(stored)} generated statuses parsed"


def test_any_sync_that_parses_is_answered(store) -> None:
    answered = []

    @EXAMPLES
    @given(sync_requests)
    @example({"gate_id": "ahead", "rev": MAX_REV, "checksum": "1" * 64, "at": "2099-12-31T12:00:00-11:59"})
    def check(data: dict) -> None:
        req = _parsed(SyncRequest, data)
        if req is None:
            return
        with store.tx() as db:
            acl.ensure_gate(db, req.gate_id)
            updates = acl.answer_sync(db, req.gate_id, req.rev, req.checksum)
        for update in updates:  # the hub's answer is itself a valid message (revisions past the gate's)
            update.to_bytes()
        answered.append(req.rev)

    check()
    assert len(answered) > 50, f"only {len(answered)} generated sync requests parsed"
    assert MAX_REV in answered, "a gate claiming the highest revision was answered (the hub numbers past it)"


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), unicode_text),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(unicode_text, inner, max_size=4)),
    max_leaves=20,
)
BASE = {
    GateEvent: {"event_id": "ev-00000001", "gate_id": "north", "uid": "0A0012AB34", "decision": "denied",
                "reason": "unknown_card", "at": "2026-11-29T09:00:00+00:00"},
    GateStatus: {"gate_id": "north", "online": True, "at": "2026-11-29T09:00:00+00:00"},
    SyncRequest: {"gate_id": "north", "rev": 1, "checksum": "0" * 64, "at": "2026-11-29T09:00:00+00:00"},
}


@EXAMPLES
@given(st.sampled_from(sorted(BASE, key=lambda m: m.__name__)), st.data())
def test_parse_raises_only_bad_message(model, data) -> None:
    """Any bytes, any JSON, any field of a good message replaced by any JSON value."""
    base = BASE[model]
    payload = data.draw(st.one_of(
        st.binary(max_size=300),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.tuples(st.sampled_from(sorted(base)), json_values).map(
            lambda kv: json.dumps(base | {kv[0]: kv[1]}).encode()),
        st.sampled_from([b"1" * 5000, b"[" * 100_000, b'{"a":' * 50_000, b"\xff\xfe", b""]),
    ))
    try:
        parse(model, payload)
    except BadMessage:
        pass


@pytest.mark.parametrize("model, fields, why", [
    (GateEvent, {"kind": "device", "at": "9999-12-31T23:59:59-23:59"}, "at: Value error, time is out of range"),
    (GateEvent, {"kind": "device", "at": "2100-01-01T00:00:00+00:00"}, "at: Value error, time must be from 1970"),
    (GateEvent, {"kind": "device", "at": "2026-11-29T09:00:00Z", "acl_rev": 2**64}, "acl_rev: Input should be less"),
    (GateEvent, {"kind": "device", "at": "2026-11-29T09:00:00Z", "reader": "\ud800"}, "lone surrogate"),
    (GateEvent, {"kind": "device", "at": "2026-11-29T09:00:00Z", "detail": {str(i): "x" for i in range(33)}},
     "detail: Dictionary should have at most 32 items"),
    (GateStatus, {"online": True, "at": "2026-11-29T09:00:00Z", "acl_rev": 2**64}, "acl_rev: Input should be less"),
    (GateStatus, {"online": True, "at": "2026-11-29T09:00:00Z", "outbox_error": "x" * 1001}, "outbox_error"),
    (GateStatus, {"online": True, "at": "2026-11-29T09:00:00Z", "doors": {"d": {"problems": ["p"] * 33}}},
     "doors.d.problems"),
    (SyncRequest, {"rev": MAX_REV + 1, "checksum": "0" * 64, "at": "2026-11-29T09:00:00Z"}, "rev: Input should be less"),
])
def test_the_issue_poison_is_refused_by_name(model, fields, why) -> None:
    extra = {"event_id": "ev-00000001"} if model is GateEvent else {}
    with pytest.raises(BadMessage, match=why.replace("(", r"\(")):
        parse(model, json.dumps({"gate_id": "north", **extra, **fields}).encode())


def test_the_edges_of_the_range_are_accepted_and_stored(store) -> None:
    edges = ("1970-01-01T00:00:00+00:00", "2099-12-31T23:59:59.999999+00:00", "2099-12-31T23:59:59-00:00")
    for i, at in enumerate(edges):
        event = parse(GateEvent, json.dumps({"event_id": f"ev-edge-{i}", "gate_id": "n",
                                             "kind": "device", "at": at, "acl_rev": MAX_REV}).encode())
        with store.tx() as db:
            assert events.store_event(db, event, NOW) is not None
    status = parse(GateStatus, json.dumps({"gate_id": "n", "online": True, "at": "2099-12-31T00:00:00Z",
                                           "acl_rev": MAX_REV, "outbox_depth": 10**9}).encode())
    with store.tx() as db:
        service.apply_status(db, status, NOW)
        assert list(db.query("SELECT reported_rev FROM gates WHERE gate_id = 'n'"))[0]["reported_rev"] == MAX_REV

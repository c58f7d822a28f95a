"""The hub checks a gate's MAC over the bytes as received (the wire form: canonical JSON,
sig last), then over the JSON as received, before the model's dump, and those shortcuts
accept and refuse exactly what the model's dump does.

For generated events, every shape a payload may take on the wire (the gate's own bytes, the
same JSON re-spaced, reordered or escaped, a form validation normalises, forged, tampered, for
another gate or channel) is verified both ways with one key and with two (a rotation): same
key index or same refusal. Then that the shortcut is what a genuine event is accepted by (the
model is not dumped at all), and that the hub's Drops uses it.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hub.mqtt import Drops
from protocols import signing
from protocols.cards import Decision, Reason
from protocols.messages import BadMessage, Direction, EventKind, GateEvent, parse_received
from protocols.signing import BadSignature, new_key, sign, verify
from protocols.topics import gate_topic

SITE = "demo"
GATE = "north"
KEY = new_key()
OTHER_KEY = new_key()

#: any text a gate may report, lone surrogates aside (parse refuses those before any MAC)
_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)), max_size=12)
_zones = st.sampled_from([timezone.utc, timezone(timedelta(hours=8)), timezone(timedelta(hours=-5, minutes=-30))])


@st.composite
def events(draw) -> GateEvent:
    kind = draw(st.sampled_from([EventKind.PASS, EventKind.DEVICE, EventKind.DOOR_FORCED]))
    is_pass = kind == EventKind.PASS
    uid = draw(st.binary(min_size=1, max_size=16)).hex().upper() if is_pass or draw(st.booleans()) else None
    return GateEvent(
        event_id=draw(st.from_regex(r"[A-Za-z0-9_.:-]{8,64}", fullmatch=True)),
        gate_id=GATE,
        door_id=draw(st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,20}", fullmatch=True))),
        reader=draw(st.one_of(st.none(), _text)),
        direction=draw(st.one_of(st.none(), st.sampled_from(Direction))),
        kind=kind,
        uid=uid,
        decision=draw(st.sampled_from(Decision)) if is_pass else None,
        reason=draw(st.sampled_from(Reason)) if is_pass else None,
        at=draw(st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1), timezones=_zones)),
        acl_rev=draw(st.integers(min_value=0, max_value=2**53 - 1)),
        detail=draw(st.dictionaries(_text, _text, max_size=3)),
    )


def _compact(data: dict) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def _shapes(event: GateEvent) -> dict[str, tuple[bytes, bool]]:
    """Payload shapes of one event: (bytes, genuine)."""
    signed = sign(event, KEY, SITE, "event")
    wire = signed.to_bytes()
    data = json.loads(wire)
    body = wire[: wire.rindex(b',"sig":')]
    shapes = {
        "the gate's bytes": (wire, True),
        "older field order": (signed.model_dump_json().encode(), True),
        "wire form, body changed": (body.replace(b'"acl_rev":', b'"acl_rev":1', 1) + wire[len(body):], False),
        # a member twice: JSON keeps the last, so the model is the one signed (not over these bytes)
        "wire form, a sig member inside": (body + b',"sig":"' + b"0" * 64 + b'"' + wire[len(body):], True),
        "re-spaced": (json.dumps(data, indent=1).encode(), True),
        "reordered": (_compact(dict(reversed(list(data.items())))), True),
        "escaped": (json.dumps(data, ensure_ascii=True).encode(), True),
        # what validation normalises: MAC'd over the model, sent in another notation
        "time as +00:00 or offset": (_compact(data | {"at": event.at.isoformat()}), True),
        "forged": (sign(event, OTHER_KEY, SITE, "event").to_bytes(), False),
        "other channel": (sign(event, KEY, SITE, "status").to_bytes(), False),
        "other site": (sign(event, KEY, "elsewhere", "event").to_bytes(), False),
        "tampered acl_rev": (_compact(data | {"acl_rev": (event.acl_rev + 1) % 2**53}), False),
        "tampered reader": (_compact(data | {"reader": (event.reader or "") + "x"}), False),
        "detail changed": (_compact(data | {"detail": event.detail | {"added": "1" + event.detail.get("added", "")}}),
                           False),
        "unsigned": (_compact({k: v for k, v in data.items() if k != "sig"}), False),
    }
    if event.uid is not None:
        shapes["uid in lower case"] = (_compact(data | {"uid": event.uid.lower()}), True)
        shapes["another card"] = (_compact(data | {"uid": event.uid + "00" if len(event.uid) < 32 else "01"}), False)
    return shapes


def _verdict(payload: bytes, keys: list[str], fast: bool, raw: bool = False) -> object:
    try:
        msg, received = parse_received(GateEvent, payload)
    except BadMessage:
        return "unreadable"
    try:
        return verify(msg, keys, SITE, "event", GATE, received=received if fast else None,
                      raw=payload if raw else None)
    except BadSignature:
        return "refused"


@settings(max_examples=150, deadline=None)
@given(event=events())
def test_the_received_json_and_the_models_dump_give_the_same_answer(event: GateEvent) -> None:
    for shape, (payload, genuine) in _shapes(event).items():
        for keys, index in (([KEY], 0), ([OTHER_KEY, KEY], 1)):
            fast, slow = _verdict(payload, keys, fast=True), _verdict(payload, keys, fast=False)
            assert fast == slow, f"{shape}: with the received JSON {fast}, over the model's dump {slow}"
            raw = _verdict(payload, keys, fast=True, raw=True)
            assert raw == slow, f"{shape}: with the bytes as received {raw}, over the model's dump {slow}"
            if shape == "forged":
                assert fast == ("refused" if keys == [KEY] else 0), shape
            else:
                assert fast == (index if genuine else "refused"), shape


def _no_model_dump(*_args, **_kwargs):
    raise AssertionError("the model's dump was made")


def test_a_genuine_event_is_accepted_over_the_received_json_alone() -> None:
    event = GateEvent(event_id="ev-00000001", gate_id=GATE, door_id="main", uid="0A0012AB34",
                      decision="granted", reason="valid_card", at=datetime.now(timezone.utc), detail={"北門": "é\""})
    msg, received = parse_received(GateEvent, sign(event, KEY, SITE, "event").to_bytes())
    with patch.object(signing, "_signed_body", _no_model_dump):
        assert verify(msg, [OTHER_KEY, KEY], SITE, "event", GATE, received=received) == 1
        with pytest.raises(AssertionError, match="dump was made"):  # without it, the long way is taken
            verify(msg, [KEY], SITE, "event", GATE)


def test_a_genuine_event_is_accepted_over_its_bytes_alone() -> None:
    """The wire form is what a gate sends (to_bytes), and its MAC is checked over the bytes
    as they came: neither the received JSON nor the model is encoded again."""
    event = GateEvent(event_id="ev-00000004", gate_id=GATE, door_id="main", uid="0A0012AB34",
                      decision="granted", reason="valid_card", at=datetime.now(timezone.utc), detail={"北門": "é\""})
    wire = signing.signed_bytes(event, KEY, SITE, "event")
    assert wire == sign(event, KEY, SITE, "event").to_bytes()
    assert wire.endswith(b',"sig":"' + sign(event, KEY, SITE, "event").sig.encode() + b'"}')
    msg, received = parse_received(GateEvent, wire)
    with patch.object(signing, "_signed_body", _no_model_dump), patch.object(signing, "_received_body", _no_model_dump):
        assert verify(msg, [OTHER_KEY, KEY], SITE, "event", GATE, received=received, raw=wire) == 1
        with pytest.raises(AssertionError, match="dump was made"):  # a body not signed: the slower ways are tried
            verify(msg, [OTHER_KEY], SITE, "event", GATE, received=received, raw=wire)


def test_a_normalised_form_falls_back_to_the_models_dump() -> None:
    event = GateEvent(event_id="ev-00000002", gate_id=GATE, door_id="main", uid="0A0012AB34",
                      decision="denied", reason="unknown_card", at=datetime.now(timezone.utc))
    data = json.loads(sign(event, KEY, SITE, "event").to_bytes()) | {"uid": "0a:00:12:ab:34"}
    msg, received = parse_received(GateEvent, _compact(data))
    assert msg.uid == "0A0012AB34"
    assert verify(msg, [KEY], SITE, "event", GATE, received=received) == 0
    with patch.object(signing, "_signed_body", _no_model_dump), pytest.raises(AssertionError, match="dump was made"):
        verify(msg, [KEY], SITE, "event", GATE, received=received)


def test_the_hubs_drops_check_over_the_received_json() -> None:
    drops = Drops(keys=lambda gate_id: [KEY] if gate_id == GATE else [])
    event = GateEvent(event_id="ev-00000003", gate_id=GATE, kind="device", at=datetime.now(timezone.utc))
    topic = gate_topic(SITE, GATE, "event")
    with patch.object(signing, "_signed_body", _no_model_dump):
        got = drops.from_gate("event", topic, sign(event, KEY, SITE, "event").to_bytes(), GateEvent)
    assert got == sign(event, KEY, SITE, "event")
    assert drops.from_gate("event", topic, sign(event, OTHER_KEY, SITE, "event").to_bytes(), GateEvent) is None
    assert drops.by_rule == {"bad_signature": 1}

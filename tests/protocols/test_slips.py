"""A release slip's QR: out only, once, on its date in the estate's timezone, at the gates it
names; what it says cannot be changed; visitor passes read as they did before slips."""

from __future__ import annotations

import base64
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from protocols import visitpass as vp
from protocols.cards import Reason
from protocols.messages import Direction

TZ = "Asia/Shanghai"  # UTC+8, no daylight saving
DAY = date(2026, 11, 29)
#: 00:00 and 23:59:59 of DAY in Shanghai, in UTC
START = datetime(2026, 11, 28, 16, 0, tzinfo=timezone.utc)
LAST = datetime(2026, 11, 29, 15, 59, 59, tzinfo=timezone.utc)
NOON = datetime(2026, 11, 29, 4, 0, tzinfo=timezone.utc)
PID = "5C" * 16


@pytest.fixture(scope="module")
def key():
    return vp.new_private_key()


def kid(key) -> str:
    return vp.pass_key_id(vp.public_hex(key))


def keys_of(key) -> dict:
    return vp.public_keys({kid(key): vp.public_hex(key)})


def slip(key, **over) -> vp.PassClaims:
    base = dict(site="demo", pass_id=PID, day=DAY, tz=TZ, gates=("north", "east"), key_id=kid(key),
                ref="RS-20261129-0003")
    return vp.slip_claims(**(base | over))


def verdict(text: str, key, *, gate="north", now=NOON, direction=Direction.OUT, used=0, blocked=None,
            site="demo"):
    try:
        got = vp.read_pass(text, keys_of(key))
    except vp.PassRefused as exc:
        return exc.reason
    return vp.check(got, site=site, gate_id=gate, now=now, direction=direction, used=used, blocked=blocked)


def body_of(text: str) -> dict:
    body = text[len(vp.PREFIX):].split(".")[0]
    return json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))


def test_a_slip_is_the_day_in_the_estate_timezone_at_its_gates_once():
    c = slip(vp.new_private_key())
    assert (c.kind, c.entries, c.gates, c.ref) == ("slip", 1, ("north", "east"), "RS-20261129-0003")
    assert (c.valid_from, c.valid_until) == (int(START.timestamp()), int(LAST.timestamp()))
    # the same date in another zone is another window
    assert vp.slip_window(DAY, "Europe/London")[0] == int(datetime(2026, 11, 29, tzinfo=timezone.utc).timestamp())


def test_a_slip_opens_once_going_out_at_a_named_gate_on_its_date(key):
    text = vp.make_pass(slip(key), key)
    assert body_of(text)["kind"] == "slip" and body_of(text)["ref"] == "RS-20261129-0003"
    for gate, now in [("north", NOON), ("east", NOON), ("north", START), ("north", LAST)]:
        assert verdict(text, key, gate=gate, now=now) is None, (gate, now)


@pytest.mark.parametrize("kwargs, reason", [
    ({"used": 1}, Reason.SLIP_USED),  # this gate let it out already
    ({"blocked": Reason.PASS_USED_UP}, Reason.SLIP_USED),  # the hub lists it used at another gate
    ({"blocked": Reason.PASS_REVOKED}, Reason.PASS_REVOKED),  # cancelled at the desk
    ({"now": START - timedelta(seconds=1)}, Reason.SLIP_WRONG_DATE),  # 23:59:59 the day before, local
    ({"now": LAST + timedelta(seconds=1)}, Reason.SLIP_WRONG_DATE),  # 00:00 the next day, local
    ({"now": NOON + timedelta(days=3)}, Reason.SLIP_WRONG_DATE),
    ({"direction": Direction.IN}, Reason.SLIP_WRONG_DIRECTION),  # a slip is for going out
    ({"gate": "south"}, Reason.PASS_WRONG_GATE),  # a gate it does not name
    ({"site": "another-estate"}, Reason.PASS_FOREIGN_ESTATE),
])
def test_each_refusal_of_a_slip_names_its_rule(key, kwargs, reason):
    assert verdict(vp.make_pass(slip(key), key), key, **kwargs) == reason


def test_the_first_failing_rule_is_named(key):
    text = vp.make_pass(slip(key), key)
    late = NOON + timedelta(days=1)
    assert verdict(text, key, gate="south", direction=Direction.IN) == Reason.PASS_WRONG_GATE
    assert verdict(text, key, direction=Direction.IN, used=1) == Reason.SLIP_WRONG_DIRECTION
    assert verdict(text, key, now=late, used=1) == Reason.SLIP_USED  # used says more than late


def test_changing_what_a_slip_says_breaks_its_signature(key):
    text = vp.make_pass(slip(key), key)
    body, sig = text[len(vp.PREFIX):].split(".")

    def forged(**changes) -> str:
        raw = json.dumps(body_of(text) | changes, sort_keys=True, separators=(",", ":")).encode()
        return vp.PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + sig

    nxt = vp.slip_window(DAY + timedelta(days=1), TZ)
    for changes in [{"gates": ["north", "east", "south"]}, {"valid_from": nxt[0], "valid_until": nxt[1]},
                    {"kind": "visit"}, {"ref": "RS-20261129-0004"}, {"pass_id": "6D" * 16}]:
        assert verdict(forged(**changes), key) == Reason.PASS_TAMPERED, changes
    # a slip turned into a visitor pass by dropping its kind: the signature no longer matches
    data = body_of(text)
    del data["kind"]
    raw = json.dumps(data, sort_keys=True, separators=(",", ":")).encode()
    dropped = vp.PREFIX + base64.urlsafe_b64encode(raw).rstrip(b"=").decode() + "." + sig
    assert verdict(dropped, key, direction=Direction.IN) == Reason.PASS_TAMPERED
    # signed by a key the gate does not hold
    other = vp.new_private_key()
    assert verdict(vp.make_pass(slip(other), other), key) == Reason.PASS_UNKNOWN_KEY


def test_a_slip_without_gates_for_more_than_once_or_longer_than_a_day_is_never_made(key):
    with pytest.raises(ValidationError, match="names the gates"):
        slip(key, gates=())
    base = slip(key).model_dump()
    with pytest.raises(ValidationError, match="used once"):
        vp.PassClaims(**(base | {"entries": 2}))
    with pytest.raises(ValidationError, match="one day"):
        vp.PassClaims(**(base | {"valid_until": base["valid_from"] + 2 * 86_400}))
    with pytest.raises(ValidationError):
        vp.PassClaims(**(base | {"kind": "parcel"}))
    with pytest.raises(ValidationError):
        slip(key, ref="RS 2026")  # a number is printable ASCII without spaces


def test_a_visitor_pass_text_is_as_before_slips(key):
    """kind "visit" and no ref are not written, so a pass signed before slips still verifies
    and a gate running older code reads a new visitor pass as it always did."""
    now = int(NOON.timestamp())
    visit = vp.PassClaims(site="demo", pass_id=PID, valid_from=now - 60, valid_until=now + 3600,
                          gates=("north",), entries=2, key_id=kid(key))
    text = vp.make_pass(visit, key)
    assert set(body_of(text)) == {"site", "pass_id", "valid_from", "valid_until", "gates", "entries", "key_id"}
    assert vp.read_pass(text, keys_of(key)).kind == "visit"
    # a pass made as before slips (claims written by hand, signed over exactly those bytes)
    old_body = json.dumps({"site": "demo", "pass_id": PID, "valid_from": now - 60, "valid_until": now + 3600,
                           "gates": ["north"], "entries": 2, "key_id": kid(key)},
                          sort_keys=True, separators=(",", ":")).encode()
    signed = (vp.PREFIX + base64.urlsafe_b64encode(old_body).rstrip(b"=").decode()).encode()
    old = signed.decode() + "." + base64.urlsafe_b64encode(key.sign(signed)).rstrip(b"=").decode()
    assert old == text
    assert verdict(old, key, now=NOON, direction=Direction.IN) is None
    # a visitor going out is still never kept in
    assert verdict(old, key, now=NOON + timedelta(days=2), direction=Direction.OUT, used=9) is None

"""The visitor pass: what a gate accepts and refuses, with the reason it gives."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import visitpass as vp
from protocols.cards import Reason
from protocols.messages import Direction

NOW = datetime(2026, 11, 29, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def key():
    return vp.new_private_key()


def claims(key, **over) -> vp.PassClaims:
    base = dict(site="demo", pass_id="0A" * 16, valid_from=int(NOW.timestamp()) - 60,
                valid_until=int(NOW.timestamp()) + 3600, gates=("north",), entries=2,
                key_id=vp.pass_key_id(vp.public_hex(key)))
    return vp.PassClaims(**(base | over))


def keys_of(key) -> dict:
    public = vp.public_hex(key)
    return vp.public_keys({vp.pass_key_id(public): public})


def verdict(text: str, key, *, gate="north", site="demo", now=NOW, direction=Direction.IN, used=0, blocked=None):
    try:
        got = vp.read_pass(text, keys_of(key))
    except vp.PassRefused as exc:
        return exc.reason
    return vp.check(got, site=site, gate_id=gate, now=now, direction=direction, used=used, blocked=blocked)


def test_a_genuine_pass_opens_its_gate(key):
    text = vp.make_pass(claims(key), key)
    assert text.startswith(vp.PREFIX) and len(text) < 400
    assert verdict(text, key) is None
    assert vp.read_pass(text + "\r\n", keys_of(key)).pass_id == "0A" * 16  # a scanner's line ending


@pytest.mark.parametrize("over, kwargs, reason", [
    ({}, {"site": "other"}, Reason.PASS_FOREIGN_ESTATE),
    ({}, {"gate": "south"}, Reason.PASS_WRONG_GATE),
    ({}, {"now": NOW + timedelta(hours=2)}, Reason.PASS_EXPIRED),
    ({}, {"now": NOW - timedelta(hours=1)}, Reason.PASS_NOT_YET_VALID),
    ({}, {"used": 2}, Reason.PASS_USED_UP),
    ({}, {"blocked": Reason.PASS_REVOKED}, Reason.PASS_REVOKED),
    ({"gates": ()}, {"gate": "any-gate"}, None),  # no gates named: every gate of the estate
])
def test_each_refusal_names_its_rule(key, over, kwargs, reason):
    assert verdict(vp.make_pass(claims(key, **over), key), key, **kwargs) == reason


def test_going_out_is_never_kept_in_by_time_count_or_revocation(key):
    text = vp.make_pass(claims(key), key)
    late = NOW + timedelta(days=1)
    assert verdict(text, key, now=late, used=9, blocked=Reason.PASS_REVOKED, direction=Direction.OUT) is None
    assert verdict(text, key, gate="south", direction=Direction.OUT) == Reason.PASS_WRONG_GATE


def test_changing_what_a_pass_says_breaks_its_signature(key):
    text = vp.make_pass(claims(key, entries=1), key)
    body, sig = text[len(vp.PREFIX):].split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["entries"] = 50
    forged = vp.PREFIX + base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode() + "." + sig
    assert verdict(forged, key) == Reason.PASS_TAMPERED


def test_a_pass_from_a_key_the_gate_does_not_hold(key):
    other = vp.new_private_key()
    text = vp.make_pass(claims(other, key_id=vp.pass_key_id(vp.public_hex(other))), other)
    assert verdict(text, key) == Reason.PASS_UNKNOWN_KEY


def test_a_key_whose_id_does_not_match_is_not_held(key):
    assert vp.public_keys({"0" * 16: vp.public_hex(key)}) == {}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=600))
def test_any_scanned_line_is_a_pass_or_a_named_refusal(line):
    key = vp.new_private_key()
    with pytest.raises(vp.PassRefused) as caught:
        vp.read_pass(line, keys_of(key))
    assert caught.value.reason in {Reason.PASS_UNREADABLE, Reason.PASS_TAMPERED, Reason.PASS_UNKNOWN_KEY}


@pytest.mark.parametrize("cut", [1, 10, 60, 200])
def test_a_line_cut_short_is_unreadable_or_tampered_never_accepted(key, cut):
    text = vp.make_pass(claims(key), key)
    assert verdict(text[:-cut], key) in {Reason.PASS_UNREADABLE, Reason.PASS_TAMPERED}


def test_claims_are_bounded():
    with pytest.raises(ValueError):
        vp.PassClaims(site="demo", pass_id="0A" * 16, valid_from=10, valid_until=5, key_id="0" * 16)
    with pytest.raises(ValueError):
        vp.PassClaims(site="demo", pass_id="0a" * 16, valid_from=1, valid_until=5, key_id="0" * 16)

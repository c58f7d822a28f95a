"""The wire contract: topics, UIDs, messages, the ACL checksum and signed commands."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import topics
from protocols.acl import EMPTY_CHECKSUM, AclEntry, checksum_of, checksum_update
from protocols.cards import CardStatus, CardType
from protocols.commands import CommandRejected, new_key, sign_command, verify_command
from protocols.messages import AclUpdate, BadMessage, GateEvent, parse
from protocols.uid import InvalidUid, normalise_uid, uid_from_bits, uid_from_bytes

NOW = datetime(2026, 11, 24, 8, 0, tzinfo=timezone.utc)


# --- topics -------------------------------------------------------------------------------

def test_topic_round_trip() -> None:
    t = topics.gate_topic("demo", "north", "event")
    assert t == "gatehouse/v1/demo/gate/north/event"
    assert topics.parse_gate_topic(t) == topics.GateTopic("demo", "north", "event")


@pytest.mark.parametrize("bad", ["", "a/b", "+", "#", "north gate", "-x", "x" * 65])
def test_gate_id_that_cannot_be_a_topic_level_is_refused(bad: str) -> None:
    with pytest.raises(topics.BadTopic):
        topics.gate_topic("demo", bad, "event")


@pytest.mark.parametrize(
    "topic",
    ["gatehouse/v2/demo/gate/north/event", "gatehouse/v1/demo/gate/north/other", "gatehouse/v1/demo/hub/status", "x"],
)
def test_topics_outside_the_scheme_are_refused(topic: str) -> None:
    with pytest.raises(topics.BadTopic):
        topics.parse_gate_topic(topic)


# --- UIDs ---------------------------------------------------------------------------------

@pytest.mark.parametrize(
    "raw, uid",
    [("0a0012ab34", "0A0012AB34"), ("0A:00:12:AB:34", "0A0012AB34"), (" 04 a2 2b 1a ", "04A22B1A"), ("0x1234", "1234")],
)
def test_uids_are_normalised(raw: str, uid: str) -> None:
    assert normalise_uid(raw) == uid


@pytest.mark.parametrize("raw", ["", "XYZ1", "123", "00" * 17])
def test_bad_uids_say_why(raw: str) -> None:
    with pytest.raises(InvalidUid):
        normalise_uid(raw)


def test_uid_from_bytes_keeps_reader_order_and_bits_pad_to_bytes() -> None:
    assert uid_from_bytes(bytes([0x04, 0xA2, 0x2B, 0x1A])) == "04A22B1A"
    assert uid_from_bits(0x1ABCDE, 24) == "1ABCDE"
    assert uid_from_bits(0b101, 3) == "05"
    with pytest.raises(InvalidUid):
        uid_from_bits(1 << 24, 24)


# --- messages -----------------------------------------------------------------------------

def _event(**over) -> dict:
    base = {
        "event_id": "0123456789abcdef",
        "gate_id": "north",
        "door_id": "north-in",
        "uid": "0a0012ab34",
        "decision": "granted",
        "reason": "valid_card",
        "at": NOW.isoformat(),
    }
    base.update(over)
    return base


def test_event_parses_and_normalises_uid() -> None:
    ev = parse(GateEvent, json.dumps(_event()).encode())
    assert ev.uid == "0A0012AB34" and ev.kind == "pass"
    assert parse(GateEvent, ev.to_bytes()) == ev


@pytest.mark.parametrize(
    "payload, field",
    [
        (b"not json", "not JSON"),
        (b"\xff\xfe", "UTF-8"),
        (json.dumps(_event(surprise=1)).encode(), "surprise"),
        (json.dumps(_event(at="2026-11-24T08:00:00")).encode(), "at"),  # no offset
        (json.dumps(_event(decision="maybe")).encode(), "decision"),
        (json.dumps(_event(uid=None)).encode(), "uid"),
        (json.dumps(_event(v=2)).encode(), "v"),
        (b"x" * 300_000, "bytes"),
    ],
)
def test_malformed_payloads_raise_bad_message_naming_the_problem(payload: bytes, field: str) -> None:
    with pytest.raises(BadMessage) as err:
        parse(GateEvent, payload)
    assert field in str(err.value)


@given(st.binary(max_size=512))
def test_parse_never_raises_anything_but_bad_message(data: bytes) -> None:
    try:
        parse(GateEvent, data)
    except BadMessage:
        pass


def test_delta_must_sit_on_an_older_revision() -> None:
    with pytest.raises(BadMessage):
        parse(AclUpdate, json.dumps({"gate_id": "n", "kind": "delta", "rev": 3, "base_rev": 3, "checksum": EMPTY_CHECKSUM}))


# --- ACL checksum -------------------------------------------------------------------------

def _entry(uid: str, status: CardStatus = CardStatus.ACTIVE) -> AclEntry:
    return AclEntry(uid=uid, status=status, card_type=CardType.OWNER)


@given(st.lists(st.integers(min_value=0, max_value=2**32 - 1), unique=True, max_size=30), st.randoms())
def test_checksum_ignores_order_and_updates_incrementally(ids: list[int], rnd) -> None:
    entries = [_entry(f"{i:08X}") for i in ids]
    shuffled = entries[:]
    rnd.shuffle(shuffled)
    assert checksum_of(entries) == checksum_of(shuffled)
    running = EMPTY_CHECKSUM
    for e in entries:
        running = checksum_update(running, None, e)
    assert running == checksum_of(entries)
    if entries:
        revoked = entries[0].model_copy(update={"status": CardStatus.REVOKED})
        changed = checksum_update(running, entries[0], revoked)
        assert changed == checksum_of([revoked, *entries[1:]])
        assert changed != running


# --- signed commands ----------------------------------------------------------------------

def test_signed_command_verifies_and_tampering_is_refused() -> None:
    key = new_key()
    cmd = sign_command("north", "north-in", "guard:li", key, NOW, site="demo")
    verify_command(cmd, key, "north", NOW + timedelta(seconds=5), site="demo")
    with pytest.raises(CommandRejected, match="signature"):
        verify_command(cmd.model_copy(update={"door_id": "south-in"}), key, "north", NOW, site="demo")
    with pytest.raises(CommandRejected, match="signature"):
        verify_command(cmd, new_key(), "north", NOW, site="demo")
    with pytest.raises(CommandRejected, match="expired"):
        verify_command(cmd, key, "north", NOW + timedelta(seconds=16), site="demo")
    with pytest.raises(CommandRejected, match="gate"):
        verify_command(sign_command("south", "s", "g", key, NOW, site="demo"), key, "north", NOW, site="demo")
    with pytest.raises(CommandRejected, match="future"):
        verify_command(cmd, key, "north", NOW - timedelta(minutes=5), site="demo")
    with pytest.raises(CommandRejected, match="signature"):  # the site is in what is signed
        verify_command(cmd, key, "north", NOW, site="other")
    with pytest.raises(ValueError):
        sign_command("north", "north-in", "g", key, NOW, lifetime=timedelta(minutes=5), site="demo")


# --- config files -------------------------------------------------------------------------

def test_config_errors_name_the_key_as_the_file_spells_it(tmp_path) -> None:
    from pydantic import BaseModel, ConfigDict

    from drivers.config import RelayConfig
    from protocols.configfile import ConfigError, load_toml

    class Door(BaseModel):
        model_config = ConfigDict(extra="forbid")
        id: str
        relay: RelayConfig

    class File(BaseModel):
        model_config = ConfigDict(extra="forbid")
        doors: list[Door]

    path = tmp_path / "c.toml"
    path.write_text('[[doors]]\nid = "n"\n[doors.relay]\nkind = "lcus-serial"\nport = "/dev/x"\nchanel = 2\n')
    with pytest.raises(ConfigError, match=r"unknown key 'doors\.0\.relay\.chanel'"):
        load_toml(path, File)
    path.write_text('[[doors]]\n[doors.relay]\nkind = "sim"\n')
    with pytest.raises(ConfigError, match=r"missing key 'doors\.0\.id'"):
        load_toml(path, File)
    path.write_text("[[doors]\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_toml(path, File)

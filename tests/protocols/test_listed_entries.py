"""The listed form of an access-list entry (protocols.acl): schedules named by their content
hash, and the fast canonical text a gate makes of each entry byte for byte the hub's."""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from protocols.acl import (
    AclEntry, Schedule, TimeWindow, canonical_json, canonical_texts, listed, resolved, schedule_id,
)
from protocols.cards import CardStatus, CardType
from protocols.messages import MAX_SCHEDULES, AclUpdate, BadMessage, parse

DAY = Schedule(timezone="Asia/Shanghai", windows=(TimeWindow(days=(0, 1, 2, 3, 4), start=time(8), end=time(18)),),
               holidays=(date(2031, 10, 1),))


def test_a_schedule_id_is_the_hash_of_its_content_and_names_it_in_the_listed_entry():
    other = DAY.model_copy(update={"holidays": (date(2031, 10, 2),)})
    assert len(schedule_id(DAY)) == 32 and schedule_id(DAY) == schedule_id(Schedule.model_validate_json(
        canonical_json(DAY)))
    assert schedule_id(other) != schedule_id(DAY), "a holiday edit is another schedule"
    whole = AclEntry(uid="0a:00:12", status="active", card_type="owner", schedule=DAY)
    item, schedule = listed(whole)
    assert item.schedule == schedule_id(DAY) and schedule == DAY and item.uid == "0A0012"
    assert listed(item) == (item, None)
    assert resolved(item, {schedule_id(DAY): DAY}) == whole
    with pytest.raises(ValidationError):
        AclEntry(uid="01", status="active", card_type="owner", schedule="A" * 32)  # not lower hex
    with pytest.raises(ValidationError):
        AclEntry(uid="01", status="active", card_type="owner", schedule="a" * 31)


def test_an_update_carries_at_most_max_schedules():
    body = json.loads(AclUpdate(gate_id="north", kind="delta", rev=2, base_rev=1, checksum="0" * 64).to_bytes())
    day = json.loads(canonical_json(DAY))
    body["schedules"] = {f"{i:032x}": day for i in range(MAX_SCHEDULES)}
    assert len(parse(AclUpdate, json.dumps(body).encode()).schedules) == MAX_SCHEDULES
    body["schedules"][f"{MAX_SCHEDULES:032x}"] = day
    with pytest.raises(BadMessage):
        parse(AclUpdate, json.dumps(body).encode())


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=12)
_TIMES = st.one_of(st.none(), st.datetimes(min_value=datetime(1971, 1, 1), max_value=datetime(2099, 1, 1),
                                           timezones=st.sampled_from([timezone.utc, timezone(timedelta(hours=8)),
                                                                      timezone(timedelta(hours=-5, minutes=-30))])))


@settings(max_examples=300, deadline=None)
@given(uid=st.binary(min_size=1, max_size=16).map(bytes.hex), status=st.sampled_from(list(CardStatus)),
       ctype=st.sampled_from(list(CardType)), start=_TIMES, end=_TIMES,
       doors=st.one_of(st.none(), st.lists(_TEXT, max_size=3).map(tuple)), named=st.booleans(), apb=st.booleans())
def test_the_fast_canonical_text_is_the_canonical_json_byte_for_byte(uid, status, ctype, start, end, doors, named,
                                                                      apb):
    """What the gate hashes and checks the signature over must be exactly the hub's bytes, for
    any text in a door's name (escapes, non-ASCII) and any time."""
    e = AclEntry(uid=uid, status=status, card_type=ctype, valid_from=start, valid_until=end, doors=doors,
                 schedule=schedule_id(DAY) if named else None, anti_passback=apb)
    whole = e.model_copy(update={"schedule": DAY})
    assert canonical_texts([e, whole]) == [canonical_json(e), canonical_json(whole)]

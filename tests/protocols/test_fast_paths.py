"""The gate's shortcuts on a snapshot chunk refuse exactly what the long way refuses.

``parse`` skips the walk for lone surrogates when the text cannot hold one; ``verify`` with
``listed`` signs over entry texts made once instead of serialising the message again. Each
is checked here against the long way on the same payload: same model or same refusal.
"""

from __future__ import annotations

import json
from contextlib import nullcontext
from datetime import datetime, timezone
from unittest.mock import patch

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protocols import messages
from protocols.acl import AclEntry, Schedule, TimeWindow, canonical_json, canonical_texts, checksum_of
from protocols.cards import CardStatus, CardType
from protocols.messages import AclUpdate, BadMessage, GateEvent, GateStatus, parse
from protocols.signing import BadSignature, _signed_body, new_key, sign, signed_with_texts, verify

SITE = "demo"
GATE = "north"
KEY = new_key()
OTHER_KEY = new_key()


# --- parse: the surrogate walk skipped only where it cannot find anything -----------------

def _outcome(model, payload: bytes | str, long_way: bool = False):
    """What ``parse`` makes of ``payload``: the model, or its refusal's text. ``long_way``:
    with the walk forced (what ``parse`` did before the shortcut), the reference."""
    with patch.object(messages, "_cannot_hold_surrogates", lambda text, from_utf8: False) if long_way \
            else nullcontext():
        try:
            return parse(model, payload)
        except BadMessage as exc:
            return f"refused: {exc}"


#: text as a peer might put it in a field: any code point, lone surrogates included
_any_text = st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x10FFFF), max_size=12)


def _event(detail: dict[str, str], reader: str) -> dict:
    return {"v": 1, "event_id": "ev-000001", "gate_id": GATE, "kind": "device", "reader": reader,
            "at": "2026-11-24T08:00:00+00:00", "detail": detail}


def _upper_escapes(text: str) -> str:
    """The same JSON with its \\u escapes' hex in capitals (JSON allows either)."""
    out, i = [], 0
    while i < len(text):
        if text.startswith("\\u", i):
            out.append("\\u" + text[i + 2:i + 6].upper())
            i += 6
        elif text[i] == "\\":
            out.append(text[i:i + 2])
            i += 2
        else:
            out.append(text[i])
            i += 1
    return "".join(out)


@settings(max_examples=300, deadline=None)
@given(detail=st.dictionaries(_any_text, _any_text, max_size=4), reader=_any_text,
       ascii_only=st.booleans(), upper=st.booleans(), as_str=st.booleans())
def test_parse_accepts_and_refuses_what_the_walk_does(detail, reader, ascii_only, upper, as_str) -> None:
    text = json.dumps(_event(detail, reader), ensure_ascii=ascii_only)
    if upper:
        text = _upper_escapes(text)
    payload: bytes | str = text if as_str else text.encode("utf-8", "surrogatepass")
    assert _outcome(GateEvent, payload) == _outcome(GateEvent, payload, long_way=True)


@pytest.mark.parametrize("text, accepted", [
    ('"\\ud800"', False),  # a lone high surrogate, escaped
    ('"\\uDC00x"', False),  # a lone low one, capitals
    ('"\\ud83d\\ude00"', True),  # a pair: one emoji
    ('"\\\\ud800"', True),  # an escaped backslash then the letters "ud800": no surrogate
    ('"\\u00e9"', True),
    ('"plain"', True),
])
def test_surrogate_escapes_in_bytes(text: str, accepted: bool) -> None:
    payload = ('{"v":1,"event_id":"ev-000001","gate_id":"north","kind":"device","at":"2026-11-24T08:00:00+00:00",'
               f'"reader":{text}}}').encode()
    outcome = _outcome(GateEvent, payload)
    assert outcome == _outcome(GateEvent, payload, long_way=True)
    assert isinstance(outcome, GateEvent) if accepted else "lone surrogate" in outcome


def test_a_raw_lone_surrogate_in_a_str_payload_is_still_refused() -> None:
    payload = json.dumps(_event({}, "\ud800"), ensure_ascii=False)  # no escape: the character itself
    assert "\\u" not in payload
    with pytest.raises(BadMessage, match="lone surrogate"):
        parse(GateEvent, payload)


def test_a_model_validated_directly_still_walks() -> None:
    with pytest.raises(ValueError, match="lone surrogate"):
        GateStatus.model_validate({"gate_id": GATE, "online": True, "at": "2026-11-24T08:00:00+00:00",
                                   "outbox_error": "\ud800"})


# --- verify: entries serialised once, the same bytes signed ----------------------------------

def _entries(n: int) -> tuple[AclEntry, ...]:
    rich = AclEntry(uid="0A0012AB34", status=CardStatus.ACTIVE, card_type=CardType.STAFF, doors=("北門", "east"),
                    valid_until=datetime(2027, 1, 1, tzinfo=timezone.utc),
                    schedule=Schedule(timezone="Asia/Hong_Kong", windows=(TimeWindow(start="08:00", end="18:00"),)))
    return (rich,) + tuple(AclEntry(uid=f"{i:08X}", status=CardStatus.ACTIVE, card_type=CardType.OWNER)
                           for i in range(1, n))


def _chunk(n: int = 5, **kw) -> AclUpdate:
    items = _entries(n)
    fields = dict(gate_id=GATE, kind="snapshot", rev=7, checksum=checksum_of(items), snapshot_id="s1",
                  chunk=0, chunks=1, upserts=items) | kw
    return AclUpdate(**fields)


def _both_ways(payload: bytes, keys: list[str]) -> tuple[object, object]:
    """(verify the long way, verify with the texts made once): an index or "refused"."""
    update = parse(AclUpdate, payload)
    ways = []
    for listed in (None, ("upserts", canonical_texts(update.upserts))):
        try:
            ways.append(verify(update, keys, SITE, "acl", gate_id=GATE, listed=listed))
        except BadSignature:
            ways.append("refused")
    return ways[0], ways[1]


def _hub_form(update: AclUpdate, key: str) -> bytes:
    texts = [t.decode() for t in canonical_texts(update.upserts)]
    return signed_with_texts(update.model_copy(update={"upserts": ()}), "upserts", texts, key, SITE, "acl")


def _variants(update: AclUpdate) -> dict[str, bytes]:
    """One chunk on the wire in every shape a gate may see, genuine and not."""
    hub = _hub_form(update, KEY)
    as_dict = json.loads(hub)
    model_form = sign(update, KEY, SITE, "acl").to_bytes()
    tampered = json.loads(hub)
    tampered["upserts"][1]["status"] = "lost"
    other_site = signed_with_texts(update.model_copy(update={"upserts": ()}), "upserts",
                                   [t.decode() for t in canonical_texts(update.upserts)], KEY, "elsewhere", "acl")
    return {
        "hub form": hub,
        "model form": model_form,
        "re-spaced": json.dumps(as_dict, indent=2).encode(),
        "reordered": json.dumps(dict(reversed(list(as_dict.items())))).encode(),
        "entries reordered": json.dumps(as_dict | {"upserts": [dict(reversed(list(e.items())))
                                                               for e in as_dict["upserts"]]}).encode(),
        "escaped": json.dumps(as_dict, ensure_ascii=True).encode(),
        "forged": _hub_form(update, OTHER_KEY),
        "tampered": json.dumps(tampered, separators=(",", ":"), ensure_ascii=False).encode(),
        "sig of another chunk": json.dumps(as_dict | {"sig": json.loads(_hub_form(
            update.model_copy(update={"chunk": 0, "chunks": 2}), KEY))["sig"]}).encode(),
        "other site": other_site,
        "entry dropped": json.dumps(as_dict | {"upserts": as_dict["upserts"][:-1]}).encode(),
    }


@pytest.mark.parametrize("shape", ["hub form", "model form", "re-spaced", "reordered", "entries reordered", "escaped",
                                   "forged", "tampered", "sig of another chunk", "other site", "entry dropped"])
def test_verify_with_texts_agrees_with_the_long_way_on_every_shape(shape: str) -> None:
    payload = _variants(_chunk())[shape]
    genuine = shape in ("hub form", "model form", "re-spaced", "reordered", "entries reordered", "escaped")
    assert _both_ways(payload, [KEY]) == ((0, 0) if genuine else ("refused", "refused"))
    assert _both_ways(payload, [OTHER_KEY, KEY]) == ((1, 1) if genuine else (0, 0) if shape == "forged"
                                                    else ("refused", "refused"))


_uids = st.lists(st.integers(min_value=0, max_value=2**40 - 1), min_size=0, max_size=12, unique=True)


@settings(max_examples=100, deadline=None)
@given(uids=_uids, rev=st.integers(min_value=1, max_value=2**62), sid=_any_text.filter(lambda s: s.isprintable()),
       kind=st.sampled_from(["snapshot", "delta"]), removes=st.lists(st.sampled_from(["01", "0A0012AB34"]), max_size=2))
def test_the_bytes_signed_are_the_long_ways(uids, rev, sid, kind, removes) -> None:
    """Whatever the message holds (a snapshot_id that spells '"upserts":[]' included), the
    body signed over the texts is canonical_json's, byte for byte."""
    items = tuple(AclEntry(uid=f"{u:010X}", status=CardStatus.ACTIVE, card_type=CardType.OWNER) for u in uids)
    sid = (sid + '"upserts":[]')[:64]
    fields = dict(gate_id=GATE, kind=kind, rev=rev, checksum=checksum_of(items), upserts=items)
    fields |= {"snapshot_id": sid} if kind == "snapshot" else {"base_rev": rev - 1, "removes": tuple(removes)}
    update = AclUpdate(**fields)
    assert _signed_body(update, ("upserts", canonical_texts(items))) == canonical_json(update, exclude={"sig"})
    signed = sign(update, KEY, SITE, "acl")
    assert verify(signed, [KEY], SITE, "acl", listed=("upserts", canonical_texts(items))) == 0


def test_texts_that_do_not_fit_the_list_fall_back_to_the_long_way() -> None:
    update = sign(_chunk(), KEY, SITE, "acl")
    texts = canonical_texts(update.upserts)
    assert verify(update, [KEY], SITE, "acl", listed=("upserts", texts[:-1])) == 0  # too few: serialised again
    with pytest.raises(BadSignature):  # the texts are what is checked: other texts do not verify
        verify(update, [KEY], SITE, "acl", listed=("upserts", texts[::-1]))

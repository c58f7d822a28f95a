"""Card numbers as printed: the clerk types what is on the card and the hub finds the one card,
or refuses with the hint to tap it; a print is never stored as a UID; UIDs of lengths no card has
are refused (hub.cards.printed, protocols.uid.new_card_uid)."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from hub.cards import moves
from hub.errors import BadInput

EM_TAG = "100086F444"  # an EM4100 tag whose fob says 0008844356 and 134,62532
HID_PROX = "711B9C"  # facility 113, card 7068, as a Wiegand 26 reader reports it
MIFARE = "AA3F9B1A"


def _issue(api, uid: str, name: str = "Li Wei"):
    return api.post("/api/v1/cards", headers=api.h("clerk"),
                    json={"uid": uid, "card_type": "owner", "holder": {"name": name, "unit": "A-12-03"}})


def _count(api) -> int:
    with api.store.read() as db:
        return list(db.query("SELECT COUNT(*) AS n FROM cards"))[0]["n"]


def _find(api, role: str = "clerk", **params):
    return api.get("/api/v1/cards/find", params=params, headers=api.h(role))


def test_a_print_finds_the_one_card_it_names(api):
    for uid in (EM_TAG, HID_PROX, MIFARE):
        assert _issue(api, uid).status_code == 201

    got = _find(api, printed="0008844356")
    assert got.status_code == 200, got.text
    assert (got.json()["uid"], got.json()["matched_by"]) == (EM_TAG, "em4100: last 4 bytes")
    assert got.json()["holder"] == {"name": "Li Wei", "unit": "A-12-03"} and got.json()["status"] == "active"

    assert _find(api, printed="134,62532").json()["uid"] == EM_TAG  # the fob's second print
    assert _find(api, printed="113,7068").json()["uid"] == HID_PROX
    by_parts = _find(api, facility=113, number=7068)
    assert (by_parts.json()["uid"], by_parts.json()["matched_by"]) == (HID_PROX, "H10301: card data")

    missing = _find(api, printed="0008844357")
    assert missing.status_code == 404 and missing.json()["error"] == "printed_number_no_card"
    assert "tap the card on the desk reader" in missing.json()["detail"]

    assert _issue(api, "110086F444", name="Wang Fang").status_code == 201  # same last 4 bytes, other version byte
    both = _find(api, printed="0008844356")
    assert both.status_code == 409 and both.json()["error"] == "printed_number_ambiguous"
    assert EM_TAG in both.json()["detail"] and "110086F444" in both.json()["detail"]
    assert "tap the card" in both.json()["detail"]

    bad = _find(api, printed="12AB")
    assert bad.status_code == 422 and bad.json()["error"] == "bad_printed_number"
    assert _find(api, facility=300, number=1).json()["error"] == "bad_printed_number"  # 8-bit facility in W26


def test_find_is_for_staff_only(api):
    assert api.get("/api/v1/cards/find", params={"printed": "0008844356"}).status_code == 401
    assert _find(api, role="guard", printed="0008844356").status_code == 403


def test_a_print_typed_as_a_uid_is_refused_and_never_stored(api):
    before = _count(api)
    for typed in ("0008844356", "00 0884 4356", "00:08:84:43:56"):
        r = _issue(api, typed)
        assert r.status_code == 422, (typed, r.text)
        assert r.json()["error"] == "printed_number_not_uid", r.json()
        assert "tap the card on the desk reader" in r.json()["detail"]
    r = _issue(api, "113,7068")
    assert r.status_code == 422 and "facility code and card number" in r.text
    assert _count(api) == before
    assert api.get("/api/v1/cards/0008844356", headers=api.h("clerk")).status_code == 404


@pytest.mark.parametrize("uid", ["01", "0B0B", "0A0B0C0D0E0F", "0102030405060708"])
def test_lengths_no_card_has_are_refused(api, uid):
    r = _issue(api, uid)
    assert r.status_code == 422 and r.json()["error"] == "uid_length", r.text
    assert _count(api) == 0


@pytest.mark.parametrize("uid", ["0B0B0B", "0A0B0C0D", "0A004D7603", "04A1B2C3D4E5F6", "04A1B2C3D4E5F60708A9"])
def test_lengths_real_cards_have_are_issued(api, uid):
    assert _issue(api, uid).status_code == 201


def test_a_tag_whose_uid_looks_decimal_is_issued_once_a_reader_has_read_it(api):
    uid = "0012345678"  # an EM4100 frame whose 10 hex digits are all decimal
    assert _issue(api, uid).json()["error"] == "printed_number_not_uid"
    with api.store.tx() as db:  # what the desk's presented event leaves (hub.enroll.store)
        db["enroll_presentations"].insert({"event_id": "desk-tap-0001", "gate_id": "desk-1", "door_id": "desk",
                                           "reader": "desk/0", "uid": uid, "at": datetime.now(timezone.utc).isoformat(),
                                           "received_at": datetime.now(timezone.utc).isoformat()})
    assert _issue(api, uid).status_code == 201


def test_a_replacement_card_is_held_to_the_same_rule(api):
    assert _issue(api, EM_TAG).status_code == 201
    for new, rule in (("0008844357", "printed_number_not_uid"), ("0C0C", "uid_length")):
        with pytest.raises(BadInput) as err:
            moves.report_lost(api.store, "clerk:t", EM_TAG, "lost at the gym", replacement_uid=new)
        assert err.value.rule == rule
    with api.store.read() as db:
        assert [r["status"] for r in db.query("SELECT status FROM cards WHERE uid = ?", [EM_TAG])] == ["active"]
        assert _count(api) == 1

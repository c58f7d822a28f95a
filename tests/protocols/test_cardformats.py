"""Card formats, UID forms per reader, printed numbers and the UID length rule (protocols.cardformats, protocols.uid)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from protocols import wiegand
from protocols.cardformats import (
    C1K35, H10301, H10304, H10306, WIEGAND, FormatError, UidForm, derived_uids, every_form, parse_printed,
    print_matches, reported_uid,
)
from protocols.uid import (
    CARD_UID_BYTES, InvalidUid, PrintedNumberNotUid, UidLengthError, new_card_uid, normalise_uid,
)

FORMATS = list(WIEGAND.values())


@st.composite
def card_in_format(draw):
    fmt = draw(st.sampled_from(FORMATS))
    return fmt, draw(st.integers(0, (1 << fmt.facility_bits) - 1)), draw(st.integers(0, (1 << fmt.number_bits) - 1))


@given(card_in_format())
def test_every_format_round_trips_facility_and_number(case):
    fmt, facility, number = case
    bits = fmt.encode(facility, number)
    assert bits >> fmt.bits == 0
    assert fmt.decode(bits) == (facility, number)
    uid = fmt.uid(facility, number)
    assert len(uid) == 2 * ((fmt.data_bits + 7) // 8)
    assert fmt.fields_of_uid(uid) == (facility, number)
    assert fmt.uid_of_reading(bits) == uid


@given(card_in_format(), st.data())
def test_any_single_bit_flipped_is_refused(case, data):
    fmt, facility, number = case
    bits = fmt.encode(facility, number)
    flip = data.draw(st.integers(0, fmt.bits - 1))
    with pytest.raises(FormatError):
        fmt.decode(bits ^ (1 << flip))


@given(st.sampled_from([26, 34]), st.data())
def test_26_and_34_agree_with_the_readers_codec(bits, data):
    fmt = WIEGAND[bits]
    facility = data.draw(st.integers(0, (1 << fmt.facility_bits) - 1))
    number = data.draw(st.integers(0, (1 << fmt.number_bits) - 1))
    reading = fmt.encode(facility, number)
    assert reading == wiegand.encode_wiegand((facility << fmt.number_bits) | number, bits)
    assert wiegand.uid_from_wiegand(reading, bits) == fmt.uid(facility, number)


def test_known_cards():
    # HID Prox, facility 113, card 7068 (the example): W26 data 71 1B9C
    assert H10301.uid(113, 7068) == "711B9C"
    # the H10301 reading of that card, parity included, as a converter would pass it
    assert H10301.encode(113, 7068) == wiegand.encode_wiegand(0x711B9C, 26)
    assert H10306.uid(113, 7068) == "00711B9C"
    assert H10304.uid(113, 7068) == f"{(113 << 19) | 7068:010X}"
    assert C1K35.uid(113, 7068) == f"{(113 << 20) | 7068:08X}"
    with pytest.raises(FormatError, match="facility code must be 0 to 255"):
        H10301.encode(256, 1)
    with pytest.raises(FormatError, match="no Wiegand 30"):
        parse_printed("1,2", bits=30)


def test_one_card_at_each_reader():
    # a MIFARE Classic by PC/SC, and on a 13.56 MHz Wiegand 26 reader that sends the first 3 bytes reversed
    assert reported_uid("AA3F9B1A", UidForm.W26_FIRST3_REVERSED) == "9B3FAA"
    assert reported_uid("AA3F9B1A", "w26-first3") == "AA3F9B"
    assert reported_uid("AA3F9B1A", "w34-first4-reversed") == "1A9B3FAA"
    # an EM4100 tag on an RDM6300 and on a 125 kHz Wiegand 26 reader
    assert reported_uid("0A004D7603", UidForm.FULL) == "0A004D7603"
    assert reported_uid("0A004D7603", UidForm.W26_LAST3) == "4D7603"
    assert reported_uid("0A004D7603", UidForm.W34_LAST4) == "004D7603"
    # a 7-byte UID: a reader that stops at the first anticollision level sees 88 + 3 bytes
    assert reported_uid("04C43BC21C2680", "w34-first4-reversed") == "3BC40488"
    assert reported_uid("0443EB61E02580", "w26-first3-reversed") == "430488"
    # forms that cannot read a kind of card give nothing
    assert reported_uid("0A004D7603", UidForm.W26_FIRST3_REVERSED) is None
    assert reported_uid("AA3F9B1A", UidForm.W26_LAST3) is None
    assert reported_uid("711B9C", UidForm.W26_FIRST3) is None
    forms = every_form("aa:3f:9b:1a")
    assert set(forms) == {f.value for f in UidForm} and forms["full"] == "AA3F9B1A"


@given(st.sampled_from([4, 5, 7, 10]).flatmap(lambda n: st.binary(min_size=n, max_size=n)),
       st.lists(st.sampled_from(list(UidForm)), max_size=7))
def test_derived_uids_are_what_each_form_reports_and_never_the_uid_itself(raw, forms):
    uid = raw.hex().upper()
    derived = derived_uids(uid, forms)
    assert uid not in derived
    for key, form in derived.items():
        assert reported_uid(uid, form) == key
        assert len(key) in (6, 8)
    for form in forms:
        key = reported_uid(uid, form)
        assert key is None or key == uid or key in derived


@given(st.binary(min_size=5, max_size=5))
def test_a_tags_10_digit_print_finds_it(raw):
    uid = raw.hex().upper()
    text = f"{int.from_bytes(raw[1:], 'big'):010d}"
    printed = parse_printed(text)
    assert print_matches(printed, uid) == "em4100: last 4 bytes"
    # and its W26 print (facility = 3rd byte, number = last 2) finds it too
    pair = parse_printed(f"{raw[2]},{int.from_bytes(raw[3:], 'big')}")
    assert print_matches(pair, uid) == "em4100: last 3 bytes as facility,number"
    assert print_matches(pair, reported_uid(uid, UidForm.W26_LAST3)) == "H10301: card data"


def test_printed_numbers():
    p = parse_printed("0008844356")
    assert (p.kind, p.value) == ("decimal10", 0x0086F444)
    assert print_matches(p, "100086F444") == "em4100: last 4 bytes"
    assert print_matches(p, "110086F444") == "em4100: last 4 bytes"  # the print leaves out the version byte
    assert print_matches(p, "100086F445") is None
    assert print_matches(p, "0086F444") == "wiegand 34: card data"
    q = parse_printed("113, 7068")
    assert (q.facility, q.number, q.fmt) == (113, 7068, H10301)
    assert print_matches(q, "711B9C") == "H10301: card data"
    assert print_matches(parse_printed(facility=113, number=7068), "711B9C")
    assert print_matches(parse_printed(facility=113, number=7068, bits=37), H10304.uid(113, 7068))
    for bad in ("9999999999", "12345", "AB,12", "113,", ""):
        with pytest.raises(FormatError):
            parse_printed(bad)
    with pytest.raises(FormatError, match="not both"):
        parse_printed("113,7068", facility=1, number=2)


def test_card_uid_lengths_and_prints_are_refused_when_a_card_is_issued():
    for n in range(1, 17):
        uid = "A1" * n
        if n in CARD_UID_BYTES:
            assert new_card_uid(uid) == uid
        else:
            with pytest.raises(UidLengthError) as err:
                new_card_uid(uid)
            assert err.value.rule == "uid_length" and "4 (ISO 14443" in str(err.value)
    with pytest.raises(UidLengthError, match="is 1 byte;"):
        new_card_uid("01")
    with pytest.raises(PrintedNumberNotUid, match="tap the card on the desk reader") as err:
        new_card_uid("0008844356")
    assert err.value.rule == "printed_number_not_uid"
    with pytest.raises(PrintedNumberNotUid, match="facility code and card number"):
        new_card_uid("113,7068")
    assert new_card_uid("0a:00:4d:76:03") == "0A004D7603"
    # what readers put on the wire is not held to card lengths: a reader is never refused
    assert normalise_uid("0102") == "0102" and normalise_uid("0008844356") == "0008844356"
    with pytest.raises(InvalidUid):
        normalise_uid("113,7068")


@given(st.sampled_from([35, 37]), st.data())
def test_a_wiegand_converter_passes_35_and_37_bit_cards(bits, data):
    from drivers.wiegand_serial import WiegandLineDecoder

    fmt = WIEGAND[bits]
    facility = data.draw(st.integers(0, (1 << fmt.facility_bits) - 1))
    number = data.draw(st.integers(0, (1 << fmt.number_bits) - 1))
    reading = fmt.encode(facility, number)
    decoder = WiegandLineDecoder(formats=(26, bits))
    line = f"W{bits}:{reading:0{wiegand.hex_digits(bits)}X}\r\n".encode()
    assert decoder.feed(line) == [fmt.uid(facility, number)]
    assert decoder.feed(f"W{bits}:{reading ^ 1:0{wiegand.hex_digits(bits)}X}\r\n".encode()) == []
    assert decoder.bad_lines == 1

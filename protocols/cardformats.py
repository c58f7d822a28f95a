"""Card formats as the field knows them, and how one card looks at each kind of reader.

A card in the hub has one UID: what the enrolment desk read (PC/SC: the ISO 14443 UID of
4, 7 or 10 bytes; an RDM6300: the EM4100 tag's 5 bytes; a Wiegand reader: the card data
bits). A gate reader may report the same card differently: a 13.56 MHz reader with a
Wiegand 26 output sends 24 bits taken from the UID's first bytes (many send them reversed,
reading the UID as a little-endian number); a 125 kHz Wiegand 26 reader sends the tag's last
3 bytes. Each such mapping is one named ``UidForm``; an installer names the one each reader
uses in the agent's config (``uid_form``), and the hub lists the card under that form too.

Wiegand formats: the card data bits (facility code above card number) between parity
bits. Bits are numbered here from the last one sent (bit 0) up, as HID's format sheets and
the Proxmark tools number them. A reader's UID for a Wiegand card is its data bits without
parity, as whole bytes (protocols.uid.uid_from_bits): 26 bits give 3 bytes, 34 and 35 give
4, 37 gives 5.

Numbers printed on cards: a 125 kHz fob carries a 10-digit decimal (the tag's last 4 bytes
as a number: ``0008844356`` is the tag ``..0086F444``), often beside ``FFF,NNNNN`` (the
Wiegand 26 facility code and card number of the same tag); a HID Prox card carries its
card number (and the facility code is on the order sheet). ``parse_printed`` reads them and
``print_matches`` says whether a card's UID is the card a print names. All pure.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from protocols.uid import InvalidUid, normalise_uid, uid_from_bits


class FormatError(ValueError):
    """Bits, numbers or text that are not a valid card in the named format; the text says why."""


# --- Wiegand formats -------------------------------------------------------------------


@dataclass(frozen=True)
class Parity:
    """One parity bit: at ``bit``, over the bits set in ``over``, making the count even or odd."""

    bit: int
    over: int
    odd: bool


def _span(lo: int, hi: int) -> int:
    """A mask of bits lo..hi inclusive."""
    return ((1 << (hi - lo + 1)) - 1) << lo


def _ones(value: int) -> int:
    return bin(value).count("1")


@dataclass(frozen=True)
class WiegandFormat:
    """A Wiegand format whose data bits are bits 1..bits-2 minus parity, facility above number.

    ``parities`` are computed in order when encoding (a later parity may cover an earlier one).
    """

    name: str
    bits: int
    facility_bits: int
    number_bits: int
    parities: tuple[Parity, ...]

    @property
    def data_bits(self) -> int:
        return self.facility_bits + self.number_bits

    def encode(self, facility: int, number: int) -> int:
        """The whole reading (parity included) for a facility code and card number."""
        if not 0 <= facility < 1 << self.facility_bits:
            raise FormatError(f"{self.name}: facility code must be 0 to {(1 << self.facility_bits) - 1}")
        if not 0 <= number < 1 << self.number_bits:
            raise FormatError(f"{self.name}: card number must be 0 to {(1 << self.number_bits) - 1}")
        bits = ((facility << self.number_bits) | number) << 1
        for p in self.parities:
            if (_ones(bits & p.over) % 2 == 0) == p.odd:
                bits |= 1 << p.bit
        return bits

    def decode(self, bits: int) -> tuple[int, int]:
        """(facility, number) of a whole reading; FormatError on any parity or size mismatch."""
        if bits < 0 or bits >> self.bits:
            raise FormatError(f"{self.name}: value does not fit in {self.bits} bits")
        for p in self.parities:
            covered = _ones(bits & p.over) + (bits >> p.bit & 1)
            if covered % 2 != (1 if p.odd else 0):
                raise FormatError(f"{self.name}: {'odd' if p.odd else 'even'} parity bit {p.bit} does not match")
        data = (bits >> 1) & ((1 << self.data_bits) - 1)
        return data >> self.number_bits, data & ((1 << self.number_bits) - 1)

    def uid(self, facility: int, number: int) -> str:
        """The UID a reader reports for this card: its data bits as whole bytes, hex."""
        self.encode(facility, number)  # range checks
        return uid_from_bits((facility << self.number_bits) | number, self.data_bits)

    def uid_of_reading(self, bits: int) -> str:
        return self.uid(*self.decode(bits))

    def fields_of_uid(self, uid: str) -> tuple[int, int]:
        """(facility, number) of a UID this format's reader reported; FormatError if it cannot be one."""
        try:
            uid = normalise_uid(uid)
        except InvalidUid as exc:
            raise FormatError(str(exc)) from None
        if len(uid) // 2 != (self.data_bits + 7) // 8:
            raise FormatError(f"{self.name} card data is {(self.data_bits + 7) // 8} bytes, not {len(uid) // 2}")
        data = int(uid, 16)
        if data >> self.data_bits:
            raise FormatError(f"{uid} has more than the {self.data_bits} data bits of {self.name}")
        return data >> self.number_bits, data & ((1 << self.number_bits) - 1)


#: H10301: P(even, bits 13-24) 8-bit facility, 16-bit number, P(odd, bits 1-12)
H10301 = WiegandFormat("H10301", 26, 8, 16, (Parity(0, _span(1, 12), True), Parity(25, _span(13, 24), False)))
#: H10306: P(even, bits 17-32) 16-bit facility, 16-bit number, P(odd, bits 1-16)
H10306 = WiegandFormat("H10306", 34, 16, 16, (Parity(0, _span(1, 16), True), Parity(33, _span(17, 32), False)))
#: HID Corporate 1000 35-bit: P(odd, all) P(even, 2 of every 3) 12-bit company, 20-bit number,
#: P(odd, the other 2 of every 3); the masks are those of HID's sheet as the Proxmark tools use them
C1K35 = WiegandFormat("C1k35s", 35, 12, 20, (
    Parity(33, (1 << 32) | 0xB6DB6DB6, False),
    Parity(0, (1 << 32) | (1 << 33) | 0x6DB6DB6C, True),
    Parity(34, _span(0, 33), True),
))
#: H10304: P(even, bits 18-35) 16-bit facility, 19-bit number, P(odd, bits 1-18)
H10304 = WiegandFormat("H10304", 37, 16, 19, (Parity(0, _span(1, 18), True), Parity(36, _span(18, 35), False)))

WIEGAND: dict[int, WiegandFormat] = {f.bits: f for f in (H10301, H10306, C1K35, H10304)}


def wiegand_format(bits: int) -> WiegandFormat:
    try:
        return WIEGAND[bits]
    except KeyError:
        raise FormatError(f"no Wiegand {bits} format; known: {', '.join(map(str, sorted(WIEGAND)))}") from None


def uid_of_reading(bits: int, bit_count: int) -> str:
    """The UID of a whole Wiegand reading of any known width (parity checked); FormatError otherwise."""
    return wiegand_format(bit_count).uid_of_reading(bits)


# --- one card at each reader -------------------------------------------------------------

ISO14443_BYTES = (4, 7, 10)
EM4100_BYTES = 5
#: ISO 14443-3 cascade tag: the first anticollision level of a 7- or 10-byte UID is 88 + 3 bytes
CASCADE_TAG = "88"


class UidForm(StrEnum):
    """How a reader reports a card, given the card's UID as the hub holds it."""

    FULL = "full"  # the UID itself: PC/SC (FF CA 00 00 00), RDM6300, OSDP raw
    W26_FIRST3 = "w26-first3"  # 13.56 MHz, Wiegand 26: first 3 bytes of the first level, in order
    W26_FIRST3_REVERSED = "w26-first3-reversed"  # 13.56 MHz, Wiegand 26: the same 3 bytes reversed
    W34_FIRST4 = "w34-first4"  # 13.56 MHz, Wiegand 34: the 4 bytes of the first level, in order
    W34_FIRST4_REVERSED = "w34-first4-reversed"  # 13.56 MHz, Wiegand 34: the same 4 bytes reversed
    W26_LAST3 = "w26-last3"  # 125 kHz EM4100, Wiegand 26: the tag's last 3 bytes
    W34_LAST4 = "w34-last4"  # 125 kHz EM4100, Wiegand 34: the tag's last 4 bytes


#: what each form is for, in the installer's words (probe, README)
FORM_HELP: dict[UidForm, str] = {
    UidForm.FULL: "the whole UID (PC/SC, RDM6300 serial, OSDP raw)",
    UidForm.W26_FIRST3: "13.56 MHz reader, Wiegand 26, first 3 UID bytes in order",
    UidForm.W26_FIRST3_REVERSED: "13.56 MHz reader, Wiegand 26, first 3 UID bytes reversed (UID read as little-endian)",
    UidForm.W34_FIRST4: "13.56 MHz reader, Wiegand 34, first 4 UID bytes in order",
    UidForm.W34_FIRST4_REVERSED: "13.56 MHz reader, Wiegand 34, first 4 UID bytes reversed",
    UidForm.W26_LAST3: "125 kHz reader, Wiegand 26, last 3 bytes of the EM4100 tag",
    UidForm.W34_LAST4: "125 kHz reader, Wiegand 34, last 4 bytes of the EM4100 tag",
}


def first_level(uid: str) -> str | None:
    """The 4 bytes a reader sees at the first anticollision level of an ISO 14443 UID.

    A 4-byte UID is itself; a 7- or 10-byte UID answers the first level with the cascade
    tag 88 and its first 3 bytes, which is all a reader that stops there can send on.
    """
    n = len(uid) // 2
    if n == 4:
        return uid
    if n in (7, 10):
        return CASCADE_TAG + uid[:6]
    return None


def _reverse(hex_text: str) -> str:
    return bytes.fromhex(hex_text)[::-1].hex().upper()


def reported_uid(uid: str, form: UidForm | str) -> str | None:
    """What a reader using ``form`` reports for the card whose hub UID is ``uid``.

    None when the form does not apply to that kind of card (a 13.56 MHz form for an EM4100
    tag, or a form of anything for a Wiegand card's own data): such a reader cannot read it.
    """
    uid = normalise_uid(uid)
    form = UidForm(form)
    if form is UidForm.FULL:
        return uid
    if form in (UidForm.W26_LAST3, UidForm.W34_LAST4):
        if len(uid) // 2 != EM4100_BYTES:
            return None
        return uid[-6:] if form is UidForm.W26_LAST3 else uid[-8:]
    level = first_level(uid)
    if level is None:
        return None
    if form is UidForm.W26_FIRST3:
        return level[:6]
    if form is UidForm.W26_FIRST3_REVERSED:
        return _reverse(level[:6])
    if form is UidForm.W34_FIRST4:
        return level
    return _reverse(level)


def every_form(uid: str) -> dict[str, str | None]:
    """The card as each form would report it (``gate-agent probe`` shows this to the installer)."""
    return {form.value: reported_uid(uid, form) for form in UidForm}


def derived_uids(uid: str, forms: tuple[UidForm | str, ...] | list) -> dict[str, str]:
    """The other keys the card is known by at a gate whose readers report ``forms``: {key: form}.

    The card's own UID is not among them; a form that does not apply gives none.
    """
    uid = normalise_uid(uid)
    out: dict[str, str] = {}
    for form in forms:
        key = reported_uid(uid, form)
        if key is not None and key != uid and key not in out:
            out[key] = UidForm(form).value
    return out


# --- numbers printed on cards ------------------------------------------------------------

_DECIMAL_PRINT = re.compile(r"^\d{10}$")
_FACILITY_NUMBER = re.compile(r"^(\d{1,5})\s*[,/]\s*(\d{1,7})$")


@dataclass(frozen=True)
class Printed:
    """A number as printed on a card, read: ``kind`` is "decimal10" or "facility_number"."""

    kind: str
    text: str
    value: int | None = None  # decimal10: the tag's last 4 bytes as a number
    facility: int | None = None
    number: int | None = None
    fmt: WiegandFormat | None = None  # facility_number: the format the pair belongs to

    def describe(self) -> str:
        if self.kind == "decimal10":
            return f"10-digit print {self.text} (tag bytes ..{self.value:08X})"
        assert self.fmt is not None
        return f"facility {self.facility}, card number {self.number} ({self.fmt.name})"


def looks_printed(raw: str) -> bool:
    """Is ``raw`` (as typed) a 10-digit decimal print rather than a UID? Digits only, ten of them."""
    return isinstance(raw, str) and bool(_DECIMAL_PRINT.match(re.sub(r"\s", "", raw)))


def parse_printed(text: str | None = None, *, facility: int | None = None, number: int | None = None,
                  bits: int = 26) -> Printed:
    """Read a printed number: a 10-digit decimal, ``FFF,NNNNN``, or facility and number apart.

    ``bits`` is the Wiegand format a facility/number pair belongs to (26 unless the card's
    order sheet says otherwise). FormatError says what was wrong and what is accepted.
    """
    fmt = wiegand_format(bits)
    if text is not None and (facility is not None or number is not None):
        raise FormatError("give either the printed text or facility and number, not both")
    if text is None:
        if facility is None or number is None:
            raise FormatError("give the printed number, or both facility and number")
        fmt.encode(facility, number)  # range checks, named for the format
        return Printed("facility_number", f"{facility},{number}", facility=facility, number=number, fmt=fmt)
    cleaned = re.sub(r"\s+", " ", text.strip())
    if _DECIMAL_PRINT.match(cleaned.replace(" ", "")):
        value = int(cleaned.replace(" ", ""))
        if value >> 32:
            raise FormatError(f"{cleaned} is over 4294967295, so it is not a 125 kHz tag's 10-digit print")
        return Printed("decimal10", cleaned.replace(" ", ""), value=value)
    pair = _FACILITY_NUMBER.match(cleaned)
    if pair:
        fac, num = int(pair.group(1)), int(pair.group(2))
        fmt.encode(fac, num)
        return Printed("facility_number", f"{fac},{num}", facility=fac, number=num, fmt=fmt)
    raise FormatError(
        f"{text!r} is not a printed card number: give the 10-digit number of a 125 kHz fob, "
        "FFF,NNNNN (facility code, card number), or facility and number"
    )


def print_matches(printed: Printed, uid: str) -> str | None:
    """How card ``uid`` is the card ``printed`` names (a short basis), or None if it is not."""
    try:
        uid = normalise_uid(uid)
    except InvalidUid:
        return None
    n = len(uid) // 2
    if printed.kind == "decimal10":
        assert printed.value is not None
        if n == EM4100_BYTES and int(uid[2:], 16) == printed.value:
            return "em4100: last 4 bytes"
        if n == 4 and int(uid, 16) == printed.value:
            return "wiegand 34: card data"
        if n == 3 and int(uid, 16) == printed.value & 0xFFFFFF:
            return "wiegand 26: last 3 bytes"
        return None
    assert printed.fmt is not None and printed.facility is not None and printed.number is not None
    data = printed.fmt.uid(printed.facility, printed.number)
    if uid == data:
        return f"{printed.fmt.name}: card data"
    if printed.fmt is H10301 and n == EM4100_BYTES and uid[-6:] == data:
        return "em4100: last 3 bytes as facility,number"
    return None

"""A visitor's QR pass: signed by the hub, checked by a gate offline.

The hub signs a pass with an Ed25519 key; every gate holds only the public half (sent by the
hub as a PassKeys command), so a gate can check a pass without the network and holds nothing
that could make one. The text in the QR code is

    GHP1.<claims>.<signature>

both parts base64url without padding; ``claims`` is the canonical JSON of PassClaims and the
signature is over the bytes ``GHP1.<claims>`` (so the version is signed too). It fits a QR code
of version 10 or so, and a 2D scanner in serial mode sends it as one line.

What a signature cannot say, the gate adds from its list: a pass the hub has revoked or
counted used up at other gates is listed under its ``pass_id`` (as a card entry that is not
active: hub.visitors), and the gate counts its own entries (gate_agent). ``check`` is the pure
order of refusals, first failing rule named, as protocols.cards.Reason.

A release slip (hub.slips) is the same text signed with the same key, its claims saying
``kind: "slip"``: goods or a household leave by it, so it opens only at an "out" reader of a
gate it names, on its date (the day's bounds in the estate's timezone: ``slip_window``), and
once (counted by the gate as a visitor's entries are; the hub lists it used at every other
gate). ``kind`` and ``ref`` are left out of the signed text at their defaults, so a visitor
pass reads byte for byte as before slips, and a gate running older code refuses a slip as
tampered instead of letting it in as a visitor.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Annotated, Literal, Mapping
from zoneinfo import ZoneInfo

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from protocols.cards import Reason
from protocols.messages import Direction, PassId, PassKeyId
from protocols.topics import check_name

PREFIX = "GHP1."
#: a scanned line longer than this is not a pass (a pass is about 250 characters)
MAX_TEXT = 1024
MAX_GATES = 64
MAX_ENTRIES = 100
#: a slip's window is one local day: 23 to 25 hours where clocks change
MAX_SLIP_WINDOW_S = 25 * 3600

PassKind = Literal["visit", "slip"]
#: what is left out of the signed text when it holds this (see the module's docstring)
_OMITTED_AT_DEFAULT = {"kind": "visit", "ref": None}

#: PassId (protocols.messages): 32 upper-case hex, also how the gate's list names a blocked
#: pass (a canonical UID). PassKeyId: the first 16 hex of SHA-256 of the raw public key.
#: a raw Ed25519 public key, 64 hex
PublicKeyHex = Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]


def _gate_name(value: str) -> str:
    return check_name("gate_id", value)


class PassRefused(ValueError):
    """A scanned text that is not a genuine pass; ``reason`` is what the gate reports."""

    def __init__(self, reason: Reason, why: str) -> None:
        super().__init__(why)
        self.reason = reason


class PassClaims(BaseModel):
    """What a pass says. Times are whole seconds since the epoch (UTC): short and exact."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    site: str = Field(min_length=1, max_length=64)
    pass_id: PassId
    valid_from: int = Field(ge=0, lt=2**32)
    valid_until: int = Field(ge=0, lt=2**32)
    #: the gates it opens; empty: every gate of the estate
    gates: tuple[Annotated[str, AfterValidator(_gate_name)], ...] = Field(default=(), max_length=MAX_GATES)
    #: entries (scans "in") it allows in all, counted across gates
    entries: int = Field(default=1, ge=1, le=MAX_ENTRIES)
    key_id: PassKeyId
    #: "visit": a visitor's pass; "slip": a release slip (out only, once, on its date)
    kind: PassKind = "visit"
    #: what a person reads off it (a slip's number), shown in its events; no secret
    ref: str | None = Field(default=None, pattern=r"^[!-~]{1,32}$")

    @model_validator(mode="after")
    def _window(self) -> "PassClaims":
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if self.kind == "slip":
            if not self.gates:
                raise ValueError("a slip names the gates it may leave by")
            if self.entries != 1:
                raise ValueError("a slip is used once")
            if self.valid_until - self.valid_from > MAX_SLIP_WINDOW_S:
                raise ValueError("a slip is valid on one day")
        return self


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _canonical(claims: PassClaims) -> bytes:
    data = {k: v for k, v in claims.model_dump(mode="json").items()
            if not (k in _OMITTED_AT_DEFAULT and v == _OMITTED_AT_DEFAULT[k])}
    return json.dumps(data, sort_keys=True, separators=(",", ":")).encode()


# -- release slips ---------------------------------------------------------------------------

def slip_window(day: date, tz: str) -> tuple[int, int]:
    """The first and last second (epoch) of ``day`` in timezone ``tz`` (an IANA name): when a
    slip for that day opens. ZoneInfoNotFoundError for an unknown zone."""
    zone = ZoneInfo(tz)
    start = datetime.combine(day, time(0), zone)
    end = datetime.combine(day + timedelta(days=1), time(0), zone)
    return int(start.timestamp()), int(end.timestamp()) - 1


def slip_claims(*, site: str, pass_id: str, day: date, tz: str, gates: tuple[str, ...] | list[str],
                key_id: str, ref: str | None = None) -> PassClaims:
    """The claims of a release slip for ``day`` at ``gates`` (hub.slips signs them: make_pass)."""
    valid_from, valid_until = slip_window(day, tz)
    return PassClaims(site=site, pass_id=pass_id, valid_from=valid_from, valid_until=valid_until,
                      gates=tuple(gates), entries=1, key_id=key_id, kind="slip", ref=ref)


# -- keys ------------------------------------------------------------------------------------

def new_private_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


def private_bytes(key: Ed25519PrivateKey) -> bytes:
    """The raw 32-byte private key (the hub seals it at rest: hub.sealing)."""
    from cryptography.hazmat.primitives import serialization

    return key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption())


def private_from_bytes(raw: bytes) -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(raw)


def public_hex(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw).hex()


def pass_key_id(public: str) -> str:
    """The id a pass names its key by, from the public key's hex."""
    return hashlib.sha256(bytes.fromhex(public)).hexdigest()[:16]


def public_keys(keys: Mapping[str, str]) -> dict[str, Ed25519PublicKey]:
    """{key id: public key hex} as a gate keeps it, to key objects (ids checked against keys)."""
    out: dict[str, Ed25519PublicKey] = {}
    for kid, public in keys.items():
        if pass_key_id(public) == kid:
            out[kid] = Ed25519PublicKey.from_public_bytes(bytes.fromhex(public))
    return out


# -- making and reading ----------------------------------------------------------------------

def make_pass(claims: PassClaims, key: Ed25519PrivateKey) -> str:
    """The QR text of ``claims`` signed with ``key`` (whose id the claims must name)."""
    if claims.key_id != pass_key_id(public_hex(key)):
        raise ValueError("the claims name another key")
    signed = (PREFIX + _b64(_canonical(claims))).encode("ascii")
    return signed.decode("ascii") + "." + _b64(key.sign(signed))


def read_pass(text: str, keys: Mapping[str, Ed25519PublicKey]) -> PassClaims:
    """The claims of a genuine pass, or PassRefused: PASS_UNREADABLE (not a pass, or cut
    short), PASS_UNKNOWN_KEY (signed by a key this gate has not been given) or PASS_TAMPERED
    (the signature does not match what it says)."""
    text = text.strip()
    if len(text) > MAX_TEXT or not text.startswith(PREFIX):
        raise PassRefused(Reason.PASS_UNREADABLE, "not a gatehouse pass")
    parts = text[len(PREFIX):].split(".")
    if len(parts) != 2:
        raise PassRefused(Reason.PASS_UNREADABLE, "a pass has two parts after its prefix")
    try:
        body, sig = _unb64(parts[0]), _unb64(parts[1])
        data = json.loads(body)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        raise PassRefused(Reason.PASS_UNREADABLE, "the pass text is damaged or cut short") from None
    if len(sig) != 64:
        raise PassRefused(Reason.PASS_UNREADABLE, "the pass's signature is cut short")
    try:
        claims = PassClaims.model_validate(data)
    except ValidationError:
        raise PassRefused(Reason.PASS_TAMPERED, "the pass says something no hub signs") from None
    key = keys.get(claims.key_id)
    if key is None:
        raise PassRefused(Reason.PASS_UNKNOWN_KEY, f"the pass is signed by key {claims.key_id}, which this gate does not hold")
    try:
        key.verify(sig, (PREFIX + parts[0]).encode("ascii"))
    except InvalidSignature:
        raise PassRefused(Reason.PASS_TAMPERED, "the pass's signature does not match what it says") from None
    return claims


def check(claims: PassClaims, *, site: str, gate_id: str, now: datetime, direction: Direction,
          used: int, blocked: Reason | None) -> Reason | None:
    """None if a genuine pass opens here now; else the first rule it fails.

    ``used``: entries already counted for it (the gate's own, or more from the hub).
    ``blocked``: PASS_REVOKED or PASS_USED_UP when the gate's list says so. A visitor going
    out is never kept in by time, count or revocation (only another estate's or another
    gate's pass is refused there): the hub raises an overstay instead. A slip is the other
    way about (_check_slip).
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if claims.site != site:
        return Reason.PASS_FOREIGN_ESTATE
    if claims.gates and gate_id not in claims.gates:
        return Reason.PASS_WRONG_GATE
    if claims.kind == "slip":
        return _check_slip(claims, now=now, direction=direction, used=used, blocked=blocked)
    if direction == Direction.OUT:
        return None
    if blocked is not None:
        return blocked
    stamp = now.astimezone(timezone.utc).timestamp()
    if stamp < claims.valid_from:
        return Reason.PASS_NOT_YET_VALID
    if stamp > claims.valid_until:
        return Reason.PASS_EXPIRED
    if used >= claims.entries:
        return Reason.PASS_USED_UP
    return None


def _check_slip(claims: PassClaims, *, now: datetime, direction: Direction, used: int,
                blocked: Reason | None) -> Reason | None:
    """A slip's own rules, after its estate and gate: out only; not used (the hub's list or
    this gate's count) nor cancelled (revoked on the list); on its date. "Used" comes before
    the date: a guard told "already used" the day after knows more than "not today"."""
    if direction != Direction.OUT:
        return Reason.SLIP_WRONG_DIRECTION
    if blocked == Reason.PASS_USED_UP or (blocked is None and used >= claims.entries):
        return Reason.SLIP_USED
    if blocked is not None:
        return blocked
    stamp = now.astimezone(timezone.utc).timestamp()
    if stamp < claims.valid_from or stamp > claims.valid_until:
        return Reason.SLIP_WRONG_DATE
    return None

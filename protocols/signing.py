"""The one MAC rule of the MQTT wire: every message between the hub and a gate.

A message is signed with its gate's own 32-byte key (``gate-hub gate add``) by
HMAC-SHA256 over ``gatehouse/v1|{site}|{gate_id}|{channel}|`` followed by the canonical
JSON of the message without its ``sig``. Site and channel come from the topic the message
travels on and the gate id from the message (which the receiver checks against the
topic), so a genuine message copied to another gate, site or channel no longer verifies.
What a signature cannot say (a revision already held, a command past its expiry, a nonce
seen before) each receiver checks on top.

The wire form of every signed message is that same canonical JSON with ``"sig"`` added
last (``with_sig``; protocols.messages._Msg.to_bytes), so a receiver checks the MAC over the
bytes as they came, without encoding anything again (``verify``, ``raw``).

Keys travel as 64 hex digits. No error here ever contains a key.

Key rotation: the hub wraps a gate's next key for it (``wrap_key``) with AES-GCM under a
key derived from the key the gate holds, and signs the carrying message (KeyUpdate, on the
gate's cmd topic) with that same held key. Only the holder of the current key can read or
forge it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from typing import Mapping, Sequence, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from protocols.acl import canonical_data, canonical_json

KEY_BYTES = 32
DOMAIN = "gatehouse/v1"
_WRAP_NONCE = 12

M = TypeVar("M", bound=BaseModel)


class BadSignature(ValueError):
    """A message that is not signed by the key it must be; the text says why, never the key."""


def new_key() -> str:
    """A fresh gate key, hex."""
    return secrets.token_hex(KEY_BYTES)


def key_bytes(key_hex: str) -> bytes:
    """The raw key; BadSignature (without the value) if it is not 64 hex digits."""
    try:
        raw = bytes.fromhex(key_hex)
    except (ValueError, TypeError):
        raise BadSignature(f"a gate key must be {KEY_BYTES * 2} hex digits") from None
    if len(raw) != KEY_BYTES:
        raise BadSignature(f"a gate key must be {KEY_BYTES * 2} hex digits")
    return raw


def key_id(key_hex: str) -> str:
    """A short name for a key that reveals nothing of it (logs, the agent's key file)."""
    return hashlib.sha256(b"gatehouse key id|" + key_bytes(key_hex)).hexdigest()[:16]


def mac(msg: BaseModel, key_hex: str, site: str, gate_id: str, channel: str) -> str:
    """HMAC-SHA256 hex of ``msg`` (without ``sig``) for ``gate_id`` on ``channel`` of ``site``."""
    return _mac_of(canonical_json(msg, exclude={"sig"}), key_hex, site, gate_id, channel)


def _mac_of(body: bytes, key_hex: str, site: str, gate_id: str, channel: str) -> str:
    prefix = f"{DOMAIN}|{site}|{gate_id}|{channel}|".encode()
    return hmac.new(key_bytes(key_hex), prefix + body, hashlib.sha256).hexdigest()


def signed_with_texts(msg: BaseModel, field: str, texts: Sequence[str], key_hex: str, site: str,
                      channel: str) -> bytes:
    """The wire bytes of ``msg`` signed, with list ``field`` (empty in ``msg``) holding the
    items whose canonical JSON is ``texts``, used as they are.

    For a hub serving a gate's list from the canonical entry texts it stores: nothing is
    parsed into models or serialised again. The bytes signed are exactly ``mac``'s for the
    message holding those items (see ``_spliced``); the wire is that canonical JSON with
    ``sig`` added, which ``verify`` accepts unchanged.
    """
    body_bytes = _spliced(canonical_json(msg, exclude={"sig"}), field, [t.encode() for t in texts])
    return with_sig(body_bytes, _mac_of(body_bytes, key_hex, site, getattr(msg, "gate_id"), channel))


def with_sig(body: bytes, sig: str) -> bytes:
    """The wire form: ``body`` (canonical JSON of a message without its ``sig``, an object
    of at least one member) with ``"sig"`` added as its last member."""
    return body[:-1] + b',"sig":"' + sig.encode() + b'"}'


def signed_bytes(msg: BaseModel, key_hex: str, site: str, channel: str) -> bytes:
    """``sign(msg, ...).to_bytes()``, the canonical JSON encoded once (it is most of the cost)."""
    body = canonical_json(msg, exclude={"sig"})
    return with_sig(body, _mac_of(body, key_hex, site, getattr(msg, "gate_id"), channel))


def _spliced(body: bytes, field: str, texts: Sequence[bytes]) -> bytes:
    """``body`` (canonical JSON whose list ``field`` is empty) with that list holding ``texts``.

    The canonical JSON has sorted keys and no spaces, so the canonical JSON of the message
    holding the items is this, byte for byte. ValueError if the empty list is not there once.
    """
    empty = f'"{field}":[]'.encode()  # a key: inside a JSON string every quote is escaped
    before, found, after = body.partition(empty)
    if not found or empty in after:
        raise ValueError(f"{field} must be an empty list of the message")
    return before + f'"{field}":['.encode() + b",".join(texts) + b"]" + after


def _signed_body(msg: BaseModel, listed: tuple[str, Sequence[bytes]] | None) -> bytes:
    """What ``mac`` signs for ``msg``. With ``listed`` = (field, the canonical JSON of each of
    its items, which the caller has made anyway): the same bytes, the items not serialised
    again (a 500-card chunk is most of the work of its signature)."""
    if listed is not None:
        field, texts = listed
        if len(texts) == len(getattr(msg, field)):
            try:
                return _spliced(canonical_json(msg.model_copy(update={field: ()}), exclude={"sig"}), field, texts)
            except ValueError:
                pass  # not a list of the message's own: the whole message, as below
    return canonical_json(msg, exclude={"sig"})


def sign(msg: M, key_hex: str, site: str, channel: str) -> M:
    """``msg`` with its ``sig`` set for its own gate_id, on ``channel`` of ``site``."""
    return msg.model_copy(update={"sig": mac(msg, key_hex, site, msg.gate_id, channel)})  # type: ignore[attr-defined]


def verify(msg: BaseModel, keys: Sequence[str], site: str, channel: str, gate_id: str | None = None, *,
           listed: tuple[str, Sequence[bytes]] | None = None, received: Mapping[str, object] | None = None,
           raw: bytes | None = None) -> int:
    """Which of ``keys`` signed ``msg`` (its index); BadSignature if none did.

    ``gate_id``, when given, is the gate the message must be for (the topic's, or the
    receiving gate's own). ``listed``, when given, is (a list field of ``msg``, the
    ``protocols.acl.canonical_texts`` of its items): used in place of serialising those items
    again, for the bytes signed are the same (``_signed_body``). ``received``, when given, is
    the JSON object ``msg`` was validated from (protocols.messages.parse_received): the MAC is
    checked over it first (``_received_body``), and over the model's dump only if that fails.
    ``raw``, when given, is the payload ``msg`` was parsed from: if it is in the wire form
    (``with_sig``), the MAC is checked over those bytes without the sig before anything else
    (``_raw_body``).
    """
    msg_gate = getattr(msg, "gate_id")
    if gate_id is not None and msg_gate != gate_id:
        raise BadSignature(f"message is for gate {msg_gate!r}, not {gate_id!r}")
    sig = getattr(msg, "sig", "")
    if not sig:
        raise BadSignature("message is not signed")
    if raw is not None:
        body = _raw_body(raw, sig)
        index = _signer(sig, body, keys, site, msg_gate, channel) if body is not None else None
        if index is not None:
            return index
    if received is not None:
        body = _received_body(received, sig, msg_gate)
        index = _signer(sig, body, keys, site, msg_gate, channel) if body is not None else None
        if index is not None:
            return index
    index = _signer(sig, _signed_body(msg, listed), keys, site, msg_gate, channel)  # dumped once, whichever key
    if index is None:
        raise BadSignature("bad signature")
    return index


def _signer(sig: str, body: bytes, keys: Sequence[str], site: str, gate_id: str, channel: str) -> int | None:
    for i, key in enumerate(keys):
        if hmac.compare_digest(sig, _mac_of(body, key, site, gate_id, channel)):
            return i
    return None


def _raw_body(raw: bytes, sig: str) -> bytes | None:
    """The bytes a message in the wire form (``with_sig``) was signed over: ``raw`` without
    its last member, which must be exactly this ``sig``. None when ``raw`` is not in that form.

    Why a MAC over these bytes is enough: it binds the very bytes the model was parsed from
    (they are ``raw`` less a fixed tail holding the sig the parse read), so whatever the JSON
    says, the key holder wrote it; nothing is normalised between what was signed and what is
    used. An honest sender's bytes are the canonical JSON of its model, so this accepts
    exactly what ``_received_body`` does for them, without encoding anything again (that
    encoding was a fifth of the hub's work per event)."""
    if not isinstance(raw, bytes):
        return None
    tail = b',"sig":"' + sig.encode() + b'"}'
    if not raw.endswith(tail) or len(raw) <= len(tail) + 1:
        return None
    return raw[:-len(tail)] + b"}"


def _received_body(received: Mapping[str, object], sig: str, gate_id: str) -> bytes | None:
    """The canonical JSON of the object as received, without its ``sig``: what an honest peer
    signed whenever it sent its model's own dump (``to_bytes``), which every sender here does.
    None when it cannot be that (not the object the model came from, or not encodable).

    Why a MAC that matches these bytes is at least as strong as one over the model's dump:
    it binds the data the model was validated from, field for field (the canonical encoding
    is one-to-one on JSON values), and the model is a function of that data. The model path
    binds only the model, after validation has normalised it (a lower-case UID, another time
    notation), so several payloads share one MAC there; here, only the one the key holder
    signed. A key holder signs only the canonical dump of a model, so what this accepts is
    such a dump exactly, validated as the hub validates everything; it verifies over the
    model's dump as well (a model's dump validates back to the same model). So trying this
    first changes no answer, only the cost (the dump of the validated model was most of the
    work of checking an event); one exception, on the side of accepting: a peer whose model
    lacks a field with a default signed exactly what it sent, and now verifies. A message
    signed over a normalised form of what it carries fails here and is checked over the
    model's dump, as before.
    """
    if received.get("sig") != sig or received.get("gate_id") != gate_id:
        return None
    unsigned = dict(received)
    del unsigned["sig"]
    try:
        return canonical_data(unsigned)
    except (TypeError, ValueError):  # UnicodeEncodeError (a lone surrogate) is a ValueError
        return None


def _wrap_cipher(held_hex: str) -> AESGCM:
    return AESGCM(hmac.new(key_bytes(held_hex), b"gatehouse/v1 key wrap", hashlib.sha256).digest())


def _wrap_aad(site: str, gate_id: str) -> bytes:
    return f"{DOMAIN}|{site}|{gate_id}|rekey".encode()


def wrap_key(new_hex: str, held_hex: str, site: str, gate_id: str) -> str:
    """``new_hex`` encrypted for the gate that holds ``held_hex``: hex of nonce + ciphertext + tag."""
    nonce = os.urandom(_WRAP_NONCE)
    return (nonce + _wrap_cipher(held_hex).encrypt(nonce, key_bytes(new_hex), _wrap_aad(site, gate_id))).hex()


def unwrap_key(wrapped_hex: str, held_hex: str, site: str, gate_id: str) -> str:
    """The key inside ``wrapped_hex``; BadSignature if it was not wrapped for this gate and key."""
    try:
        blob = bytes.fromhex(wrapped_hex)
        raw = _wrap_cipher(held_hex).decrypt(blob[:_WRAP_NONCE], blob[_WRAP_NONCE:], _wrap_aad(site, gate_id))
    except (ValueError, InvalidTag):
        raise BadSignature("the wrapped key does not open with the key held") from None
    if len(raw) != KEY_BYTES:
        raise BadSignature("the wrapped key has the wrong length")
    return raw.hex()

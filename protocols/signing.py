"""The one MAC rule of the MQTT wire: every message between the hub and a gate.

A message is signed with its gate's own 32-byte key (``gate-hub gate add``) by
HMAC-SHA256 over ``gatehouse/v1|{site}|{gate_id}|{channel}|`` followed by the canonical
JSON of the message without its ``sig``. Site and channel come from the topic the message
travels on and the gate id from the message (which the receiver checks against the
topic), so a genuine message copied to another gate, site or channel no longer verifies.
What a signature cannot say (a revision already held, a command past its expiry, a nonce
seen before) each receiver checks on top.

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
from typing import Sequence, TypeVar

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from pydantic import BaseModel

from protocols.acl import canonical_json

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
    prefix = f"{DOMAIN}|{site}|{gate_id}|{channel}|".encode()
    body = canonical_json(msg, exclude={"sig"})
    return hmac.new(key_bytes(key_hex), prefix + body, hashlib.sha256).hexdigest()


def sign(msg: M, key_hex: str, site: str, channel: str) -> M:
    """``msg`` with its ``sig`` set for its own gate_id, on ``channel`` of ``site``."""
    return msg.model_copy(update={"sig": mac(msg, key_hex, site, msg.gate_id, channel)})  # type: ignore[attr-defined]


def verify(msg: BaseModel, keys: Sequence[str], site: str, channel: str, gate_id: str | None = None) -> int:
    """Which of ``keys`` signed ``msg`` (its index); BadSignature if none did.

    ``gate_id``, when given, is the gate the message must be for (the topic's, or the
    receiving gate's own).
    """
    msg_gate = getattr(msg, "gate_id")
    if gate_id is not None and msg_gate != gate_id:
        raise BadSignature(f"message is for gate {msg_gate!r}, not {gate_id!r}")
    sig = getattr(msg, "sig", "")
    if not sig:
        raise BadSignature("message is not signed")
    for i, key in enumerate(keys):
        if hmac.compare_digest(sig, mac(msg, key, site, msg_gate, channel)):
            return i
    raise BadSignature("bad signature")


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

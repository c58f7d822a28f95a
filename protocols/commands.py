"""Signed commands from the hub to one gate: remote open, and a new key.

A command is signed by the one wire rule (protocols.signing: the gate's own key, bound to
site, gate and the cmd channel). A remote open also names one door, expires within
MAX_LIFETIME, and carries a nonce that the gate remembers until expiry, so a captured
command cannot be replayed, redirected or kept. The broker never retains it.
Verification here is pure; the nonce memory is the gate's.

A PassKeys command carries the public halves of the hub's visitor-pass keys
(protocols.visitpass), signed like any command. It holds no secret and opens nothing; a gate
keeps the newest it has been sent (``issued_at``), so replaying an old one changes nothing.

A KeyUpdate carries the gate's next key, wrapped (AES-GCM) and signed with the key the
gate holds now (see protocols.signing.wrap_key). Replaying one is harmless: once the gate
has moved to the new key, a message signed with the old one no longer verifies.
"""

from __future__ import annotations

from datetime import datetime, timedelta
import secrets
from typing import Annotated, Literal

from pydantic import AwareDatetime, Field

from protocols.messages import PassKeyId, Sig, _Msg
from protocols.signing import KEY_BYTES, BadSignature, key_id, new_key, sign, unwrap_key, verify, wrap_key

MAX_LIFETIME = timedelta(seconds=60)
CLOCK_SKEW = timedelta(seconds=30)
CHANNEL = "cmd"

__all__ = ["KEY_BYTES", "new_key", "GateCommand", "KeyUpdate", "PassKeys", "CommandRejected", "sign_command", "verify_command",
           "make_key_update", "open_key_update", "command_action"]


class CommandRejected(ValueError):
    """A command that must not be carried out; the text says why (never the key)."""


class GateCommand(_Msg):
    gate_id: str
    door_id: str
    action: Literal["open"] = "open"
    nonce: str = Field(pattern=r"^[0-9a-f]{32}$")
    issued_at: AwareDatetime
    expires_at: AwareDatetime
    by: str = Field(max_length=128)
    sig: Sig = ""


class KeyUpdate(_Msg):
    """The gate's next key, wrapped for the key it holds (hub -> gate, on the cmd topic)."""

    gate_id: str
    action: Literal["rekey"] = "rekey"
    key_id: str = Field(pattern=r"^[0-9a-f]{16}$")  # protocols.signing.key_id of the new key
    wrapped: str = Field(pattern=r"^[0-9a-f]{120}$")
    issued_at: AwareDatetime
    sig: Sig = ""


class PassKeys(_Msg):
    """The visitor-pass public keys a gate is to hold, by id (hub -> gate, on the cmd topic)."""

    gate_id: str
    action: Literal["pass_keys"] = "pass_keys"
    keys: dict[PassKeyId, Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]] = Field(max_length=8)
    issued_at: AwareDatetime
    sig: Sig = ""


def command_action(data: object) -> str | None:
    """The ``action`` of a decoded cmd payload, to choose its model (None: not a command)."""
    return data.get("action", "open") if isinstance(data, dict) else None


def sign_command(
    gate_id: str, door_id: str, by: str, key_hex: str, now: datetime, lifetime: timedelta = timedelta(seconds=15),
    *, site: str,
) -> GateCommand:
    if lifetime > MAX_LIFETIME:
        raise ValueError(f"a command may live at most {MAX_LIFETIME.total_seconds():.0f} s")
    cmd = GateCommand(
        gate_id=gate_id, door_id=door_id, nonce=secrets.token_hex(16), issued_at=now, expires_at=now + lifetime, by=by
    )
    return sign(cmd, key_hex, site, CHANNEL)


def verify_command(cmd: GateCommand, key_hex: str, gate_id: str, now: datetime, *, site: str) -> None:
    """Raise CommandRejected unless ``cmd`` is genuine, for this gate, and current.

    The caller must still refuse a nonce it has seen before (see gate_agent's nonce store).
    """
    if cmd.gate_id != gate_id:
        raise CommandRejected(f"command is for gate {cmd.gate_id!r}, not this one")
    try:
        verify(cmd, [key_hex], site, CHANNEL)
    except BadSignature as exc:
        raise CommandRejected(str(exc)) from None
    if cmd.expires_at - cmd.issued_at > MAX_LIFETIME:
        raise CommandRejected("command lifetime is too long")
    if now > cmd.expires_at:
        raise CommandRejected("command has expired")
    if cmd.issued_at > now + CLOCK_SKEW:
        raise CommandRejected("command is issued in the future")


def make_key_update(gate_id: str, new_hex: str, held_hex: str, now: datetime, *, site: str) -> KeyUpdate:
    """A signed KeyUpdate moving the gate that holds ``held_hex`` to ``new_hex``."""
    update = KeyUpdate(gate_id=gate_id, key_id=key_id(new_hex), wrapped=wrap_key(new_hex, held_hex, site, gate_id),
                       issued_at=now)
    return sign(update, held_hex, site, CHANNEL)


def open_key_update(update: KeyUpdate, held_hex: str, gate_id: str, *, site: str) -> str:
    """The new key inside a genuine KeyUpdate for this gate; CommandRejected otherwise."""
    try:
        verify(update, [held_hex], site, CHANNEL, gate_id=gate_id)
        new_hex = unwrap_key(update.wrapped, held_hex, site, gate_id)
    except BadSignature as exc:
        raise CommandRejected(f"key update refused: {exc}") from None
    if key_id(new_hex) != update.key_id:
        raise CommandRejected("key update refused: the key does not match its id")
    return new_hex

"""Signed commands from the hub to one gate (remote open).

A command is HMAC-SHA256 signed with the gate's own key (made by ``gate-hub gate add``),
names one gate and door, expires within MAX_LIFETIME, and carries a nonce that the gate
remembers until expiry, so a captured command cannot be replayed, redirected or kept.
The broker never retains it. Verification here is pure; the nonce memory is the gate's.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Literal

from pydantic import AwareDatetime, Field

from protocols.acl import canonical_json
from protocols.messages import _Msg

MAX_LIFETIME = timedelta(seconds=60)
CLOCK_SKEW = timedelta(seconds=30)
KEY_BYTES = 32


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
    sig: str = Field(default="", pattern=r"^([0-9a-f]{64})?$")


def new_key() -> str:
    return secrets.token_hex(KEY_BYTES)


def _mac(cmd: GateCommand, key_hex: str) -> str:
    body = canonical_json(cmd.model_copy(update={"sig": ""}))
    return hmac.new(bytes.fromhex(key_hex), body, hashlib.sha256).hexdigest()


def sign_command(
    gate_id: str, door_id: str, by: str, key_hex: str, now: datetime, lifetime: timedelta = timedelta(seconds=15)
) -> GateCommand:
    if lifetime > MAX_LIFETIME:
        raise ValueError(f"a command may live at most {MAX_LIFETIME.total_seconds():.0f} s")
    cmd = GateCommand(
        gate_id=gate_id, door_id=door_id, nonce=secrets.token_hex(16), issued_at=now, expires_at=now + lifetime, by=by
    )
    return cmd.model_copy(update={"sig": _mac(cmd, key_hex)})


def verify_command(cmd: GateCommand, key_hex: str, gate_id: str, now: datetime) -> None:
    """Raise CommandRejected unless ``cmd`` is genuine, for this gate, and current.

    The caller must still refuse a nonce it has seen before (see gate_agent's nonce store).
    """
    if not hmac.compare_digest(cmd.sig, _mac(cmd, key_hex)):
        raise CommandRejected("bad signature")
    if cmd.gate_id != gate_id:
        raise CommandRejected(f"command is for gate {cmd.gate_id!r}, not this one")
    if cmd.expires_at - cmd.issued_at > MAX_LIFETIME:
        raise CommandRejected("command lifetime is too long")
    if now > cmd.expires_at:
        raise CommandRejected("command has expired")
    if cmd.issued_at > now + CLOCK_SKEW:
        raise CommandRejected("command is issued in the future")

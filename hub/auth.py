"""API tokens and roles.

Tokens are random, shown once, and stored only as SHA-256, so a copied database opens no
gate. A request carries the token as ``Authorization: Bearer`` (API clients) or in the
HttpOnly, SameSite=Strict cookie that the login page sets (browsers: EventSource cannot send
headers). Admin may do everything; every other role only what an endpoint names. A guard's
token may be limited to some gates.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import StrEnum
from typing import Callable

from fastapi import Request

from hub.db import Store
from hub.errors import BadInput, Forbidden, Unauthenticated

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    gates TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT
);
"""

COOKIE = "gh_session"
TOKEN_PREFIX = "gh_"


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    GUARD = "guard"


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    gates: frozenset[str] = frozenset()  # empty: every gate

    def may_use_gate(self, gate_id: str) -> bool:
        return not self.gates or gate_id in self.gates

    @property
    def who(self) -> str:
        """How this principal appears in the audit log."""
        return f"{self.role.value}:{self.name}"


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(store: Store, role: str, name: str, gates: tuple[str, ...] = ()) -> str:
    try:
        role_ = Role(role)
    except ValueError:
        raise BadInput(f"role must be one of {', '.join(r.value for r in Role)}, not {role!r}", field="role") from None
    if not name.strip():
        raise BadInput("name is empty", field="name")
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.tx() as db:
        db["tokens"].insert(
            {
                "name": name.strip(),
                "role": role_.value,
                "token_hash": _hash(token),
                "gates": ",".join(gates),
                "created_at": datetime.now(timezone.utc).isoformat(),
            }
        )
    return token


def authenticate(store: Store, token: str | None) -> Principal:
    if not token:
        raise Unauthenticated("no token: send Authorization: Bearer TOKEN or log in")
    with store.read() as db:
        rows = list(
            db.query("SELECT name, role, gates FROM tokens WHERE token_hash = ? AND revoked_at IS NULL", [_hash(token)])
        )
    if not rows:
        raise Unauthenticated("unknown or revoked token")
    row = rows[0]
    gates = frozenset(g for g in row["gates"].split(",") if g)
    return Principal(row["name"], Role(row["role"]), gates)


def token_from_request(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return header[7:].strip()
    return request.cookies.get(COOKIE)


def require(*roles: Role) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the caller, if their role is one of ``roles`` (admin always is)."""
    allowed = {Role.ADMIN, *roles}

    def dependency(request: Request) -> Principal:
        principal = authenticate(request.app.state.store, token_from_request(request))
        if principal.role not in allowed:
            raise Forbidden(f"role {principal.role.value} may not do this")
        return principal

    return dependency

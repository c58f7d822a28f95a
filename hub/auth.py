"""API tokens, roles, and who a request is.

Tokens are random, shown once, and stored only as SHA-256, so a copied database opens no
gate. They have ids, names, roles, an optional expiry and a last-used time, and can be
listed (never with their secret) and revoked. API clients send a token as
``Authorization: Bearer``; browsers instead hold a session (hub.users.sessions), made when
a person signs in with a token or their own password, so the cookie is never the token.

The front door (hub.frontdoor) works out who a request is before any route or body parsing
runs and leaves it in the request's state; ``require`` only checks the role. Admin may do
everything; every other role only what an endpoint names. A guard may be limited to gates.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from enum import StrEnum
from typing import Any, Callable, Literal

import sqlite_utils
from fastapi import Request

from hub import audit
from hub.db import Store, add_columns
from hub.errors import BadInput, Conflict, Forbidden, NotFound, Unauthenticated, Word
from hub.i18n.validation import N_

SCHEMA = """
CREATE TABLE IF NOT EXISTS tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    gates TEXT NOT NULL DEFAULT '',
    created_at TEXT NOT NULL,
    revoked_at TEXT,
    expires_at TEXT,
    last_used_at TEXT,
    unit TEXT,  -- a resident_app token's one unit (hub.visitors: pre-registers visitors for it only)
    department TEXT  -- a department token's department (hub.complaints: its queue only)
);
"""

#: columns added after the first release: (table, column, declaration)
ADDED_COLUMNS = [("tokens", "expires_at", "TEXT"), ("tokens", "last_used_at", "TEXT"), ("tokens", "unit", "TEXT"),
                 ("tokens", "department", "TEXT")]

COOKIE = "gh_session"
TOKEN_PREFIX = "gh_"
#: last_used_at is written at most this often per token (a write per request would serialise reads)
TOUCH_EVERY = timedelta(seconds=60)


def migrate(db: sqlite_utils.Database) -> None:
    """Add the columns an older hub.db lacks (CREATE TABLE IF NOT EXISTS does not)."""
    add_columns(db, ADDED_COLUMNS)


class Role(StrEnum):
    ADMIN = "admin"
    SUPERVISOR = "supervisor"
    CLERK = "clerk"
    GUARD = "guard"
    #: an integration acting for one unit (a resident app): a token with a ``unit``; it may
    #: pre-register that unit's visitors and read them (hub.visitors), nothing else
    RESIDENT_APP = "resident_app"
    #: the estate manager (hub.complaints: extensions, major complaints, escalations' last step)
    MANAGER = "manager"
    #: a shift's leader (hub.complaints: escalations' first step)
    SHIFT_LEADER = "shift_leader"
    #: a department's staff: an account or token with a ``department``; they see and work
    #: only the complaints sent to that department (hub.complaints)
    DEPARTMENT = "department"
    #: the engineering department's staff (hub.permits: renovation drawings, stopping work)
    ENGINEERING = "engineering"


#: each role as a person reads it (msgids: the pages' header and error details translate them)
ROLE_NAMES = {Role.ADMIN: N_("administrator"), Role.SUPERVISOR: N_("supervisor"), Role.CLERK: N_("IC card clerk"),
              Role.GUARD: N_("guard"), Role.RESIDENT_APP: N_("resident app"),
              Role.MANAGER: N_("estate manager"), Role.SHIFT_LEADER: N_("shift leader"),
              Role.DEPARTMENT: N_("department staff"), Role.ENGINEERING: N_("engineering department")}


@dataclass(frozen=True)
class Principal:
    name: str
    role: Role
    gates: frozenset[str] = frozenset()  # empty: every gate
    #: a resident_app token's unit (None for every other role)
    unit: str | None = None
    #: a department principal's department (None for every other role)
    department: str | None = None

    def may_use_gate(self, gate_id: str) -> bool:
        return not self.gates or gate_id in self.gates

    @property
    def who(self) -> str:
        """How this principal appears in the audit log."""
        return f"{self.role.value}:{self.name}"


@dataclass(frozen=True)
class Credential:
    """Who a request is and how it proved it: a bearer token, or a browser session cookie."""

    principal: Principal
    via: Literal["bearer", "cookie"]
    token_id: int | None = None
    session_id: int | None = None
    #: the language chosen for this session (hub.i18n.languages), if one was
    language: str | None = None


def now_utc() -> datetime:
    return datetime.now(timezone.utc)


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def parse_role(role: str) -> Role:
    try:
        return Role(role)
    except ValueError:
        raise BadInput("role must be one of {roles}, not {role!r}", field="role",
                       roles=", ".join(r.value for r in Role), role=role) from None


def parse_gates(gates: str) -> frozenset[str]:
    return frozenset(g for g in gates.split(",") if g)


def create_token(store: Store, role: str, name: str, gates: tuple[str, ...] = (), *,
                 expires_at: datetime | None = None, who: str = "cli", unit: str | None = None,
                 department: str | None = None) -> str:
    """A new token; only its hash is kept. ``who`` is recorded in the audit log."""
    return issue_token(store, role, name, gates, expires_at=expires_at, who=who, unit=unit,
                       department=department)[1]


def _token_unit(db: sqlite_utils.Database, role: Role, unit: str | None) -> str | None:
    """A resident_app token is for one unit of the register; no other token has a unit."""
    unit = (unit or "").strip().upper() or None
    if role != Role.RESIDENT_APP:
        if unit is not None:
            raise BadInput("only a resident_app token is for one unit", rule="unit_not_for_role", field="unit")
        return None
    if unit is None:
        raise BadInput("a resident_app token is for one unit: give the unit", rule="unit_required", field="unit")
    if not db.execute("SELECT 1 FROM units WHERE code = ?", [unit]).fetchone():
        raise BadInput("unit {unit} is not in the units register", rule="unknown_unit", field="unit", unit=unit)
    return unit


def role_department(role: Role, department: str | None) -> str | None:
    """A department account or token is for one department; no other is."""
    department = (department or "").strip().lower() or None
    if role != Role.DEPARTMENT:
        if department is not None:
            raise BadInput("only a department account or token has a department", rule="department_not_for_role",
                           field="department")
        return None
    if department is None:
        raise BadInput("a department account or token needs its department", rule="department_required",
                       field="department")
    if len(department) > 32 or not all(c.isalnum() or c in "_-" for c in department):
        raise BadInput("a department is up to 32 letters, digits, dashes or underscores", rule="bad_department",
                       field="department")
    return department


def issue_token(store: Store, role: str, name: str, gates: tuple[str, ...] = (), *,
                expires_at: datetime | None = None, who: str = "cli", unit: str | None = None,
                department: str | None = None) -> tuple[int, str]:
    """The new token's id and secret."""
    role_ = parse_role(role)
    if not name.strip():
        raise BadInput("name is empty", field="name")
    if expires_at is not None and expires_at.tzinfo is None:
        raise BadInput("the expiry needs a UTC offset", field="expires_at")
    department = role_department(role_, department)
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with store.tx() as db:
        unit = _token_unit(db, role_, unit)
        table = db["tokens"]
        table.insert(
            {
                "name": name.strip(),
                "role": role_.value,
                "token_hash": hash_secret(token),
                "gates": ",".join(gates),
                "created_at": now_utc().isoformat(),
                "expires_at": expires_at.astimezone(timezone.utc).isoformat() if expires_at else None,
                "unit": unit,
                "department": department,
            }
        )
        audit.record(db, who, "create", "token", str(table.last_pk), name=name.strip(), role=role_.value,
                     gates=",".join(gates), expires_at=expires_at, **({"unit": unit} if unit else {}),
                     **({"department": department} if department else {}))
        return table.last_pk, token


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "role": row["role"], "gates": sorted(parse_gates(row["gates"])),
            "created_at": row["created_at"], "last_used_at": row["last_used_at"], "expires_at": row["expires_at"],
            "revoked_at": row["revoked_at"], "unit": row["unit"], "department": row.get("department")}


def get_token(store: Store, token_id: int) -> dict[str, Any]:
    with store.read() as db:
        rows = list(db.query("SELECT * FROM tokens WHERE id = ?", [token_id]))
    if not rows:
        raise NotFound("no token {token_id}", rule="unknown_token", field="token_id", token_id=token_id)
    return _public(rows[0])


def list_tokens(store: Store) -> list[dict[str, Any]]:
    """Every token, newest last, without its secret (the hub does not hold it)."""
    with store.read() as db:
        return [_public(r) for r in db.query("SELECT * FROM tokens ORDER BY id")]


def revoke_token(store: Store, who: str, token_id: int) -> dict[str, Any]:
    """Revoked at once: the token, and every browser session signed in with it, are refused."""
    with store.tx() as db:
        rows = list(db.query("SELECT * FROM tokens WHERE id = ?", [token_id]))
        if not rows:
            raise NotFound("no token {token_id}", rule="unknown_token", field="token_id", token_id=token_id)
        if rows[0]["revoked_at"]:
            raise Conflict("token {token_id} is already revoked", rule="token_already_revoked", token_id=token_id)
        db["tokens"].update(token_id, {"revoked_at": now_utc().isoformat()})
        audit.record(db, who, "revoke", "token", str(token_id), name=rows[0]["name"])
        return _public(list(db.query("SELECT * FROM tokens WHERE id = ?", [token_id]))[0])


def live_token(db: sqlite_utils.Database, token_id: int, now: datetime) -> Principal | None:
    """The principal of a token that is neither revoked nor expired, by id."""
    rows = list(db.query("SELECT * FROM tokens WHERE id = ? AND revoked_at IS NULL", [token_id]))
    if not rows or (rows[0]["expires_at"] and datetime.fromisoformat(rows[0]["expires_at"]) <= now):
        return None
    row = rows[0]
    return Principal(row["name"], Role(row["role"]), parse_gates(row["gates"]), unit=row["unit"],
                     department=row.get("department"))


def token_credential(store: Store, token: str, now: datetime | None = None) -> Credential | None:
    """The credential a bearer token gives, or None (unknown, revoked or expired)."""
    if not token or len(token) > 200:
        return None
    now = now or now_utc()
    with store.read() as db:
        rows = list(db.query("SELECT id, last_used_at FROM tokens WHERE token_hash = ?", [hash_secret(token)]))
        principal = live_token(db, rows[0]["id"], now) if rows else None
    if principal is None:
        return None
    token_id = rows[0]["id"]
    last = rows[0]["last_used_at"]
    if last is None or now - datetime.fromisoformat(last) >= TOUCH_EVERY:
        with store.tx() as db:
            db["tokens"].update(token_id, {"last_used_at": now.isoformat()})
    return Credential(principal, "bearer", token_id=token_id)


def bearer_of(headers: dict[str, str]) -> str | None:
    header = headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return None


def credential_of(request: Request) -> Credential:
    """Who the front door found this request to be; Unauthenticated if nobody."""
    cred = request.scope.get("state", {}).get("credential")
    if cred is None:
        raise Unauthenticated("no token: send Authorization: Bearer TOKEN or log in")
    return cred


def role_refused(principal: Principal) -> Forbidden:
    """The refusal of a page or route that is not for ``principal``'s role."""
    return Forbidden("role {role} may not do this", role=Word(ROLE_NAMES[principal.role]))


def require(*roles: Role) -> Callable[[Request], Principal]:
    """A FastAPI dependency: the caller, if their role is one of ``roles`` (admin always is)."""
    allowed = {Role.ADMIN, *roles}

    def dependency(request: Request) -> Principal:
        principal = credential_of(request).principal
        if principal.role not in allowed:
            raise role_refused(principal)
        return principal

    return dependency

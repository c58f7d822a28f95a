"""People's own accounts: a username and a password (argon2), with lockout.

A password is kept only as an argon2id hash (argon2-cffi), so a copied database gives an
attacker a slow guess per candidate, not the password. Repeated failures lock the account
for a while (per username, whether or not it exists, so a locked answer says nothing about
which usernames are real); the lock and every failure are in the audit log. An unknown
username still costs one argon2 verification, so timing does not tell them apart either.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import sqlite_utils
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub import audit
from hub.auth import Principal, Role, now_utc, parse_gates, parse_role, role_department
from hub.db import Store, add_columns
from hub.errors import BadInput, Conflict, LockedOut, NotFound, Unauthenticated

SCHEMA = """
CREATE TABLE IF NOT EXISTS users (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    gates TEXT NOT NULL DEFAULT '',
    password_hash TEXT NOT NULL,
    created_at TEXT NOT NULL,
    disabled_at TEXT,
    language TEXT,
    department TEXT  -- a department account's department (hub.complaints)
);
CREATE TABLE IF NOT EXISTS login_failures (
    id INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS login_failures_user ON login_failures (username, at);
"""



def migrate(db: sqlite_utils.Database) -> None:
    # the person's language (hub.i18n), once chosen; a department account's department (hub.complaints)
    add_columns(db, [("users", "language", "TEXT"), ("users", "department", "TEXT")])


MAX_FAILURES = 5
WINDOW = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024
USERNAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789._-")

_hasher = PasswordHasher()
#: verified against when the username is unknown, so the answer takes as long
_DUMMY = _hasher.hash("not a password anyone has")


def normalise_username(username: str) -> str:
    return (username or "").strip().lower()


def check_username(username: str) -> str:
    name = normalise_username(username)
    if not 2 <= len(name) <= 64 or not set(name) <= USERNAME_CHARS:
        raise BadInput("a username is 2 to 64 letters, digits, dots, dashes or underscores", field="username")
    return name


def check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise BadInput("a password needs at least {count} characters", field="password",
                       rule="password_too_short", count=MIN_PASSWORD)
    if len(password) > MAX_PASSWORD:
        raise BadInput("the password is too long", field="password")


def _public(row: dict[str, Any]) -> dict[str, Any]:
    return {"id": row["id"], "username": row["username"], "name": row["name"], "role": row["role"],
            "gates": sorted(parse_gates(row["gates"])), "created_at": row["created_at"],
            "disabled_at": row["disabled_at"], "department": row.get("department")}


def add_user(store: Store, who: str, username: str, name: str, role: str, password: str,
             gates: tuple[str, ...] = (), department: str | None = None) -> dict[str, Any]:
    uname = check_username(username)
    role_ = parse_role(role)
    department = role_department(role_, department)
    if not name.strip():
        raise BadInput("name is empty", field="name")
    check_password(password)
    hashed = _hasher.hash(password)
    with store.tx() as db:
        if list(db.query("SELECT 1 FROM users WHERE username = ?", [uname])):
            raise Conflict("there is already a user {username}", rule="username_taken", field="username", username=uname)
        table = db["users"]
        table.insert({"username": uname, "name": name.strip(), "role": role_.value, "gates": ",".join(gates),
                      "password_hash": hashed, "created_at": now_utc().isoformat(), "department": department})
        audit.record(db, who, "create", "user", uname, role=role_.value, gates=",".join(gates),
                     **({"department": department} if department else {}))
        return _public(list(db.query("SELECT * FROM users WHERE id = ?", [table.last_pk]))[0])


def list_users(store: Store) -> list[dict[str, Any]]:
    with store.read() as db:
        return [_public(r) for r in db.query("SELECT * FROM users ORDER BY username")]


def disable_user(store: Store, who: str, username: str) -> dict[str, Any]:
    """The account can no longer sign in, and its open sessions are refused at once."""
    uname = normalise_username(username)
    with store.tx() as db:
        rows = list(db.query("SELECT * FROM users WHERE username = ?", [uname]))
        if not rows:
            raise NotFound("no user {username}", rule="unknown_user", field="username", username=uname)
        if not rows[0]["disabled_at"]:
            db["users"].update(rows[0]["id"], {"disabled_at": now_utc().isoformat()})
            audit.record(db, who, "disable", "user", uname)
        return _public(list(db.query("SELECT * FROM users WHERE id = ?", [rows[0]["id"]]))[0])


def unlock_user(store: Store, who: str, username: str) -> int:
    """An admin lifts a lock before its window has passed; the failed sign-ins are forgotten."""
    uname = normalise_username(username)
    with store.tx() as db:
        if not list(db.query("SELECT 1 FROM users WHERE username = ?", [uname])):
            raise NotFound("no user {username}", rule="unknown_user", field="username", username=uname)
        cleared = db.conn.execute("DELETE FROM login_failures WHERE username = ?", [uname]).rowcount
        audit.record(db, who, "unlock", "user", uname, failures=cleared)
        return cleared


def live_user(db: sqlite_utils.Database, user_id: int) -> Principal | None:
    rows = list(db.query("SELECT * FROM users WHERE id = ? AND disabled_at IS NULL", [user_id]))
    if not rows:
        return None
    return Principal(rows[0]["username"], Role(rows[0]["role"]), parse_gates(rows[0]["gates"]),
                     department=rows[0].get("department"))


def locked_until(db: sqlite_utils.Database, username: str, now: datetime) -> datetime | None:
    """When the lock on ``username`` ends, or None if it is not locked."""
    since = (now - WINDOW).isoformat()
    recent = [datetime.fromisoformat(r["at"]) for r in db.query(
        "SELECT at FROM login_failures WHERE username = ? AND at > ? ORDER BY at DESC LIMIT ?",
        [username, since, MAX_FAILURES])]
    if len(recent) < MAX_FAILURES:
        return None
    return recent[-1] + WINDOW


def _locked(until: datetime) -> LockedOut:
    time = until.astimezone(timezone.utc).strftime("%H:%M")
    return LockedOut("Too many failed sign-ins for this account: try again after {time} UTC, or ask an administrator.",
                     field="username", time=time)


def sign_in(store: Store, username: str, password: str, now: datetime | None = None) -> tuple[int, Principal]:
    """The user id and principal for a right username and password.

    Unauthenticated for a wrong one; LockedOut once an account has had MAX_FAILURES
    failures within WINDOW (then even the right password waits for the window to pass).
    """
    now = now or now_utc()
    uname = normalise_username(username)[:64]
    with store.read() as db:
        until = locked_until(db, uname, now)
        rows = list(db.query("SELECT * FROM users WHERE username = ? AND disabled_at IS NULL", [uname]))
    if until is not None:
        raise _locked(until)
    stored = rows[0]["password_hash"] if rows else _DUMMY
    try:
        ok = _hasher.verify(stored, password[:MAX_PASSWORD]) and bool(rows)
    except (VerificationError, InvalidHashError):
        ok = False
    if not ok:
        with store.tx() as db:
            db["login_failures"].insert({"username": uname, "at": now.isoformat()})
            audit.record(db, f"login:{uname}", "login_failed", "user", uname)
            until = locked_until(db, uname, now)
            if until is not None:
                audit.record(db, f"login:{uname}", "locked", "user", uname, until=until.isoformat())
        if until is not None:
            raise _locked(until)
        raise Unauthenticated("wrong username or password", rule="bad_password")
    row = rows[0]
    with store.tx() as db:
        db.conn.execute("DELETE FROM login_failures WHERE username = ?", [uname])
        if _hasher.check_needs_rehash(row["password_hash"]):
            db["users"].update(row["id"], {"password_hash": _hasher.hash(password)})
    return row["id"], Principal(row["username"], Role(row["role"]), parse_gates(row["gates"]),
                                department=row.get("department"))


def forget_failures(store: Store, before: datetime) -> int:
    """Drop failed sign-ins older than ``before`` (housekeeping; they only matter within WINDOW)."""
    with store.tx() as db:
        return db.conn.execute("DELETE FROM login_failures WHERE at < ?", [before.isoformat()]).rowcount

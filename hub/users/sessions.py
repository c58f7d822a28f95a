"""Browser sessions: their own random ids, kept only as hashes, that end.

A person signs in (with a token or their password) and the browser gets a session id in an
HttpOnly cookie; the hub keeps its SHA-256, who it stands for (the token or the account it
was made with), when it was last used and when it ends at the latest. A session is refused
once it has been idle too long, once its absolute lifetime has passed, once it is ended by
logout, and once the token or account behind it is revoked or disabled: all at the next
request, since every request looks the session up.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from hub.auth import Credential, hash_secret, live_token, now_utc
from hub.config import HubSection
from hub.db import Store, add_columns
from hub.users.accounts import live_user

SCHEMA = """
CREATE TABLE IF NOT EXISTS sessions (
    id INTEGER PRIMARY KEY,
    sid_hash TEXT NOT NULL UNIQUE,
    token_id INTEGER REFERENCES tokens (id),
    user_id INTEGER REFERENCES users (id),
    created_at TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    ended_at TEXT,
    language TEXT,
    CHECK ((token_id IS NULL) != (user_id IS NULL))
);
"""



def migrate(db) -> None:
    add_columns(db, [("sessions", "language", "TEXT")])


SESSION_PREFIX = "ghs_"
#: last_seen_at is written at most this often (it only needs minute precision for idling)
TOUCH_EVERY = timedelta(seconds=30)


@dataclass(frozen=True)
class Lifetime:
    idle: timedelta
    absolute: timedelta

    @classmethod
    def of(cls, hub: HubSection) -> "Lifetime":
        return cls(idle=timedelta(minutes=hub.session_idle_minutes), absolute=timedelta(hours=hub.session_hours))


def start_session(store: Store, lifetime: Lifetime, *, token_id: int | None = None, user_id: int | None = None,
                  now: datetime | None = None, language: str | None = None) -> str:
    """A new session id for the browser; only its hash is stored. ``language``: the one
    chosen before signing in; an account's own choice, if it has made one, wins."""
    now = now or now_utc()
    sid = SESSION_PREFIX + secrets.token_urlsafe(32)
    with store.tx() as db:
        if user_id is not None:
            row = db.execute("SELECT language FROM users WHERE id = ?", [user_id]).fetchone()
            language = (row[0] if row else None) or language
        db["sessions"].insert({"sid_hash": hash_secret(sid), "token_id": token_id, "user_id": user_id,
                               "created_at": now.isoformat(), "last_seen_at": now.isoformat(),
                               "expires_at": (now + lifetime.absolute).isoformat(), "language": language})
    return sid


def set_language(store: Store, session_id: int, language: str) -> None:
    """Remember ``language`` for this session and, for a person's account, for every later one."""
    with store.tx() as db:
        db.execute("UPDATE sessions SET language = ? WHERE id = ?", [language, session_id])
        db.execute("UPDATE users SET language = ? WHERE id = (SELECT user_id FROM sessions WHERE id = ?)",
                   [language, session_id])


def end_session(store: Store, sid: str | None, now: datetime | None = None) -> bool:
    """Logout: the session is refused from now on. True if there was one to end."""
    if not sid or len(sid) > 200:
        return False
    now = now or now_utc()
    with store.tx() as db:
        cur = db.conn.execute("UPDATE sessions SET ended_at = ? WHERE sid_hash = ? AND ended_at IS NULL",
                              [now.isoformat(), hash_secret(sid)])
        return cur.rowcount > 0


def session_credential(store: Store, sid: str | None, lifetime: Lifetime,
                       now: datetime | None = None) -> Credential | None:
    """The credential a session cookie gives, or None (unknown, ended, idle, expired, or its
    token or account is gone)."""
    if not sid or len(sid) > 200 or not sid.startswith(SESSION_PREFIX):
        return None
    now = now or now_utc()
    with store.read() as db:
        rows = list(db.query("SELECT * FROM sessions WHERE sid_hash = ? AND ended_at IS NULL", [hash_secret(sid)]))
        if not rows:
            return None
        row = rows[0]
        last = datetime.fromisoformat(row["last_seen_at"])
        if now >= datetime.fromisoformat(row["expires_at"]) or now - last >= lifetime.idle:
            principal = None
        elif row["token_id"] is not None:
            principal = live_token(db, row["token_id"], now)
        else:
            principal = live_user(db, row["user_id"])
    if principal is None:
        with store.tx() as db:
            db["sessions"].update(row["id"], {"ended_at": now.isoformat()})
        return None
    if now - last >= TOUCH_EVERY:
        with store.tx() as db:
            db["sessions"].update(row["id"], {"last_seen_at": now.isoformat()})
    return Credential(principal, "cookie", token_id=row["token_id"], session_id=row["id"], language=row["language"])


def purge(store: Store, before: datetime) -> int:
    """Forget sessions that ended or expired before ``before`` (housekeeping)."""
    with store.tx() as db:
        cur = db.conn.execute("DELETE FROM sessions WHERE COALESCE(ended_at, expires_at) < ?", [before.isoformat()])
        return cur.rowcount

"""mosquitto's password file format, so the hub writes the file mosquitto reads.

mosquitto 2.0 stores ``user:$7$ITERATIONS$SALT$HASH``: PBKDF2-HMAC-SHA512 over the
password with a 12-byte salt, salt and 64-byte hash in standard base64. The hub keeps
only this hash of a gate's password (it shows the password once, to the installer), so
the database alone never gives anyone a broker login.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

#: mosquitto_passwd's own count; the passwords the hub makes are 256-bit random, so a
#: larger count would slow every broker connect and protect nothing more
ITERATIONS = 101
SALT_BYTES = 12


def new_password() -> str:
    """A random broker password (43 URL-safe characters, 256 bits)."""
    return secrets.token_urlsafe(32)


def mosquitto_hash(password: str, salt: bytes | None = None, iterations: int = ITERATIONS) -> str:
    salt = salt if salt is not None else secrets.token_bytes(SALT_BYTES)
    digest = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)
    return f"$7${iterations}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify(password: str, stored: str) -> bool:
    """Whether ``password`` matches a ``$7$`` hash (mosquitto's check, for tests and doctors)."""
    parts = stored.split("$")
    if len(parts) != 5 or parts[1] != "7":
        return False
    iterations, salt = int(parts[2]), base64.b64decode(parts[3])
    return hmac.compare_digest(mosquitto_hash(password, salt, iterations), stored)


def render(entries: dict[str, str]) -> str:
    """The password file: one ``user:hash`` line per login, sorted (a stable diff)."""
    return "".join(f"{user}:{entries[user]}\n" for user in sorted(entries))

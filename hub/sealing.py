"""Secrets at rest in hub.db, sealed with a key that lives in its own file.

A copy of hub.db alone (a backup, a stolen disk image of the data folder without the key
file) opens no gate key: each secret is AES-GCM encrypted under the 32-byte key in
``[hub] secret_file`` (default ``hub.key`` beside the database), made 0600 the first time
it is needed. The associated data names what the secret is for (e.g. the gate id), so a
sealed value moved to another row does not open.

Back up the key file apart from the database; without it the gates must be given new
keys (``gate-hub gate add GATE --rotate-key`` cannot be pushed then: re-key by hand).
"""

from __future__ import annotations

import base64
import os
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hub.errors import DomainError

KEY_BYTES = 32
_NONCE = 12
_PREFIX = "aesgcm1:"


class SealError(DomainError):
    """A sealed secret that cannot be opened with this hub's key file, or a key file that is bad."""

    status = 500
    rule = "sealed_secret"


def default_secret_file(db_path: Path) -> Path:
    return Path(db_path).parent / "hub.key"


class Sealer:
    def __init__(self, key: bytes) -> None:
        if len(key) != KEY_BYTES:
            raise SealError(f"the hub's secret key must be {KEY_BYTES} bytes")
        self._aead = AESGCM(key)

    @classmethod
    def from_file(cls, path: Path) -> "Sealer":
        """The key in ``path``; made (0600, atomically, never overwritten) where there is none."""
        path = Path(path)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.write(fd, os.urandom(KEY_BYTES))
                os.fsync(fd)
            finally:
                os.close(fd)
            try:
                os.link(tmp, path)  # fails if another process made it first: keep theirs
            except FileExistsError:
                pass
            finally:
                os.unlink(tmp)
        try:
            key = path.read_bytes()
        except OSError as exc:
            raise SealError(f"cannot read the hub's secret file {path}: {exc.strerror}") from None
        if len(key) != KEY_BYTES:
            raise SealError(f"the hub's secret file {path} is not a {KEY_BYTES}-byte key")
        return cls(key)

    def seal(self, secret: bytes, purpose: str) -> str:
        nonce = os.urandom(_NONCE)
        blob = nonce + self._aead.encrypt(nonce, secret, purpose.encode())
        return _PREFIX + base64.b64encode(blob).decode()

    def open(self, sealed: str, purpose: str) -> bytes:
        if not sealed.startswith(_PREFIX):
            raise SealError("not a sealed secret")
        try:
            blob = base64.b64decode(sealed[len(_PREFIX):], validate=True)
            return self._aead.decrypt(blob[:_NONCE], blob[_NONCE:], purpose.encode())
        except (ValueError, InvalidTag):
            raise SealError("a sealed secret does not open with this hub's key file") from None

"""The gate's own key: what it signs with and what the hub must sign with.

The installer puts the key from ``gate-hub gate add`` in the config as ``[agent] gate_key``.
When the hub rotates the key it sends the new one wrapped in the old (protocols.commands
KeyUpdate); the agent keeps it in ``data_dir/gate.key`` (0600, written atomically), with
the id of the config key it replaces, and uses it from then on.

How the two relate: the stored key wins while the config still holds the key it was
stored against; once an installer writes a different key into the config by hand (a new
key from ``gate add --rotate-key``, or a re-registered gate), the config key wins and the
stored one is no longer used. So the config never has to be edited after a pushed
rotation, and editing it always works.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from pathlib import Path

from protocols.signing import key_bytes, key_id

log = logging.getLogger(__name__)

KEY_FILE = "gate.key"


class KeyFileError(Exception):
    """The stored key cannot be written; the gate keeps the key it has."""


class GateKey:
    def __init__(self, config_key: str, data_dir: str | Path) -> None:
        key_bytes(config_key)  # raises (without the value) if it is not a key
        self.path = Path(data_dir) / KEY_FILE
        self._config_id = key_id(config_key)
        self._lock = threading.Lock()
        self._key = self._load() or config_key

    def _load(self) -> str | None:
        try:
            data = json.loads(self.path.read_text())
            key, base = data["key"], data["replaces"]
            key_bytes(key)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("ignoring the stored gate key %s: %s", self.path, type(exc).__name__)
            return None
        if base != self._config_id:
            log.warning("the config's gate_key was changed by hand: using it, not the key stored from a rotation")
            return None
        return key

    @property
    def current(self) -> str:
        with self._lock:
            return self._key

    @property
    def id(self) -> str:
        return key_id(self.current)

    def adopt(self, new_hex: str) -> None:
        """Keep ``new_hex`` (durably, before it is used) and sign with it from now on."""
        key_bytes(new_hex)
        body = json.dumps({"key": new_hex, "replaces": self._config_id}).encode()
        tmp = self.path.with_name(f".{KEY_FILE}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            try:
                os.fchmod(fd, 0o600)
                os.write(fd, body)
                os.fsync(fd)
            finally:
                os.close(fd)
            os.replace(tmp, self.path)
            dfd = os.open(self.path.parent, os.O_RDONLY)
            try:
                os.fsync(dfd)
            finally:
                os.close(dfd)
        except OSError as exc:
            raise KeyFileError(f"cannot store the new gate key in {self.path}: {exc.strerror}") from None
        with self._lock:
            self._key = new_hex

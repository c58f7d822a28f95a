"""The hub's visitor secrets: the Ed25519 key that signs QR passes, and the HMAC key that
hashes ID numbers and phones.

Both are made once, on the hub's first need, and kept in ``visit_keys`` sealed with the
hub's secret file (hub.sealing), so a copy of hub.db alone can neither make a pass nor
test a guessed ID number against the stored hashes. Gates hold only the public half of the
pass key (sent as a PassKeys command: hub.visitors.setup). A key is read once per process
and kept; a key made inside a transaction that rolls back is not kept.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import threading
from datetime import datetime, timezone

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from hub.db import Store
from hub.sealing import Sealer
from protocols import visitpass

_HMAC_ID = "id-hmac"


class VisitorKeys:
    def __init__(self, store: Store, sealer: Sealer) -> None:
        self.store = store
        self.sealer = sealer
        self._lock = threading.Lock()
        self._pass: tuple[str, Ed25519PrivateKey, str] | None = None  # (key id, key, public hex)
        self._hmac: bytes | None = None

    def ensure(self) -> None:
        """Make both keys now if the hub has none (so gates get the pass key on first contact)."""
        self.pass_key()
        self.hmac_key()

    # -- the pass key ----------------------------------------------------------------------
    def pass_key(self) -> tuple[str, Ed25519PrivateKey]:
        """(key id, private key) that signs new passes."""
        held = self._pass
        if held is None:
            held = self._load_pass()
        return held[0], held[1]

    def public_keys(self) -> dict[str, str]:
        """{key id: public hex} every gate is to hold."""
        held = self._pass or self._load_pass()
        return {held[0]: held[2]}

    def _load_pass(self) -> tuple[str, Ed25519PrivateKey, str]:
        with self.store.tx() as db:
            row = db.execute("SELECT key_id, sealed, public FROM visit_keys WHERE kind = 'pass' AND retired_at IS NULL"
                             " ORDER BY created_at DESC LIMIT 1").fetchone()
            if row is not None:
                key = visitpass.private_from_bytes(self.sealer.open(row[1], f"visit-pass-key|{row[0]}"))
                held = (row[0], key, row[2])
            else:
                key = visitpass.new_private_key()
                public = visitpass.public_hex(key)
                kid = visitpass.pass_key_id(public)
                db["visit_keys"].insert({
                    "key_id": kid, "kind": "pass", "public": public, "created_at": _now(),
                    "sealed": self.sealer.seal(visitpass.private_bytes(key), f"visit-pass-key|{kid}"),
                })
                held = (kid, key, public)
            self.store.after_commit(lambda: self._keep_pass(held))
        return held

    def _keep_pass(self, held: tuple[str, Ed25519PrivateKey, str]) -> None:
        with self._lock:
            self._pass = held

    # -- the hash key ----------------------------------------------------------------------
    def hmac_key(self) -> bytes:
        if self._hmac is not None:
            return self._hmac
        with self.store.tx() as db:
            row = db.execute("SELECT sealed FROM visit_keys WHERE key_id = ?", [_HMAC_ID]).fetchone()
            if row is not None:
                key = self.sealer.open(row[0], "visit-hmac")
            else:
                key = os.urandom(32)
                db["visit_keys"].insert({"key_id": _HMAC_ID, "kind": "hmac", "public": None, "created_at": _now(),
                                         "sealed": self.sealer.seal(key, "visit-hmac")})
            self.store.after_commit(lambda: setattr(self, "_hmac", key))
        return key

    def digest(self, kind: str, normalised: str) -> str:
        """The keyed hash of an ID number or phone (already normalised: hub.visitors.models)."""
        return hmac.new(self.hmac_key(), f"{kind}|{normalised}".encode(), hashlib.sha256).hexdigest()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat()

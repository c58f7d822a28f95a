"""Visitor QR passes at the gate: the keys it checks them with, its own entry counts, the rule.

A pass is checked offline (protocols.visitpass): its signature against the public keys the
hub sent (a PassKeys command, kept in ``data_dir/pass_keys.json``), then ``check`` with what
only the gate knows: how many times this gate has let the pass in, and whether the gate's
list blocks it (the hub lists a revoked or used-up pass under its pass_id as an entry that
is not active: protocols.cards.PASS_BLOCKS).

A release slip's QR (claims ``kind: "slip"``) goes through the same path: the same keys, the
same list and the same durable count, spent on its one way out rather than on a way in.

``decide_visit`` is that rule as a pure function; the stores are the only I/O here.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Callable, Mapping

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from protocols.acl import AclEntry
from protocols.cards import PASS_BLOCKS, CardStatus, Decision, Reason
from protocols.commands import CHANNEL, CommandRejected, PassKeys
from protocols.messages import Direction
from protocols.signing import BadSignature, verify
from protocols.visitpass import PassRefused, check, pass_key_id, public_keys, read_pass

log = logging.getLogger(__name__)

KEYS_FILE = "pass_keys.json"
COUNTS_FILE = "pass_entries.log"
#: an entry count is kept this long past its pass's end (a gate clock a little behind still
#: refuses a used-up pass), then dropped when the agent next starts
KEEP_AFTER_S = 86_400
#: at most this much of a refusal's explanation goes into an event
MAX_WHY = 200


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_atomically(path: Path, body: bytes) -> None:
    """``path`` holds ``body`` or what it held before, whatever happens meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        os.write(fd, body)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    _fsync_dir(path.parent)


# -- the keys -----------------------------------------------------------------------------

class PassKeyFileError(Exception):
    """The pass keys cannot be written; the gate keeps those it holds."""


def check_pass_keys(msg: PassKeys, key_hex: str, gate_id: str, *, site: str) -> None:
    """CommandRejected unless ``msg`` is signed by the hub with this gate's key, for this gate
    and site, and every key in it has the id it is listed under."""
    try:
        verify(msg, [key_hex], site, CHANNEL, gate_id=gate_id)
    except BadSignature as exc:
        raise CommandRejected(f"pass keys refused: {exc}") from None
    wrong = sorted(kid for kid, public in msg.keys.items() if pass_key_id(public) != kid)
    if wrong:
        raise CommandRejected(f"pass keys refused: key {wrong[0]} does not match its id")


class PassKeyStore:
    """The public pass keys this gate holds, and when the hub issued them.

    Public keys: no secret, so the file is not private. Written whole and atomically; a file
    that cannot be read is set aside in the log and the gate holds no keys (every pass is
    refused as signed by an unknown key) until the hub, seeing none in the gate's status,
    sends them again.
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.path = Path(data_dir) / KEYS_FILE
        self._lock = threading.Lock()
        self._issued_at: datetime | None = None
        self._hex: dict[str, str] = {}
        self._keys: dict[str, Ed25519PublicKey] = {}
        self._load()

    def _load(self) -> None:
        try:
            data = json.loads(self.path.read_text())
            issued_at = datetime.fromisoformat(data["issued_at"])
            held = {str(k): str(v) for k, v in dict(data["keys"]).items()}
            keys = public_keys(held)
        except FileNotFoundError:
            return
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("ignoring the stored pass keys %s: %s", self.path, type(exc).__name__)
            return
        if issued_at.tzinfo is None or len(keys) != len(held):
            log.error("ignoring the stored pass keys %s: not as this gate writes them", self.path)
            return
        self._issued_at, self._hex, self._keys = issued_at, held, keys

    @property
    def ids(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(sorted(self._hex))

    @property
    def keys(self) -> Mapping[str, Ed25519PublicKey]:
        with self._lock:
            return self._keys

    @property
    def issued_at(self) -> datetime | None:
        return self._issued_at

    def offer(self, msg: PassKeys) -> bool:
        """Keep ``msg``'s keys if it was issued after those held (checked by the caller:
        check_pass_keys); True if kept. An older or equal one changes nothing, so a replayed
        PassKeys cannot bring back a key the hub has withdrawn. PassKeyFileError if the file
        cannot be written (the keys held stay)."""
        with self._lock:
            if self._issued_at is not None and msg.issued_at <= self._issued_at:
                return False
            held = dict(msg.keys)
            body = json.dumps({"issued_at": msg.issued_at.isoformat(), "keys": held}, sort_keys=True).encode()
            try:
                _write_atomically(self.path, body)
            except OSError as exc:
                raise PassKeyFileError(f"cannot write {self.path}: {exc}") from exc
            self._issued_at, self._hex, self._keys = msg.issued_at, held, public_keys(held)
            return True


# -- the entry counts -----------------------------------------------------------------------

_RECORD = re.compile(r"^([0-9A-F]{32}) (\d{1,10})$")


class EntryCounts:
    """How many times this gate has let each pass in: an append-only file, one line an entry.

    Why it errs towards refusing: the door opens first and no disk is waited on before it,
    yet the count is never behind the door. ``reserve`` appends the entry's line with one
    ``write`` before the relay is pulsed; that is a copy into the kernel's page cache, not a
    wait on the disk, and from then on a kill -9 of the agent cannot lose it (the kernel
    writes it out whatever becomes of the process). ``sync`` then fsyncs it after the pulse
    and before the event is handed to the outbox, so no "granted" event is ever kept for an
    entry the count could lose, even to a power cut. What a power cut in the few milliseconds
    between the pulse and that fsync can lose is one entry; a lost count is the only way a
    pass could get in once more than it allows, and the window for it is that fsync. A write
    that fails refuses the pass (``reserve`` returns False): an entry that cannot be counted
    is not given.

    A line torn by a power cut is cut off when the file is opened, and counts of passes whose
    end is more than KEEP_AFTER_S past are dropped then (the file is rewritten atomically).
    """

    def __init__(self, data_dir: str | Path, now: datetime) -> None:
        self.path = Path(data_dir) / COUNTS_FILE
        self._lock = threading.Lock()
        self._used: Counter[str] = Counter()
        self._until: dict[str, int] = {}
        self._fd: int | None = None
        self._dirty = False
        self._open(now)

    def _open(self, now: datetime) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            raw = b""
        lines = raw.split(b"\n")
        torn = lines.pop()  # after the last newline: empty, or a line a power cut tore
        records: list[tuple[str, int]] = []
        bad = 0
        for line in lines:
            m = _RECORD.match(line.decode("ascii", "replace"))
            if m is None:
                bad += 1
                continue
            records.append((m.group(1), int(m.group(2))))
        horizon = now.timestamp() - KEEP_AFTER_S
        kept = [(pid, until) for pid, until in records if until >= horizon]
        for pid, until in kept:
            self._used[pid] += 1
            self._until[pid] = until
        if torn or bad or len(kept) != len(records):
            if torn or bad:
                log.warning("pass entry counts %s: %d damaged line(s) dropped", self.path, bad + bool(torn))
            body = "".join(f"{pid} {until}\n" for pid, until in kept).encode()
            try:
                _write_atomically(self.path, body)
                torn = b""
            except OSError as exc:  # appended to as it is: the counts read are the counts held
                log.error("cannot rewrite the pass entry counts %s: %s", self.path, exc)
        try:
            self._fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            if torn:
                os.write(self._fd, b"\n")  # the next entry starts a line of its own
        except OSError as exc:  # reserve then refuses: no entry is given that cannot be counted
            log.error("cannot open the pass entry counts %s: %s; passes are refused", self.path, exc)

    def used(self, pass_id: str) -> int:
        with self._lock:
            return self._used[pass_id]

    def reserve(self, pass_id: str, valid_until: int) -> bool:
        """Count one entry (kernel-buffered write, before the pulse); False if it cannot be."""
        line = f"{pass_id} {valid_until}\n".encode("ascii")
        with self._lock:
            if self._fd is None:
                return False
            try:
                if os.write(self._fd, line) != len(line):
                    raise OSError("short write")
            except OSError as exc:
                log.error("cannot count an entry of pass %s in %s: %s; refused", pass_id, self.path, exc)
                return False
            self._used[pass_id] += 1
            self._until[pass_id] = valid_until
            self._dirty = True
            return True

    def sync(self) -> None:
        """Make the entries reserved so far durable (after the pulse, before the event)."""
        with self._lock:
            if self._fd is None or not self._dirty:
                return
            try:
                os.fsync(self._fd)
                self._dirty = False
            except OSError as exc:
                log.error("cannot fsync the pass entry counts %s: %s", self.path, exc)

    def close(self) -> None:
        self.sync()
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None


# -- the rule ----------------------------------------------------------------------------------

@dataclass(frozen=True)
class VisitOutcome:
    decision: Decision
    reason: Reason
    pass_id: str | None = None  # once the signature is checked
    valid_until: int | None = None
    why: str | None = None  # for a refusal: what was wrong, for the event's detail
    #: a grant that uses up one of what the pass allows (an entry in, a slip's one way out):
    #: the gate counts it durably before the event
    spends: bool = False
    kind: str | None = None  # "visit" | "slip", once the signature is checked
    ref: str | None = None  # what a person reads off it (a slip's number), if it says

    @property
    def granted(self) -> bool:
        return self.decision == Decision.GRANTED

    @property
    def detail(self) -> dict[str, str]:
        """What the event says besides its reason: a slip says so (and its number), a refusal why."""
        out = {"why": self.why} if self.why else {}
        if self.kind == "slip":
            out["pass_kind"] = "slip"
            if self.ref:
                out["ref"] = self.ref
        return out

    def refused(self, reason: Reason, why: str) -> "VisitOutcome":
        return replace(self, decision=Decision.DENIED, reason=reason, why=why[:MAX_WHY], spends=False)

    def uncounted(self) -> "VisitOutcome":
        """Refused because the gate cannot count the use: a use that cannot be counted is not given."""
        return self.refused(Reason.SLIP_USED if self.kind == "slip" else Reason.PASS_USED_UP,
                            "this gate cannot count the entry")


def blocked_by(entry: AclEntry | None) -> Reason | None:
    """What the gate's list says of a pass listed under its id: nothing (not listed, or
    active), revoked, or used up. A listed status the hub does not use for passes counts as
    revoked: a list entry that is not active never lets anyone in."""
    if entry is None or entry.status == CardStatus.ACTIVE:
        return None
    return PASS_BLOCKS.get(entry.status, Reason.PASS_REVOKED)


def decide_visit(text: str | None, problem: str | None, *, keys: Mapping[str, Ed25519PublicKey], site: str,
                 gate_id: str, now: datetime, direction: Direction, used: Callable[[str], int],
                 entry: Callable[[str], AclEntry | None]) -> VisitOutcome:
    """Grant or refuse one scan at one door. ``text`` None: the scanner refused the line
    (``problem`` says why). ``used(pass_id)``: entries this gate has counted; ``entry(pass_id)``:
    the gate's list entry under that id, if any."""
    if text is None:
        return VisitOutcome(Decision.DENIED, Reason.PASS_UNREADABLE, why=(problem or "unreadable")[:MAX_WHY])
    try:
        claims = read_pass(text, keys)
    except PassRefused as exc:
        return VisitOutcome(Decision.DENIED, exc.reason, why=str(exc)[:MAX_WHY])
    reason = check(claims, site=site, gate_id=gate_id, now=now, direction=direction,
                   used=used(claims.pass_id), blocked=blocked_by(entry(claims.pass_id)))
    slip = claims.kind == "slip"
    said = {"kind": claims.kind, "ref": claims.ref}
    if reason is None:
        return VisitOutcome(Decision.GRANTED, Reason.VALID_SLIP if slip else Reason.VALID_PASS, claims.pass_id,
                            claims.valid_until, spends=slip or direction == Direction.IN, **said)
    return VisitOutcome(Decision.DENIED, reason, claims.pass_id, claims.valid_until, **said)

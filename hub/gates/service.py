"""Gates: registration, what their status topic says, remote open.

A gate is known once it is registered (``gate-hub gate add``, which makes its key); its
access list is built then. A message from a gate the hub holds no key for is dropped
(hub.mqtt.Drops, rule ``unregistered_gate``), so no gate appears by first sight. "Online" is what the gate
last said on its retained status topic (its last will says offline), and a gate silent for
longer than hub.gate_stale_s is shown offline whatever it last said.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import sqlite_utils

from hub import audit
from hub.alarms import remote_opens
from hub.auth import Principal
from hub.db import Store
from hub.errors import BadInput, Conflict, Forbidden, NotFound
from hub.gates import acl
from hub.gates.keys import GateKeys
from protocols.commands import GateCommand, sign_command
from protocols.messages import GateStatus
from protocols.topics import BadTopic, check_name

log = logging.getLogger(__name__)

def _iso(dt: datetime) -> str:
    return dt.astimezone(timezone.utc).isoformat()


def _name(kind: str, value: str) -> str:
    try:
        return check_name(kind, value)
    except BadTopic as exc:
        raise BadInput(str(exc), rule=f"bad_{kind}", field=kind) from None


def register_gate(store: Store, gate_id: str, who: str, rotate: bool = False, secret_file: Path | None = None) -> str:
    """Register ``gate_id`` (or give it a new key with ``rotate``); returns the new key, hex.

    The key is kept sealed (hub.gates.keys) because the hub signs and verifies with it; it
    is shown once, to the installer. A rotated key reaches an online gate by itself.
    """
    return GateKeys(store, secret_file).register(gate_id, who, rotate)


def apply_status(db: sqlite_utils.Database, status: GateStatus, received: datetime) -> None:
    """Keep what a gate's status message says, and when the hub heard it."""
    if status.online and status.role == "gate":  # the forms first: a new gate's list is built with them
        acl.set_gate_forms(db, status.gate_id, status.uid_forms)
    acl.ensure_gate(db, status.gate_id)
    db.execute(
        """UPDATE gates SET online = ?, status_at = ?, status_received_at = ?, status_json = ?,
               reported_rev = ?, reported_checksum = ?, outbox_depth = ?,
               clock_offset_s = COALESCE(?, clock_offset_s)
           WHERE gate_id = ?""",
        [
            int(status.online),
            status.at.isoformat(),
            _iso(received),
            status.model_dump_json(),
            status.acl_rev,
            status.checksum,
            status.outbox_depth,
            # an offline status is the last will, stamped when the gate connected: no clock reading
            (received - status.at).total_seconds() if status.online else None,
            status.gate_id,
        ],
    )


#: a gate whose clock differs from the hub's by more than this is reported: it decides
#: validity dates and schedules by its own clock, and refuses commands past their expiry
CLOCK_DRIFT_S = 5.0


def is_online(row: dict[str, Any], now: datetime, stale_s: int) -> bool:
    if not row["online"] or not row["status_received_at"]:
        return False
    heard = datetime.fromisoformat(row["status_received_at"])
    return now - heard <= timedelta(seconds=stale_s)


def gate_view(row: dict[str, Any], head: tuple[int, str], now: datetime, stale_s: int) -> dict[str, Any]:
    status = json.loads(row["status_json"]) if row["status_json"] else {}
    return {
        "gate_id": row["gate_id"],
        "online": is_online(row, now, stale_s),
        "registered": bool(row["keys_sealed"]),
        "last_seen": row["status_received_at"],
        "status_at": row["status_at"],
        "acl_rev": row["reported_rev"],
        "checksum": row["reported_checksum"],
        "hub_acl_rev": head[0],
        "in_sync": row["reported_rev"] == head[0] and row["reported_checksum"] == head[1],
        "outbox_depth": row["outbox_depth"],
        "clock_offset_s": row["clock_offset_s"],
        "clock_drift": row["clock_offset_s"] is not None and abs(row["clock_offset_s"]) > CLOCK_DRIFT_S,
        "doors": status.get("doors", {}),
        "agent_version": status.get("agent_version"),
        "role": status.get("role", "gate"),
        "uid_forms": status.get("uid_forms", []),  # how its readers report cards besides the whole UID
    }


def list_gates(store: Store, stale_s: int, now: datetime | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(timezone.utc)
    with store.read() as db:
        return [
            gate_view(row, acl.head(db, row["gate_id"]), now, stale_s)
            for row in db.query("SELECT * FROM gates ORDER BY gate_id")
        ]


def get_gate(store: Store, gate_id: str, stale_s: int) -> dict[str, Any]:
    now = datetime.now(timezone.utc)
    with store.read() as db:
        rows = list(db.query("SELECT * FROM gates WHERE gate_id = ?", [gate_id]))
        if not rows:
            raise NotFound("no gate {gate}", rule="unknown_gate", field="gate_id", gate=gate_id)
        return gate_view(rows[0], acl.head(db, gate_id), now, stale_s)


def open_command(
    store: Store, principal: Principal, gate_id: str, door_id: str, stale_s: int, keys: GateKeys, site: str,
    reason: str | None = None,
) -> GateCommand:
    """Check, sign and audit a remote open; the caller publishes the command after this returns.

    The command is kept (hub.alarms.remote_opens) with who sent it and why, in the same
    transaction, so the gate's acknowledgement always finds it."""
    reason = remote_opens.check_reason(reason)
    if not principal.may_use_gate(gate_id):
        raise Forbidden("{who} may not open doors at gate {gate}", rule="gate_not_allowed", who=principal.who, gate=gate_id)
    _name("door_id", door_id)
    now = datetime.now(timezone.utc)
    with store.tx() as db:
        rows = list(db.query("SELECT * FROM gates WHERE gate_id = ?", [gate_id]))
        if not rows:
            raise NotFound("no gate {gate}", rule="unknown_gate", field="gate_id", gate=gate_id)
        row = rows[0]
        key = keys.signing_key(gate_id)
        if key is None:
            raise Conflict("gate {gate} has no command key: run gate-hub gate add {gate}", rule="gate_not_registered", gate=gate_id)
        if not is_online(row, now, stale_s):
            raise Conflict("gate {gate} is offline", rule="gate_offline", gate=gate_id)
        doors = json.loads(row["status_json"]).get("doors", {}) if row["status_json"] else {}
        if doors and door_id not in doors:
            raise NotFound("gate {gate} has no door {door}", rule="unknown_door", field="door_id", gate=gate_id, door=door_id)
        cmd = sign_command(gate_id, door_id, principal.who, key, now, site=site)
        remote_opens.record_sent(db, nonce=cmd.nonce, gate_id=gate_id, door_id=door_id, by=principal.who,
                                 reason=reason, sent_at=now, expires_at=cmd.expires_at)
        audit.record(db, principal.who, "remote_open", "gate", gate_id, reason, door_id=door_id, nonce=cmd.nonce)
    return cmd

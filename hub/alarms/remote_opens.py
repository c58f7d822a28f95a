"""Remote opens, accountable: who sent one and why, the gate's acknowledgement, the door's
result, and an alarm for a command the gate never acknowledged.

The row is written in the transaction that signs and audits the command, before it is
published, so the gate's answer can never arrive before the row it answers. The gate's
REMOTE_OPEN event carries the command's nonce in its detail; an older agent's does not, and
is matched to the oldest command still waiting at that door from the same sender.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Sequence

import sqlite_utils

from hub.alarms import service
from hub.errors import BadInput
from protocols.messages import EventKind, GateEvent

MAX_REASON = 200
UNACKNOWLEDGED = "remote_open_unacknowledged"
#: how far back an event without a nonce (an older agent) looks for the command it answers
MATCH_WINDOW = timedelta(minutes=2)

_iso = service._iso


def check_reason(reason: str | None) -> str | None:
    """The reason as kept: stripped; None when none was given (older clients send none)."""
    if reason is None:
        return None
    reason = reason.strip()
    if len(reason) > MAX_REASON:
        raise BadInput("the reason is longer than {max} characters", rule="reason_too_long", field="reason",
                       max=MAX_REASON)
    return reason or None


def record_sent(db: sqlite_utils.Database, *, nonce: str, gate_id: str, door_id: str, by: str, reason: str | None,
                sent_at: datetime, expires_at: datetime) -> None:
    db.execute(
        "INSERT INTO remote_opens (nonce, gate_id, door_id, by, reason, sent_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [nonce, gate_id, door_id, by, reason, _iso(sent_at), _iso(expires_at)],
    )


def record_failed(db: sqlite_utils.Database, nonce: str, now: datetime) -> None:
    """The command never left the hub (no broker): nothing for the gate to acknowledge."""
    db.execute("UPDATE remote_opens SET failed_at = ? WHERE nonce = ?", [_iso(now), nonce])


def _answered(db: sqlite_utils.Database, event: GateEvent) -> str | None:
    """The nonce of the command ``event`` answers, if the hub sent it."""
    nonce = event.detail.get("nonce")
    if nonce:
        found = db.execute("SELECT nonce FROM remote_opens WHERE nonce = ? AND gate_id = ?",
                           [nonce, event.gate_id]).fetchone()
        return found[0] if found else None
    by = event.detail.get("by")
    if event.kind != EventKind.REMOTE_OPEN or not by:
        return None
    since = _iso(event.at - MATCH_WINDOW)
    found = db.execute(
        """SELECT nonce FROM remote_opens WHERE gate_id = ? AND by = ? AND acked_at IS NULL AND sent_at >= ?
               AND (? IS NULL OR door_id = ?) ORDER BY sent_at LIMIT 1""",
        [event.gate_id, by, since, event.door_id, event.door_id]).fetchone()
    return found[0] if found else None


def on_remote_open(db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
    """The gate's answer to a command: it acted on it (granted) or refused it (denied, and why)."""
    nonce = _answered(db, event)
    if nonce is None:
        return
    db.execute(
        """UPDATE remote_opens SET acked_at = ?, ack_decision = ?, ack_reason = ?, ack_why = ?, ack_seq = ?
           WHERE nonce = ? AND acked_at IS NULL""",
        [_iso(event.at), event.decision.value if event.decision else None,
         str(event.reason) if event.reason is not None else None, event.detail.get("why"), seq, nonce],
    )


def on_open_result(db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
    """Whether the door's contact opened after the command (a door with a contact only)."""
    nonce = _answered(db, event)
    opened = event.detail.get("opened")
    if nonce is None or opened not in ("yes", "no"):
        return
    db.execute("UPDATE remote_opens SET opened = ?, result_at = ? WHERE nonce = ?", [opened, _iso(event.at), nonce])


def check_unacknowledged(db: sqlite_utils.Database, now: datetime, timeout_s: float) -> list[int]:
    """Each command the gate has not acknowledged within ``timeout_s`` becomes an alarm."""
    due = _iso(now - timedelta(seconds=timeout_s))
    raised: list[int] = []
    for row in list(db.query(
            """SELECT nonce, gate_id, door_id, by, reason, sent_at FROM remote_opens
               WHERE acked_at IS NULL AND failed_at IS NULL AND alarm_id IS NULL AND sent_at <= ? ORDER BY sent_at""",
            [due])):
        alarm_id = service.raise_alarm(db, UNACKNOWLEDGED, now, gate_id=row["gate_id"], door_id=row["door_id"],
                                       subject=row["nonce"],
                                       detail={"by": row["by"], "reason": row["reason"] or "", "sent_at": row["sent_at"]})
        if alarm_id is None:  # one is open for it already: that one is its alarm
            alarm_id = db.execute("SELECT id FROM alarms WHERE kind = ? AND subject = ? AND state = 'open'",
                                  [UNACKNOWLEDGED, row["nonce"]]).fetchone()[0]
        else:
            raised.append(alarm_id)
        db.execute("UPDATE remote_opens SET alarm_id = ? WHERE nonce = ?", [alarm_id, row["nonce"]])
    return raised


def by_nonces(db: sqlite_utils.Database, nonces: list[str],
              ack_seqs: Sequence[int] = ()) -> tuple[dict[str, dict[str, Any]], dict[int, dict[str, Any]]]:
    """The remote opens of these nonces, and those the events ``ack_seqs`` acknowledged, as a
    console shows them (with the sender's name): by nonce, and by acknowledging event."""
    if not nonces and not ack_seqs:
        return {}, {}
    rows = list(db.query(
        f"SELECT * FROM remote_opens WHERE nonce IN ({','.join('?' * len(nonces)) or 'NULL'})"
        f" OR ack_seq IN ({','.join('?' * len(ack_seqs)) or 'NULL'})", [*nonces, *ack_seqs]))
    names = service.person_names(db, {r["by"] for r in rows})
    views = [(r, remote_open_view(r, names)) for r in rows]
    return ({r["nonce"]: v for r, v in views},
            {r["ack_seq"]: v for r, v in views if r["ack_seq"] is not None and r["ack_seq"] in ack_seqs})


def remote_open_view(row: dict[str, Any], names: dict[str, str]) -> dict[str, Any]:
    return {
        "nonce": row["nonce"], "gate_id": row["gate_id"], "door_id": row["door_id"], "by": row["by"],
        "by_name": names.get(row["by"], row["by"]), "reason": row["reason"], "sent_at": row["sent_at"],
        "acked_at": row["acked_at"], "ack_decision": row["ack_decision"], "ack_reason": row["ack_reason"],
        "ack_why": row["ack_why"], "opened": row["opened"], "result_at": row["result_at"],
        "unacknowledged_alarm": row["alarm_id"],
    }

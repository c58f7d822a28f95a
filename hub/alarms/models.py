"""The alarms a guard answers, and the remote opens a guard sends: their tables.

An alarm stays open until a person acknowledges it with a note: the condition that raised it
going away (a door closed, a gate back online) does not close it, because a guard must have
seen it. At most one alarm is open per kind, gate, door and subject, so a flapping door
raises one alarm, not one per flap.

``version`` numbers every change to an alarm (raised, escalated, acknowledged) from one
sequence across the table: the alarm stream's event ids, so a console that reconnects with
Last-Event-ID gets each alarm's latest state it missed, once.

A remote open is kept from the moment the hub signs it: who sent it and why, then what the
gate said (its REMOTE_OPEN event, by the command's nonce) and what the door's contact did
(its OPEN_RESULT event). A command the gate has not acknowledged in time becomes an alarm.
"""

from __future__ import annotations

SCHEMA = """
CREATE TABLE IF NOT EXISTS alarms (
    id INTEGER PRIMARY KEY,
    kind TEXT NOT NULL,
    gate_id TEXT,
    door_id TEXT,
    subject TEXT,
    detail TEXT NOT NULL DEFAULT '{}',
    raised_at TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'acknowledged')),
    escalated_at TEXT,
    acked_at TEXT,
    acked_by TEXT,
    note TEXT,
    source_seq INTEGER,
    version INTEGER NOT NULL
);
-- one open alarm per kind, gate, door and subject
CREATE UNIQUE INDEX IF NOT EXISTS alarms_one_open
    ON alarms (kind, COALESCE(gate_id, ''), COALESCE(door_id, ''), COALESCE(subject, '')) WHERE state = 'open';
CREATE UNIQUE INDEX IF NOT EXISTS alarms_version ON alarms (version);
CREATE INDEX IF NOT EXISTS alarms_state ON alarms (state, raised_at);

CREATE TABLE IF NOT EXISTS remote_opens (
    nonce TEXT PRIMARY KEY,
    gate_id TEXT NOT NULL,
    door_id TEXT NOT NULL,
    by TEXT NOT NULL,
    reason TEXT,
    sent_at TEXT NOT NULL,
    expires_at TEXT NOT NULL,
    failed_at TEXT,
    acked_at TEXT,
    ack_decision TEXT,
    ack_reason TEXT,
    ack_why TEXT,
    ack_seq INTEGER,
    opened TEXT CHECK (opened IN ('yes', 'no')),
    result_at TEXT,
    alarm_id INTEGER REFERENCES alarms (id)
);
-- the check for commands no gate acknowledged: only the few still waiting
CREATE INDEX IF NOT EXISTS remote_opens_waiting ON remote_opens (sent_at)
    WHERE acked_at IS NULL AND failed_at IS NULL AND alarm_id IS NULL;
CREATE INDEX IF NOT EXISTS remote_opens_door ON remote_opens (gate_id, door_id, sent_at);
"""

#: the kinds of alarm (machine words; the pages translate them)
KINDS = ("door_forced", "door_held", "gate_offline", "device_degraded", "overstay", "watch_list_hit",
         "remote_open_unacknowledged", "incident_overdue")

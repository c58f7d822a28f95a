"""Gate status and sync requests off MQTT.

Status: kept per gate (online, heartbeat fields, clock offset). An empty retained payload
(a status topic being cleared) is ignored. Sync: answered on the gate's acl topic after the
transaction that may have built a new gate's list has committed; a whole list is handed to
hub.gates.snapshots, which builds and sends it on its own thread, so this (the MQTT intake)
thread goes straight back to the other gates' messages. Anything malformed,
speaking for another gate than its topic's, or not signed with the gate's key is dropped
and counted (hub.mqtt.Drops). Every answer is signed with the key the gate holds.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone

from hub.db import Store
from hub.events.reactions import Reactions
from hub.gates import acl, service
from hub.gates.keys import GateKeys
from hub.gates.snapshots import SnapshotSender
from hub.mqtt import Drops, HubMqtt, HubUnavailable
from protocols.messages import GateStatus, SyncRequest
from protocols.signing import signed_bytes
from protocols.topics import gate_topic

log = logging.getLogger(__name__)

#: a gate whose heartbeat shows a list that is not the hub's gets at most one unasked
#: snapshot this often, so a slow snapshot in flight is not sent again on every heartbeat
RECONCILE_EVERY_S = 30.0


class GateIngest:
    def __init__(self, store: Store, mqtt: HubMqtt, drops: Drops, site: str, keys: GateKeys,
                 reactions: Reactions | None = None) -> None:
        self.store = store
        #: what other domains do with a gate's status (alarms on offline, visitor-pass keys)
        self.reactions = reactions or Reactions(store)
        self.keys = keys
        self.mqtt = mqtt
        self.drops = drops
        self.site = site
        self.sync_answers = 0
        self._last_repair: dict[str, float] = {}
        self.snapshots = SnapshotSender(store, mqtt, site, keys)

    def stop(self) -> None:
        self.snapshots.stop()

    def handle_status(self, topic: str, payload: bytes) -> None:
        if not payload:
            return
        status = self.drops.from_gate("status", topic, payload, GateStatus)
        if status is None:
            return
        now = time.monotonic()
        with self.store.tx() as db:
            before = db.execute("SELECT online FROM gates WHERE gate_id = ?", [status.gate_id]).fetchone()
            service.apply_status(db, status, datetime.now(timezone.utc))
            self.reactions.status_kept(db, status, None if before is None or before[0] is None else bool(before[0]))
            repair = False
            due = now - self._last_repair.get(status.gate_id, -RECONCILE_EVERY_S) >= RECONCILE_EVERY_S
            if status.online and status.role == "gate" and status.checksum and due:
                acl.ensure_gate(db, status.gate_id)
                repair = acl.needs_repair(db, status.gate_id, status.acl_rev, status.checksum)
        if repair:
            self._last_repair[status.gate_id] = now
            log.warning("gate %s reports rev %s with a list that is not the hub's: sending a snapshot",
                        status.gate_id, status.acl_rev)
            self.snapshots.request(status.gate_id)

    def handle_sync(self, topic: str, payload: bytes) -> None:
        req = self.drops.from_gate("sync", topic, payload, SyncRequest)
        if req is None:
            return
        with self.store.tx() as db:
            answer = acl.decide_sync(db, req.gate_id, req.rev, req.checksum)
        if answer == acl.WHOLE_LIST:
            self.snapshots.request(req.gate_id)
            self.sync_answers += 1
        elif self._send(req.gate_id, answer):  # type: ignore[arg-type]
            self.sync_answers += 1

    def _send(self, gate_id: str, updates: list) -> bool:
        out = gate_topic(self.site, gate_id, "acl")
        key = self.keys.signing_key(gate_id)
        if key is None:
            return False
        try:
            for update in updates:
                self.mqtt.publish(out, signed_bytes(update, key, self.site, "acl"), qos=1, retain=False)
        except HubUnavailable:
            log.warning("broker went away while sending %s its list; it will ask again", gate_id)
            return False
        return True

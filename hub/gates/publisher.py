"""Publishes committed ACL log rows to the gates, after commit, as soon as they exist.

hub.gates.acl.card_changed wakes this thread from inside the writing transaction; the
thread then waits for the store lock, which that transaction holds until it ends, so it
reads only committed rows. It also looks once a second in case a wake was missed. Rows
are signed for each gate with the key it holds (hub.gates.keys). Rows
written before the hub started are not sent: gates resync with a SyncRequest when they
(re)connect, and a gate that misses a delta sees the gap.
"""

from __future__ import annotations

import logging

from hub.db import Store
from hub.gates import acl
from hub.gates.keys import GateKeys
from hub.gates.woken import WokenThread
from hub.mqtt import HubMqtt, HubUnavailable
from protocols.signing import signed_bytes
from protocols.topics import gate_topic

log = logging.getLogger(__name__)


class AclPublisher(WokenThread):
    name = "acl-publisher"

    def __init__(self, store: Store, mqtt: HubMqtt, site: str, keys: GateKeys) -> None:
        super().__init__()
        self.store = store
        self.keys = keys
        self.mqtt = mqtt
        self.site = site
        with store.read() as db:
            self._cursor = acl.max_log_id(db)
        self.published = 0

    def work(self) -> None:
        self.flush()

    def flush(self) -> None:
        # woken from inside the transaction that wrote the rows: wait for it to commit
        with self.store.read_latest() as db:
            last, per_gate = acl.log_after(db, self._cursor)
        for gate_id, rows in per_gate.items():
            topic = gate_topic(self.site, gate_id, "acl")
            key = self.keys.signing_key(gate_id)
            if key is None:
                continue
            for update in acl.deltas(gate_id, rows):
                try:
                    self.mqtt.publish(topic, signed_bytes(update, key, self.site, "acl"), qos=1, retain=False)
                    self.published += 1
                except HubUnavailable:
                    log.warning("broker away: gate %s will resync at rev %d", gate_id, update.rev)
        self._cursor = last

"""Sends gates their whole lists, on its own thread, from the stored entry texts.

A 100,000-card list is 200 chunks and 25 MB: built on the MQTT intake thread it held up
every other gate's events for a second or more. hub.gates.ingest decides (in its
transaction) that a gate needs its whole list and hands the gate id here; this thread reads
the list in one read transaction (``store.read()``: one consistent state, never waiting for
the writer nor delaying it) and publishes the chunks, each signed over the stored canonical
texts as they are (protocols.signing.signed_with_texts): no entry is parsed or serialised
again. A gate asked for twice before its turn gets one snapshot, of the newest state. A new
gate's list still being built in steps (hub.gates.acl.ensure_gate) is sent once built.
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict

from hub.db import Store
from hub.gates import acl
from hub.gates.keys import GateKeys
from hub.mqtt import HubMqtt, HubUnavailable
from protocols.signing import signed_with_texts
from protocols.topics import gate_topic

log = logging.getLogger(__name__)


#: how often a gate whose first list is still being built (hub.gates.projector) is looked at again
BUILDING_RETRY_S = 0.05


def snapshot_payloads(store: Store, gate_id: str, key: str, site: str) -> list[bytes] | None:
    """The signed chunks of the gate's whole list, as they go on the wire; None while its
    first list is still being built."""
    with store.read() as db:
        if acl.building(db, gate_id):
            return None
        parts = acl.snapshot_parts(db, gate_id)
    return [signed_with_texts(update, "upserts", texts, key, site, "acl") for update, texts in parts]


class SnapshotSender:
    def __init__(self, store: Store, mqtt: HubMqtt, site: str, keys: GateKeys) -> None:
        self.store = store
        self.mqtt = mqtt
        self.site = site
        self.keys = keys
        self.sent = 0  # snapshots sent whole
        self._queue: OrderedDict[str, None] = OrderedDict()
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None

    def request(self, gate_id: str) -> None:
        """Send ``gate_id`` its whole list soon (call after the deciding transaction commits)."""
        with self._cond:
            if self._thread is None and not self._stop:
                self._thread = threading.Thread(target=self._run, name="acl-snapshots", daemon=True)
                self._thread.start()
            self._queue[gate_id] = None
            self._cond.notify()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
            thread = self._thread
        if thread is not None:
            thread.join(5)

    def _run(self) -> None:
        waiting: list[str] = []  # gates whose lists are still being built
        while True:
            with self._cond:
                while not self._queue and not self._stop:
                    if waiting:  # nothing else to do: look at the builds again shortly
                        self._cond.wait(BUILDING_RETRY_S)
                        for gate_id in waiting:
                            self._queue.setdefault(gate_id, None)
                        waiting = []
                    else:
                        self._cond.wait()
                if self._stop:
                    return
                gate_id, _ = self._queue.popitem(last=False)
            try:
                if not self._send(gate_id):
                    waiting.append(gate_id)
            except Exception:
                log.exception("sending gate %s its list failed; it will ask again", gate_id)

    def _send(self, gate_id: str) -> bool:
        """False if the gate's list is not built yet (sent once it is)."""
        key = self.keys.signing_key(gate_id)
        if key is None:
            return True
        payloads = snapshot_payloads(self.store, gate_id, key, self.site)
        if payloads is None:
            return False
        topic = gate_topic(self.site, gate_id, "acl")
        try:
            for payload in payloads:
                self.mqtt.publish(topic, payload, qos=1, retain=False)
        except HubUnavailable:
            log.warning("broker went away while sending %s its list; it will ask again", gate_id)
            return True
        self.sent += 1
        return True

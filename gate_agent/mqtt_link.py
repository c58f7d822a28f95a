"""The agent's one MQTT connection (paho-mqtt 2.x).

On every (re)connect the gate says it is online (retained), subscribes to its acl and cmd
topics, tells the hub which ACL revision it holds, and sends what its outbox holds. Its
last will is the offline status, retained, so the hub sees a dead gate without asking.

Events leave the outbox through one sender thread, oldest first, at most ``window`` at a
time: a gate that was offline for a week does not pour a week of events into paho's
memory at once. paho keeps and resends its own unacknowledged messages across
reconnects of the same client, so an event is forgotten only on the broker's PUBACK.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Callable

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from gate_agent.config import AgentSection, MqttSection
from gate_agent.outbox import Outbox
from protocols.messages import GateStatus, SyncRequest
from protocols.mqtt_settings import login
from protocols.topics import gate_topic

log = logging.getLogger(__name__)

RECONNECT_MIN_S = 1


class MqttLink:
    def __init__(
        self,
        agent: AgentSection,
        mqtt_cfg: MqttSection,
        outbox: Outbox,
        *,
        status: Callable[[bool], GateStatus],
        sync: Callable[[], SyncRequest],
        on_acl: Callable[[bytes], None],
        on_cmd: Callable[[bytes], None],
        window: int = 500,
        max_inflight: int = 100,
    ) -> None:
        self.agent = agent
        self.cfg = mqtt_cfg
        self.outbox = outbox
        self._status = status
        self._sync = sync
        self._on_acl = on_acl
        self._on_cmd = on_cmd
        self.window = window
        self.topic_status = gate_topic(agent.site, agent.gate_id, "status")
        self.topic_event = gate_topic(agent.site, agent.gate_id, "event")
        self.topic_sync = gate_topic(agent.site, agent.gate_id, "sync")
        self.topic_acl = gate_topic(agent.site, agent.gate_id, "acl")
        self.topic_cmd = gate_topic(agent.site, agent.gate_id, "cmd")
        self.connected = threading.Event()
        #: connected and subscribed to acl and cmd: messages sent to the gate now arrive
        self.ready = threading.Event()
        self.connects = 0
        self._stop = threading.Event()
        self._kick = threading.Event()
        self._lock = threading.Lock()
        self._inflight: dict[int, str | None] = {}  # mid -> event_id (None: not an event)
        self._flying: set[str] = set()
        self._early: dict[int, float] = {}  # PUBACKs that beat publish() returning
        self._cursor = 0
        self._sender: threading.Thread | None = None
        #: held while the outbox is sent, and by ``paused`` (a key change)
        self._send_lock = threading.Lock()

        client_id = mqtt_cfg.client_id or f"gate-{agent.site}-{agent.gate_id}"
        c = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=True)
        c.max_inflight_messages_set(max_inflight)
        c.reconnect_delay_set(RECONNECT_MIN_S, mqtt_cfg.reconnect_max_s)
        login(c, mqtt_cfg)
        c.on_connect = self._on_connect
        c.on_disconnect = self._on_disconnect
        c.on_publish = self._on_publish
        c.on_message = self._on_message
        c.on_subscribe = self._on_subscribe
        self._client = c

    # -- life ------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background; retries with backoff until the broker is there."""
        self._client.will_set(self.topic_status, self._status(False).to_bytes(), qos=1, retain=True)
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self._client.loop_start()
        self._sender = threading.Thread(target=self._send_loop, name="outbox-sender", daemon=True)
        self._sender.start()

    def stop(self, timeout: float = 2.0) -> None:
        """Say offline (a clean disconnect sends no will), then disconnect."""
        self._stop.set()
        self._kick.set()
        if self._sender is not None:
            self._sender.join(timeout)
        if self.connected.is_set():
            info = self._client.publish(self.topic_status, self._status(False).to_bytes(), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout)
            except (RuntimeError, ValueError):
                pass
        self._client.disconnect()
        self._client.loop_stop()
        self.outbox.flush_acks()

    def paused(self) -> threading.Lock:
        """``with link.paused():`` no event leaves the outbox meanwhile (a key change)."""
        return self._send_lock

    def drain(self, timeout: float = 5.0) -> bool:
        """Wait until the broker has acknowledged everything published so far (True), or timeout."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if not self._inflight:
                    return True
            time.sleep(0.02)
        return False

    def reconnect_with_new_will(self) -> None:
        """Disconnect cleanly and connect again, so the broker holds a last will signed with
        the gate's new key (a will is only given with CONNECT). The connect then says
        online and asks for the list, signed with the new key. Not on paho's thread."""
        self._client.disconnect()
        self._client.loop_stop()
        self.ready.clear()
        self.connected.clear()
        self._client.will_set(self.topic_status, self._status(False).to_bytes(), qos=1, retain=True)
        self._client.connect_async(self.cfg.host, self.cfg.port, keepalive=self.cfg.keepalive_s)
        self._client.loop_start()

    def kick(self) -> None:
        """New events are in the outbox."""
        self._kick.set()

    # -- outgoing --------------------------------------------------------------------------

    def publish_status(self, status: GateStatus) -> None:
        self._publish_other(self.topic_status, status.to_bytes(), retain=True)

    def send_sync(self, req: SyncRequest) -> None:
        self._publish_other(self.topic_sync, req.to_bytes(), retain=False)

    def _publish_other(self, topic: str, payload: bytes, retain: bool) -> None:
        if not self.connected.is_set():
            return  # said again on the next connect
        info = self._client.publish(topic, payload, qos=1, retain=retain)
        self._track(info.mid, None)

    def _track(self, mid: int, event_id: str | None) -> None:
        with self._lock:
            if self._early.pop(mid, None) is not None:
                done = True
            else:
                self._inflight[mid] = event_id
                if event_id is not None:
                    self._flying.add(event_id)
                done = False
        if done and event_id is not None:
            self.outbox.ack(event_id)

    def _send_loop(self) -> None:
        while not self._stop.is_set():
            self._kick.wait(0.5)
            self._kick.clear()
            try:
                if self.connected.is_set():
                    with self._send_lock:
                        self._pump()
                self.outbox.flush_acks()
            except Exception:  # noqa: BLE001 - the sender must outlive one bad moment
                log.exception("outbox sender failed; retrying")
                self._stop.wait(0.5)

    def _pump(self) -> None:
        while self.connected.is_set() and not self._stop.is_set():
            with self._lock:
                room = self.window - len(self._flying)
                flying = set(self._flying)
            if room <= 0:
                return
            batch = self.outbox.after(self._cursor, room)
            if len(batch) < room:
                batch += [p for p in self.outbox.volatile() if p.event_id not in flying][: room - len(batch)]
            if not batch:
                return
            for p in batch:
                info = self._client.publish(self.topic_event, p.payload, qos=1)
                if info.rc not in (MQTTErrorCode.MQTT_ERR_SUCCESS, MQTTErrorCode.MQTT_ERR_NO_CONN):
                    log.warning("event publish refused (%s); will retry", info.rc)
                    return
                # NO_CONN: paho keeps the message and sends it on reconnect, so it is tracked too
                self._track(info.mid, p.event_id)
                if p.seq:
                    self._cursor = p.seq

    # -- paho callbacks (network thread) ---------------------------------------------------

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:
        if reason_code.is_failure:
            log.warning("broker %s:%s refused the gate: %s", self.cfg.host, self.cfg.port, reason_code)
            return
        self.connects += 1
        self.connected.set()
        log.info("connected to broker %s:%s", self.cfg.host, self.cfg.port)
        self.publish_status(self._status(True))
        client.subscribe([(self.topic_acl, 1), (self.topic_cmd, 1)])
        self.send_sync(self._sync())
        self._kick.set()

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:
        if any(rc.is_failure for rc in reason_codes):
            log.error("broker refused the gate's subscriptions: %s", reason_codes)
            return
        self.ready.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:
        if self.connected.is_set():
            log.warning("disconnected from broker: %s", reason_code)
        self.ready.clear()
        self.connected.clear()

    def _on_publish(self, client, userdata, mid, reason_code, properties) -> None:
        with self._lock:
            if mid not in self._inflight:
                now = time.monotonic()
                self._early[mid] = now
                for old in [m for m, t in self._early.items() if now - t > 60]:
                    del self._early[old]
                return
            event_id = self._inflight.pop(mid)
            if event_id is not None:
                self._flying.discard(event_id)
        if event_id is not None:
            self.outbox.ack(event_id)
            self._kick.set()

    def _on_message(self, client, userdata, msg) -> None:
        try:
            if msg.topic == self.topic_acl:
                self._on_acl(msg.payload)
            elif msg.topic == self.topic_cmd:
                if msg.retain:
                    log.warning("retained command on %s ignored: commands are never retained", msg.topic)
                    return
                self._on_cmd(msg.payload)
        except Exception:  # noqa: BLE001 - one bad message must not stop the network loop
            log.exception("handling a message on %s failed", msg.topic)

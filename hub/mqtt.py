"""The hub's one MQTT client.

Services never touch paho: they register a handler per topic filter before ``start`` and
publish through ``publish``. The client announces the hub on its retained status topic and
leaves an offline last will there, resubscribes on every (re)connect because a broker
restart forgets subscriptions, and reconnects by itself.

Publishing after commit: services write inside ``Store.tx()`` and publish only once that
block has returned, so a message never announces a change that was rolled back. ACL
changes are published by hub.gates.publisher, which a card change wakes (see
hub.gates.acl); one-off messages (a remote-open command) are published by the endpoint
right after its transaction.

Receiving: a message is acknowledged to the broker only once its handler has returned, and
handlers commit before they return, so nothing the hub was sent is lost to a crash. A
handler that raises (the disk full, the database locked) is not acknowledged: the message
is retried every RETRY_S while the broker holds back the rest for the hub's session, and on
a reconnect the broker sends it again itself. A malformed message is not an error: its
handler drops and counts it (Drops) and returns.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.config import MqttSection
from hub.errors import DomainError
from protocols.messages import BadMessage, parse, utcnow
from protocols.mqtt_settings import login
from protocols.topics import BadTopic, hub_status_topic, parse_gate_topic

log = logging.getLogger(__name__)
M = TypeVar("M")

#: how often a message whose handler failed is tried again
RETRY_S = 2.0

Handler = Callable[[str, bytes], None]


class HubUnavailable(DomainError):
    """The hub cannot reach the broker just now, so a message could not be sent."""

    status = 503
    rule = "broker_unavailable"


@dataclass
class _Sub:
    pattern: str
    qos: int
    handler: Handler


def hub_status_payload(online: bool) -> bytes:
    return json.dumps({"v": 1, "online": online, "at": utcnow().isoformat()}).encode()


class HubMqtt:
    def __init__(self, config: MqttSection, site: str, client_id: str | None = None) -> None:
        self.config = config
        self.site = site
        self.status_topic = hub_status_topic(site)
        self._subs: list[_Sub] = []
        self._connected = threading.Event()
        self._started = False
        self.connects = 0
        cid = config.client_id or client_id or f"gatehouse-hub-{site}"
        # A persistent session: a gate forgets an event once the broker has it, so while the
        # hub is away (restart, upgrade, crash) the broker must queue the hub's QoS 1 events.
        self.client = paho.Client(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False, manual_ack=True)
        self._retry: deque[tuple[Handler, paho.MQTTMessage]] = deque()
        self._retry_lock = threading.Lock()
        self._retry_thread: threading.Thread | None = None
        self.client.max_inflight_messages_set(100)
        self.client.max_queued_messages_set(10_000)
        self.client.reconnect_delay_set(min_delay=1, max_delay=5)
        login(self.client, config)
        self.client.will_set(self.status_topic, hub_status_payload(False), qos=1, retain=True)
        self.client.on_connect = self._on_connect
        self.client.on_disconnect = self._on_disconnect
        self.client.on_message = self._on_message
        self.client.on_subscribe = self._on_subscribe
        self._sub_mid: int | None = None

    # -- registration -------------------------------------------------------------------
    def subscribe(self, pattern: str, handler: Handler, qos: int = 1) -> None:
        """Call ``handler(topic, payload)`` on the network thread for each matching message."""
        self._subs.append(_Sub(pattern, qos, handler))
        self.client.message_callback_add(pattern, self._dispatch(handler))
        if self._connected.is_set():
            self.client.subscribe(pattern, qos)

    def _dispatch(self, handler: Handler) -> Callable:
        def call(client, _userdata, msg) -> None:
            with self._retry_lock:
                waiting = bool(self._retry)
            if waiting or not self._handled(handler, msg):
                with self._retry_lock:  # keep it (unacknowledged) until it can be stored
                    self._retry.append((handler, msg))

        return call

    def _handled(self, handler: Handler, msg: paho.MQTTMessage) -> bool:
        try:
            handler(msg.topic, msg.payload)
        except Exception:  # not acknowledged: retried, and the broker keeps the rest
            log.exception("handler for %s failed; the message will be retried", msg.topic)
            return False
        self.client.ack(msg.mid, msg.qos)
        return True

    def _retry_loop(self) -> None:
        while self._started:
            time.sleep(RETRY_S)
            while True:
                with self._retry_lock:
                    if not self._retry:
                        break
                    handler, msg = self._retry[0]
                if not self._handled(handler, msg):
                    break
                with self._retry_lock:
                    if self._retry and self._retry[0][1] is msg:
                        self._retry.popleft()

    @property
    def retrying(self) -> int:
        """Messages received but not yet stored (and so not acknowledged)."""
        with self._retry_lock:
            return len(self._retry)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting while the broker is away."""
        self._started = True
        self.client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive_s)
        self.client.loop_start()
        self._retry_thread = threading.Thread(target=self._retry_loop, name="mqtt-retry", daemon=True)
        self._retry_thread.start()

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self._connected.is_set():
            info = self.client.publish(self.status_topic, hub_status_payload(False), qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError):
                pass
        self.client.disconnect()
        self.client.loop_stop()
        self._connected.clear()

    def wait_connected(self, timeout: float = 5.0) -> bool:
        return self._connected.wait(timeout)

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- publishing -----------------------------------------------------------------------
    def publish(self, topic: str, payload: bytes, qos: int = 1, retain: bool = False) -> None:
        """Queue a message; raise HubUnavailable when the broker is not connected.

        Refusing while disconnected (instead of letting paho queue) keeps a guard from being
        told a gate was opened when the command is sitting in a queue.
        """
        if not self._connected.is_set():
            raise HubUnavailable("the hub is not connected to the MQTT broker")
        info = self.client.publish(topic, payload, qos=qos, retain=retain)
        if info.rc != paho.MQTT_ERR_SUCCESS:
            raise HubUnavailable(f"publish failed: {paho.error_string(info.rc)}")

    # -- paho callbacks (network thread) ---------------------------------------------------
    def _on_connect(self, client, _userdata, _flags, reason_code, _properties) -> None:
        if reason_code.is_failure:
            log.warning("MQTT connect refused: %s", reason_code)
            return
        self.connects += 1
        client.publish(self.status_topic, hub_status_payload(True), qos=1, retain=True)
        log.info("MQTT connected to %s:%s", self.config.host, self.config.port)
        if not self._subs:
            self._connected.set()
            return
        # "connected" means ready: set once the broker has acknowledged every subscription
        _rc, self._sub_mid = client.subscribe([(s.pattern, s.qos) for s in self._subs])

    def _on_subscribe(self, _client, _userdata, mid, reason_codes, _properties) -> None:
        if mid != self._sub_mid:
            return
        failed = [rc for rc in reason_codes if rc.is_failure]
        if failed:
            log.error("the broker refused %d of the hub's subscriptions: %s", len(failed), failed)
        self._connected.set()

    def _on_disconnect(self, _client, _userdata, _flags, reason_code, _properties) -> None:
        self._connected.clear()
        with self._retry_lock:  # the broker sends these again on reconnect; their mids die here
            self._retry.clear()
        if self._started:
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, _client, _userdata, msg) -> None:
        log.debug("unhandled MQTT message on %s", msg.topic)


class Drops:
    """Messages the hub refused, counted per topic channel and reason, for /api/v1/health/mqtt.

    Refusing is logged (topic and reason, never the payload: it may carry anything).
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.last: dict[str, str] = {}

    def drop(self, channel: str, topic: str, reason: str) -> None:
        with self._lock:
            self.counts[channel] = self.counts.get(channel, 0) + 1
            self.last[channel] = reason
        log.warning("dropped message on %s: %s", topic, reason)

    def from_gate(self, channel: str, topic: str, payload: bytes, model: type[M]) -> M | None:
        """The message if it parses and speaks for the gate in its topic; otherwise dropped.

        A gate may only speak for itself (the broker ACL pins each gate's login to its own
        topics, and the hub checks again here).
        """
        try:
            where = parse_gate_topic(topic)
            msg = parse(model, payload)
        except (BadTopic, BadMessage) as exc:
            self.drop(channel, topic, str(exc))
            return None
        if msg.gate_id != where.gate_id:
            self.drop(channel, topic, f"gate_id {msg.gate_id!r} is not the topic's gate {where.gate_id!r}")
            return None
        return msg

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"total": sum(self.counts.values()), "by_channel": dict(self.counts), "last_reason": dict(self.last)}

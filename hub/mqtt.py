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
malformed message is not an error: its handler drops and counts it (Drops) and returns.
A handler that raises is one of two things (hub.deadletters.store.storage_failed says which):
- the store failing (disk full, database locked): not acknowledged; the message is retried
  every RETRY_S, in order, with everything received after it waiting behind it (it would
  fail the same way), and on a reconnect the broker sends it again itself. Never given up.
- anything else (a poison message: a value or a bug its content reaches): tried again at
  once, POISON_TRIES times in all; then kept as a dead letter (hub.deadletters) and
  acknowledged, and intake goes on. If keeping it fails, it is held like a storage failure.
Poison is handled in place, not set aside: paho 2.x sends a PUBACK the moment ``ack`` is
called, in whatever order, but MQTT 3.1.1 (4.6) wants them in the order the messages came,
and every unacknowledged message holds one of the broker's in-flight slots for this client
(mosquitto's max_inflight_messages, 20 by default), which set-aside poison would fill. In
place, a poison costs the messages behind it POISON_TRIES handler calls (milliseconds).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Callable, Protocol, Sequence, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.config import MqttSection
from hub.deadletters.store import storage_failed
from hub.errors import DomainError
from protocols.messages import BadMessage, parse, utcnow
from protocols.mqtt_settings import login
from protocols.signing import BadSignature, verify
from protocols.topics import BadTopic, hub_status_topic, parse_gate_topic

log = logging.getLogger(__name__)
M = TypeVar("M")

#: how often a message whose handler failed for want of storage is tried again
RETRY_S = 2.0
#: calls of a handler that fails for any other reason before its message is a dead letter
POISON_TRIES = 3

Handler = Callable[[str, bytes], None]


class DeadLetterSink(Protocol):
    def keep(self, topic: str, payload: bytes, exc: BaseException) -> bool:
        """Keep a message that failed every try (True: new; False: kept before); raise if it cannot."""


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
    def __init__(
        self, config: MqttSection, site: str, client_id: str | None = None, dead_letters: DeadLetterSink | None = None
    ) -> None:
        self.config = config
        self.dead_letters = dead_letters
        self.dead_lettered = 0  # new dead letters kept since start
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
        """Handle and acknowledge ``msg``, or keep it as a dead letter and acknowledge it;
        False (not acknowledged: retry later) only when the storage failed."""
        topic = _topic_text(msg)
        failure: Exception | None = None
        for _ in range(POISON_TRIES):
            try:
                handler(topic, msg.payload)
            except Exception as exc:  # noqa: BLE001 - every failure is either retried or kept
                if storage_failed(exc):
                    log.exception("handler for %s could not store; the message will be retried", topic)
                    return False
                failure = exc
                continue
            self.client.ack(msg.mid, msg.qos)
            return True
        assert failure is not None
        if self.dead_letters is None:
            log.error("handler for %s failed %d times (%s); no dead-letter store: retried", topic,
                      POISON_TRIES, type(failure).__name__, exc_info=failure)
            return False
        try:
            new = self.dead_letters.keep(topic, msg.payload, failure)
        except Exception:  # noqa: BLE001 - not kept, so not acknowledged: retried like a storage failure
            log.exception("could not keep the message on %s as a dead letter; it will be retried", topic)
            return False
        if new:
            self.dead_lettered += 1
            log.error("message on %s failed %d times; kept as a dead letter", topic, POISON_TRIES, exc_info=failure)
        else:  # the broker delivered a known poison again (a retained status, a queued copy)
            log.info("message on %s is a known dead letter (%s); acknowledged", topic, type(failure).__name__)
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

    def _on_message(self, client, _userdata, msg) -> None:
        # no handler (or a topic that is not UTF-8): acknowledged, or it would hold a slot forever
        client.ack(msg.mid, msg.qos)
        log.debug("unhandled MQTT message on %s", _topic_text(msg))


def _topic_text(msg: paho.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:
        return bytes(msg._topic).decode("utf-8", "replace")  # noqa: SLF001 - paho keeps the raw bytes there


#: per-gate drop counters kept for at most this many gate ids (topics can name any id)
MAX_GATES_COUNTED = 1000


class Drops:
    """Messages the hub refused, counted per topic channel, reason and gate, for
    /api/v1/health/mqtt and the gate list.

    Refusing is logged (topic and reason, never the payload: it may carry anything).

    Every message from a gate must be signed with that gate's key (protocols.signing):
    ``keys(gate_id)`` gives the keys the hub holds for it (hub.gates.keys.GateKeys.keys,
    cached there); none: dropped as ``unregistered_gate``; no key matches: ``bad_signature``.
    ``verified(gate_id, index)`` is told which key signed each accepted message (key
    rotation: hub.gates.keys.KeyPusher).
    """

    def __init__(
        self,
        keys: Callable[[str], Sequence[str]] | None = None,
        verified: Callable[[str, int], None] | None = None,
    ) -> None:
        self._lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.last: dict[str, str] = {}
        self.by_rule: dict[str, int] = {}
        self.by_gate: dict[str, dict[str, int]] = {}
        self.keys = keys
        self.verified = verified

    def drop(self, channel: str, topic: str, reason: str, rule: str = "malformed", gate_id: str | None = None) -> None:
        with self._lock:
            self.counts[channel] = self.counts.get(channel, 0) + 1
            self.last[channel] = reason
            self.by_rule[rule] = self.by_rule.get(rule, 0) + 1
            if gate_id is not None:
                if gate_id not in self.by_gate and len(self.by_gate) >= MAX_GATES_COUNTED:
                    gate_id = "(other)"
                per = self.by_gate.setdefault(gate_id, {})
                per[rule] = per.get(rule, 0) + 1
        log.warning("dropped message on %s (%s): %s", topic, rule, reason)

    def forged(self, gate_id: str) -> int:
        """Messages on this gate's topics refused for their signature."""
        with self._lock:
            return self.by_gate.get(gate_id, {}).get("bad_signature", 0)

    def from_gate(self, channel: str, topic: str, payload: bytes, model: type[M]) -> M | None:
        """The message if it parses, speaks for the gate in its topic and is signed by that
        gate's key for this site and channel; otherwise dropped.

        A gate may only speak for itself (the broker ACL pins each gate's login to its own
        topics, and the hub checks again here: the gate id is in what is signed).
        """
        try:
            where = parse_gate_topic(topic)
            msg = parse(model, payload)
        except (BadTopic, BadMessage) as exc:
            self.drop(channel, topic, str(exc))
            return None
        if msg.gate_id != where.gate_id:
            self.drop(channel, topic, f"gate_id {msg.gate_id!r} is not the topic's gate {where.gate_id!r}",
                      "wrong_gate", where.gate_id)
            return None
        keys = self.keys(where.gate_id) if self.keys is not None else ()
        if not keys:
            self.drop(channel, topic, f"gate {where.gate_id!r} is not registered (gate-hub gate add)",
                      "unregistered_gate", where.gate_id)
            return None
        try:
            index = verify(msg, keys, where.site, where.channel, where.gate_id)
        except BadSignature as exc:
            self.drop(channel, topic, str(exc), "bad_signature", where.gate_id)
            return None
        if self.verified is not None:
            try:
                self.verified(where.gate_id, index)
            except Exception:  # noqa: BLE001 - key bookkeeping must not cost the message
                log.exception("key bookkeeping for gate %s failed", where.gate_id)
        return msg

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"total": sum(self.counts.values()), "by_channel": dict(self.counts), "last_reason": dict(self.last),
                    "by_rule": dict(self.by_rule), "by_gate": {g: dict(r) for g, r in self.by_gate.items()}}

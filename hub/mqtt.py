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

Receiving: paho's network thread only queues what arrives; one worker thread
("mqtt-intake") runs the handlers in arrival order, so a slow handler or an fsync never
stops paho reading the wire (or answering the broker's keepalive). Handlers registered with ``batch=store``
(events: many a second from many gates) are run in groups: the worker takes what is
queued (at most MAX_BATCH, and no more once the transaction has been open BATCH_S) into
ONE transaction of that store, so one commit (one fsync) stores them all. Any other handler
runs alone, in its turn, as it always did. A batch is first run plainly, one handler call
after another; only if a handler raises is the whole transaction rolled back and the batch
run again with each message in its own savepoint (below). A savepoint is two statements
more per message, a tenth of storing an event, and every statement lets paho's thread take
the interpreter in the middle of the batch; a poison is rare.

A message is acknowledged to the broker only once the transaction holding it has
committed, and acknowledgements go out in the order the messages came (MQTT 3.1.1, 4.6),
so nothing the hub was sent is lost to a crash: what was not acknowledged, the broker
sends again. A malformed message is not an error: its handler drops and counts it (Drops)
and returns. A handler that raises is one of two things (hub.deadletters.store.storage_failed
says which):
- the store failing (disk full, database locked): its whole batch is rolled back and
  nothing in it is acknowledged; it is retried every RETRY_S, in order, with everything
  received after it waiting behind it (it would fail the same way), and on a reconnect the
  broker sends it again itself. Never given up.
- anything else (a poison message: a value or a bug its content reaches): the batch is run
  again with savepoints; the poison's savepoint is rolled back and it is tried again at
  once, POISON_TRIES times in all; then kept as a dead letter (hub.deadletters, in the same
  transaction as the good messages around it) and acknowledged, and intake goes on. If
  keeping it fails, it is held like a storage failure.
Poison is handled in place, not set aside: paho 2.x sends a PUBACK the moment ``ack`` is
called, in whatever order, but MQTT 3.1.1 (4.6) wants them in the order the messages came,
and every unacknowledged message holds one of the broker's in-flight slots for this client
(mosquitto's max_inflight_messages, 20 by default), which set-aside poison would fill. In
place, a poison costs the messages behind it POISON_TRIES handler calls (milliseconds), and
the messages before it in its batch a second call each (their first was rolled back; what
a handler does outside the store, such as Drops counting a malformed message, it does
twice then).

Side effects of a batched handler (waking live pages, counters, logs) go through
``Store.after_commit``, so they happen once, and only for what was kept. Counters of this
class (``dead_lettered``) follow the same rule.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Callable, Protocol, Sequence, TypeVar

import paho.mqtt.client as paho
from paho.mqtt.enums import CallbackAPIVersion

from hub.config import MqttSection
from hub.deadletters.store import storage_failed
from hub.errors import DomainError
from protocols.messages import BadMessage, parse_received, utcnow
from protocols.mqtt_readahead import ReadAheadClient
from protocols.mqtt_settings import login
from protocols.signing import BadSignature, verify
from protocols.topics import BadTopic, hub_status_topic, parse_gate_topic

if TYPE_CHECKING:
    from hub.db import Store

log = logging.getLogger(__name__)
M = TypeVar("M")

#: how often a message whose handler failed for want of storage is tried again
RETRY_S = 2.0
#: calls of a handler that fails for any other reason before its message is a dead letter
POISON_TRIES = 3
#: most messages stored in one transaction (one commit, one fsync)
MAX_BATCH = 500
#: no more messages join a transaction once it has been open this long, so the store's
#: write lock is never held long for intake (a revocation waits for it)
BATCH_S = 0.05

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
    batch: "Store | None" = None


@dataclass(eq=False)
class _Received:
    """A message waiting for its handler; ``session`` is the connection it came on (its mid
    means nothing on another: the broker sends it again there)."""

    sub: _Sub | None  # None: no handler; acknowledged in its turn
    msg: paho.MQTTMessage
    session: int


class _Held(Exception):
    """A message of a batch cannot be stored now: the batch is rolled back and retried."""


class _Careful(Exception):
    """A handler raised in a batch run without savepoints: rolled back, run again with them.
    ``item`` is the message whose handler raised (one of its POISON_TRIES tries is spent)."""

    def __init__(self, item: _Received, failure: Exception) -> None:
        super().__init__(item)
        self.item, self.failure = item, failure


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
        self.client = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=cid, clean_session=False, manual_ack=True)
        self._queue: deque[_Received] = deque()
        self._wake = threading.Condition()
        self._session = 0  # which connection a message came on
        self._held = False  # the head of the queue failed for want of storage
        self._stopping = threading.Event()
        self._worker: threading.Thread | None = None
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
    def subscribe(self, pattern: str, handler: Handler, qos: int = 1, batch: "Store | None" = None) -> None:
        """Call ``handler(topic, payload)`` on the intake worker for each matching message;
        with ``batch``, inside a transaction of that store shared with other messages (the
        handler's own ``tx()`` joins it; side effects through ``batch.after_commit``)."""
        sub = _Sub(pattern, qos, handler, batch)
        self._subs.append(sub)
        self.client.message_callback_add(pattern, self._enqueuer(sub))
        if self._connected.is_set():
            self.client.subscribe(pattern, qos)

    def _enqueuer(self, sub: _Sub | None) -> Callable:
        def enqueue(_client, _userdata, msg) -> None:
            with self._wake:
                self._queue.append(_Received(sub, msg, self._session))
                self._wake.notify()

        return enqueue

    # -- the intake worker ----------------------------------------------------------------
    def _intake(self) -> None:
        while True:
            with self._wake:
                while not self._queue and self._started:
                    self._wake.wait()
                if not self._started:
                    return
                head = self._queue[0]
            store = head.sub.batch if head.sub is not None else None
            done = self._one(head) if store is None else self._batch(store)
            if done is None:
                self._held = True
                self._stopping.wait(RETRY_S)
                continue
            self._held = False
            self._settle(done)

    def _next(self, index: int, store: "Store", session: int) -> _Received | None:
        """The queued message at ``index`` if it joins a batch in ``store`` now."""
        with self._wake:
            if self._session != session or index >= len(self._queue) or index >= MAX_BATCH:
                return None
            item = self._queue[index]
        return item if item.sub is not None and item.sub.batch is store else None

    def _settle(self, done: list[_Received]) -> None:
        """Acknowledge what is stored, in arrival order, and take it off the queue."""
        with self._wake:
            session = self._session
            for item in done:
                if self._queue and self._queue[0] is item:
                    self._queue.popleft()
        for item in done:
            if item.session == session:  # a reconnect since: the broker sends it again
                self.client.ack(item.msg.mid, item.msg.qos)

    def _one(self, item: _Received) -> list[_Received] | None:
        """Handle a message alone (its handler commits its own transactions); None: held."""
        if item.sub is None:
            log.debug("unhandled MQTT message on %s", _topic_text(item.msg))
            return [item]
        try:
            self._handled(item, None)
        except _Held:
            return None
        return [item]

    def _batch(self, store: "Store") -> list[_Received] | None:
        """Handle the queued messages that batch in ``store``, from the front, in one
        transaction; what committed (None: held, nothing kept). Run plainly first; if a
        handler raises, rolled back and run again with a savepoint for each message."""
        try:
            return self._batch_run(store, careful=None)
        except _Careful as raised:
            return self._batch_run(store, careful=raised)

    def _batch_run(self, store: "Store", careful: _Careful | None) -> list[_Received] | None:
        """One try at a batch. ``careful`` (what raised in the plain run): each message in a
        savepoint (``_handled``); None: _Careful as soon as a handler raises for any reason but
        storage. Messages that arrive while it is open (or waits for the store's lock) join
        it, up to MAX_BATCH and BATCH_S."""
        done: list[_Received] = []
        with self._wake:
            session = self._session
        try:
            with store.tx():
                began = time.monotonic()
                while not done or time.monotonic() - began < BATCH_S:
                    item = self._next(len(done), store, session)
                    if item is None:
                        break
                    if careful is None:
                        self._plainly(item)
                    else:
                        self._handled(item, store, careful.failure if item is careful.item else None)
                    done.append(item)
        except _Held:
            return None
        except _Careful:
            raise
        except Exception:  # noqa: BLE001 - the commit failed: nothing of the batch is kept
            log.exception("a batch of %d messages could not be committed; it will be retried", len(done))
            return None
        return done

    def _plainly(self, item: _Received) -> None:
        """Run the handler in the batch's transaction, without a savepoint."""
        assert item.sub is not None
        try:
            item.sub.handler(_topic_text(item.msg), item.msg.payload)
        except Exception as exc:  # noqa: BLE001 - told apart as _handled does
            if storage_failed(exc):
                log.exception("handler for %s could not store; the message will be retried", _topic_text(item.msg))
                raise _Held from exc
            raise _Careful(item, exc) from exc

    def _handled(self, item: _Received, store: "Store | None", failed: Exception | None = None) -> None:
        """Run the handler (in a savepoint of ``store``'s open transaction, if given), or keep
        the message as a dead letter; _Held when it cannot be stored now. ``failed``: what the
        handler raised for it in its batch's plain run (one of its tries)."""
        assert item.sub is not None
        handler, msg = item.sub.handler, item.msg
        topic = _topic_text(msg)
        step = store.savepoint if store is not None else nullcontext
        failure = failed
        for _ in range(POISON_TRIES - (failed is not None)):
            try:
                with step():
                    handler(topic, msg.payload)
            except Exception as exc:  # noqa: BLE001 - every failure is either retried or kept
                if storage_failed(exc):
                    log.exception("handler for %s could not store; the message will be retried", topic)
                    raise _Held from exc
                failure = exc
                continue
            return
        assert failure is not None
        if self.dead_letters is None:
            log.error("handler for %s failed %d times (%s); no dead-letter store: retried", topic,
                      POISON_TRIES, type(failure).__name__, exc_info=failure)
            raise _Held from failure
        try:
            with step():
                new = self.dead_letters.keep(topic, msg.payload, failure)
        except Exception as exc:  # noqa: BLE001 - not kept, so not acknowledged: retried like a storage failure
            log.exception("could not keep the message on %s as a dead letter; it will be retried", topic)
            raise _Held from exc

        def kept() -> None:
            if new:
                self.dead_lettered += 1
                log.error("message on %s failed %d times; kept as a dead letter", topic, POISON_TRIES,
                          exc_info=failure)
            else:  # the broker delivered a known poison again (a retained status, a queued copy)
                log.info("message on %s is a known dead letter (%s); acknowledged", topic, type(failure).__name__)

        if store is not None:
            store.after_commit(kept)
        else:
            kept()

    @property
    def retrying(self) -> int:
        """Messages received but not stored, because the store failed (not acknowledged)."""
        with self._wake:
            return len(self._queue) if self._held else 0

    @property
    def queued(self) -> int:
        """Messages received and not yet stored and acknowledged."""
        with self._wake:
            return len(self._queue)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        """Connect in the background; paho keeps reconnecting while the broker is away."""
        self._started = True
        self._stopping.clear()
        self._worker = threading.Thread(target=self._intake, name="mqtt-intake", daemon=True)
        self._worker.start()
        self.client.connect_async(self.config.host, self.config.port, keepalive=self.config.keepalive_s)
        self.client.loop_start()

    def stop(self) -> None:
        if not self._started:
            return
        with self._wake:
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
        with self._wake:
            self._stopping.set()
            self._wake.notify_all()
        if self._worker is not None:  # let a batch under way commit before the store closes
            self._worker.join(10)

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
        with self._wake:  # the broker sends these again on reconnect; their mids die here
            self._queue.clear()
            self._session += 1
        if self._started:
            log.warning("MQTT disconnected (%s); reconnecting", reason_code)

    def _on_message(self, client, userdata, msg) -> None:
        # no handler (or a topic that is not UTF-8): acknowledged in its turn, or it would hold a slot forever
        self._enqueuer(None)(client, userdata, msg)


def _topic_text(msg: paho.MQTTMessage) -> str:
    try:
        return msg.topic
    except UnicodeDecodeError:
        return bytes(msg._topic).decode("utf-8", "replace")  # noqa: SLF001 - paho keeps the raw bytes there


#: per-gate drop counters kept for at most this many gate ids (topics can name any id)
MAX_GATES_COUNTED = 1000

#: each gate's few topics recur with every message, so each is split and checked once
#: (bounded: a topic can name any id; a refused one raises, which is not kept)
_gate_topic = lru_cache(maxsize=4 * MAX_GATES_COUNTED)(parse_gate_topic)


class Drops:
    """Messages the hub refused, counted per topic channel, reason and gate, for
    /api/v1/health/mqtt and the gate list.

    Refusing is logged (topic and reason, never the payload: it may carry anything).

    Every message from a gate must be signed with that gate's key (protocols.signing):
    ``keys(gate_id)`` gives the keys the hub holds for it (hub.gates.keys.GateKeys.keys,
    cached there); none: dropped as ``unregistered_gate``; no key matches: ``bad_signature``.
    ``verified(gate_id, index)`` is told which key signed each accepted message of a gate
    that holds more than one (key rotation: hub.gates.keys.KeyPusher; with one key there is
    nothing to confirm). ``from_gate(..., keys=)`` lets a caller look keys up its own way
    (hub.events.ingest reuses them within one transaction).
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

    def from_gate(
        self, channel: str, topic: str, payload: bytes, model: type[M],
        keys: Callable[[str], Sequence[str]] | None = None,
    ) -> M | None:
        """The message if it parses, speaks for the gate in its topic and is signed by that
        gate's key for this site and channel; otherwise dropped.

        A gate may only speak for itself (the broker ACL pins each gate's login to its own
        topics, and the hub checks again here: the gate id is in what is signed). The
        signature is checked over the bytes as received (the wire form, protocols.signing
        ``_raw_body``), then over the JSON as received (an older gate's field order:
        ``_received_body`` says why that is as strong), and over the model's dump only if both fail.
        """
        try:
            where = _gate_topic(topic)
            msg, received = parse_received(model, payload)
        except (BadTopic, BadMessage) as exc:
            self.drop(channel, topic, str(exc))
            return None
        if msg.gate_id != where.gate_id:
            self.drop(channel, topic, f"gate_id {msg.gate_id!r} is not the topic's gate {where.gate_id!r}",
                      "wrong_gate", where.gate_id)
            return None
        lookup = keys or self.keys
        held = lookup(where.gate_id) if lookup is not None else ()
        if not held:
            self.drop(channel, topic, f"gate {where.gate_id!r} is not registered (gate-hub gate add)",
                      "unregistered_gate", where.gate_id)
            return None
        try:
            index = verify(msg, held, where.site, where.channel, where.gate_id, raw=payload,
                           received=received if isinstance(received, dict) else None)
        except BadSignature as exc:
            self.drop(channel, topic, str(exc), "bad_signature", where.gate_id)
            return None
        if self.verified is not None and len(held) > 1:
            try:
                self.verified(where.gate_id, index)
            except Exception:  # noqa: BLE001 - key bookkeeping must not cost the message
                log.exception("key bookkeeping for gate %s failed", where.gate_id)
        return msg

    def snapshot(self) -> dict[str, object]:
        with self._lock:
            return {"total": sum(self.counts.values()), "by_channel": dict(self.counts), "last_reason": dict(self.last),
                    "by_rule": dict(self.by_rule), "by_gate": {g: dict(r) for g, r in self.by_gate.items()}}

"""The hub's paho client reads the broker's socket in blocks: nothing is lost, reordered or
left waiting in the block, on real sockets and a real mosquitto."""

from __future__ import annotations

import socket
import threading
import uuid

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protocols.mqtt_readahead import READ_BYTES, ReadAhead, ReadAheadClient
from tests.rigs.wait import wait_for


def test_a_block_is_handed_out_as_asked_and_counted_as_pending() -> None:
    ours, theirs = socket.socketpair()
    ours.setblocking(False)
    sock = ReadAhead(ours)
    try:
        theirs.sendall(b"\x30\x05hello" + b"\x30\x03abc")
        wait_for(lambda: ours.recv(1, socket.MSG_PEEK), timeout=5, what="the bytes at our end")
        assert sock.recv(1) == b"\x30"
        assert sock.pending() == 11
        assert sock.recv(1) == b"\x05"
        assert sock.recv(5) == b"hello"
        assert sock.recv(100) == b"\x30\x03abc"  # what is left of the block, no more
        assert sock.pending() == 0
        with pytest.raises(BlockingIOError):  # nothing more: as the socket itself says it
            sock.recv(1)
        theirs.sendall(b"x" * (READ_BYTES + 10))
        wait_for(lambda: len(ours.recv(READ_BYTES + 10, socket.MSG_PEEK)) == READ_BYTES + 10, timeout=5,
                 what="a long write at our end")
        got = sock.recv(READ_BYTES + 10)  # a read larger than a block goes to the socket whole
        assert got == b"x" * len(got) and sock.pending() == 0
        while len(got) < READ_BYTES + 10:
            got += sock.recv(READ_BYTES + 10 - len(got))
        theirs.close()
        wait_for(lambda: _closed(ours), timeout=5, what="the end of the stream")
        assert sock.recv(1) == b""  # the end of the stream reaches paho as from the socket
    finally:
        sock.close()


def _peek(s: socket.socket) -> int:
    try:
        return len(s.recv(READ_BYTES, socket.MSG_PEEK))
    except BlockingIOError:
        return 0


def _closed(s: socket.socket) -> bool:
    try:
        return s.recv(1, socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False


def test_a_burst_through_mosquitto_arrives_whole_and_in_order(broker) -> None:
    """2,000 small messages, then one larger than a block, then a last small one, and then
    nothing: every one arrives (none left in the block for want of another read), in order."""
    topic = f"readahead/{uuid.uuid4().hex}"
    got: list[bytes] = []
    lock = threading.Lock()
    subscribed = threading.Event()
    sub = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=f"ra-{uuid.uuid4().hex[:8]}")
    sub.on_subscribe = lambda *_: subscribed.set()

    def on_message(_c, _u, msg) -> None:
        with lock:
            got.append(msg.payload)

    sub.on_message = on_message
    sub.connect(broker.host, broker.port, keepalive=30)
    sub.loop_start()
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.max_inflight_messages_set(1000)
    pub.connect(broker.host, broker.port, keepalive=30)
    pub.loop_start()
    try:
        sub.subscribe(topic, qos=1)
        assert subscribed.wait(10), "not subscribed"
        sent = [f"m{i:05d}".encode() for i in range(2000)] + [b"B" * (3 * READ_BYTES + 7), b"last"]
        for payload in sent:
            pub.publish(topic, payload, qos=1)
        wait_for(lambda: len(got) >= len(sent), timeout=20, what=f"{len(sent)} messages (got {len(got)})")
        with lock:
            assert got == sent
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()


def test_packets_read_in_one_block_are_all_handed_on_with_nothing_after_them(broker) -> None:
    """200 messages waiting in the socket before the client reads at all, and then nothing
    more: one read takes them all into the block, and every one is delivered without a
    further byte from the broker (no select would ever wake for them)."""
    topic = f"readahead/{uuid.uuid4().hex}"
    got: list[bytes] = []
    subscribed = threading.Event()
    sub = ReadAheadClient(CallbackAPIVersion.VERSION2, client_id=f"ra-{uuid.uuid4().hex[:8]}")
    sub.on_subscribe = lambda *_: subscribed.set()
    sub.on_message = lambda _c, _u, msg: got.append(msg.payload)
    sub.connect(broker.host, broker.port, keepalive=120)
    sub.loop_start()
    pub = paho.Client(CallbackAPIVersion.VERSION2, client_id=f"pub-{uuid.uuid4().hex[:8]}")
    pub.connect(broker.host, broker.port, keepalive=120)
    pub.loop_start()
    try:
        sub.subscribe(topic, qos=0)
        assert subscribed.wait(10), "not subscribed"
        sub.loop_stop()  # nothing reads the subscriber's socket now
        sent = [f"m{i:05d}".encode() for i in range(200)]
        for payload in sent:
            pub.publish(topic, payload, qos=0)
        waiting = 200 * (2 + 2 + len(topic) + 6)  # each: fixed header, topic length, topic, payload
        raw = sub.socket()._sock  # type: ignore[union-attr]
        wait_for(lambda: _peek(raw) >= waiting, timeout=20,
                 what="the 200 messages waiting in the subscriber's socket")
        sub.loop_start()
        wait_for(lambda: len(got) >= len(sent), timeout=20, what=f"{len(sent)} messages (got {len(got)})")
        assert got == sent
    finally:
        for c in (pub, sub):
            c.disconnect()
            c.loop_stop()

"""A paho client that reads the broker's socket in blocks, not a few bytes at a time.

paho reads each MQTT packet in three or four ``recv`` calls (its type byte, its length a
byte at a time, then the rest), after a ``select`` of its own. Every one of those calls
gives up the interpreter lock, and in a process whose other threads are busy (the hub's
intake worker parsing, verifying and storing what paho hands it) the network thread then
waits to get the lock back, once per call: at a few thousand messages a second it spent
most of its time waiting, and the hub took gate events at well under half the pace a
subscriber doing nothing could (BENCHMARKS.md, issue 10).

``ReadAhead`` asks the kernel for up to READ_BYTES at a time and hands paho what it asks
for from that block. Its ``pending()`` tells paho's loop that bytes are waiting without a
``select`` (paho asks any socket that has one: it is how it reads TLS records already
decrypted), so nothing waits in the buffer for more to arrive. Only reading changes:
``send`` and everything else go straight to the socket paho made (TCP, TLS or a unix socket).
"""

from __future__ import annotations

import paho.mqtt.client as paho

#: a read's most: 64 KiB holds a few hundred events (a gate's is under 1 KiB)
READ_BYTES = 65536
#: packets read in one turn of paho's loop at most, so its writes (acknowledgements) and
#: keepalive still get their turn while a burst lasts
PACKETS_PER_TURN = 100


class ReadAhead:
    """The socket paho made, read through a buffer (paho's SocketLike, with ``pending``)."""

    def __init__(self, sock: paho.SocketLike) -> None:
        self._sock = sock
        self._block = b""
        self._at = 0

    def recv(self, size: int) -> bytes:
        """Up to ``size`` bytes: from the block read last, else from a new read (whose
        BlockingIOError, or b"" at the end of the stream, reaches paho as from the socket)."""
        if self._at >= len(self._block):
            block = self._sock.recv(max(size, READ_BYTES))
            if len(block) <= size:
                return block
            self._block, self._at = block, 0
        start = self._at
        self._at = min(start + size, len(self._block))
        return self._block[start:self._at]

    def pending(self) -> int:
        """Bytes read but not yet handed to paho (and, under TLS, those the TLS layer holds)."""
        inner = getattr(self._sock, "pending", None)
        return len(self._block) - self._at + (inner() if inner is not None else 0)

    def send(self, data: bytes | bytearray) -> int:
        return self._sock.send(data)

    def close(self) -> None:
        self._block, self._at = b"", 0
        self._sock.close()

    def fileno(self) -> int:
        return self._sock.fileno()

    def setblocking(self, flag: bool) -> None:
        self._sock.setblocking(flag)

    def __getattr__(self, name: str) -> object:  # anything else paho or a caller asks of a socket
        return getattr(self._sock, name)


class ReadAheadClient(paho.Client):
    """paho's Client, its connection read through ``ReadAhead``, and each turn of its loop
    reading every packet already in the block (up to PACKETS_PER_TURN) instead of one per
    ``select``: a ``select`` gives up the interpreter lock too."""

    def _create_socket(self) -> paho.SocketLike:  # paho 2.x makes every connection here
        return ReadAhead(super()._create_socket())

    def loop_read(self, max_packets: int = 1) -> paho.MQTTErrorCode:
        rc = super().loop_read(max_packets)
        for _ in range(PACKETS_PER_TURN):
            sock = self._sock
            if rc != paho.MQTTErrorCode.MQTT_ERR_SUCCESS or not isinstance(sock, ReadAhead) or not sock.pending():
                break
            rc = super().loop_read(max_packets)
        return rc

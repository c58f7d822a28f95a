"""A virtual contactless card for the vpcd virtual reader, so tests can tap any UID.

vpcd (vsmartcard) listens on TCP; a card is a client of that port: connected is card
present, closed is card removed. Every message both ways is a 2-byte big-endian length and
a payload. A 1-byte payload from vpcd is a control (power off/on, reset, "send your ATR");
anything longer is an APDU the card answers. Debian's own ``vicc`` crashes on the PC/SC
"get UID" APDU, hence this card.
"""

from __future__ import annotations

import socket
import struct
import threading
import time

from protocols.uid import normalise_uid

VPCD_HOST = "127.0.0.1"
VPCD_PORT = 35963  # reader "Virtual PCD 00 00"; 35964 is "Virtual PCD 00 01"

#: an ISO 14443 (contactless, PC/SC part 3) ATR as a reader reports a MIFARE card
CONTACTLESS_ATR = bytes.fromhex("3B8F8001804F0CA000000306030001000000006A")
GET_UID = bytes.fromhex("FFCA000000")
SW_OK = b"\x90\x00"
SW_INS_NOT_SUPPORTED = b"\x6d\x00"

_GET_ATR = 4  # controls from vpcd: 0 power off, 1 power on, 2 reset, 4 "send your ATR"

#: pcscd polls about every 400 ms; a shorter tap can be missed entirely
MIN_PRESENT_S = 0.5


class VirtualCard:
    """One card slot on one vpcd reader: ``present(uid)``, ``remove()``, again as often as wanted."""

    def __init__(self, host: str = VPCD_HOST, port: int = VPCD_PORT) -> None:
        self.host = host
        self.port = port
        self._sock: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._presented_at = 0.0
        self.uid_answer = b""
        self.apdus: list[bytes] = []  # every APDU the reader sent, for tests to look at

    def present(self, uid: str | None = None, *, answer: bytes | None = None, timeout: float = 10.0) -> None:
        """Put a card on the reader: ``FF CA 00 00 00`` is answered with ``uid`` + 90 00,
        or with ``answer`` verbatim (e.g. ``6A 81``, a card that cannot give its UID).

        Retries the connection until vpcd listens (pcscd may be starting) or ``timeout``.
        """
        if self._sock is not None:
            raise RuntimeError("a card is already on this reader; remove() it first")
        if answer is None:
            if uid is None:
                raise ValueError("give a uid or an answer")
            answer = bytes.fromhex(normalise_uid(uid)) + SW_OK
        self.uid_answer = answer
        deadline = time.monotonic() + timeout
        while True:
            try:
                sock = socket.create_connection((self.host, self.port), timeout=1.0)
                break
            except OSError as exc:
                if time.monotonic() > deadline:
                    raise RuntimeError(f"vpcd is not listening on {self.host}:{self.port}: {exc}") from exc
                time.sleep(0.1)
        sock.settimeout(None)
        self._sock = sock
        self._presented_at = time.monotonic()
        self._thread = threading.Thread(target=self._serve, args=(sock,), name=f"vcard:{self.port}", daemon=True)
        self._thread.start()

    def remove(self, wait: bool = True, timeout: float = 10.0) -> None:
        """Take the card away, after it has been in long enough for pcscd's poll to see it.

        With ``wait``, returns once pcscd shows the reader empty (when pcscd is running):
        vpcd only notices a closed card on its next poll, and a card presented before that
        is taken by pcscd for the old one still lying there.
        """
        sock, self._sock = self._sock, None
        if sock is None:
            return
        held = time.monotonic() - self._presented_at
        if held < MIN_PRESENT_S:
            time.sleep(MIN_PRESENT_S - held)
        try:
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        sock.close()
        if self._thread is not None:
            self._thread.join(2.0)
            self._thread = None
        if wait:
            self.wait_reader(present=False, timeout=timeout)

    @property
    def reader_name(self) -> str:
        return f"Virtual PCD 00 {self.port - VPCD_PORT:02d}"

    def wait_reader(self, present: bool, timeout: float = 10.0) -> bool:
        """Wait until pcscd shows a card on (or no card on) this card's reader.

        False at once where pcscd does not answer (stopped for a test); AssertionError if it
        answers but the reader does not get there within ``timeout``.
        """
        from smartcard import scard

        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            return False
        try:
            state = scard.SCARD_STATE_UNAWARE
            deadline = time.monotonic() + timeout
            while True:
                left = deadline - time.monotonic()
                if left <= 0:
                    shown = "present" if present else "gone"
                    raise AssertionError(f"{self.reader_name} did not show the card {shown} within {timeout} s")
                hr, states = scard.SCardGetStatusChange(ctx, int(min(left, 1.0) * 1000), [(self.reader_name, state)])
                if hr == scard.SCARD_E_TIMEOUT:
                    continue
                if hr != scard.SCARD_S_SUCCESS:
                    return False
                _, event_state, _ = states[0]
                if bool(event_state & scard.SCARD_STATE_PRESENT) == present:
                    return True
                state = event_state & ~scard.SCARD_STATE_CHANGED
        finally:
            scard.SCardReleaseContext(ctx)

    def answer(self, apdu: bytes) -> bytes:
        """The card's response APDU; only "get UID" is understood."""
        if apdu[:4] == GET_UID[:4]:  # Le may be 00 or the UID length
            return self.uid_answer
        return SW_INS_NOT_SUPPORTED

    def _serve(self, sock: socket.socket) -> None:
        try:
            while True:
                msg = _recv_msg(sock)
                if msg is None:
                    break
                if len(msg) == 1:
                    if msg[0] == _GET_ATR:
                        _send_msg(sock, CONTACTLESS_ATR)
                    # power off, power on and reset need no answer
                    continue
                self.apdus.append(msg)
                _send_msg(sock, self.answer(msg))
        except OSError:
            pass  # closed by remove(), or vpcd went away with pcscd


def _recv_exactly(sock: socket.socket, n: int) -> bytes | None:
    buf = b""
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            return None
        buf += chunk
    return buf


def _recv_msg(sock: socket.socket) -> bytes | None:
    head = _recv_exactly(sock, 2)
    if head is None:
        return None
    (length,) = struct.unpack(">H", head)
    return _recv_exactly(sock, length) if length else b""


def _send_msg(sock: socket.socket, payload: bytes) -> None:
    sock.sendall(struct.pack(">H", len(payload)) + payload)

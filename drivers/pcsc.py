"""Contactless readers through PC/SC (pcscd + pyscard): ACR122U and the like.

The reader's own "card inserted" events mark presentations, so a card held on the reader
is read once and the base class's repeat window is off: a resident who lifts the card and
taps again is a second read, however fast. The UID is what ``FF CA 00 00 00`` returns.

pcscd is a separate daemon that can restart under us and readers that come and go on USB;
both end the PC/SC context, which the base class reports as "lost" and reopens with backoff.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from smartcard import scard

from drivers.base import CardReader, DeviceLost, ReaderSink
from drivers.config import PcscReader as PcscReaderConfig
from protocols.uid import InvalidUid, uid_from_bytes

log = logging.getLogger(__name__)

GET_UID_APDU = [0xFF, 0xCA, 0x00, 0x00, 0x00]
POLL_MS = 200
#: pcsc-lite's pseudo reader whose state changes when a reader is plugged in or out
PNP_READER = "\\\\?PnP?\\Notification"

#: status words a reader gives when it has no UID to give: 63 00 "no information given"
#: (the read failed), 6A 81 "function not supported" (the card or reader cannot do it)
_NO_UID_WORDS = {
    (0x63, 0x00): "the reader could not read the UID (63 00)",
    (0x6A, 0x81): "the card or reader does not support reading the UID (6A 81)",
}

_SERVICE_GONE = {
    scard.SCARD_E_NO_SERVICE,
    scard.SCARD_E_SERVICE_STOPPED,
    scard.SCARD_E_INVALID_HANDLE,
    scard.SCARD_E_NO_READERS_AVAILABLE,
    scard.SCARD_F_COMM_ERROR,  # the daemon's socket closed under a call
}
_READER_GONE = {scard.SCARD_E_UNKNOWN_READER, scard.SCARD_E_READER_UNAVAILABLE}


class NoUid(Exception):
    """The card was there but gave no UID; logged, never a card read."""


def uid_from_response(response: bytes) -> str:
    """The UID in a response to ``FF CA 00 00 00``: the bytes before ``90 00``, in the order returned."""
    if len(response) < 2:
        raise NoUid(f"response too short: {response.hex()!r}")
    sw = (response[-2], response[-1])
    if sw in _NO_UID_WORDS:
        raise NoUid(_NO_UID_WORDS[sw])
    if sw != (0x90, 0x00):
        raise NoUid(f"the reader answered {response[-2]:02X} {response[-1]:02X}")
    try:
        return uid_from_bytes(response[:-2])
    except InvalidUid as exc:
        raise NoUid(f"not a UID: {exc}") from exc


@dataclass
class _Slot:
    present: bool
    counter: int


class Presentations:
    """Which reader states are a new card presentation: pure, one per PC/SC context.

    pcsc-lite counts insertions and removals in the upper 16 bits of a reader's event
    state, so a card lifted and put back between two polls is still a new presentation.
    """

    def __init__(self) -> None:
        self._slots: dict[str, _Slot] = {}

    def update(self, reader: str, present: bool, counter: int) -> bool:
        """Record the reader's state; True if it is a card newly presented."""
        prev = self._slots.get(reader)
        self._slots[reader] = _Slot(present, counter)
        if not present:
            return False
        return prev is None or not prev.present or prev.counter != counter

    def first_look(self, reader: str) -> bool:
        """True before the reader's state has been seen in this context."""
        return reader not in self._slots

    def forget(self, reader: str) -> None:
        self._slots.pop(reader, None)


class PcscReader(CardReader):
    """Every PC/SC reader whose name contains ``cfg.reader`` (case-insensitive), as one gate reader."""

    repeat_window_s = 0.0  # presentations come from the reader's insertion events

    def __init__(self, cfg: PcscReaderConfig, name: str, sink: ReaderSink) -> None:
        super().__init__(name, sink)
        self.cfg = cfg
        self._ctx: int | None = None
        self._states: dict[str, int] = {}
        self._pnp_state = scard.SCARD_STATE_UNAWARE
        self._presentations = Presentations()
        #: per reader, the UID delivered whose card has not been seen leaving; survives a
        #: reconnect so a card held through a pcscd restart is not read a second time
        self._held: dict[str, str] = {}

    # -- CardReader ---------------------------------------------------------------------

    def _open(self) -> None:
        hr, ctx = scard.SCardEstablishContext(scard.SCARD_SCOPE_USER)
        if hr != scard.SCARD_S_SUCCESS:
            raise DeviceLost(f"pcscd not reachable: {_message(hr)}")
        self._ctx = ctx
        self._states = {}
        self._pnp_state = scard.SCARD_STATE_UNAWARE
        self._presentations = Presentations()
        self._refresh_readers()

    def _poll(self) -> list[str]:
        if self._ctx is None:
            raise DeviceLost("no PC/SC context")
        watched = [(r, s) for r, s in self._states.items()] + [(PNP_READER, self._pnp_state)]
        hr, changes = scard.SCardGetStatusChange(self._ctx, POLL_MS, watched)
        if hr == scard.SCARD_E_TIMEOUT:
            return []
        if hr in _SERVICE_GONE:
            raise DeviceLost(f"pcscd went away: {_message(hr)}")
        if hr in _READER_GONE:
            self._refresh_readers()
            return []
        if hr != scard.SCARD_S_SUCCESS:
            # pcsc-lite's client gives several codes for a daemon that died mid-call
            # (no service, comm error, access denied): all mean a new context is needed
            raise DeviceLost(f"pcscd connection failed: {_message(hr)}")
        uids: list[str] = []
        relist = False
        for reader, event_state, _atr in changes:
            if reader == PNP_READER:
                relist = relist or bool(event_state & scard.SCARD_STATE_CHANGED)
                self._pnp_state = event_state & ~scard.SCARD_STATE_CHANGED
                continue
            if reader not in self._states:
                continue
            self._states[reader] = event_state & ~scard.SCARD_STATE_CHANGED
            if event_state & (scard.SCARD_STATE_UNAVAILABLE | scard.SCARD_STATE_UNKNOWN):
                relist = True
                continue
            uid = self._on_state(reader, event_state)
            if uid is not None:
                uids.append(uid)
        if relist:
            self._refresh_readers()
        return uids

    def _close(self) -> None:
        ctx, self._ctx = self._ctx, None
        if ctx is not None:
            scard.SCardReleaseContext(ctx)

    # -- inside ----------------------------------------------------------------------------

    def _on_state(self, reader: str, event_state: int) -> str | None:
        present = bool(event_state & scard.SCARD_STATE_PRESENT) and not event_state & scard.SCARD_STATE_MUTE
        if not event_state & scard.SCARD_STATE_PRESENT:
            self._held.pop(reader, None)
        first_look = self._presentations.first_look(reader)
        if not self._presentations.update(reader, present, (event_state >> 16) & 0xFFFF):
            return None
        try:
            uid = self._read_uid(reader)
        except NoUid as exc:
            log.warning("reader %s (%s): card presented, no read: %s", self.name, reader, exc)
            return None
        if first_look and self._held.get(reader) == uid:
            log.info("reader %s (%s): card %s still held since before the reconnect", self.name, reader, uid)
            return None
        self._held[reader] = uid
        return uid

    def _read_uid(self, reader: str) -> str:
        assert self._ctx is not None
        hr, card, protocol = scard.SCardConnect(
            self._ctx, reader, scard.SCARD_SHARE_SHARED, scard.SCARD_PROTOCOL_T0 | scard.SCARD_PROTOCOL_T1
        )
        if hr in _SERVICE_GONE:
            raise DeviceLost(f"pcscd went away: {_message(hr)}")
        if hr != scard.SCARD_S_SUCCESS:
            raise NoUid(f"cannot connect to the card: {_message(hr)}")
        try:
            hr, response = scard.SCardTransmit(card, protocol, GET_UID_APDU)
        finally:
            scard.SCardDisconnect(card, scard.SCARD_LEAVE_CARD)
        if hr in _SERVICE_GONE:
            raise DeviceLost(f"pcscd went away: {_message(hr)}")
        if hr != scard.SCARD_S_SUCCESS:
            raise NoUid(f"get UID failed: {_message(hr)}")
        return uid_from_response(bytes(response))

    def _refresh_readers(self) -> None:
        """Watch the readers that match now; DeviceLost if none does (reopened with backoff)."""
        assert self._ctx is not None
        hr, names = scard.SCardListReaders(self._ctx, [])
        if hr == scard.SCARD_E_NO_READERS_AVAILABLE:
            names = []
        elif hr in _SERVICE_GONE:
            raise DeviceLost(f"pcscd went away: {_message(hr)}")
        elif hr != scard.SCARD_S_SUCCESS:
            raise DeviceLost(f"cannot list PC/SC readers: {_message(hr)}")
        wanted = self.cfg.reader.casefold()
        matching = [n for n in names if wanted in n.casefold()]
        for gone in set(self._states) - set(matching):
            log.warning("reader %s: PC/SC reader %s went away", self.name, gone)
            self._presentations.forget(gone)
            self._held.pop(gone, None)
            del self._states[gone]
        for new in matching:
            if new not in self._states:
                log.info("reader %s: watching PC/SC reader %s", self.name, new)
                self._states[new] = scard.SCARD_STATE_UNAWARE
        if not matching:
            raise DeviceLost(f"no PC/SC reader matching {self.cfg.reader!r} (present: {', '.join(names) or 'none'})")


def _message(hr: int) -> str:
    return f"{scard.SCardGetErrorMessage(hr)} (0x{hr & 0xFFFFFFFF:08X})"

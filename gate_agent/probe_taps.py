"""``gate-agent probe --uid`` and ``--listen``: what a card looks like in each UID form, so the
installer can set each reader's ``uid_form``.

The installer taps one card on a reader that reports the whole UID (the desk's PC/SC reader,
or this gate's RDM6300) and on the gate's Wiegand reader; the form under which the first
read becomes the second is the one that reader uses. ``--uid`` shows every form of a UID
typed in; ``--listen`` opens this gate's configured readers (no relay is touched, no MQTT),
prints each read with every form of it, and says which form relates two readers' reads.
"""

from __future__ import annotations

import queue
import time
from dataclasses import dataclass
from typing import Any, Callable

from drivers.base import CardRead
from protocols.cardformats import FORM_HELP, UidForm, every_form, reported_uid
from protocols.uid import normalise_uid


def forms_of(uid: str) -> dict[str, Any]:
    """Every form of ``uid``, with what each form is for."""
    uid = normalise_uid(uid)
    return {"uid": uid, "forms": {f: {"reads_as": v, "for": FORM_HELP[UidForm(f)]} for f, v in every_form(uid).items()}}


def forms_between(full: str, read: str) -> list[str]:
    """The forms under which a card whose whole UID is ``full`` reads as ``read`` (none: not the same card)."""
    return [f.value for f in UidForm if f is not UidForm.FULL and reported_uid(full, f) == read]


@dataclass
class _Sink:
    reads: "queue.Queue[CardRead]"

    def card_read(self, read: CardRead) -> None:
        self.reads.put(read)

    def device_state(self, device: str, ok: bool, problem: str | None) -> None:
        if not ok and problem:
            print(f"# reader {device}: {problem}", flush=True)


def listen(config: Any, seconds: float, out: Callable[[dict[str, Any]], None]) -> int:
    """Open the config's readers for ``seconds``; ``out`` each read with its forms; the count of reads."""
    from drivers.registry import build_reader
    from gate_agent.config import reader_name

    sink = _Sink(queue.Queue())
    readers = []
    for door in config.doors:
        for i, rcfg in enumerate(door.readers):
            reader = build_reader(rcfg, reader_name(door.id, i), sink)
            reader.start()
            readers.append((reader, rcfg))
    configured = {r.name: c.uid_form.value for r, c in readers}
    seen: dict[str, str] = {}  # reader -> last UID it read
    count = 0
    deadline = time.monotonic() + seconds
    try:
        while (left := deadline - time.monotonic()) > 0:
            try:
                read = sink.reads.get(timeout=min(left, 0.5))
            except queue.Empty:
                continue
            count += 1
            seen[read.reader] = read.uid
            line: dict[str, Any] = {"reader": read.reader, "uid_form": configured.get(read.reader), **forms_of(read.uid)}
            line["same_card_as"] = {
                other: forms for other, uid in seen.items() if other != read.reader
                and (forms := forms_between(uid, read.uid))
            }
            out(line)
    finally:
        for reader, _ in readers:
            reader.stop()
    return count

"""What other domains do when a gate event is stored or a gate's status arrives.

Visits check in and out on visit events, alarms are raised on a forced door, a remote open
is marked acknowledged: each domain registers a reaction here instead of the intake knowing
every domain. A reaction runs inside the transaction that stores the event (so it commits or
rolls back with it), in a savepoint of its own: a reaction that fails is logged and undone
alone, and the event is still stored (an event is never lost to a fault in what follows it).
Only events of the kinds a reaction names pay for it, so intake stays as fast as it was for
the passes that are nearly all of an estate's events.
"""

from __future__ import annotations

import logging
import sqlite3
from collections import defaultdict
from typing import Callable

import sqlite_utils

from hub.db import Store
from protocols.messages import EventKind, GateEvent, GateStatus

log = logging.getLogger(__name__)

#: (db, the stored event, its seq)
EventReaction = Callable[[sqlite_utils.Database, GateEvent, int], None]
#: (db, the status, was the gate online before: None if never heard)
StatusReaction = Callable[[sqlite_utils.Database, GateStatus, bool | None], None]


class Reactions:
    def __init__(self, store: Store) -> None:
        self.store = store
        self._on_event: dict[EventKind, list[EventReaction]] = defaultdict(list)
        self._on_status: list[StatusReaction] = []
        self.failed = 0

    def on_event(self, kinds: tuple[EventKind, ...], reaction: EventReaction) -> None:
        for kind in kinds:
            self._on_event[kind].append(reaction)

    def on_status(self, reaction: StatusReaction) -> None:
        self._on_status.append(reaction)

    def wants(self, kind: EventKind) -> bool:
        return kind in self._on_event

    def event_stored(self, db: sqlite_utils.Database, event: GateEvent, seq: int) -> None:
        """Call inside the storing transaction, for an event stored now (not a repeat)."""
        for reaction in self._on_event.get(event.kind, ()):
            self._run(reaction, db, event, seq)

    def status_kept(self, db: sqlite_utils.Database, status: GateStatus, was_online: bool | None) -> None:
        for reaction in self._on_status:
            self._run(reaction, db, status, was_online)

    def _run(self, reaction: Callable, *args: object) -> None:
        try:
            with self.store.savepoint():
                reaction(*args)
        except sqlite3.OperationalError:
            raise  # the storage itself failed: the intake's own handling (dead letters, retry)
        except Exception:  # noqa: BLE001 - a domain's fault must not cost the event
            self.failed += 1
            log.exception("reaction %s to %s failed; the event is kept", getattr(reaction, "__qualname__", reaction),
                          type(args[1]).__name__)

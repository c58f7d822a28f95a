"""The hub's hourly chores.

- Renovation permits past their period end (hub.permits.moves.expire_due): their workers'
  cards are listed as permit_ended at once.
- Cards past their valid_until become expired. Gates already refuse them by date, so this
  keeps the records and the monthly report true rather than keeping anyone out.
- Holidays that have passed leave the gates' entries (hub.access.service).
- Each gate's ACL log is trimmed to its last KEEP_REVS revisions. A gate further behind than
  that gets a whole snapshot when it asks (hub.gates.acl answers a rev it has no log row for
  with a snapshot), which is what it would get anyway after so many changes.
"""

from __future__ import annotations

import logging
import threading
from datetime import datetime, timedelta, timezone

from hub.access import service as access
from hub.cards import moves
from hub.db import Store
from hub.gates import acl
from hub.permits import moves as permit_moves
from hub.users import accounts, sessions

log = logging.getLogger(__name__)

EVERY_S = 3600.0
FIRST_AFTER_S = 60.0
KEEP_REVS = 10_000
KEEP_SESSIONS = timedelta(days=7)


def run_once(store: Store, now: datetime | None = None, keep_revs: int = KEEP_REVS) -> dict[str, int]:
    expired = moves.expire_due(store, now=now)
    permits_ended = permit_moves.expire_due(store, now=now)  # their workers' cards stop: permit_ended
    with store.tx() as db:
        holidays = access.drop_passed_holidays(db, now.date() if now else None)
        trimmed = acl.trim_log(db, keep_revs)
    # ended browser sessions and old failed sign-ins are kept a while for questions, then forgotten
    when = now or datetime.now(timezone.utc)
    purged = sessions.purge(store, when - KEEP_SESSIONS) + accounts.forget_failures(store, when - KEEP_SESSIONS)
    if expired or holidays or trimmed:
        log.info("housekeeping: %d cards expired, %d entries rid of passed holidays, %d old ACL log rows trimmed",
                 len(expired), holidays, trimmed)
    return {"expired": len(expired), "holidays_dropped": holidays, "trimmed": trimmed, "sessions_purged": purged,
            "permits_ended": len(permits_ended)}


class Housekeeper:
    def __init__(self, store: Store, every_s: float = EVERY_S, first_after_s: float = FIRST_AFTER_S) -> None:
        self.store = store
        self.every_s = every_s
        self.first_after_s = first_after_s
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="housekeeping", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread:
            self._thread.join(5)

    def _run(self) -> None:
        wait = self.first_after_s
        while not self._stop.wait(wait):
            try:
                run_once(self.store)
            except Exception:  # noqa: BLE001 - try again next hour
                log.exception("housekeeping failed")
            wait = self.every_s

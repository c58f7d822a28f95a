"""systemd's notify protocol for ``gate-hub serve`` (Type=notify, WatchdogSec=).

READY=1 once the lifespan has started (MQTT client and publisher running); WATCHDOG=1 from
the HTTP server's own event loop, after a read of the database succeeds, so a hub whose loop
hangs or whose database stops answering is restarted by systemd. Without NOTIFY_SOCKET
(tests, the demo, a terminal) nothing is sent.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Callable

from hub.db import Store

log = logging.getLogger(__name__)


def notifier() -> Callable[[str], None] | None:
    if not os.environ.get("NOTIFY_SOCKET"):
        return None
    try:
        import sdnotify
    except ImportError:
        log.warning("NOTIFY_SOCKET is set but sdnotify is not installed: no READY or WATCHDOG")
        return None
    return sdnotify.SystemdNotifier().notify


def watchdog_interval() -> float:
    """Half of systemd's WatchdogSec (WATCHDOG_USEC), or 10 s where none is set."""
    usec = os.environ.get("WATCHDOG_USEC", "")
    return int(usec) / 2_000_000 if usec.isdigit() and int(usec) > 0 else 10.0


def _database_answers(store: Store) -> None:
    with store.read() as db:
        db.execute("SELECT 1").fetchone()


async def keep_alive(notify: Callable[[str], None], store: Store) -> None:
    notify("READY=1")
    interval = watchdog_interval()
    while True:
        try:
            await asyncio.to_thread(_database_answers, store)
        except Exception:  # noqa: BLE001 - no ping: systemd restarts the hub
            log.exception("the database does not answer: withholding the watchdog ping")
        else:
            notify("WATCHDOG=1")
        await asyncio.sleep(interval)

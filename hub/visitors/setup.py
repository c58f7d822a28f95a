"""The visitors domain in the hub: ``setup(app)`` (one line in hub.app.create_app).

- ``app.state.visitors``: the rules' context (hub.visitors.service.Visitors);
- the visit events check visitors in and out and count entries (a reaction on VISIT);
- a gate whose status names other pass keys than the hub's is sent the hub's (PassKeys on
  its cmd topic, signed with the gate's key, after the status is committed; at most every
  PUSH_EVERY_S per gate);
- the ticker: overstays (every OVERSTAY_EVERY_S), and hourly the blocks of ended passes
  leaving the gates' lists and the retention of old visits.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta, timezone

import sqlite_utils
from fastapi import FastAPI

from hub.visitors import passes, report, service
from hub.visitors.keys import VisitorKeys
from protocols.commands import PassKeys
from protocols.messages import EventKind, GateStatus
from protocols.signing import sign
from protocols.topics import gate_topic

log = logging.getLogger(__name__)

PUSH_EVERY_S = 5.0
OVERSTAY_EVERY_S = 15.0
HOURLY_S = 3600.0


class PassKeyPusher:
    """A status reaction: sends an online gate the hub's pass keys when it holds others."""

    def __init__(self, app: FastAPI, keys: VisitorKeys, site: str) -> None:
        self.app = app
        self.keys = keys
        self.site = site
        self.pushed = 0
        self._last: dict[str, float] = {}

    def __call__(self, db: sqlite_utils.Database, status: GateStatus, was_online: bool | None) -> None:
        if not status.online or status.role != "gate":
            return
        wanted = self.keys.public_keys()
        if set(status.pass_keys) == set(wanted):
            return
        now = time.monotonic()
        if now - self._last.get(status.gate_id, -PUSH_EVERY_S) < PUSH_EVERY_S:
            return
        self._last[status.gate_id] = now
        self.app.state.store.after_commit(lambda: self.push(status.gate_id, wanted))

    def push(self, gate_id: str, wanted: dict[str, str]) -> None:
        mqtt = self.app.state.mqtt
        key = self.app.state.gate_keys.signing_key(gate_id)
        if mqtt is None or key is None:
            return
        msg = sign(PassKeys(gate_id=gate_id, keys=wanted, issued_at=datetime.now(timezone.utc)), key, self.site, "cmd")
        try:
            mqtt.publish(gate_topic(self.site, gate_id, "cmd"), msg.to_bytes(), qos=1, retain=False)
        except Exception as exc:  # noqa: BLE001 - sent again at the gate's next status
            log.warning("could not send gate %s the visitor pass keys now (%s)", gate_id, exc)
            self._last.pop(gate_id, None)
            return
        self.pushed += 1
        log.info("sent gate %s the visitor pass keys %s", gate_id, ", ".join(sorted(wanted)))


def setup(app: FastAPI) -> service.Visitors:
    config = app.state.config
    store = app.state.store
    keys = VisitorKeys(store, app.state.gate_keys.sealer)
    keys.ensure()  # the pass key exists before the first gate asks: a gate holds it before any pass is made
    ctx = service.Visitors(store=store, keys=keys, site=config.hub.site, settings=config.visitors)
    app.state.visitors = ctx
    app.state.reactions.on_event((EventKind.VISIT,), service.on_visit_event)
    app.state.pass_key_pusher = PassKeyPusher(app, keys, config.hub.site)
    app.state.reactions.on_status(app.state.pass_key_pusher)
    ticker = app.state.ticker
    ticker.every(OVERSTAY_EVERY_S, "visitors.overstay",
                 service.check_overstays(timedelta(minutes=config.visitors.overstay_grace_minutes)))
    ticker.every(HOURLY_S, "visitors.ended_passes", lambda db, now: passes.unlist_ended(db, now) and None)
    keep = config.visitors.keep_days
    ticker.every(HOURLY_S, "visitors.retention", lambda db, now: report.purge(db, now, keep) and None)
    return ctx

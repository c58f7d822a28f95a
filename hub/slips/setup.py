"""The release slips domain in the hub: ``slips_setup(app)`` (one line in hub.app.create_app,
after the visitors' setup: a slip's QR is signed with the visitors' pass key).

- ``app.state.slips``: the rules' context (hub.slips.service.Slips);
- a gate event naming a slip's pass (the gate's own offline check) uses the slip up there.
  The blocks of used or cancelled slips leave the gates' lists with the visitors' hourly
  sweep of ended blocks (hub.gates.acl.unlist_blocks_until covers every block).
"""

from __future__ import annotations

from fastapi import FastAPI

from hub.slips import service
from protocols.messages import EventKind


def slips_setup(app: FastAPI) -> service.Slips:
    ctx = service.Slips(store=app.state.store, keys=app.state.visitors.keys, site=app.state.config.hub.site)
    app.state.slips = ctx
    kinds = tuple(k for k in EventKind if k.value in ("visit", "slip"))
    app.state.reactions.on_event(kinds, service.on_slip_event)
    return ctx

"""The order in which the domains' tables are created (later ones may reference earlier).

Each domain module has a ``SCHEMA`` script of CREATE ... IF NOT EXISTS statements.
"""

from __future__ import annotations

import importlib

from hub.db import Store

DOMAINS = [
    "hub.auth",
    "hub.audit",
    "hub.cards.models",
    "hub.access.models",
    "hub.gates.acl",
    "hub.events.store",
    "hub.enroll.store",
    # the card centre (units and people, stock, card moves and deposits)
    "hub.people.registry",
    "hub.stock.ledger",
    "hub.stock.report",
    "hub.cards.moves",
]


def apply_schema(store: Store) -> None:
    with store.read() as db:
        for name in DOMAINS:
            db.conn.executescript(importlib.import_module(name).SCHEMA)

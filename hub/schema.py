"""The order in which the domains' tables are created (later ones may reference earlier).

Each domain module has a ``SCHEMA`` script of CREATE ... IF NOT EXISTS statements.
"""

from __future__ import annotations

import importlib

from hub.db import Store

DOMAINS = [
    "hub.auth",
    "hub.audit",
    "hub.users.accounts",
    "hub.users.sessions",
    "hub.cards.models",
    "hub.access.models",
    "hub.gates.acl",
    "hub.broker.logins",
    "hub.events.store",
    "hub.enroll.store",
    "hub.deadletters.store",
    # the card centre (units and people, stock, card moves and deposits)
    "hub.people.registry",
    "hub.stock.ledger",
    "hub.stock.report",
    "hub.cards.moves",
]


def apply_schema(store: Store) -> None:
    with store.writer() as db:
        for name in DOMAINS:
            module = importlib.import_module(name)
            db.conn.executescript(module.SCHEMA)
            if hasattr(module, "migrate"):  # columns an older database lacks
                module.migrate(db)

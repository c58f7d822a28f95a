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
    "hub.dutylog.models",  # the duty desk's log and handovers (hub.dutylog)
    "hub.visitors.models",  # visits, passes, watch list, monthly figures (hub.visitors)
    "hub.alarms.models",  # alarms and remote opens (hub.alarms)
    "hub.workcal.models",  # the working calendar: hours, holidays, make-up days (hub.workcal)
    "hub.complaints.models",  # complaints, their steps, pauses, follow-ups, filed months (hub.complaints)
    "hub.permits.models",  # renovation permits, their moves, their workers' cards (hub.permits)
    "hub.violations.models",  # violations, their measures, purged counts (hub.violations)
    "hub.slips.models",  # release slips and the finance system's fee positions (hub.slips)
]


def apply_schema(store: Store) -> None:
    with store.writer() as db:
        for name in DOMAINS:
            module = importlib.import_module(name)
            db.conn.executescript(module.SCHEMA)
            if hasattr(module, "migrate"):  # columns an older database lacks
                module.migrate(db)

"""``gate-hub calendar seed YEAR``: a year's holidays and make-up working days from
chinesecalendar, on the database directly (as ``gate add`` does), hub running or not."""

from __future__ import annotations

import argparse
import json

from hub.db import Store


def _seed(args: argparse.Namespace) -> int:
    from hub.cli import load_config
    from hub.workcal import service

    store = Store.open(load_config(args.config).hub.db_path)
    try:
        with store.tx() as db:
            result = service.seed_year(db, args.year, args.who)
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False))
    return 0


def add_parsers(sub: argparse._SubParsersAction) -> None:
    cal = sub.add_parser("calendar", help="the estate's working calendar").add_subparsers(
        dest="calendar_command", required=True)
    seed = cal.add_parser("seed", help="put a year's public holidays and make-up working days from chinesecalendar"
                          " into the calendar (days a person set are kept)")
    seed.add_argument("year", type=int)
    seed.add_argument("--who", default="cli:calendar-seed", help="who seeds (shown in the audit log)")
    seed.add_argument("--config", required=True)
    seed.set_defaults(func=_seed)

"""``gate-hub``: serve the hub, make API tokens, register gates.

Token and gate commands open the database directly (creating it where there is none), so
they work whether or not the hub is running: SQLite's WAL and busy timeout let both write.
Secrets are printed once, as the last line, so scripts can take ``| tail -n1``.

``gate-hub demo`` lives in hub.demo: the whole system on one machine, for a first look.
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Sequence

from hub.config import HubConfig
from hub.demo import add_demo_command
from hub.db import Store
from hub.errors import DomainError
from hub.users import cli as users_cli
from protocols.configfile import ConfigError, load_toml

def load_config(path: str) -> HubConfig:
    return load_toml(path, HubConfig)


def _serve(args: argparse.Namespace) -> int:
    from hub.app import create_app, serve

    config = load_config(args.config)
    logging.basicConfig(level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = create_app(config)
    # hub.app.uvicorn_options: the hub's own access log, proxy headers only from [hub] forwarded_allow_ips
    server = serve(config, app, log_level=args.log_level, timeout_graceful_shutdown=3)
    server.run()
    return 0 if server.started else 3  # as uvicorn.run exits when the server could not start


def _gate_add(args: argparse.Namespace) -> int:
    from hub.gates.service import register_gate

    from hub.broker import cli as broker_cli

    config = load_config(args.config)
    broker_cli.check_gate_add(config, args.gate_id)
    store = Store.open(config.hub.db_path)
    try:
        key = register_gate(store, args.gate_id, "cli:gate-add", rotate=args.rotate_key,
                            secret_file=config.hub.secret_path)
        broker_cli.gate_added(config, store, args.gate_id, new_login=args.new_login)
    finally:
        store.close()
    if args.rotate_key:  # hub.gates.keys: the hub pushes it, wrapped in the old key
        print(f"gate {args.gate_id} has a new key: the hub sends it to the gate the next time it hears the gate,"
              " and forgets the old key once the gate uses the new one; or set it by hand as [agent] gate_key"
              " (shown once):")
    else:
        print(f"gate {args.gate_id} registered; put this in its agent config as [agent] gate_key (shown once):")
    print(key)
    return 0


def _cards_import(args: argparse.Namespace) -> int:
    """The bulk import from a shell, on the database directly (as `gate add` does); a running
    hub's projector brings the gates' lists up to date within a second of the commit."""
    import json
    from pathlib import Path

    from hub.cards import bulk_import

    path = Path(args.file)
    if path.stat().st_size > bulk_import.MAX_BYTES:
        raise DomainError(f"{path} is larger than {bulk_import.MAX_BYTES // bulk_import.MB} MB; split it")
    data = path.read_bytes()
    store = Store.open(load_config(args.config).hub.db_path)

    def progress(stage: str, done: int) -> None:
        print(f"{stage}: {done} rows", file=sys.stderr)

    try:
        table, checked = bulk_import.check_file(store, data, path.name, progress=progress)
        if checked.ok and not args.dry_run:
            bulk_import.write_cards(store, args.who, table, path.name, checked, "cli", progress=progress)
    except bulk_import.ImportRefused as exc:
        checked = exc.checked
    finally:
        store.close()
    for e in checked.errors:
        print(f"row {e.row}, {e.column}: {e.rule}: {e.detail}", file=sys.stderr)
    print(json.dumps({"dry_run": args.dry_run, "written": 0 if args.dry_run or not checked.ok else len(checked.cards),
                      **checked.counts()}, ensure_ascii=False))
    return 0 if checked.ok else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="gate-hub", description="gatehouse hub")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the hub (HTTP API, pages, MQTT client)")
    serve.add_argument("--config", required=True, help="hub TOML config")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.set_defaults(func=_serve)

    token = sub.add_parser("token", help="API tokens").add_subparsers(dest="token_command", required=True)
    create = token.add_parser("create", help="make a token; printed as the last line")
    create.add_argument("--role", required=True, help="admin, supervisor, clerk, guard, or resident_app (with --unit)")
    create.add_argument("--name", required=True, help="who holds it (shown in the audit log)")
    create.add_argument("--gates", default="", help="comma-separated gate ids a guard may use (default: all)")
    create.add_argument("--expires-days", type=int, default=None, help="the token stops working after this many days")
    create.add_argument("--unit", default=None,
                        help="resident_app only: the one unit (e.g. A-12-03) whose visitors it may pre-register")
    create.add_argument("--department", default=None,
                        help="department only: the department whose complaints it works (e.g. engineering)")
    create.add_argument("--config", required=True)
    create.set_defaults(func=users_cli.token_create)
    users_cli.add_parsers(token, sub)  # token list|revoke, user add|list|disable

    gate = sub.add_parser("gate", help="gates").add_subparsers(dest="gate_command", required=True)
    add = gate.add_parser("add", help="register a gate; prints its command key as the last line")
    add.add_argument("gate_id")
    add.add_argument("--rotate-key", action="store_true", help="replace the key of a gate that has one")
    add.add_argument("--new-login", action="store_true", help="replace the broker password of a gate that has one")
    add.add_argument("--config", required=True)
    add.set_defaults(func=_gate_add)

    cards = sub.add_parser("cards", help="cards").add_subparsers(dest="cards_command", required=True)
    imp = cards.add_parser("import", help="import cards from the old system's CSV or XLSX: all rows or none")
    imp.add_argument("file")
    imp.add_argument("--dry-run", action="store_true", help="check only; write nothing")
    imp.add_argument("--who", default="cli:cards-import", help="who imports (shown in the audit log)")
    imp.add_argument("--config", required=True)
    imp.set_defaults(func=_cards_import)

    from hub.broker.cli import add_parsers as add_broker_parsers

    add_broker_parsers(sub, gate)

    add_demo_command(sub)

    from hub.workcal.cli import add_parsers as add_calendar_parsers

    add_calendar_parsers(sub)  # calendar seed YEAR (hub.workcal)

    i18n = sub.add_parser("i18n", help="the pages' languages").add_subparsers(dest="i18n_command", required=True)
    i18n.add_parser("update", help="find the texts in the sources, update and compile every catalog (a developer's step)"
                    ).set_defaults(func=_i18n_update)
    tr = i18n.add_parser("translate", help="set translations from a JSON file of {msgid: text} (a developer's step)")
    tr.add_argument("language", choices=["zh_Hans", "zh_Hant", "en"])
    tr.add_argument("file")
    tr.set_defaults(func=_i18n_translate)
    return parser


def _i18n_translate(args: argparse.Namespace) -> int:
    from hub.i18n.extract import translate

    unknown = translate(args.language, Path(args.file))
    for msgid in unknown:
        print(f"not in any catalog (run `gate-hub i18n update` first): {msgid!r}", file=sys.stderr)
    return 1 if unknown else 0


def _i18n_update(_args: argparse.Namespace) -> int:
    from hub.i18n.extract import update

    missing = update()
    for where, n in sorted(missing.items()):
        print(f"{where}: {n} without a translation" if n else f"{where}: complete")
    return 1 if any(missing.values()) else 0


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ConfigError as exc:
        print(f"gate-hub: config error: {exc}", file=sys.stderr)
        return 2
    except DomainError as exc:
        print(f"gate-hub: {exc.detail}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())

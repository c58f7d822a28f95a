"""``gate-hub ca ...``, ``gate-hub broker write`` and the broker half of ``gate-hub gate add``
and ``gate retire``.

Every command prints where files went, never what a key holds; a password is printed
once, when it is made. mosquitto rereads its password and ACL files (and certificates)
on SIGHUP; sending it is the operator's step, so each command that changes them prints
the command to run.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hub.broker import logins
from hub.broker.pki import Pki
from hub.config import HubConfig
from hub.db import Store
from hub.errors import BadInput, DomainError
from hub.gates.keys import GateKeys
from protocols.configfile import load_toml

RELOAD = "sudo systemctl reload mosquitto    (or: sudo kill -HUP $(pidof mosquitto))"


def _config(args: argparse.Namespace) -> HubConfig:
    return load_toml(args.config, HubConfig)


def _pki(config: HubConfig) -> Pki:
    if config.broker is None:
        raise BadInput("add a [broker] table with pki_dir to the hub config", rule="no_broker_config", field="broker")
    return Pki(config.broker.pki_dir, config.broker.group)


def _written(paths: list[Path]) -> None:
    print("broker files written: " + ", ".join(str(p) for p in paths))
    print(f"tell mosquitto to reload them: {RELOAD}")


def ca_init(args: argparse.Namespace) -> int:
    config = _config(args)
    pki = _pki(config)
    made = pki.init(config.hub.site)
    print(f"estate CA made: certificate {made.cert} (valid until {made.not_after:%Y-%m-%d}), key {made.key} (0600, stays on the hub)")
    print(f"revocation list: {pki.crl}")
    print("next: gate-hub ca server --host NAME [--host IP ...], then gate-hub gate add GATE")
    return 0


def ca_server(args: argparse.Namespace) -> int:
    config = _config(args)
    pki = _pki(config)
    made = pki.server(list(args.host))
    print(f"broker certificate for {', '.join(args.host)}: {made.cert}, key {made.key} (0640)"
          f" (valid until {made.not_after:%Y-%m-%d})")
    print(f"tell mosquitto to load it: {RELOAD}")
    return 0


def _issue_gate_cert(config: HubConfig, store: Store, gate_id: str, who: str) -> None:
    pki = _pki(config)
    made = pki.gate(gate_id)
    replaced = logins.record_cert(store, gate_id, made, who)
    ca, cert, key = pki.gate_files(gate_id)
    print(f"certificate for gate {gate_id}: {cert}, key {key} (0600), CA {ca}"
          f" (valid until {made.not_after:%Y-%m-%d}); copy {pki.gate_dir(gate_id)}/ to the gate's Pi")
    if replaced:
        print(f"its earlier certificate{'s are' if replaced > 1 else ' is'} revoked")


def ca_gate(args: argparse.Namespace) -> int:
    """A new certificate for a registered gate (its earlier ones are revoked)."""
    config = _config(args)
    logins.check_gate_login_name(config, args.gate_id)
    store = Store.open(config.hub.db_path)
    try:
        with store.read() as db:
            known = bool(list(db.query("SELECT 1 FROM gates WHERE gate_id = ?", [args.gate_id])))
        if not known:
            raise BadInput("no gate {gate_id}: run gate-hub gate add {gate_id}", rule="unknown_gate", field="gate_id",
                           gate_id=args.gate_id)
        _issue_gate_cert(config, store, args.gate_id, "cli:ca-gate")
        _written(logins.write_files(store, config))
    finally:
        store.close()
    return 0


def ca_hub(args: argparse.Namespace) -> int:
    """The hub's own client certificate: only for a hub that is not on the broker's host."""
    config = _config(args)
    pki = _pki(config)
    user, _pw = logins.hub_login(config)
    store = Store.open(config.hub.db_path)
    try:
        made = pki.hub(user)
        replaced = logins.record_cert(store, user, made, "cli:ca-hub")
        paths = logins.write_files(store, config)
    finally:
        store.close()
    ca, cert, key = pki.hub_files(user)
    print(f"the hub's certificate (as {user}): {cert}, key {key} (0600), CA {ca} (valid until {made.not_after:%Y-%m-%d});"
          " set them as [mqtt] ca_file, cert_file, key_file with tls = true and port 8883")
    if replaced:
        print("its earlier certificate is revoked")
    _written(paths)
    return 0


def check_gate_add(config: HubConfig, gate_id: str) -> None:
    """Before ``gate add`` registers anything: a gate the broker can tell from the hub."""
    logins.check_gate_login_name(config, gate_id)
    if config.broker is not None:
        logins.hub_login(config)


def gate_added(config: HubConfig, store: Store, gate_id: str, new_login: bool = False) -> None:
    """After ``gate add`` registered the gate (and before it prints the key, the last line):
    its broker login, its certificate where there is a CA, and the files. Nothing here may
    hide the gate key, which is shown once: a failure is reported and the key still printed."""
    if config.broker is None:
        return
    try:
        with store.read() as db:
            had_login = logins.has_login(db, gate_id)
            has_cert = bool(list(db.query(
                "SELECT 1 FROM broker_certs WHERE gate_id = ? AND revoked_at IS NULL", [gate_id])))
        if had_login and not new_login:
            print(f"broker login for gate {gate_id} unchanged (--new-login replaces its password)")
        else:
            password = logins.set_login(store, gate_id, "cli:gate-add")
            print(f"broker login for gate {gate_id}: username {gate_id}; put this in its agent config as"
                  " [mqtt] password (shown once):")
            print(password)
        pki = _pki(config)
        if pki.exists() and not has_cert:
            _issue_gate_cert(config, store, gate_id, "cli:gate-add")
        elif not pki.exists():
            print("no estate CA yet (gate-hub ca init): no certificate made for this gate")
        _written(logins.write_files(store, config))
    except (DomainError, OSError) as exc:
        detail = exc.detail if isinstance(exc, DomainError) else str(exc)
        print(f"gate-hub: broker files not written: {detail}; fix it and run gate-hub broker write", file=sys.stderr)


def gate_retire(args: argparse.Namespace) -> int:
    """The hub forgets the gate's keys (it believes nothing the gate signs from now on) and,
    where the hub keeps the broker's files, its login, certificate and ACL lines go too."""
    config = _config(args)
    store = Store.open(config.hub.db_path)
    try:
        keys_gone = GateKeys(store, config.hub.secret_path).retire(args.gate_id, "cli:gate-retire")
        print(f"gate {args.gate_id} retired: "
              + ("its keys are forgotten, the hub believes nothing it signs" if keys_gone else "it had no key"))
        if config.broker is None:
            return 0
        pki = _pki(config)
        done = logins.retire(store, args.gate_id, "cli:gate-retire")
        pki.remove_gate_files(args.gate_id)
        paths = logins.write_files(store, config)
    finally:
        store.close()
    print(f"broker: login {'removed' if done.login else 'none'}, {done.certs} certificate(s) revoked,"
          " its ACL lines gone")
    _written(paths)
    return 0


def broker_write(args: argparse.Namespace) -> int:
    """Rewrite the files from the database (after changing the hub's [mqtt] password, say)."""
    config = _config(args)
    store = Store.open(config.hub.db_path)
    try:
        _written(logins.write_files(store, config))
    finally:
        store.close()
    return 0


def add_parsers(sub: argparse._SubParsersAction, gate: argparse._SubParsersAction) -> None:
    """``ca`` and ``broker`` commands, and ``gate retire`` (hub.cli.build_parser calls this)."""
    ca = sub.add_parser("ca", help="the estate CA and TLS certificates for the broker link")
    ca_sub = ca.add_subparsers(dest="ca_command", required=True)
    init = ca_sub.add_parser("init", help="make the estate CA in [broker] pki_dir (once)")
    init.add_argument("--config", required=True)
    init.set_defaults(func=ca_init)
    server = ca_sub.add_parser("server", help="the broker's certificate")
    server.add_argument("--host", action="append", required=True,
                        help="a name or IP address gates use to reach the broker (repeat for each)")
    server.add_argument("--config", required=True)
    server.set_defaults(func=ca_server)
    gate_cert = ca_sub.add_parser("gate", help="a new client certificate for a registered gate")
    gate_cert.add_argument("gate_id")
    gate_cert.add_argument("--config", required=True)
    gate_cert.set_defaults(func=ca_gate)
    hub_cert = ca_sub.add_parser("hub", help="the hub's own client certificate (a hub on another host than the broker)")
    hub_cert.add_argument("--config", required=True)
    hub_cert.set_defaults(func=ca_hub)

    broker = sub.add_parser("broker", help="mosquitto's password, ACL and revocation files")
    broker_sub = broker.add_subparsers(dest="broker_command", required=True)
    write = broker_sub.add_parser("write", help="rewrite them from the database")
    write.add_argument("--config", required=True)
    write.set_defaults(func=broker_write)

    retire = gate.add_parser("retire", help="forget a gate's keys, and remove its broker login, certificate and ACL lines")
    retire.add_argument("gate_id")
    retire.add_argument("--config", required=True)
    retire.set_defaults(func=gate_retire)

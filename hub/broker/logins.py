"""Gates' broker logins and certificates, kept in the hub's database, and the mosquitto
files written from it.

One source: the database says which gates may log in (``broker_logins``: only a hash of
each password) and which certificates were issued and revoked (``broker_certs``); the
password file, the ACL file and the CRL are always rewritten whole from it, so a file
can never hold a login the hub forgot. The hub's own login is not stored: it comes from
the hub config's ``[mqtt] username``/``password`` each time the files are written.

Retiring a gate deletes its login (mosquitto refuses it after a reload), drops its ACL
block and revokes its certificates in the CRL (the broker refuses the certificate in the
TLS handshake, whatever password comes with it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import sqlite_utils

from hub import audit
from hub.broker import aclfile, passwd
from hub.broker.files import BROKER_READS, write_atomic
from hub.broker.pki import Issued, Pki
from hub.config import HubConfig
from hub.db import Store
from hub.errors import BadInput, Conflict, NotFound
from protocols.topics import BadTopic, check_name

SCHEMA = """
CREATE TABLE IF NOT EXISTS broker_logins (
    username TEXT PRIMARY KEY,
    pw_hash TEXT NOT NULL,
    created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS broker_certs (
    serial TEXT PRIMARY KEY,          -- hex: serials are up to 159 bits
    gate_id TEXT NOT NULL,            -- or the hub's broker username (gate-hub ca hub)
    issued_at TEXT NOT NULL,
    not_after TEXT NOT NULL,
    revoked_at TEXT
);
"""


def _now() -> datetime:
    return datetime.now(timezone.utc)


def hub_login(config: HubConfig) -> tuple[str, str]:
    """The hub's own broker user and password, which the password file must carry."""
    user, pw = config.mqtt.username, config.mqtt.password
    if not user or pw is None or not pw.get_secret_value():
        raise BadInput(
            "the hub logs in to the broker too: set [mqtt] username and password in the hub config",
            rule="no_hub_login", field="mqtt.username",
        )
    return user, pw.get_secret_value()


def check_gate_login_name(config: HubConfig, gate_id: str) -> None:
    """A gate may not be named as the hub's login: its login would be the hub's, and so its client id."""
    try:
        check_name("gate_id", gate_id)
    except BadTopic as exc:
        raise BadInput(str(exc), rule="bad_gate_id", field="gate_id") from None
    if config.mqtt.username and gate_id == config.mqtt.username:
        raise Conflict(
            "gate id {gate_id!r} is the hub's broker username ([mqtt] username); name the gate otherwise",
            rule="gate_is_hub_login", gate_id=gate_id,
        )


def has_login(db: sqlite_utils.Database, gate_id: str) -> bool:
    return bool(list(db.query("SELECT 1 FROM broker_logins WHERE username = ?", [gate_id])))


def set_login(store: Store, gate_id: str, who: str) -> str:
    """Make (or replace) a registered gate's broker login; returns the password, shown once."""
    password = passwd.new_password()
    with store.tx() as db:
        if not list(db.query("SELECT 1 FROM gates WHERE gate_id = ?", [gate_id])):
            raise NotFound("no gate {gate_id}: run gate-hub gate add {gate_id}", rule="unknown_gate", field="gate_id",
                           gate_id=gate_id)
        replaced = has_login(db, gate_id)
        db.execute(
            "INSERT INTO broker_logins (username, pw_hash, created_at) VALUES (?, ?, ?) "
            "ON CONFLICT (username) DO UPDATE SET pw_hash = excluded.pw_hash, created_at = excluded.created_at",
            [gate_id, passwd.mosquitto_hash(password), _now().isoformat()],
        )
        audit.record(db, who, "broker_login_replaced" if replaced else "broker_login_made", "gate", gate_id)
    return password


def record_cert(store: Store, gate_id: str, issued: Issued, who: str) -> int:
    """Keep a gate's new certificate; its earlier ones are revoked. Returns how many were."""
    now = _now().isoformat()
    with store.tx() as db:
        cur = db.execute(
            "UPDATE broker_certs SET revoked_at = ? WHERE gate_id = ? AND revoked_at IS NULL", [now, gate_id]
        )
        db.execute(
            "INSERT INTO broker_certs (serial, gate_id, issued_at, not_after) VALUES (?, ?, ?, ?)",
            [format(issued.serial, "x"), gate_id, now, issued.not_after.isoformat()],
        )
        audit.record(db, who, "broker_cert_issued", "gate", gate_id, serial=format(issued.serial, "x"))
        return cur.rowcount


@dataclass(frozen=True)
class Retired:
    login: bool
    certs: int


def retire(store: Store, gate_id: str, who: str) -> Retired:
    """Take away a gate's broker login and revoke its certificates."""
    now = _now().isoformat()
    with store.tx() as db:
        login = db.execute("DELETE FROM broker_logins WHERE username = ?", [gate_id]).rowcount
        certs = db.execute(
            "UPDATE broker_certs SET revoked_at = ? WHERE gate_id = ? AND revoked_at IS NULL", [now, gate_id]
        ).rowcount
        if not login and not certs:
            raise NotFound("gate {gate_id} has no broker login or certificate", rule="unknown_gate", field="gate_id",
                           gate_id=gate_id)
        audit.record(db, who, "broker_retired", "gate", gate_id, certs_revoked=certs)
    return Retired(bool(login), certs)


def write_files(store: Store, config: HubConfig) -> list[Path]:
    """Rewrite the password file, the ACL file and (with a CA) the CRL, whole, from the database."""
    if config.broker is None:
        raise BadInput("add a [broker] table with pki_dir to the hub config", rule="no_broker_config", field="broker")
    hub_user, hub_password = hub_login(config)
    pki = Pki(config.broker.pki_dir, config.broker.group)
    pki.prepare()
    with store.read() as db:
        logins = {r["username"]: r["pw_hash"] for r in db.query("SELECT username, pw_hash FROM broker_logins")}
        revoked = [
            (int(r["serial"], 16), datetime.fromisoformat(r["revoked_at"]))
            for r in db.query("SELECT serial, revoked_at FROM broker_certs WHERE revoked_at IS NOT NULL")
        ]
    logins.pop(hub_user, None)  # a gate can never hold the hub's name (check_gate_login_name)
    entries = {**logins, hub_user: passwd.mosquitto_hash(hub_password)}
    written = [
        write_atomic(pki.passwd, passwd.render(entries).encode(), BROKER_READS, config.broker.group),
        write_atomic(pki.acl, aclfile.render(config.hub.site, hub_user, logins).encode(), BROKER_READS, config.broker.group),
    ]
    if pki.exists():
        written.append(pki.write_crl(revoked))
    return written

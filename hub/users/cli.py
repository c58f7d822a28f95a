"""``gate-hub token ...`` and ``gate-hub user ...``: the bodies of the commands (hub.cli has
their parser lines).

Like every gate-hub command that changes records, these open the database directly, so
they work whether or not the hub is running. A token's secret is printed once, as the last
line; a password is never an argument (argv is visible to every user of the machine in
ps and lands in shell history): it is asked for at a terminal, or read from stdin.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from contextlib import contextmanager
from datetime import timedelta
from typing import Iterator

from hub.auth import create_token, list_tokens, now_utc, revoke_token
from hub.db import Store
from hub.errors import BadInput
from hub.users import accounts


@contextmanager
def _store(args: argparse.Namespace) -> Iterator[Store]:
    from hub.cli import load_config

    config = load_config(args.config)
    store = Store.open(config.hub.db_path)
    try:
        yield store
    finally:
        store.close()


def _gates(text: str | None) -> tuple[str, ...]:
    return tuple(g.strip() for g in (text or "").split(",") if g.strip())


def token_create(args: argparse.Namespace) -> int:
    gates = _gates(args.gates)
    expires = now_utc() + timedelta(days=args.expires_days) if args.expires_days else None
    with _store(args) as store:
        token = create_token(store, args.role, args.name, gates, expires_at=expires, who="cli:token-create",
                             unit=getattr(args, "unit", None), department=getattr(args, "department", None))
    limit = f" for gates {', '.join(gates)}" if gates else ""
    if getattr(args, "unit", None):
        limit += f" for unit {args.unit.strip().upper()}"
    if getattr(args, "department", None):
        limit += f" for department {args.department.strip().lower()}"
    until = f", until {expires:%Y-%m-%d %H:%M} UTC" if expires else ""
    print(f"token for {args.role} {args.name}{limit}{until} (shown once; keep it secret):")
    print(token)
    return 0


def token_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        tokens = list_tokens(store)
    print(f"{'id':>4}  {'role':<10} {'name':<20} {'gates':<12} {'created':<16} {'last used':<16} {'expires':<16} state")
    for t in tokens:
        state = "revoked" if t["revoked_at"] else (
            "expired" if t["expires_at"] and t["expires_at"] <= now_utc().isoformat() else "active")
        print(f"{t['id']:>4}  {t['role']:<10} {t['name'][:20]:<20} {','.join(t['gates'])[:12] or '-':<12} "
              f"{_when(t['created_at'])} {_when(t['last_used_at'])} {_when(t['expires_at'])} {state}")
    return 0


def _when(iso: str | None) -> str:
    return (iso or "-")[:16].replace("T", " ").ljust(16)


def token_revoke(args: argparse.Namespace) -> int:
    with _store(args) as store:
        t = revoke_token(store, "cli:token-revoke", args.token_id)
    print(f"token {t['id']} ({t['role']} {t['name']}) revoked; its browser sessions end with it")
    return 0


def _read_password() -> str:
    if sys.stdin.isatty():
        first = getpass.getpass("password: ")
        if getpass.getpass("again: ") != first:
            raise BadInput("the two passwords differ", field="password")
        return first
    return sys.stdin.readline().rstrip("\r\n")


def user_add(args: argparse.Namespace) -> int:
    accounts.check_username(args.username)
    password = _read_password()
    accounts.check_password(password)
    with _store(args) as store:
        user = accounts.add_user(store, "cli:user-add", args.username, args.name, args.role, password,
                                 _gates(args.gates), getattr(args, "department", None))
    print(f"user {user['username']} ({user['role']} {user['name']}) added; they sign in at /login")
    return 0


def user_list(args: argparse.Namespace) -> int:
    with _store(args) as store:
        users = accounts.list_users(store)
    for u in users:
        state = "disabled" if u["disabled_at"] else "active"
        print(f"{u['username']:<20} {u['role']:<10} {u['name'][:24]:<24} {','.join(u['gates']) or '-':<12} {state}")
    return 0


def user_disable(args: argparse.Namespace) -> int:
    with _store(args) as store:
        u = accounts.disable_user(store, "cli:user-disable", args.username)
    print(f"user {u['username']} disabled; their browser sessions end with it")
    return 0


def user_unlock(args: argparse.Namespace) -> int:
    with _store(args) as store:
        cleared = accounts.unlock_user(store, "cli:user-unlock", args.username)
    print(f"user {accounts.normalise_username(args.username)} unlocked ({cleared} failed sign-ins forgotten)")
    return 0


def add_parsers(token: argparse._SubParsersAction, sub: argparse._SubParsersAction) -> None:
    """``token list|revoke`` under the existing ``token`` command, and the ``user`` command."""
    ls = token.add_parser("list", help="every token: id, role, name, gates, created, last used, expiry (no secrets)")
    ls.add_argument("--config", required=True)
    ls.set_defaults(func=token_list)
    rv = token.add_parser("revoke", help="revoke a token by id (see token list): refused at once")
    rv.add_argument("token_id", type=int)
    rv.add_argument("--config", required=True)
    rv.set_defaults(func=token_revoke)

    user = sub.add_parser("user", help="people's accounts (username and password)").add_subparsers(
        dest="user_command", required=True)
    add = user.add_parser("add", help="add an account; the password is asked for, or read from stdin")
    add.add_argument("--role", required=True,
                     help="admin, supervisor, clerk, guard, manager, shift_leader or department (with --department)")
    add.add_argument("--department", default=None, help="department only: the department whose complaints they work")
    add.add_argument("--name", required=True, help="the person's name (shown on pages)")
    add.add_argument("--username", required=True, help="what they type to sign in")
    add.add_argument("--gates", default="", help="comma-separated gate ids a guard may use (default: all)")
    add.add_argument("--config", required=True)
    add.set_defaults(func=user_add)
    ul = user.add_parser("list", help="every account")
    ul.add_argument("--config", required=True)
    ul.set_defaults(func=user_list)
    ud = user.add_parser("disable", help="stop an account signing in; ends its sessions")
    ud.add_argument("username")
    ud.add_argument("--config", required=True)
    ud.set_defaults(func=user_disable)
    uu = user.add_parser("unlock", help="lift a lock after failed sign-ins before it runs out")
    uu.add_argument("username")
    uu.add_argument("--config", required=True)
    uu.set_defaults(func=user_unlock)

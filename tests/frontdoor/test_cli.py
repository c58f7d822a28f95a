"""gate-hub token list|revoke and user add, on the command line."""

from __future__ import annotations

import io
import os
import subprocess
import sys

from hub.auth import token_credential
from hub.cli import load_config
from hub.db import Store
from hub.users import accounts
from tests.conftest import ROOT
from hub.cli import main
from tests.hub.test_cli import write_config


class Ran:
    def __init__(self, returncode: int, stdout: str, stderr: str) -> None:
        self.returncode, self.stdout, self.stderr = returncode, stdout, stderr


def gate_hub(*args: str) -> Ran:
    """gate-hub in this process (quick); the password test runs the real command."""
    import contextlib
    import io

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main(list(args))
        except SystemExit as exc:  # argparse
            code = exc.code
    return Ran(code, out.getvalue(), err.getvalue())


def _store(path) -> Store:
    return Store.open(load_config(str(path)).hub.db_path)


def test_token_list_and_revoke(tmp_path):
    path = write_config(tmp_path)
    made = gate_hub("token", "create", "--role", "guard", "--name", "gina", "--gates", "north", "--expires-days", "30",
                    "--config", str(path))
    assert made.returncode == 0, made.stderr
    secret = made.stdout.strip().splitlines()[-1]
    assert secret.startswith("gh_")
    listed = gate_hub("token", "list", "--config", str(path))
    assert listed.returncode == 0, listed.stderr
    row = [line for line in listed.stdout.splitlines() if "gina" in line]
    assert len(row) == 1 and "guard" in row[0] and "north" in row[0] and "active" in row[0]
    assert secret not in listed.stdout and secret[3:12] not in listed.stdout
    token_id = row[0].split()[0]
    store = _store(path)
    try:
        assert token_credential(store, secret) is not None
        assert list(store.db.query("SELECT expires_at FROM tokens"))[0]["expires_at"]
    finally:
        store.close()

    revoked = gate_hub("token", "revoke", token_id, "--config", str(path))
    assert revoked.returncode == 0, revoked.stderr
    assert "revoked" in gate_hub("token", "list", "--config", str(path)).stdout.splitlines()[-1]
    store = _store(path)
    try:
        assert token_credential(store, secret) is None
    finally:
        store.close()
    again = gate_hub("token", "revoke", token_id, "--config", str(path))
    assert again.returncode == 1 and "already revoked" in again.stderr
    assert gate_hub("token", "revoke", "999", "--config", str(path)).returncode == 1


def test_user_add_reads_the_password_from_stdin_never_argv(tmp_path, monkeypatch):
    path = write_config(tmp_path)
    args = [sys.executable, "-m", "hub.cli", "user", "add", "--role", "clerk", "--name", "Mei Lin",
            "--username", "mei", "--config", str(path)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    r = subprocess.run(args, input="correct horse battery\n", capture_output=True, text=True, env=env, cwd=ROOT,
                       timeout=30)
    assert r.returncode == 0, r.stderr
    assert "correct horse" not in r.stdout + r.stderr
    store = _store(path)
    try:
        _uid, who = accounts.sign_in(store, "mei", "correct horse battery")
        assert who.who == "clerk:mei"
    finally:
        store.close()
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    short = gate_hub(*args[3:-4], "--username", "bo", "--config", str(path))
    assert short.returncode == 1 and "at least" in short.stderr
    monkeypatch.setattr(sys, "stdin", io.StringIO("another long password\n"))
    taken = gate_hub(*args[3:])
    assert taken.returncode == 1 and "already a user mei" in taken.stderr
    # there is no way to give it on the command line
    r = gate_hub("user", "add", "--role", "clerk", "--name", "X", "--username", "x", "--password", "pw123456789",
                 "--config", str(path))
    assert r.returncode == 2 and "unrecognized arguments" in r.stderr
    listed = gate_hub("user", "list", "--config", str(path))
    assert "mei" in listed.stdout and "clerk" in listed.stdout
    store = _store(path)
    try:
        for _ in range(accounts.MAX_FAILURES):
            try:
                accounts.sign_in(store, "mei", "not the password")
            except Exception:
                pass
        assert accounts.locked_until(store.db, "mei", accounts.now_utc()) is not None
    finally:
        store.close()
    unlocked = gate_hub("user", "unlock", "mei", "--config", str(path))
    assert unlocked.returncode == 0 and "unlocked" in unlocked.stdout
    disabled = gate_hub("user", "disable", "mei", "--config", str(path))
    assert disabled.returncode == 0
    assert "disabled" in gate_hub("user", "list", "--config", str(path)).stdout

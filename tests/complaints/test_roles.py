"""The new roles: manager, shift_leader and department (with its department) on tokens,
accounts and the command line; a department's principal works only its own queue."""

from __future__ import annotations

import io
import sys

import pytest

from hub.auth import Role, create_token, token_credential
from hub.errors import BadInput
from hub.users import accounts
from tests.complaints.conftest import complaint, cst
from tests.frontdoor.test_cli import _store, gate_hub
from tests.hub.test_cli import write_config


def test_tokens_carry_the_new_roles_and_a_departments_department(estate):
    store = estate.store
    for role in ("manager", "shift_leader"):
        cred = token_credential(store, create_token(store, role, "wang"))
        assert cred.principal.role == Role(role) and cred.principal.department is None
    cred = token_credential(store, create_token(store, "department", "eng desk", department=" Engineering "))
    assert cred.principal.role == Role.DEPARTMENT and cred.principal.department == "engineering"
    with pytest.raises(BadInput) as e:
        create_token(store, "department", "no dept")
    assert e.value.rule == "department_required"
    with pytest.raises(BadInput) as e:
        create_token(store, "clerk", "li", department="engineering")
    assert e.value.rule == "department_not_for_role"


def test_an_account_of_a_department_signs_in_with_it(estate):
    store = estate.store
    accounts.add_user(store, "test", "zhao", "Zhao Gong", "department", "a long enough password",
                      department="cleaning")
    _, who = accounts.sign_in(store, "zhao", "a long enough password")
    assert who.role == Role.DEPARTMENT and who.department == "cleaning"
    assert [u["department"] for u in accounts.list_users(store) if u["username"] == "zhao"] == ["cleaning"]
    with pytest.raises(BadInput):
        accounts.add_user(store, "test", "qian", "Qian", "department", "a long enough password")


def test_a_department_session_sees_its_queue_only(estate):
    """Signed in with a password (a browser session), not a token."""
    accounts.add_user(estate.store, "test", "zhao", "Zhao Gong", "department", "a long enough password",
                      department="cleaning")
    desk = estate.h("clerk")
    estate.at(cst(2025, 11, 3, 9, 0))
    mine = estate.post("/api/v1/complaints", json=complaint(category="cleaning"), headers=desk).json()["id"]
    other = estate.post("/api/v1/complaints", json=complaint(), headers=desk).json()["id"]
    estate.post(f"/api/v1/complaints/{mine}/forward", json={"department": "cleaning", "task": "t"}, headers=desk)
    estate.post(f"/api/v1/complaints/{other}/forward", json={"department": "engineering", "task": "t"}, headers=desk)
    r = estate.post("/login", data={"username": "zhao", "password": "a long enough password"},
                    follow_redirects=False)
    assert r.status_code in (302, 303), r.text
    listed = estate.get("/api/v1/complaints")
    assert [c["id"] for c in listed.json()] == [mine]
    assert estate.get(f"/api/v1/complaints/{other}").status_code == 404


def test_the_command_line_makes_them(tmp_path, monkeypatch):
    path = write_config(tmp_path)
    made = gate_hub("token", "create", "--role", "department", "--name", "eng", "--department", "engineering",
                    "--config", str(path))
    assert made.returncode == 0, made.stderr
    assert "for department engineering" in made.stdout
    store = _store(path)
    try:
        assert token_credential(store, made.stdout.strip().splitlines()[-1]).principal.department == "engineering"
    finally:
        store.close()
    refused = gate_hub("token", "create", "--role", "department", "--name", "eng", "--config", str(path))
    assert refused.returncode == 1 and "department" in refused.stderr
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    added = gate_hub("user", "add", "--role", "manager", "--name", "Wang", "--username", "wang", "--config", str(path))
    assert added.returncode == 0, added.stderr
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough password\n"))
    added = gate_hub("user", "add", "--role", "department", "--department", "security", "--name", "Sun",
                     "--username", "sun", "--config", str(path))
    assert added.returncode == 0, added.stderr
    store = _store(path)
    try:
        assert accounts.sign_in(store, "sun", "a long enough password")[1].department == "security"
        assert accounts.sign_in(store, "wang", "a long enough password")[1].role == Role.MANAGER
    finally:
        store.close()

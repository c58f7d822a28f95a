"""Browser sessions, accounts, lockout, token lists and revocation, /openapi.json."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.auth import COOKIE, hash_secret
from hub.users import accounts, sessions
from hub.users.accounts import MAX_FAILURES, add_user

PASSWORD = "correct horse battery"


def _sign_in(client, **form):
    r = client.post("/login", data=form, follow_redirects=False)
    return r, r.cookies.get(COOKIE)


def test_the_cookie_is_a_session_of_its_own_stored_hashed(app_client):
    token = app_client.token("guard")
    r, sid = _sign_in(app_client, token=token)
    assert r.status_code == 303 and sid and sid != token and token not in r.headers["set-cookie"]
    with app_client.store.read() as db:
        rows = list(db.query("SELECT sid_hash, expires_at FROM sessions"))
    assert [row["sid_hash"] for row in rows] == [hash_secret(sid)]  # the id itself is nowhere in the database
    assert app_client.get("/live").status_code == 200
    # the session id is no API token
    assert app_client.get("/api/v1/events", headers={"Authorization": f"Bearer {sid}"}).status_code == 401


def test_logout_refuses_the_old_cookie_at_once(app_client):
    r, sid = _sign_in(app_client, token=app_client.token("guard"))
    assert app_client.get("/api/v1/events").status_code == 200
    refused = app_client.post("/logout", follow_redirects=False)  # no Origin: not from the hub's own page
    assert refused.status_code == 403 and refused.json()["error"] == "cross_origin"
    out = app_client.post("/logout", headers={"Origin": "http://testserver"}, follow_redirects=False)
    assert out.status_code == 303
    app_client.cookies.clear()
    # a copy of the cookie kept elsewhere is dead too
    r = app_client.get("/api/v1/events", headers={"Cookie": f"{COOKIE}={sid}"})
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"
    assert app_client.get("/live", headers={"Cookie": f"{COOKIE}={sid}"}, follow_redirects=False).headers["location"] == "/login"


def test_a_revoked_token_and_its_sessions_are_refused_at_once(app_client):
    admin = {"Authorization": "Bearer " + app_client.token("admin", "root")}
    made = app_client.post("/api/v1/tokens", json={"role": "guard", "name": "gina", "gates": ["north"]},
                           headers=admin)
    assert made.status_code == 201, made.text
    secret, token_id = made.json()["token"], made.json()["id"]
    r, sid = _sign_in(app_client, token=secret)
    app_client.cookies.clear()
    bearer = {"Authorization": f"Bearer {secret}"}
    assert app_client.get("/api/v1/events", headers=bearer).status_code == 200
    assert app_client.get("/api/v1/events", headers={"Cookie": f"{COOKIE}={sid}"}).status_code == 200
    listed = app_client.get("/api/v1/tokens", headers=admin).json()
    gina = [t for t in listed if t["id"] == token_id][0]
    assert gina["name"] == "gina" and gina["role"] == "guard" and gina["gates"] == ["north"]
    assert gina["last_used_at"] and gina["revoked_at"] is None
    assert all("token" not in t and "token_hash" not in t for t in listed)
    assert secret not in str(listed) and hash_secret(secret) not in str(listed)

    r = app_client.post(f"/api/v1/tokens/{token_id}/revoke", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_at"]
    assert app_client.get("/api/v1/events", headers=bearer).status_code == 401
    assert app_client.get("/api/v1/events", headers={"Cookie": f"{COOKIE}={sid}"}).status_code == 401
    again = app_client.post(f"/api/v1/tokens/{token_id}/revoke", headers=admin)
    assert again.status_code == 409 and again.json()["error"] == "token_already_revoked"
    # only admins manage tokens
    sup = {"Authorization": "Bearer " + app_client.token("supervisor")}
    assert app_client.get("/api/v1/tokens", headers=sup).status_code == 403
    with app_client.store.read() as db:
        actions = [r["action"] for r in db.query("SELECT action FROM audit WHERE entity = 'token' AND entity_id = ?",
                                                  [str(token_id)])]
    assert actions == ["create", "revoke"]


def test_an_expired_token_is_refused(app_client):
    admin = {"Authorization": "Bearer " + app_client.token("admin")}
    past = (datetime.now(timezone.utc) - timedelta(minutes=1)).isoformat()
    made = app_client.post("/api/v1/tokens", json={"role": "clerk", "name": "temp", "expires_at": past}, headers=admin)
    assert made.status_code == 201
    r = app_client.get("/api/v1/cards", headers={"Authorization": "Bearer " + made.json()["token"]})
    assert r.status_code == 401


def test_sessions_end_when_idle_and_at_their_absolute_end(app_client):
    store = app_client.store
    _sign_in(app_client, token=app_client.token("guard"))
    sid = app_client.cookies.get(COOKIE)
    life = sessions.Lifetime(idle=timedelta(minutes=30), absolute=timedelta(hours=2))
    with store.read() as db:
        created = datetime.fromisoformat(list(db.query("SELECT created_at FROM sessions"))[0]["created_at"])
    assert sessions.session_credential(store, sid, life, now=created + timedelta(minutes=20)) is not None
    assert sessions.session_credential(store, sid, life, now=created + timedelta(minutes=45)) is not None  # seen at 20
    assert sessions.session_credential(store, sid, life, now=created + timedelta(hours=3)) is None
    other = sessions.start_session(store, life, token_id=1, now=created)
    assert sessions.session_credential(store, other, life, now=created + timedelta(minutes=31)) is None  # idle
    assert sessions.session_credential(store, other, life, now=created + timedelta(minutes=1)) is None  # ended for good


def test_people_sign_in_with_their_own_password(app_client):
    add_user(app_client.store, "test", "Mei.Lin", "Mei Lin", "clerk", PASSWORD)
    r, sid = _sign_in(app_client, username="mei.lin", password="wrong password!")
    assert r.status_code == 401 and "Wrong username or password" in r.text and sid is None
    r, sid = _sign_in(app_client, username=" MEI.LIN ", password=PASSWORD)
    assert r.status_code == 303 and sid
    assert app_client.get("/api/v1/stock/levels").status_code == 200
    assert app_client.get("/api/v1/tokens").status_code == 403  # a clerk, not an admin
    page = app_client.get("/login")
    assert "clerk:mei.lin" in page.text
    with app_client.store.read() as db:
        stored = list(db.query("SELECT password_hash FROM users"))[0]["password_hash"]
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


def test_repeated_failures_lock_the_account_with_a_clear_message_and_an_audit(app_client):
    add_user(app_client.store, "test", "gina", "Gina", "guard", PASSWORD)
    for _ in range(MAX_FAILURES - 1):
        r, _sid = _sign_in(app_client, username="gina", password="not the password")
        assert r.status_code == 401
    r, _sid = _sign_in(app_client, username="gina", password="not the password")
    assert r.status_code == 429 and "Too many failed sign-ins for this account" in r.text
    r, sid = _sign_in(app_client, username="gina", password=PASSWORD)  # even the right one waits
    assert r.status_code == 429 and sid is None and "try again after" in r.text
    # another account is not affected
    add_user(app_client.store, "test", "ann", "Ann", "guard", PASSWORD)
    assert _sign_in(app_client, username="ann", password=PASSWORD)[0].status_code == 303
    with app_client.store.read() as db:
        rows = list(db.query("SELECT who, action FROM audit WHERE entity = 'user' AND entity_id = 'gina' ORDER BY id"))
    assert [r["action"] for r in rows] == ["create"] + ["login_failed"] * MAX_FAILURES + ["locked"]
    # when the window has passed, the right password works again
    now = datetime.now(timezone.utc)
    with app_client.store.read() as db:
        assert accounts.locked_until(db, "gina", now) is not None
        assert accounts.locked_until(db, "gina", now + accounts.WINDOW + timedelta(seconds=1)) is None
    # or an admin lifts the lock at once
    admin = {"Authorization": "Bearer " + app_client.token("admin")}
    r = app_client.post("/api/v1/users/gina/unlock", headers=admin)
    assert r.status_code == 200 and r.json()["failures_cleared"] == MAX_FAILURES
    assert _sign_in(app_client, username="gina", password=PASSWORD)[0].status_code == 303


def test_a_disabled_account_and_its_sessions_are_refused(app_client):
    add_user(app_client.store, "test", "bob", "Bob", "guard", PASSWORD)
    _r, sid = _sign_in(app_client, username="bob", password=PASSWORD)
    assert app_client.get("/api/v1/events").status_code == 200
    admin = {"Authorization": "Bearer " + app_client.token("admin")}
    assert app_client.post("/api/v1/users/bob/disable", headers=admin).status_code == 200
    assert app_client.get("/api/v1/events", headers={"Cookie": f"{COOKIE}={sid}"}).status_code == 401
    assert _sign_in(app_client, username="bob", password=PASSWORD)[0].status_code == 401


def test_admins_add_users_over_the_api_and_passwords_are_checked(app_client):
    admin = {"Authorization": "Bearer " + app_client.token("admin")}
    r = app_client.post("/api/v1/users", json={"username": "zhao", "name": "Zhao", "role": "supervisor",
                                                "password": "short"}, headers=admin)
    assert r.status_code == 422 and r.json()["error"] == "password_too_short"
    r = app_client.post("/api/v1/users", json={"username": "zhao", "name": "Zhao", "role": "supervisor",
                                                "password": PASSWORD}, headers=admin)
    assert r.status_code == 201 and "password" not in r.text and r.json()["role"] == "supervisor"
    assert [u["username"] for u in app_client.get("/api/v1/users", headers=admin).json()] == ["zhao"]


@pytest.mark.parametrize("header", ["Bearer gh_made-up", "Bearer anything", None])
def test_openapi_needs_a_real_token(app_client, header):
    r = app_client.get("/openapi.json", headers={"Authorization": header} if header else {})
    assert r.status_code == 401
    r = app_client.get("/openapi.json", headers={"Cookie": f"{COOKIE}=ghs_made-up"})
    assert r.status_code == 401
    good = app_client.get("/openapi.json", headers={"Authorization": "Bearer " + app_client.token("guard")})
    assert good.status_code == 200 and "/api/v1/tokens" in good.json()["paths"]


def test_housekeeping_forgets_ended_sessions_and_old_failures(app_client):
    from hub import housekeeping

    store = app_client.store
    add_user(store, "test", "gina", "Gina", "guard", PASSWORD)
    _sign_in(app_client, username="gina", password="not the password")
    _sign_in(app_client, token=app_client.token("guard"))
    app_client.post("/logout", headers={"Origin": "http://testserver"})
    with store.read() as db:
        assert db["sessions"].count == 1 and db["login_failures"].count == 1
    assert housekeeping.run_once(store)["sessions_purged"] == 0  # kept a while
    later = datetime.now(timezone.utc) + housekeeping.KEEP_SESSIONS + timedelta(hours=1)
    assert housekeeping.run_once(store, now=later)["sessions_purged"] == 2
    with store.read() as db:
        assert db["sessions"].count == 0 and db["login_failures"].count == 0


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/tokens"), ("post", "/api/v1/tokens"), ("post", "/api/v1/tokens/1/revoke"),
    ("get", "/api/v1/users"), ("post", "/api/v1/users"), ("post", "/api/v1/users/gina/disable"),
    ("post", "/api/v1/users/gina/unlock"),
])
def test_token_and_user_endpoints_are_for_admins_only(app_client, method, path):
    assert getattr(app_client, method)(path).status_code == 401
    for role in ("supervisor", "clerk", "guard"):
        r = getattr(app_client, method)(path, headers={"Authorization": "Bearer " + app_client.token(role)})
        assert r.status_code == 403, (role, r.status_code)

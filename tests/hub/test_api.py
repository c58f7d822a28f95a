"""The HTTP contract of cards, auth and errors (in-process; no network needed)."""

from __future__ import annotations

import pytest


CARD = {"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"},
        "valid_from": None, "valid_until": None}


def test_health_is_open_and_says_nothing(api):
    r = api.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok"}


@pytest.mark.parametrize("method,path", [
    ("get", "/api/v1/cards"), ("post", "/api/v1/cards"), ("get", "/api/v1/cards/0A0012AB34"),
    ("post", "/api/v1/cards/0A0012AB34/revoke"), ("get", "/api/v1/events"), ("get", "/api/v1/events/stream"),
    ("get", "/api/v1/gates"), ("post", "/api/v1/gates/north/doors/in/open"), ("get", "/api/v1/health/mqtt"),
    ("get", "/static/live.js"), ("get", "/openapi.json"),
])
def test_every_endpoint_needs_a_token(api, method, path):
    r = getattr(api, method)(path)
    assert r.status_code == 401, (path, r.status_code)
    assert r.json()["error"] == "unauthenticated"
    assert r.headers["www-authenticate"] == "Bearer"


def test_a_bad_token_is_401(api):
    r = api.get("/api/v1/cards", headers={"Authorization": "Bearer gh_not-a-token"})
    assert r.status_code == 401 and r.json()["error"] == "unauthenticated"


def test_wrong_role_is_403(api):
    r = api.post("/api/v1/cards", json=CARD, headers=api.h("guard"))
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    r = api.get("/api/v1/events", headers=api.h("guard"))
    assert r.status_code == 200


@pytest.mark.parametrize("role", ["clerk", "supervisor", "admin"])
def test_issue_gives_201_and_an_active_card(api, role):
    r = api.post("/api/v1/cards", json=CARD, headers=api.h(role))
    assert r.status_code == 201, r.text
    card = r.json()
    assert card["uid"] == "0A0012AB34"
    assert card["status"] == "active"
    assert card["card_type"] == "owner"
    assert card["holder"] == {"name": "Li Wei", "unit": "A-12-03"}


def test_lower_case_and_separators_are_normalised(api):
    h = api.h("clerk")
    r = api.post("/api/v1/cards", json={**CARD, "uid": " 0a:00-12 ab.34 "}, headers=h)
    assert r.status_code == 201 and r.json()["uid"] == "0A0012AB34"
    assert api.get("/api/v1/cards/0a-00-12-ab-34", headers=h).json()["uid"] == "0A0012AB34"


def test_duplicate_active_uid_is_409(api):
    h = api.h("clerk")
    assert api.post("/api/v1/cards", json=CARD, headers=h).status_code == 201
    r = api.post("/api/v1/cards", json={**CARD, "uid": "0a0012ab34"}, headers=h)
    assert r.status_code == 409
    assert r.json() == {"error": "card_already_active", "detail": "card 0A0012AB34 is already active", "field": "uid"}


@pytest.mark.parametrize("body,field", [
    ({**CARD, "uid": "0A0012AB3"}, "uid"),
    ({**CARD, "uid": "ZZ0012AB34"}, "uid"),
    ({**CARD, "card_type": "landlord"}, "card_type"),
    ({k: v for k, v in CARD.items() if k != "holder"}, "holder"),
    ({**CARD, "holder": {"name": "", "unit": "A-1"}}, "holder.name"),
    ({**CARD, "valid_from": "2026-01-01T00:00:00"}, "valid_from"),
    ({**CARD, "colour": "red"}, "colour"),
])
def test_bad_bodies_are_422_naming_the_field(api, body, field):
    h = api.h("clerk")
    r = api.post("/api/v1/cards", json=body, headers=h)
    assert r.status_code == 422, r.text
    assert r.json()["error"] == "bad_input"
    assert r.json()["field"] == field
    assert api.get("/api/v1/cards", headers=h).json() == []  # nothing changed


def test_revoke_gives_200_revoked_and_cannot_repeat(api):
    h = api.h("supervisor")
    api.post("/api/v1/cards", json=CARD, headers=h)
    r = api.post("/api/v1/cards/0a0012ab34/revoke", json={"reason": "moved out"}, headers=h)
    assert r.status_code == 200 and r.json()["status"] == "revoked"
    again = api.post("/api/v1/cards/0A0012AB34/revoke", headers=h)
    assert again.status_code == 422 and again.json()["error"] == "revoke_from_revoked"
    missing = api.post("/api/v1/cards/0A00000000/revoke", headers=h)
    assert missing.status_code == 404 and missing.json()["error"] == "unknown_card"


def test_list_and_get(api):
    h = api.h("clerk")
    api.post("/api/v1/cards", json=CARD, headers=h)
    api.post("/api/v1/cards", json={**CARD, "uid": "0B0B0B0B", "card_type": "resident"}, headers=h)
    api.post("/api/v1/cards/0B0B0B0B/revoke", headers=h)
    cards = api.get("/api/v1/cards", headers=h).json()
    assert [c["uid"] for c in cards] == ["0A0012AB34", "0B0B0B0B"]
    revoked = api.get("/api/v1/cards?status=revoked", headers=h).json()
    assert [c["uid"] for c in revoked] == ["0B0B0B0B"]
    assert api.get("/api/v1/cards/0C", headers=h).status_code == 404
    assert api.get("/api/v1/cards/0G", headers=h).json()["field"] == "uid"


def test_every_card_change_is_audited(api):
    h = api.h("clerk")
    api.post("/api/v1/cards", json=CARD, headers=h)
    api.post("/api/v1/cards/0A0012AB34/revoke", json={"reason": "lease ended"}, headers=h)
    with api.store.read() as db:
        rows = list(db.query("SELECT who, action, entity_id, reason FROM audit WHERE entity = 'card' ORDER BY id"))
    assert [(r["who"], r["action"], r["entity_id"]) for r in rows] == [
        ("clerk:t", "issue", "0A0012AB34"), ("clerk:t", "revoke", "0A0012AB34")]
    assert rows[1]["reason"] == "lease ended"


def test_a_refused_issue_changes_nothing(api):
    h = api.h("clerk")
    api.post("/api/v1/cards", json=CARD, headers=h)
    api.post("/api/v1/cards", json=CARD, headers=h)  # 409
    with api.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM audit WHERE action = 'issue'").fetchone()[0] == 1


def test_remote_open_without_broker_is_503(api):
    r = api.post("/api/v1/gates/north/doors/in/open", headers=api.h("guard"))
    assert r.status_code == 503 and r.json()["error"] == "broker_unavailable"


def test_login_sets_a_strict_httponly_cookie(api):
    token = api.token("guard")
    bad = api.post("/login", data={"token": "nope"}, follow_redirects=False)
    assert bad.status_code == 401 and "gh_session" not in bad.headers.get("set-cookie", "")
    r = api.post("/login", data={"token": token}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/live"
    cookie = r.headers["set-cookie"]
    assert "gh_session=" in cookie and "HttpOnly" in cookie and "SameSite=strict" in cookie
    page = api.get("/live")
    assert page.status_code == 200 and "/static/live.js" in page.text


def test_live_page_without_session_goes_to_login(api):
    r = api.get("/live", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/login"
    assert api.get("/login").status_code == 200
    assert api.get("/static/hub.css").status_code == 200


def test_a_body_that_is_not_json_is_422(api):
    r = api.post("/api/v1/cards", content=b"{not json", headers={**api.h("clerk"), "Content-Type": "application/json"})
    assert r.status_code == 422 and r.json()["field"] == "(body)"


def test_query_limits_are_checked(api):
    r = api.get("/api/v1/events?limit=0", headers=api.h("guard"))
    assert r.status_code == 422 and r.json()["field"] == "limit"


def test_a_clerk_signs_in_and_is_shown_the_way_to_the_card_centre(api):
    r = api.post("/login", data={"token": api.token("clerk")}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/clerk"  # the clerk's first page
    page = api.get("/login")
    assert 'href="/clerk"' in page.text and 'href="/live"' not in page.text
    assert api.get("/live").status_code == 403  # the live page is for guards and supervisors


def test_openapi_is_served_to_a_token_holder(api):
    r = api.get("/openapi.json", headers=api.h("supervisor"))
    assert r.status_code == 200
    paths = r.json()["paths"]
    assert "/api/v1/cards" in paths and "/api/v1/gates/{gate_id}/doors/{door_id}/open" in paths


def test_absurd_numbers_are_bad_input_not_server_errors(api):
    """Found by fuzzing the hub's own OpenAPI (schemathesis): these were 500s."""
    h = api.h("supervisor")
    for path, field in (
        ("/api/v1/people/1421835008381863648005455872", "pid"),
        ("/api/v1/cards?offset=27240523345165115251109134336", "offset"),
        ("/api/v1/stock/years/0", "year"),
        ("/api/v1/stock/reports/0000-01", "month"),
        ("/api/v1/stock/reports/9999-12", "month"),
        ("/api/v1/events/stream?after=99999999999999999999999", "after"),
    ):
        r = api.get(path, headers=h)
        assert r.status_code == 422 and r.json()["field"] == field, (path, r.status_code, r.text)
    r = api.patch("/api/v1/people/21536694564683379268292049559879680", json={"tenancy_end": None}, headers=h)
    assert r.status_code == 422 and r.json()["field"] == "pid"

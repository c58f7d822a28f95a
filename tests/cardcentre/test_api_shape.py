"""One API shape for the card centre: one issue endpoint, every move at a path named as the
move, a reason required in the schema exactly when the hub refuses a move without one, and
every body field described in the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from hub.cards.lifecycle import Move
from hub.cards.moves import NEEDS_REASON

from .test_api import api, tenant_body  # noqa: F401  (the api fixture)

MOVE_PATHS = {  # the move, and the path it is made at
    Move.PERSONALISE: "/api/v1/cards/personalise",
    Move.ISSUE: "/api/v1/cards",
    **{m: f"/api/v1/cards/{{uid}}/{m.value}" for m in Move if m not in (Move.PERSONALISE, Move.ISSUE)},
}
ALIASES = {"/api/v1/cards/issue": "/api/v1/cards", "/api/v1/cards/{uid}/lost": "/api/v1/cards/{uid}/report_lost",
           "/api/v1/cards/{uid}/damaged": "/api/v1/cards/{uid}/damage",
           "/api/v1/cards/{uid}/refund": "/api/v1/cards/{uid}/refund_deposit"}


@pytest.fixture
def schema(api):  # noqa: F811
    return api("GET", "/openapi.json").json()


def _body_schema(schema, path):
    op = schema["paths"][path]["post"]
    content = op.get("requestBody", {}).get("content", {}).get("application/json", {})
    return _resolve(schema, content.get("schema"))


def _resolve(schema, node):
    if node is None:
        return None
    if "$ref" in node:
        return _resolve(schema, schema["components"]["schemas"][node["$ref"].rsplit("/", 1)[1]])
    for key in ("anyOf", "allOf"):
        for part in node.get(key, []):
            found = _resolve(schema, part)
            if found and found.get("properties"):
                return found
    return node


def test_every_move_has_its_canonical_path_and_the_old_ones_are_hidden(schema):
    for move, path in MOVE_PATHS.items():
        assert "post" in schema["paths"].get(path, {}), f"{move.value} has no path {path}"
    for alias in ALIASES:
        assert alias not in schema["paths"], f"{alias} should be left out of the schema"


def test_a_reason_is_required_in_the_schema_exactly_when_the_hub_requires_it(api, schema):  # noqa: F811
    for move, path in MOVE_PATHS.items():
        body = _body_schema(schema, path)
        if body is None or "reason" not in body.get("properties", {}):
            assert move not in NEEDS_REASON, move
            continue
        assert ("reason" in body.get("required", [])) == (move in NEEDS_REASON), move.value
    # and the hub refuses each of those without a reason, with the rule's name
    needs = {Move.SUSPEND: {}, Move.SCRAP: {}, Move.REPORT_LOST: {"replacement_uid": "0E0E0E0F"}, Move.DAMAGE: {},
             Move.FORFEIT_DEPOSIT: {"receipt_no": "R-1"}, Move.TRANSFER: {"card_type": "owner"}}
    assert set(needs) == NEEDS_REASON
    for move, body in needs.items():
        for reason in ({}, {"reason": "  "}):
            r = api("POST", MOVE_PATHS[move].replace("{uid}", "0E0E0E0E"), role="supervisor", json={**body, **reason})
            assert r.status_code == 422 and r.json()["error"] == "reason_required", (move, r.text)
    # the old path of report_lost behaves as its canonical one: a reason is required there too
    r = api("POST", "/api/v1/cards/0E0E0E0E/lost", json={})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"


def test_every_body_field_says_what_it_means(schema):
    undocumented = []

    def walk(node, where):
        node = _resolve(schema, node)
        for name, prop in (node or {}).get("properties", {}).items():
            if not prop.get("description"):
                undocumented.append(f"{where}.{name}")
            inner = _resolve(schema, prop)
            if inner is not prop and inner.get("properties"):
                walk(inner, f"{where}.{name}")

    for path, ops in schema["paths"].items():
        if path.startswith("/api/v1/cards") and "post" in ops:
            walk(_body_schema(schema, path), path)
    assert undocumented == []
    refund = _body_schema(schema, "/api/v1/cards/{uid}/refund_deposit")["properties"]["receipt_no"]["description"]
    assert "deposit.receipt_no" in refund  # which receipt: the deposit's, given at issue


def test_one_issue_endpoint_and_its_alias_answer_the_same(api):  # noqa: F811
    a = api("POST", "/api/v1/cards", json={"uid": "0A0012AB34", "card_type": "owner",
                                          "holder": {"name": "Wang", "unit": "A-12-03"}, "valid_from": None,
                                          "valid_until": None})
    b = api("POST", "/api/v1/cards/issue", json={"uid": "0A0012AB35", "card_type": "owner",
                                                "holder": {"name": "Wang", "unit": "A-12-03"}})
    assert a.status_code == b.status_code == 201
    assert a.json()["status"] == b.json()["status"] == "active"
    assert set(a.json()) == set(b.json()) and a.json()["holder"] == b.json()["holder"]


def test_old_move_paths_still_work(api):  # noqa: F811
    assert api("POST", "/api/v1/cards", json=tenant_body("0A0B0001")).status_code == 201
    assert api("POST", "/api/v1/cards/0A0B0001/return", json={}).status_code == 200
    r = api("POST", "/api/v1/cards/0A0B0001/refund", json={"receipt_no": "R-1"})
    assert r.status_code == 200 and r.json()["move"] == "refund_deposit" and r.json()["amount_cents"] == -10000
    assert api("POST", "/api/v1/cards", json={"uid": "0A0B0002", "card_type": "owner",
                                              "holder": {"name": "Wang", "unit": "A-12-03"}}).status_code == 201
    r = api("POST", "/api/v1/cards/0A0B0002/damaged", json={"reason": "bent", "replacement_uid": "0A0B0003"})
    assert r.status_code == 200 and r.json()["move"] == "damage"


def test_forfeit_is_for_a_supervisor_and_lets_the_card_back_into_stock(api):  # noqa: F811
    assert api("POST", "/api/v1/cards", json=tenant_body("0A0C0001")).status_code == 201
    assert api("POST", "/api/v1/cards/0A0C0001/return", json={"reason": "moved out"}).status_code == 200
    r = api("POST", "/api/v1/cards/0A0C0001/restock", json={})
    assert r.status_code == 422 and r.json()["error"] == "deposit_outstanding"
    moves = api("GET", "/api/v1/cards/0A0C0001/moves").json()
    assert {"refund_deposit", "forfeit_deposit"} <= set(moves["allowed"]) and moves["deposit"]["receipt_no"] == "R-1"
    body = {"receipt_no": "R-1", "reason": "holder left no address; deposit kept per the rules"}
    assert api("POST", "/api/v1/cards/0A0C0001/forfeit_deposit", role="clerk", json=body).status_code == 403
    r = api("POST", "/api/v1/cards/0A0C0001/forfeit_deposit", role="supervisor", json=body)
    assert r.status_code == 200 and r.json()["to_status"] == "returned"
    assert api("POST", "/api/v1/cards/0A0C0001/restock", json={}).json()["to_status"] == "in_stock"
    allowed = api("GET", "/api/v1/cards/0A0C0001/moves").json()["allowed"]
    assert "issue" in allowed and not {"refund_deposit", "forfeit_deposit"} & set(allowed)  # nothing left to settle


def test_receipts_are_unique_across_cards_over_http(api):  # noqa: F811
    assert api("POST", "/api/v1/cards", json=tenant_body("0A0D0001")).status_code == 201
    r = api("POST", "/api/v1/cards", json=tenant_body("0A0D0002"))  # tenant_body always gives receipt R-1
    assert r.status_code == 422 and r.json()["error"] == "receipt_no_taken"
    assert api("GET", "/api/v1/cards/0A0D0002").status_code == 404


def test_the_person_rules_over_http(api):  # noqa: F811
    api("POST", "/api/v1/units", json={"building": "A", "floor": 12, "room": "04", "move_in_date": "2020-01-01"})
    end = (datetime.now(timezone.utc) + timedelta(days=200)).date().isoformat()
    pid = api("POST", "/api/v1/people", json={"name": "Chen Jie", "role": "tenant", "unit": "A-12-04",
                                             "tenancy_end": end, "police_registration_no": "PR-1"}).json()["id"]
    owner = {"uid": "0A0E0001", "card_type": "owner", "holder": {"name": "Chen Jie", "unit": "A-12-04"}, "person_id": pid}
    r = api("POST", "/api/v1/cards", json=owner)
    assert r.status_code == 422 and r.json()["error"] == "card_type_not_for_person"
    r = api("POST", "/api/v1/cards", json={**tenant_body("0A0E0001"), "person_id": pid,
                                          "holder": {"name": "Chen Jay", "unit": "A-12-04"}})
    assert r.status_code == 422 and r.json()["error"] == "holder_differs_from_person"
    body = {**tenant_body("0A0E0001"), "person_id": pid}
    del body["tenancy_end"], body["police_registration_no"]  # the register has them
    assert api("POST", "/api/v1/cards", json=body).status_code == 201

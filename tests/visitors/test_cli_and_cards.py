"""A resident app's token made on the command line, and a temporary card as a visitor's pass."""

from __future__ import annotations

import httpx

from hub.app import start_hub
from hub.cli import load_config
from hub.db import Store
from hub.people.registry import UnitIn, add_unit
from tests.hub.test_cli import gate_hub, write_config
from tests.visitors.conftest import UNIT

VISITOR = {"visitor_name": "Liu Fang", "id_number": "440101199203034567", "host_unit": UNIT}


def test_token_create_for_a_resident_app_is_scoped_to_its_unit(tmp_path):
    """(The refusals, a unit missing or not in the register, are tested in-process: test_rules.)"""
    path = write_config(tmp_path)
    store = Store.open(load_config(str(path)).hub.db_path)
    add_unit(store, "test", UnitIn(building="A", floor=12, room="03"))
    add_unit(store, "test", UnitIn(building="B", floor=3, room="01"))
    store.close()
    r = gate_hub("token", "create", "--role", "resident_app", "--name", "app", "--unit", "a-12-03", "--config",
                 str(path))
    assert r.returncode == 0, r.stderr
    assert "for unit A-12-03" in r.stdout
    token = r.stdout.strip().splitlines()[-1]
    with start_hub(load_config(str(path)), connect_mqtt=False) as hub:
        h = {"Authorization": f"Bearer {token}"}
        ok = httpx.post(hub.url + "/api/v1/visits", json={**VISITOR, "id_number": None}, headers=h)
        assert ok.status_code == 201 and ok.json()["host_unit"] == UNIT
        no = httpx.post(hub.url + "/api/v1/visits", json={**VISITOR, "host_unit": "B-03-01"}, headers=h)
        assert no.status_code == 403 and no.json()["error"] == "unit_not_allowed"


def test_a_temporary_card_pass_is_the_card_centres_issue_and_revoking_it_revokes_the_card(estate):
    api = estate
    guard = api.h("guard")
    v = api.post("/api/v1/visits", json=VISITOR, headers=guard).json()
    url = f"/api/v1/visits/{v['visit_id']}/passes"
    # the card centre's rules hold: a temporary card takes a deposit
    r = api.post(url, json={"kind": "card", "uid": "0A00C0FFEE"}, headers=guard)
    assert r.status_code == 422 and r.json()["error"] == "deposit_required"
    assert api.get("/api/v1/cards/0A00C0FFEE", headers=api.h("clerk")).status_code == 404
    r = api.post(url, json={"kind": "card", "uid": "0a:00:c0:ff:ee",
                            "deposit": {"amount_cents": 5000, "receipt_no": "R-2026-001"}}, headers=guard)
    assert r.status_code == 201, r.text
    p = r.json()
    assert p["kind"] == "card" and p["uid"] == "0A00C0FFEE" and "text" not in p
    card = api.get("/api/v1/cards/0A00C0FFEE", headers=api.h("clerk")).json()
    assert card["status"] == "active" and card["card_type"] == "temporary"
    assert card["holder"] == {"name": "Liu Fang", "unit": UNIT} and card["valid_until"]
    assert api.get(f"/api/v1/passes/{p['pass_id']}/qr.svg", headers=guard).status_code == 404
    assert api.post(f"/api/v1/passes/{p['pass_id']}/revoke", json={"reason": "left early"},
                    headers=guard).json()["state"] == "revoked"
    assert api.get("/api/v1/cards/0A00C0FFEE", headers=api.h("clerk")).json()["status"] == "revoked"

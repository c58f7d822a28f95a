"""The access API on a real SQLite hub: defaults, roles, audit, and refusals that change nothing."""

from __future__ import annotations

import json

from hub.gates import acl

OWNER = {"uid": "0A0012AB34", "card_type": "owner", "holder": {"name": "Li Wei", "unit": "A-12-03"}}
RENO = {"name": "north-reno", "windows": [{"days": [0, 1, 2, 3, 4, 5], "start": "08:00", "end": "12:00"}]}
TABLES = ("access_calendar", "access_holidays", "access_schedules", "access_levels", "access_card_explicit",
          "access_card_levels", "access_type_defaults", "acl_state", "acl_log", "audit")


def _gates(api, *names):
    with api.store.tx() as db:
        for n in names:
            acl.ensure_gate(db, n)


def _everything(api) -> dict:
    with api.store.read() as db:
        return {t: [dict(r) for r in db.query(f"SELECT * FROM {t}")] for t in TABLES}


def _audit(api, entity: str) -> list[dict]:
    with api.store.read() as db:
        return list(db.query("SELECT * FROM audit WHERE entity = ? ORDER BY id", [entity]))


def test_a_plain_owner_card_gets_the_residents_level_at_every_gate(api):
    _gates(api, "north", "south")
    sup = api.h("supervisor")
    assert api.get("/api/v1/access/card-types", headers=sup).json()["owner"] == ["residents"]
    assert api.post("/api/v1/cards", json=OWNER, headers=sup).status_code == 201
    view = api.get("/api/v1/cards/0a0012ab34/access", headers=api.h("clerk")).json()
    assert view["levels"] == ["residents"] and view["source"] == "card_type"
    everywhere = {"doors": None, "schedule": None, "anti_passback": False}
    assert view["gates"] == {"north": everywhere, "south": everywhere} and view["inexact"] == []
    _gates(api, "east")  # a gate seen later lists the card too
    with api.store.read() as db:
        assert [r["uid"] for r in db.query("SELECT uid FROM acl_state WHERE gate_id = 'east'")] == ["0A0012AB34"]


def test_roles_supervisor_writes_clerk_reads_and_assigns(api):
    _gates(api, "north")
    clerk, sup, guard = api.h("clerk"), api.h("supervisor"), api.h("guard")
    assert api.post("/api/v1/cards", json=OWNER, headers=clerk).status_code == 201
    assert api.post("/api/v1/access/schedules", json=RENO, headers=clerk).status_code == 403
    assert api.get("/api/v1/access/levels", headers=guard).status_code == 403
    assert api.get("/api/v1/access/levels").status_code == 401
    r = api.post("/api/v1/access/schedules", json=RENO, headers=sup)
    assert r.status_code == 201, r.text
    assert r.json()["resolved"]["timezone"] == "UTC"  # the estate's, until set
    level = {"name": "north-only", "items": [{"gate_id": "north", "doors": ["north-in"]}], "schedule": "north-reno"}
    assert api.post("/api/v1/access/levels", json=level, headers=sup).status_code == 201
    assert api.get("/api/v1/access/levels", headers=clerk).status_code == 200
    r = api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["north-only"]}, headers=clerk)
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "card" and r.json()["gates"]["north"]["doors"] == ["north-in"]
    assert api.put("/api/v1/access/calendar", json={"timezone": "Asia/Shanghai"}, headers=clerk).status_code == 403
    assert api.put("/api/v1/access/calendar", json={"timezone": "Asia/Shanghai"}, headers=sup).status_code == 200
    with api.store.read() as db:
        entry = json.loads(list(db.query("SELECT entry FROM acl_state WHERE uid = '0A0012AB34'"))[0]["entry"])
        # the entry names its schedule by id; the hub keeps the schedule once, by that id
        schedule = json.loads(db.execute("SELECT body FROM acl_schedules WHERE id = ?", [entry["schedule"]]).fetchone()[0])
    assert schedule["timezone"] == "Asia/Shanghai" and entry["doors"] == ["north-in"]
    # every change audited, with who
    assert [a["action"] for a in _audit(api, "access_schedule")] == ["create"]
    assert [a["action"] for a in _audit(api, "access_level")] == ["create"]
    assert [a["action"] for a in _audit(api, "access_calendar")] == ["update"]
    set_access = [a for a in _audit(api, "card") if a["action"] == "set_access"]
    assert len(set_access) == 1 and set_access[0]["who"].startswith("clerk:")
    assert json.loads(set_access[0]["detail"])["after"] == ["north-only"]
    # back to the type's defaults
    r = api.delete("/api/v1/cards/0A0012AB34/access", headers=clerk)
    assert r.json()["levels"] == ["residents"] and r.json()["source"] == "card_type"


def test_crud_round_trip_and_an_empty_list_reaches_no_gate(api):
    _gates(api, "north")
    sup = api.h("supervisor")
    assert api.post("/api/v1/cards", json=OWNER, headers=sup).status_code == 201
    assert api.post("/api/v1/access/schedules", json=RENO, headers=sup).status_code == 201
    body = {**RENO, "description": "later"}
    body.pop("name")
    body["windows"][0]["end"] = "13:00"
    r = api.put("/api/v1/access/schedules/north-reno", json=body, headers=sup)
    assert r.status_code == 200 and r.json()["windows"][0]["end"] == "13:00:00"
    assert api.delete("/api/v1/access/schedules/north-reno", headers=sup).status_code == 204
    assert api.get("/api/v1/access/schedules/north-reno", headers=sup).status_code == 404
    assert api.post("/api/v1/access/holidays", json={"date": "2026-10-01", "name": "National Day"},
                    headers=sup).status_code == 201
    assert api.get("/api/v1/access/holidays", headers=sup).json() == [{"date": "2026-10-01", "name": "National Day"}]
    assert api.delete("/api/v1/access/holidays/2026-10-01", headers=sup).status_code == 204

    r = api.put("/api/v1/cards/0A0012AB34/access", json={"levels": []}, headers=sup)
    assert r.status_code == 200 and r.json()["gates"] == {}
    with api.store.read() as db:
        assert not list(db.query("SELECT 1 FROM acl_state WHERE uid = '0A0012AB34'"))
        last = list(db.query("SELECT entry FROM acl_log WHERE uid = '0A0012AB34' ORDER BY id DESC LIMIT 1"))[0]
    assert last["entry"] is None  # the gate got a removal


def test_refusals_change_nothing(api):
    _gates(api, "north")
    sup = api.h("supervisor")
    assert api.post("/api/v1/cards", json=OWNER, headers=sup).status_code == 201
    assert api.post("/api/v1/access/schedules", json=RENO, headers=sup).status_code == 201
    level = {"name": "north-only", "items": [{"gate_id": "north"}], "schedule": "north-reno"}
    assert api.post("/api/v1/access/levels", json=level, headers=sup).status_code == 201
    assert api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["north-only"]}, headers=sup).status_code == 200
    before = _everything(api)

    def refused(method, path, body, status, field, rule=None):
        r = api.request(method, path, json=body, headers=sup)
        assert r.status_code == status, (path, r.text)
        assert r.json()["field"] == field, r.json()
        if rule:
            assert r.json()["error"] == rule
        assert _everything(api) == before, f"{method} {path} changed something"

    bad_window = {"name": "x", "windows": [{"days": [7], "start": "08:00", "end": "09:00"}]}
    refused("POST", "/api/v1/access/schedules", {**RENO, "name": "x", "timezone": "Mars/Olympus"}, 422, "timezone")
    refused("POST", "/api/v1/access/schedules", bad_window, 422, "windows.0")
    refused("POST", "/api/v1/access/schedules", {"name": "x", "windows": []}, 422, "windows")
    refused("POST", "/api/v1/access/schedules", {**RENO, "name": "Bad Name"}, 422, "name")
    refused("PUT", "/api/v1/access/schedules/north-reno", {"windows": [], "holiday_windows": []}, 422, "windows")
    refused("POST", "/api/v1/access/schedules", RENO, 409, "name", "schedule_exists")
    refused("POST", "/api/v1/access/levels", {"name": "y", "items": [{"gate_id": "a/b"}]}, 422, "items.0.gate_id")
    refused("POST", "/api/v1/access/levels", {"name": "y", "items": []}, 422, "items")
    refused("POST", "/api/v1/access/levels", {"name": "y", "items": [{"gate_id": "north"}], "colour": 1}, 422, "colour")
    refused("POST", "/api/v1/access/levels", {"name": "y", "items": [{"gate_id": "north"}], "schedule": "nope"},
            404, "schedule", "unknown_schedule")
    refused("PUT", "/api/v1/access/levels/north-only",
            {"items": [{"gate_id": "north"}, {"gate_id": "north", "doors": ["n1"]}]}, 422, "items.1.gate_id")
    refused("PUT", "/api/v1/access/levels/nope", {"items": [{"gate_id": "north"}]}, 404, "name", "unknown_level")
    refused("PUT", "/api/v1/cards/0A0012AB34/access", {"levels": ["residents", "nope"]}, 404, "levels", "unknown_level")
    refused("PUT", "/api/v1/cards/0A0012AB34/access", {"levels": ["residents", "residents"]}, 422, "levels")
    refused("PUT", "/api/v1/cards/0A0012AB34/access", {"levels": "residents"}, 422, "levels")
    refused("PUT", "/api/v1/cards/FFFF/access", {"levels": ["residents"]}, 404, "uid", "unknown_card")
    refused("PUT", "/api/v1/access/card-types/owner", {"levels": ["nope"]}, 404, "levels", "unknown_level")
    refused("PUT", "/api/v1/access/card-types/alien", {"levels": ["residents"]}, 422, "card_type")
    refused("DELETE", "/api/v1/access/levels/north-only", None, 409, "name", "level_in_use")
    refused("DELETE", "/api/v1/access/levels/renovation", None, 409, "name", "level_in_use")  # a type's default
    refused("DELETE", "/api/v1/access/levels/residents", None, 409, "name", "builtin_level")
    refused("DELETE", "/api/v1/access/schedules/north-reno", None, 409, "name", "schedule_in_use")
    refused("DELETE", "/api/v1/access/levels/nope", None, 404, "name", "unknown_level")
    refused("POST", "/api/v1/access/holidays", {"date": "2026-02-30", "name": "x"}, 422, "date")
    refused("DELETE", "/api/v1/access/holidays/2026-10-01", None, 404, "date", "unknown_holiday")
    refused("PUT", "/api/v1/access/calendar", {"timezone": "Nowhere"}, 422, "timezone")


def test_a_cards_own_levels_hold_for_one_issue_and_can_go_to_a_replacement(api):
    from hub.access import service
    from hub.cards import moves

    _gates(api, "north", "south")
    sup = api.h("supervisor")
    level = {"name": "north-only", "items": [{"gate_id": "north"}]}
    assert api.post("/api/v1/access/levels", json=level, headers=sup).status_code == 201
    assert api.post("/api/v1/cards", json=OWNER, headers=sup).status_code == 201
    assert api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["north-only"]}, headers=sup).status_code == 200

    # a replacement card gets the same levels through the hook the card centre calls
    assert api.post("/api/v1/cards", json={**OWNER, "uid": "0B0B0B0B"}, headers=sup).status_code == 201
    with api.store.tx() as db:
        assert service.copy_card_levels(db, "clerk:mei", "0A0012AB34", "0B0B0B0B")
    copied = api.get("/api/v1/cards/0B0B0B0B/access", headers=sup).json()
    assert copied["levels"] == ["north-only"] and set(copied["gates"]) == {"north"}
    with api.store.read() as db:
        assert [r["gate_id"] for r in db.query("SELECT gate_id FROM acl_state WHERE uid = '0B0B0B0B'")] == ["north"]

    # returned, restocked and issued to someone else: the type's defaults again
    moves.return_card(api.store, "clerk:mei", "0A0012AB34")
    moves.restock(api.store, "clerk:mei", "0A0012AB34")
    assert api.get("/api/v1/cards/0A0012AB34/access", headers=sup).json()["gates"] == {}
    assert api.post("/api/v1/cards", json={**OWNER, "holder": {"name": "Wang Fang", "unit": "B-01-01"}},
                    headers=sup).status_code == 201
    again = api.get("/api/v1/cards/0A0012AB34/access", headers=sup).json()
    assert again["levels"] == ["residents"] and again["source"] == "card_type"
    assert set(again["gates"]) == {"north", "south"}
    # and the level the old issue named can go now that no current card uses it
    assert api.delete("/api/v1/cards/0B0B0B0B/access", headers=sup).status_code == 200
    assert api.delete("/api/v1/access/levels/north-only", headers=sup).status_code == 204


def test_two_levels_on_one_gate_merge_as_documented(api):
    _gates(api, "north", "south")
    sup = api.h("supervisor")
    for name, start, end in (("mornings", "08:00", "12:00"), ("evenings", "18:00", "22:00")):
        body = {"name": name, "windows": [{"days": [0, 1, 2, 3, 4], "start": start, "end": end}]}
        assert api.post("/api/v1/access/schedules", json=body, headers=sup).status_code == 201
    levels = [
        {"name": "n1-mornings", "items": [{"gate_id": "north", "doors": ["n1"]}], "schedule": "mornings"},
        {"name": "n1-evenings", "items": [{"gate_id": "north", "doors": ["n1"]}], "schedule": "evenings"},
        {"name": "n2-evenings", "items": [{"gate_id": "north", "doors": ["n2"]}, {"gate_id": "south"}],
         "schedule": "evenings"},
    ]
    for level in levels:
        assert api.post("/api/v1/access/levels", json=level, headers=sup).status_code == 201
    assert api.post("/api/v1/cards", json=OWNER, headers=sup).status_code == 201

    # same doors, two schedules in one timezone: one schedule open in both windows (exact)
    r = api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["n1-mornings", "n1-evenings"]}, headers=sup).json()
    north = r["gates"]["north"]
    assert north["doors"] == ["n1"] and r["inexact"] == []
    assert [(w["start"], w["end"]) for w in north["schedule"]["windows"]] == [("08:00:00", "12:00:00"),
                                                                                ("18:00:00", "22:00:00")]
    assert set(r["gates"]) == {"north"}

    # other doors AND other hours: one entry cannot say it; the first-listed level's grant
    r = api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["n2-evenings", "n1-mornings"]}, headers=sup).json()
    assert r["inexact"] == ["north"]
    assert r["gates"]["north"]["doors"] == ["n2"]
    assert r["gates"]["north"]["schedule"]["windows"][0]["start"] == "18:00:00"
    assert r["gates"]["south"]["doors"] is None  # south: only one level reaches it
    # residents (every door, any time) absorbs both
    r = api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["n2-evenings", "residents", "n1-mornings"]},
                headers=sup).json()
    assert r["inexact"] == [] and r["gates"]["north"] == {"doors": None, "schedule": None, "anti_passback": False}


def test_a_replacement_card_keeps_the_lost_cards_own_levels(api):
    _gates(api, "north", "south")
    sup, clerk = api.h("supervisor"), api.h("clerk")
    level = {"name": "north-only", "items": [{"gate_id": "north"}]}
    assert api.post("/api/v1/access/levels", json=level, headers=sup).status_code == 201
    assert api.post("/api/v1/cards", json=OWNER, headers=clerk).status_code == 201
    assert api.put("/api/v1/cards/0A0012AB34/access", json={"levels": ["north-only"]}, headers=clerk).status_code == 200
    r = api.post("/api/v1/cards/0A0012AB34/lost", json={"reason": "lost on the bus", "replacement_uid": "0A0012AB35"},
                 headers=clerk)
    assert r.status_code == 200, r.text
    view = api.get("/api/v1/cards/0A0012AB35/access", headers=clerk).json()
    assert (view["levels"], view["source"], sorted(view["gates"])) == (["north-only"], "card", ["north"])

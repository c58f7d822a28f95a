"""The handover view with the other domains of the guard's post: the open alarms of the
gates the incoming guard may see (hub.alarms) and the visitors still inside (hub.visitors),
with their personal data masked. Both are built beside the duty log; the view shows them
when the hub has them (``null`` otherwise)."""

from __future__ import annotations

import json
from datetime import datetime, timezone

import pytest

from hub.auth import create_token


def test_the_handover_shows_open_alarms_and_visitors_still_inside(api) -> None:
    alarms = pytest.importorskip("hub.alarms.service")
    pytest.importorskip("hub.visitors.service")
    clerk, guard = api.h("clerk"), api.h("guard")
    r = api.post("/api/v1/units", headers=clerk, json={"building": "A", "floor": 12, "room": "03"})
    assert r.status_code == 201, r.text
    unit = r.json()["code"]
    r = api.post("/api/v1/visits", headers=guard, json={
        "visitor_name": "Zhao Lei", "id_type": "passport", "id_number": "E12345678", "phone": "13800138000",
        "host_unit": unit, "purpose": "family visit"})
    assert r.status_code == 201, r.text
    visit = r.json()
    if visit["state"] == "expected":
        assert api.post(f"/api/v1/visits/{visit['visit_id']}/arrive", headers=guard, json={}).status_code == 200
    with api.store.tx() as db:
        alarms.raise_alarm(db, "door_forced", datetime.now(timezone.utc), gate_id="north", door_id="north-in")

    h = api.get("/api/v1/duty/handover", headers=guard).json()
    assert [(a["kind"], a["gate_id"]) for a in h["alarms"]] == [("door_forced", "north")]
    assert [(v["visitor_name"], v["host_unit"]) for v in h["visitors_inside"]] == [("Zhao Lei", unit)]
    said = json.dumps(h)
    assert "E12345678" not in said and "13800138000" not in said  # no ID number or phone, not even masked

    south = {"Authorization": "Bearer " + create_token(api.store, "guard", "south-gate", ("south",))}
    assert api.get("/api/v1/duty/handover", headers=south).json()["alarms"] == []  # another gate's guard

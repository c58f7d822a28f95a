"""A guard limited to some gates sees only the photos of people whose cards were seen there."""

from __future__ import annotations

from datetime import datetime, timezone

from tests.cardcentre.test_photos_files import JPEG


def _seen(store, uid: str, gate_id: str) -> None:
    now = datetime.now(timezone.utc).isoformat()
    with store.tx() as db:
        db["events"].insert({"event_id": f"ev-{uid}-{gate_id}", "gate_id": gate_id, "door_id": f"{gate_id}-in",
                             "kind": "pass", "uid": uid, "decision": "granted", "reason": "valid_card", "at": now,
                             "at_utc": now, "acl_rev": 1, "detail": "{}", "received_at": now})


def test_photos_by_gate_sightings(app_client):
    clerk = {"Authorization": "Bearer " + app_client.token("clerk")}
    assert app_client.post("/api/v1/units", json={"building": "A", "floor": 12, "room": "03"},
                           headers=clerk).status_code == 201
    people = {}
    for name, uid in (("Wang Fang", "0A0B0C01"), ("Li Wei", "0A0B0C02"), ("Chen Jie", None)):
        pid = app_client.post("/api/v1/people", json={"name": name, "role": "owner", "unit": "A-12-03"},
                              headers=clerk).json()["id"]
        assert app_client.post(f"/api/v1/people/{pid}/photo", files={"photo": ("p.jpg", JPEG, "image/jpeg")},
                               headers=clerk).status_code == 201
        if uid:
            card = {"uid": uid, "card_type": "owner", "holder": {"name": name, "unit": "A-12-03"}, "person_id": pid}
            assert app_client.post("/api/v1/cards", json=card, headers=clerk).status_code == 201
        people[name] = (pid, uid)
    _seen(app_client.store, "0A0B0C01", "north")  # Wang Fang came through north
    _seen(app_client.store, "0A0B0C02", "south")  # Li Wei only through south

    north_guard = {"Authorization": "Bearer " + app_client.token("guard", "gina", ("north",))}
    wang, li, chen = people["Wang Fang"], people["Li Wei"], people["Chen Jie"]
    ok = app_client.get(f"/api/v1/people/{wang[0]}/photo", headers=north_guard)
    assert ok.status_code == 200 and ok.content == JPEG
    assert app_client.get(f"/api/v1/cards/{wang[1]}/photo", headers=north_guard).content == JPEG
    # counting ids: everyone else is "no photo", and no image bytes
    for pid in (li[0], chen[0], 9999):
        r = app_client.get(f"/api/v1/people/{pid}/photo", headers=north_guard)
        assert r.status_code in (403, 404) and r.headers["content-type"].startswith("application/json")
        assert JPEG[:4] not in r.content
    r = app_client.get(f"/api/v1/cards/{li[1]}/photo", headers=north_guard)
    assert r.status_code == 404 and JPEG[:4] not in r.content
    # a guard for every gate, and clerks, as before
    any_guard = {"Authorization": "Bearer " + app_client.token("guard", "ann")}
    for h in (any_guard, clerk):
        for pid in (wang[0], li[0], chen[0]):
            assert app_client.get(f"/api/v1/people/{pid}/photo", headers=h).content == JPEG

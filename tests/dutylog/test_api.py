"""The duty API through the hub's own routes: who may use it, what a client sends and gets,
and that a bad request is a clear 4xx that changes nothing."""

from __future__ import annotations

import importlib.util
from datetime import datetime, timedelta, timezone

from tests.dutylog.conftest import audit_rows


def test_guards_write_and_read_the_log_and_a_clerk_has_no_part_in_it(api) -> None:
    guard, clerk = api.h("guard", "zhang"), api.h("clerk")
    assert api.get("/api/v1/duty/entries").status_code == 401
    assert api.get("/api/v1/duty/entries", headers=clerk).status_code == 403
    assert api.post("/api/v1/duty/entries", headers=clerk, json={"text": "x"}).status_code == 403
    assert api.get("/api/v1/duty/handover", headers=clerk).status_code == 403

    r = api.post("/api/v1/duty/entries", headers=guard, json={"kind": "incident", "incident_kind": "power_cut",
                                                                "text": "power cut, blocks 1-4"})
    assert r.status_code == 201, r.text
    incident = r.json()
    assert incident["by"] == "zhang" and incident["state"] == "open" and incident["overdue"] is False
    due = datetime.fromisoformat(incident["report_due_at"]) - datetime.fromisoformat(incident["at"])
    assert due == timedelta(minutes=10)
    supervisor = api.h("supervisor", "chen")
    assert api.post("/api/v1/duty/entries", headers=supervisor, json={"text": "checked the log"}).status_code == 201

    listed = api.get("/api/v1/duty/entries", headers=guard).json()
    assert [e["text"] for e in listed["items"]] == ["power cut, blocks 1-4", "checked the log"]
    assert listed["shift"]["key"] == incident["shift"] == listed["current"]["key"]
    assert listed["report_within_s"] == 600
    assert api.get(f"/api/v1/duty/entries?shift={incident['shift']}", headers=guard).json()["items"] == listed["items"]
    day = incident["shift"][:10]
    assert len(api.get(f"/api/v1/duty/entries?date={day}", headers=guard).json()["items"]) == 2

    r = api.post(f"/api/v1/duty/incidents/{incident['id']}/reported", headers=guard, json={"to": "shift leader Li"})
    assert r.status_code == 200 and r.json()["reported_to"] == "shift leader Li"
    r = api.post(f"/api/v1/duty/entries/{incident['id']}/close", headers=guard, json={"note": "power back at 14:20"})
    assert r.status_code == 200 and r.json()["state"] == "closed" and r.json()["closed_note"] == "power back at 14:20"
    assert api.get("/api/v1/duty/entries?open=true", headers=guard).json()["items"] == []

    h = api.get(f"/api/v1/duty/handover?shift={incident['shift']}", headers=guard).json()
    assert [e["id"] for e in h["entries"]][0] == incident["id"]
    if importlib.util.find_spec("hub.alarms.service") is not None:
        assert h["alarms"] == []  # the open alarms, once hub.alarms is built in
    r = api.post("/api/v1/duty/handover/accept", headers=guard, json={"shift": incident["shift"], "note": "ok"})
    assert r.status_code == 200 and r.json()["accepted"]["by"] == "zhang"
    assert api.post("/api/v1/duty/handover/accept", headers=guard,
                    json={"shift": incident["shift"]}).json()["error"] == "handover_accepted"
    actions = [(r["action"], r["who"]) for r in audit_rows(api.store, "duty_entry")]
    assert actions == [("write", "guard:zhang"), ("write", "supervisor:chen"), ("report", "guard:zhang"),
                       ("close", "guard:zhang")]
    assert [r["action"] for r in audit_rows(api.store, "duty_handover")] == ["accept"]


def test_bad_requests_are_refused_and_change_nothing(api) -> None:
    guard = api.h("guard")
    note = api.post("/api/v1/duty/entries", headers=guard, json={"text": "gate 2 barrier slow"}).json()
    before = audit_rows(api.store, "duty_entry")
    cases = [
        ("post", "/api/v1/duty/entries", {"text": "x", "colour": "red"}, 422, "bad_input"),
        ("post", "/api/v1/duty/entries", {"kind": "gossip", "text": "x"}, 422, "bad_input"),
        ("post", "/api/v1/duty/entries", {"kind": "incident", "text": "x"}, 422, "incident_kind_missing"),
        ("post", "/api/v1/duty/entries", {"text": ""}, 422, "bad_input"),
        ("post", "/api/v1/duty/entries", {"text": "y" * 2001}, 422, "bad_input"),
        ("post", f"/api/v1/duty/entries/{note['id']}/close", {"note": "done"}, 422, "note_not_closable"),
        ("post", "/api/v1/duty/entries/999999/close", {"note": "done"}, 404, "unknown_duty_entry"),
        ("post", "/api/v1/duty/entries/0/close", {"note": "done"}, 422, "bad_input"),
        ("post", f"/api/v1/duty/incidents/{note['id']}/reported", {"to": "Li"}, 422, "not_an_incident"),
        ("post", f"/api/v1/duty/incidents/{note['id']}/reported", {}, 422, "bad_input"),
        ("get", "/api/v1/duty/entries?shift=yesterday", None, 422, "unknown_shift"),
        ("get", "/api/v1/duty/entries?date=2026-13-01", None, 422, "bad_input"),
        ("get", "/api/v1/duty/entries?date=2026-11-29&open=true", None, 422, "one_filter"),
        ("get", "/api/v1/duty/handover?shift=2026-11-29T10:00", None, 422, "unknown_shift"),
        ("post", "/api/v1/duty/handover/accept", {"shift": "2999-01-01T07:00"}, 422, "shift_not_begun"),
    ]
    for method, path, body, status, rule in cases:
        r = api.request(method.upper(), path, headers=guard, json=body)
        assert (r.status_code, r.json()["error"]) == (status, rule), (path, body, r.text)
        assert r.json()["detail"]
    assert audit_rows(api.store, "duty_entry") == before
    assert audit_rows(api.store, "duty_handover") == []
    with api.store.read() as db:
        assert db["duty_entries"].count == 1


def test_a_report_time_is_checked_against_the_incident(api) -> None:
    guard = api.h("guard")
    incident = api.post("/api/v1/duty/entries", headers=guard, json={
        "kind": "incident", "incident_kind": "injury", "text": "resident fell on the stairs, block 9"}).json()
    written = datetime.fromisoformat(incident["at"])
    before = (written - timedelta(minutes=5)).isoformat()
    r = api.post(f"/api/v1/duty/incidents/{incident['id']}/reported", headers=guard, json={"to": "Li", "at": before})
    assert r.json()["error"] == "report_before_incident"
    naive = datetime.now(timezone.utc).replace(tzinfo=None).isoformat()
    r = api.post(f"/api/v1/duty/incidents/{incident['id']}/reported", headers=guard, json={"to": "Li", "at": naive})
    assert r.status_code == 422
    r = api.post(f"/api/v1/duty/incidents/{incident['id']}/reported", headers=guard,
                 json={"to": "Li", "at": datetime.now(timezone.utc).isoformat()})
    assert r.status_code == 200 and r.json()["reported_by"]

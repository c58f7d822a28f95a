"""Registering visitors: the rules, the masking, the keyed hash, the watch list, the unit
token, passes checked against the hub's public key, overstays, retention and the figures."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from openpyxl import load_workbook

from hub.auth import create_token
from hub.gates import acl
from hub.visitors import report, service
from protocols import visitpass
from protocols.cards import PASS_BLOCKS, Reason
from protocols.messages import Direction, GateEvent
from tests.visitors.conftest import OTHER_UNIT, UNIT

ID = "110101199001011234"
PHONE = "138 0013 8000"
VISITOR = {"visitor_name": "王小明", "id_type": "resident_id", "id_number": ID, "phone": PHONE, "host_unit": UNIT,
           "purpose": "探亲", "party_size": 2, "plate": "京A·12345"}


def _visit(api, role="guard", **over):
    return api.post("/api/v1/visits", json={**VISITOR, **over}, headers=api.h(role))


def _alarms(api, kind):
    from hub.alarms.service import open_alarms

    with api.store.read() as db:
        return [a for a in open_alarms(db) if a["kind"] == kind]


def test_a_registration_is_kept_masked_and_its_rules_refuse_bad_input(estate):
    api = estate
    r = _visit(api, expected_leave_at=(datetime.now(timezone.utc) + timedelta(hours=2)).isoformat())
    assert r.status_code == 201, r.text
    v = r.json()
    assert v["id_masked"] == "*" * 14 + "1234" and v["phone_masked"] == "*******8000"
    assert v["plate"] == "京A12345" and v["host_unit"] == UNIT and v["party_size"] == 2
    assert v["state"] == "expected" and v["passes"] == [] and not v["pre_registered"]
    assert ID not in json.dumps(v, ensure_ascii=False) and "13800138000" not in json.dumps(v)
    # the guard finds it by part of the name or of the plate
    assert [x["visit_id"] for x in api.get("/api/v1/visits", params={"q": "小明"}, headers=api.h("guard")).json()] \
        == [v["visit_id"]]
    assert [x["visit_id"] for x in api.get("/api/v1/visits", params={"q": "a123"}, headers=api.h("guard")).json()] \
        == [v["visit_id"]]
    assert api.get("/api/v1/visits", params={"state": "inside"}, headers=api.h("guard")).json() == []

    def refused(body_over, status, rule, role="guard"):
        before = api.get("/api/v1/visits", headers=api.h("supervisor")).json()
        r = _visit(api, role, **body_over)
        assert r.status_code == status and r.json()["error"] == rule, r.text
        assert api.get("/api/v1/visits", headers=api.h("supervisor")).json() == before  # nothing changed

    refused({"host_unit": "Z-99-99"}, 422, "unknown_unit")
    refused({"id_number": None}, 422, "id_number_required")  # at the gatehouse the ID is required
    refused({"id_number": "12"}, 422, "bad_input")
    refused({"phone": "call me"}, 422, "bad_input")
    refused({"party_size": 0}, 422, "bad_input")
    refused({"expected_leave_at": "2020-01-01T00:00:00+08:00"}, 422, "leave_in_past")
    refused({"form_opened_at": "2020-01-01T00:00:00+08:00"}, 422, "bad_form_time")
    refused({"surprise": 1}, 422, "bad_input")
    assert api.post("/api/v1/visits", json=VISITOR).status_code == 401
    # the desk pre-registers without the ID, which follows when the guard confirms the arrival
    pre = _visit(api, "clerk", id_number=None).json()
    assert pre["pre_registered"] and pre["id_masked"] is None
    assert api.post(f"/api/v1/visits/{pre['visit_id']}/arrive", json={}, headers=api.h("guard")).json()["error"] \
        == "id_number_required"
    arrived = api.post(f"/api/v1/visits/{pre['visit_id']}/arrive", json={"id_number": "G1234567"},
                       headers=api.h("guard")).json()
    assert arrived["state"] == "inside" and arrived["id_masked"] == "****4567"
    assert api.post(f"/api/v1/visits/{pre['visit_id']}/arrive", headers=api.h("guard")).json()["error"] \
        == "visit_not_expected"
    left = api.post(f"/api/v1/visits/{pre['visit_id']}/leave", headers=api.h("guard")).json()
    assert left["state"] == "left" and left["checked_out_at"]
    assert api.post(f"/api/v1/visits/{pre['visit_id']}/arrive", json={}, headers=api.h("clerk")).status_code == 403


def test_the_id_number_and_phone_are_never_stored_nor_audited(estate, tmp_path):
    api = estate
    assert _visit(api).status_code == 201
    api.post("/api/v1/watchlist", json={"kind": "id", "value": "990101199001015678", "reason": "banned"},
             headers=api.h("supervisor"))
    with api.store.read() as db:
        row = dict(db.execute("SELECT * FROM visits").fetchone())
        audit_rows = json.dumps([dict(r) for r in db.execute("SELECT * FROM audit")], ensure_ascii=False)
    assert row["id_last4"] == "1234" and len(row["id_hash"]) == 64
    assert ID not in json.dumps(row) and "13800138000" not in json.dumps(row)
    assert ID not in audit_rows and "13800138000" not in audit_rows and "990101199001015678" not in audit_rows
    # nor anywhere in the database's files (the table, the WAL, the audit log)
    api.store.db.execute("PRAGMA wal_checkpoint(FULL)")
    for path in Path(api.store.path).parent.glob("hub.db*"):
        data = path.read_bytes()
        for secret in (ID, "13800138000", "990101199001015678"):
            assert secret.encode() not in data, f"{secret} found in {path.name}"
    # the hash is keyed: not a plain hash of the number
    import hashlib

    assert row["id_hash"] not in {hashlib.sha256(s.encode()).hexdigest() for s in (ID, f"id|{ID}")}


def test_a_watch_list_hit_refuses_raises_an_alarm_and_a_supervisor_may_override(estate):
    api = estate
    sup = api.h("supervisor")
    assert api.post("/api/v1/watchlist", json={"kind": "plate", "value": "京a 12345", "reason": "tailgating"},
                    headers=api.h("guard")).status_code == 403
    entry = api.post("/api/v1/watchlist", json={"kind": "id", "value": ID, "reason": "theft in 2025"}, headers=sup)
    assert entry.status_code == 201 and entry.json()["shown"] == "*" * 14 + "1234"
    r = _visit(api)
    assert r.status_code == 409 and r.json()["error"] == "watch_list_hit"
    assert api.get("/api/v1/visits", headers=sup).json() == []
    hits = _alarms(api, "watch_list_hit")
    assert len(hits) == 1 and hits[0]["detail"]["matched"] == "id" and hits[0]["detail"]["host_unit"] == UNIT
    assert ID not in json.dumps(hits)
    # a guard cannot override; a supervisor can, with a reason, and it is audited
    r = _visit(api, override_reason="I know him")
    assert r.status_code == 409 and r.json()["error"] == "watch_list_hit"
    r = _visit(api, "supervisor", override_reason="cleared by the police station today")
    assert r.status_code == 201 and r.json()["watch_override"] is True
    with api.store.read() as db:
        audited = [dict(x) for x in db.execute("SELECT * FROM audit WHERE action = 'watch_list_override'")]
        assert len(audited) == 1 and audited[0]["reason"] == "cleared by the police station today"
        assert report.figures(db, service.month_of(db, datetime.now(timezone.utc)))["watch_list_hits"] == 3
    # a phone on the list matches however it is written; an entry removed matches no more
    phone = api.post("/api/v1/watchlist", json={"kind": "phone", "value": "+86 13800138000", "reason": "x"},
                     headers=sup).json()
    assert _visit(api, id_number="G7654321").json()["error"] == "watch_list_hit"
    assert api.delete(f"/api/v1/watchlist/{phone['id']}", headers=sup).status_code == 200
    assert api.delete(f"/api/v1/watchlist/{entry.json()['id']}", headers=sup).status_code == 200
    assert _visit(api, id_number="G7654321").status_code == 201
    assert api.get("/api/v1/watchlist", headers=api.h("guard")).json() == []


def test_a_unit_token_pre_registers_for_its_own_unit_only(estate):
    api = estate
    token = create_token(api.store, "resident_app", "A-12-03 app", unit=UNIT)
    app = {"Authorization": f"Bearer {token}"}
    mine = api.post("/api/v1/visits", json={**VISITOR, "id_number": None}, headers=app)
    assert mine.status_code == 201 and mine.json()["pre_registered"]
    other = api.post("/api/v1/visits", json={**VISITOR, "host_unit": OTHER_UNIT}, headers=app)
    assert other.status_code == 403 and other.json()["error"] == "unit_not_allowed"
    theirs = _visit(api, "clerk", host_unit=OTHER_UNIT).json()
    # it reads its own unit's visits only, and may do nothing else
    assert [v["visit_id"] for v in api.get("/api/v1/visits", headers=app).json()] == [mine.json()["visit_id"]]
    assert api.get(f"/api/v1/visits/{theirs['visit_id']}", headers=app).status_code == 404
    assert api.post(f"/api/v1/visits/{mine.json()['visit_id']}/passes", json={}, headers=app).status_code == 403
    assert api.post(f"/api/v1/visits/{mine.json()['visit_id']}/arrive", json={}, headers=app).status_code == 403
    assert api.get("/api/v1/cards", headers=app).status_code == 403
    assert api.get("/api/v1/watchlist", headers=app).status_code == 403
    # a resident app's token needs a unit of the register; no other token takes one
    from hub.errors import BadInput

    with pytest.raises(BadInput):
        create_token(api.store, "resident_app", "no unit")
    with pytest.raises(BadInput):
        create_token(api.store, "resident_app", "bad unit", unit="Z-01-01")
    with pytest.raises(BadInput):
        create_token(api.store, "guard", "guard with a unit", unit=UNIT)


def test_a_qr_pass_verifies_with_the_hubs_public_key_and_draws(estate):
    api = estate
    v = _visit(api).json()
    p = api.post(f"/api/v1/visits/{v['visit_id']}/passes", json={"entries": 2}, headers=api.h("guard"))
    assert p.status_code == 201, p.text
    p = p.json()
    keys = api.app.state.visitors.keys.public_keys()
    claims = visitpass.read_pass(p["text"], visitpass.public_keys(keys))
    assert claims.pass_id == p["pass_id"] and claims.entries == 2 and claims.gates == ()
    assert claims.site == api.app.state.config.hub.site
    assert claims.valid_until - claims.valid_from == 12 * 3600  # [visitors] pass_hours
    # a pass altered by a character no longer verifies
    body, sig = p["text"][len(visitpass.PREFIX):].split(".")
    forged = visitpass.PREFIX + body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1] + "." + sig
    with pytest.raises(visitpass.PassRefused):
        visitpass.read_pass(forged, visitpass.public_keys(keys))
    # the key at rest is sealed, never the raw private key
    with api.store.read() as db:
        sealed = db.execute("SELECT sealed FROM visit_keys WHERE kind = 'pass'").fetchone()[0]
    assert sealed.startswith("aesgcm1:")
    svg = api.get(f"/api/v1/passes/{p['pass_id']}/qr.svg", headers=api.h("guard"))
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert b"<svg" in svg.content and b"<path" in svg.content
    assert api.get(f"/api/v1/passes/{'0' * 32}/qr.svg", headers=api.h("guard")).status_code == 404
    got = api.get(f"/api/v1/visits/{v['visit_id']}", headers=api.h("guard")).json()
    assert [x["state"] for x in got["passes"]] == ["active"]


def _visit_event(gate, pass_id, direction, at=None, decision="granted", reason="valid_pass"):
    import uuid

    return GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id=gate, door_id=f"{gate}-in", kind="visit",
                     pass_id=pass_id, direction=direction, decision=decision, reason=reason,
                     at=at or datetime.now(timezone.utc))


def test_revoked_and_used_up_passes_are_listed_at_the_gates_and_leave_after_their_end(estate):
    api = estate
    store = api.store
    with store.tx() as db:
        for gate in ("north", "south"):
            acl.ensure_gate(db, gate)
    guard = api.h("guard")
    v = _visit(api).json()
    revoked = api.post(f"/api/v1/visits/{v['visit_id']}/passes", json={"gates": ["north"]}, headers=guard).json()
    used = api.post(f"/api/v1/visits/{v['visit_id']}/passes", json={}, headers=guard).json()
    r = api.post(f"/api/v1/passes/{revoked['pass_id']}/revoke", json={"reason": "lost phone"}, headers=guard)
    assert r.status_code == 200 and r.json()["state"] == "revoked"
    assert api.post(f"/api/v1/passes/{revoked['pass_id']}/revoke", headers=guard).json()["error"] \
        == "pass_already_revoked"

    def listed(gate):
        with store.read() as db:
            return {e.uid: e for chunk in acl.snapshot(db, gate) for e in chunk.upserts}

    north = listed("north")[revoked["pass_id"]]
    assert PASS_BLOCKS[north.status] == Reason.PASS_REVOKED and north.card_type == "temporary"
    assert revoked["pass_id"] not in listed("south")  # a north-only pass is blocked at north only
    # one entry, counted at a gate: used up, listed at every gate
    with store.tx() as db:
        service.on_visit_event(db, _visit_event("south", used["pass_id"], Direction.IN), 1)
    for gate in ("north", "south"):
        assert PASS_BLOCKS[listed(gate)[used["pass_id"]].status] == Reason.PASS_USED_UP
    got = api.get(f"/api/v1/visits/{v['visit_id']}", headers=guard).json()
    assert {p["pass_id"]: p["state"] for p in got["passes"]} == {revoked["pass_id"]: "revoked",
                                                               used["pass_id"]: "used_up"}
    assert got["state"] == "inside" and got["checked_in_at"]
    # a new gate's list starts with the blocks meant for it
    with store.tx() as db:
        acl.ensure_gate(db, "east")
    assert set(listed("east")) == {used["pass_id"]}
    # checksums hold: the head's checksum is the list's
    from protocols.acl import checksum_of

    with store.read() as db:
        for gate in ("north", "south", "east"):
            assert acl.head(db, gate)[1] == checksum_of(listed(gate).values())
    # a card sweep leaves the blocks alone
    with store.tx() as db:
        acl.schedule_reproject(db, None)
    assert used["pass_id"] in listed("north") and revoked["pass_id"] in listed("north")
    # after the passes' end the blocks leave every list
    with store.tx() as db:
        from hub.visitors import passes

        passes.unlist_ended(db, datetime.now(timezone.utc) + timedelta(days=1))
    for gate in ("north", "south", "east"):
        assert not ({used["pass_id"], revoked["pass_id"]} & set(listed(gate)))


def test_a_visitor_inside_past_the_grace_raises_one_overstay_alarm(estate):
    api = estate
    now = datetime.now(timezone.utc)
    v = _visit(api, expected_leave_at=(now + timedelta(minutes=10)).isoformat()).json()
    api.post(f"/api/v1/visits/{v['visit_id']}/arrive", json={}, headers=api.h("guard"))
    check = service.check_overstays(timedelta(minutes=30))
    with api.store.tx() as db:
        check(db, now + timedelta(minutes=39))
    assert _alarms(api, "overstay") == []
    with api.store.tx() as db:
        check(db, now + timedelta(minutes=41))
        check(db, now + timedelta(minutes=50))
    alarms = _alarms(api, "overstay")
    assert len(alarms) == 1 and alarms[0]["subject"] == f"visit:{v['visit_id']}"
    assert alarms[0]["detail"]["visitor"] == "王小明"
    assert api.get(f"/api/v1/visits/{v['visit_id']}", headers=api.h("guard")).json()["overstay"] is True
    with api.store.read() as db:
        assert [x["visit_id"] for x in service.inside(db)] == [v["visit_id"]]


def test_retention_purges_old_visits_and_their_events_but_keeps_the_months_figures(estate):
    api = estate
    store = api.store
    now = datetime.now(timezone.utc)
    opened = now - timedelta(minutes=3)
    v = _visit(api, form_opened_at=opened.isoformat(),
               expected_leave_at=(now + timedelta(minutes=5)).isoformat()).json()
    p = api.post(f"/api/v1/visits/{v['visit_id']}/passes", json={}, headers=api.h("guard")).json()
    slow = _visit(api, id_number="G0000001", form_opened_at=(now - timedelta(minutes=9)).isoformat()).json()
    with store.tx() as db:
        from hub.events.store import store_event

        event = _visit_event("north", p["pass_id"], Direction.IN)
        service.on_visit_event(db, event, store_event(db, event, now))
        service.check_overstays(timedelta(minutes=0))(db, now + timedelta(minutes=6))
        month = service.month_of(db, now)
        before = report.figures(db, month)
    assert before == {"month": month, "visits": 2, "timed": 2, "within_5_min": 1, "share_within_5_min": 0.5,
                      "overstays": 1, "watch_list_hits": 0}
    with store.tx() as db:
        assert report.purge(db, now + timedelta(days=179), 180)["visits"] == 0
        done = report.purge(db, now + timedelta(days=181), 180)
        assert done["visits"] == 2 and done["events"] == 1 and done["passes"] == 1
        assert db.execute("SELECT COUNT(*) FROM visits").fetchone()[0] == 0
        assert db.execute("SELECT COUNT(*) FROM events WHERE kind = 'visit'").fetchone()[0] == 0
        assert report.figures(db, month) == before
    assert api.get(f"/api/v1/visits/{slow['visit_id']}", headers=api.h("guard")).status_code == 404


def test_the_months_figures_as_csv_and_xlsx_with_translated_headings(estate):
    api = estate
    now = datetime.now(timezone.utc)
    _visit(api, form_opened_at=(now - timedelta(minutes=2)).isoformat())
    with api.store.read() as db:
        month = service.month_of(db, now)
    sup = api.h("supervisor")
    fig = api.get(f"/api/v1/visits/report/{month}", headers=sup).json()
    assert fig["visits"] == 1 and fig["share_within_5_min"] == 1.0
    got = api.get(f"/api/v1/visits/report/{month}.csv", headers=sup)
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(got.text)))
    assert rows[0][:2] == ["Month", "Visits"] and rows[1][:3] == [month, "1", "1"]
    zh = api.get(f"/api/v1/visits/report/{month}.xlsx", headers={**sup, "Accept-Language": "zh-CN"})
    assert zh.status_code == 200
    sheet = load_workbook(io.BytesIO(zh.content)).active
    headings = [c.value for c in sheet[2]]
    assert headings[1] == "访客人次" and headings[0] == "月份", headings
    assert [c.value for c in sheet[3]][:3] == [month, 1, 1]
    assert api.get("/api/v1/visits/report/2026-13", headers=sup).json()["error"] == "bad_month"
    assert api.get(f"/api/v1/visits/report/{month}", headers=api.h("guard")).status_code == 403

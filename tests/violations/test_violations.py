"""Violations: recorded against a unit (and a permit where there is one), measures in order,
the penalty by the manager only, photos kept and bounded, retention by level with a chosen
now (records and photos gone, the month's figures kept), the month's figures and the copy
for finance."""

from __future__ import annotations

import csv
import io
import json
import struct
import zlib
from datetime import datetime, timedelta, timezone

from hub import photos
from hub.violations import service
from tests.rigs.estate import OTHER_UNIT, UNIT


def png(width: int = 80, height: int = 80) -> bytes:
    """A real PNG made here (RGB rows, filter 0, deflated)."""
    raw = b"".join(b"\x00" + bytes((x * 7 + y) % 256 for x in range(width * 3)) for y in range(height))

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


def _record(api, role="guard", **over):
    body = {"unit": UNIT, "permit": None, "kind": "load_bearing_walls", "what": "拆除承重墙开门洞",
            "place": "A栋12楼03室厨房", "found_at": datetime.now(timezone.utc).isoformat(), "found_by": "巡查员陈",
            "level": "major"}
    body.update(over)
    return api.post("/api/v1/violations", json=body, headers=api.h(role))


def _count(api) -> int:
    with api.store.read() as db:
        return db.execute("SELECT COUNT(*) FROM violations").fetchone()[0]


def test_a_violation_is_recorded_and_bad_ones_refused(estate):
    api = estate
    r = _record(api)
    assert r.status_code == 201, r.text
    v = r.json()
    assert (v["unit"], v["category"], v["level"], v["state"], v["measures"], v["penalty"]) == \
        (UNIT, "renovation", "major", "open", [], None)
    found = datetime.fromisoformat(v["found_at"])
    assert datetime.fromisoformat(v["keep_until"]) == found.replace(year=found.year + 5)
    g = _record(api, kind="litter", level="general", unit=OTHER_UNIT.lower()).json()
    assert g["category"] == "sanitation" and g["unit"] == OTHER_UNIT
    assert datetime.fromisoformat(g["keep_until"]).year == datetime.fromisoformat(g["found_at"]).year + 1
    for over, rule in [({"unit": "Z-99-99"}, "unknown_unit"), ({"kind": "jaywalking"}, "bad_input"),
                       ({"found_at": (datetime.now(timezone.utc) + timedelta(hours=2)).isoformat()},
                        "found_in_future"), ({"level": "minor"}, "bad_input")]:
        r = _record(api, **over)
        assert r.status_code == 422 and r.json()["error"] == rule, (over, r.text)
    assert _count(api) == 2
    assert [x["id"] for x in api.get("/api/v1/violations", params={"level": "major"},
                                     headers=api.h("clerk")).json()["items"]] == [v["id"]]
    assert _record(api, role="engineering").status_code == 403


def _permit_row(api, number: str, unit: str) -> None:
    """A permit row as hub.permits keeps it, its required columns filled plainly (the permit's
    own rules are hub.permits'; here only its number and unit matter)."""
    with api.store.tx() as db:
        cols = list(db.execute("PRAGMA table_info(permits)"))
        row = {}
        for _cid, name, decl, notnull, default, pk in cols:
            if pk or not notnull or default is not None:
                continue
            row[name] = {"permit_no": number, "unit": unit, "state": "approved"}.get(
                name, 1 if "INT" in (decl or "").upper() else "2026-01-01")
        db["permits"].insert(row)


def test_a_permit_is_checked_when_the_permits_table_exists(estate):
    api = estate
    with api.store.read() as db:
        has_table = bool(list(db.execute("PRAGMA table_info(permits)")))
    r = _record(api, permit="RP-NO-SUCH-9999")
    if not has_table:  # hub.permits not there: the number is kept as given
        assert r.status_code == 201 and r.json()["permit"] == "RP-NO-SUCH-9999"
        return
    assert r.status_code == 422 and r.json()["error"] == "unknown_permit", r.text
    _permit_row(api, "RP-TEST-0001", UNIT)
    r = _record(api, permit="RP-TEST-0001", unit=OTHER_UNIT)
    assert r.status_code == 422 and r.json()["error"] == "permit_other_unit", r.text
    assert _count(api) == 0
    r = _record(api, permit="RP-TEST-0001")
    assert r.status_code == 201 and r.json()["permit"] == "RP-TEST-0001", r.text


def test_measures_are_taken_in_order_and_out_of_order_steps_are_refused(estate):
    api = estate
    vid = _record(api).json()["id"]
    step = lambda measure, **kw: api.post(f"/api/v1/violations/{vid}/measures",  # noqa: E731
                                          json={"measure": measure, **kw}, headers=api.h("supervisor"))
    tomorrow = (datetime.now(timezone.utc) + timedelta(days=2)).date().isoformat()
    r = step("rectification", deadline=tomorrow)
    assert r.status_code == 422 and r.json()["error"] == "measure_out_of_order", r.text
    assert step("persuasion", note="当面劝阻").status_code == 200
    assert step("persuasion", note="再次劝阻").status_code == 200  # the same step again
    r = step("legal_action")
    assert r.status_code == 422 and r.json()["error"] == "measure_out_of_order"
    r = step("rectification")
    assert r.status_code == 422 and r.json()["error"] == "deadline_required"
    assert step("rectification", deadline=tomorrow).status_code == 200
    assert step("compensation").status_code == 200
    assert step("public_criticism").status_code == 200
    r = step("legal_action")  # a lawyer's letter first
    assert r.status_code == 422 and r.json()["error"] == "measure_out_of_order"
    assert step("lawyer_letter").status_code == 200
    r = step("persuasion")  # no going back
    assert r.status_code == 422 and r.json()["error"] == "measure_out_of_order"
    v = step("legal_action").json()
    assert [m["measure"] for m in v["measures"]] == ["persuasion", "persuasion", "rectification", "compensation",
                                                     "public_criticism", "lawyer_letter", "legal_action"]
    assert v["measures"][2]["deadline"] == tomorrow
    assert api.post(f"/api/v1/violations/{vid}/handled", json={"note": "已起诉"},
                    headers=api.h("supervisor")).json()["state"] == "handled"
    r = step("legal_action")
    assert r.status_code == 409 and r.json()["error"] == "violation_handled"
    with api.store.read() as db:
        assert db.execute("SELECT COUNT(*) FROM audit WHERE entity = 'violation' AND action = 'measure'"
                          ).fetchone()[0] == 7


def test_only_the_manager_sets_a_penalty(estate):
    api = estate
    vid = _record(api).json()["id"]
    body = {"amount_cents": 200000, "reason": "擅自拆除承重墙，按管理规约处罚"}
    for role in ("supervisor", "clerk", "guard", "admin"):
        r = api.post(f"/api/v1/violations/{vid}/penalty", json=body, headers=api.h(role))
        assert r.status_code == 403, (role, r.text)
    assert api.get(f"/api/v1/violations/{vid}", headers=api.h("clerk")).json()["penalty"] is None
    r = api.post(f"/api/v1/violations/{vid}/penalty", json=body, headers=api.h("manager"))
    assert r.status_code == 200, r.text
    assert r.json()["penalty"]["amount_cents"] == 200000 and r.json()["penalty"]["by"].startswith("manager:")
    r = api.post(f"/api/v1/violations/{vid}/penalty", json=body, headers=api.h("manager"))
    assert r.status_code == 409 and r.json()["error"] == "penalty_already_set"
    with api.store.read() as db:
        row = db.execute("SELECT reason FROM audit WHERE action = 'penalty' AND entity_id = ?", [str(vid)]).fetchall()
    assert [r[0] for r in row] == [body["reason"]]
    # the copy for finance carries it
    month = api.get(f"/api/v1/violations/{vid}", headers=api.h("clerk")).json()["month"]
    r = api.get("/api/v1/violations/finance.csv", params={"month": month}, headers=api.h("manager"))
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert len(rows) == 2 and rows[1][0] == str(vid) and rows[1][7] == "2000.00" and rows[1][1] == UNIT


def test_photos_are_kept_checked_and_bounded(estate):
    api = estate
    vid = _record(api).json()["id"]
    r = api.post(f"/api/v1/violations/{vid}/photos", files={"photo": ("x.png", b"<html>", "image/png")},
                 headers=api.h("guard"))
    assert r.status_code == 422
    for i in range(6):
        r = api.post(f"/api/v1/violations/{vid}/photos", files={"photo": ("w.png", png(80 + i), "image/png")},
                     headers=api.h("guard"))
        assert r.status_code == 201, r.text
    shown = r.json()["photos"]
    assert len(shown) == 6
    r = api.post(f"/api/v1/violations/{vid}/photos", files={"photo": ("w.png", png(99), "image/png")},
                 headers=api.h("guard"))
    assert r.status_code == 422 and r.json()["error"] == "too_many_photos"
    got = api.get(f"/api/v1/violations/{vid}/photos/{shown[0]}", headers=api.h("clerk"))
    assert got.status_code == 200 and got.content == png(80)


def test_violations_past_retention_are_purged_with_a_chosen_now(estate):
    api = estate
    now = datetime.now(timezone.utc)
    old = now - timedelta(days=400)
    general = _record(api, level="general", kind="noise", found_at=old.isoformat()).json()
    major = _record(api, level="major", found_at=old.isoformat()).json()
    fresh = _record(api, level="general", kind="litter").json()
    pic = api.post(f"/api/v1/violations/{general['id']}/photos", files={"photo": ("w.png", png(), "image/png")},
                   headers=api.h("guard")).json()["photos"][0]
    where = photos.photo_dir_of(api.app.state.config.hub.db_path, api.app.state.config.hub.photo_dir)
    assert (where / pic).is_file()
    month = general["month"]
    with api.store.read() as db:
        before = service.figures(db, month)
    # a year after it was found, the general one goes (with its photo); the major one stays 5 years
    with api.store.tx() as db:
        assert service.purge(db, now, where, api.store.after_commit) == 1
    ids = {v["id"] for v in api.get("/api/v1/violations", headers=api.h("clerk")).json()["items"]}
    assert ids == {major["id"], fresh["id"]}
    assert not (where / pic).exists()
    with api.store.read() as db:
        assert service.figures(db, month)["by_level"] == before["by_level"]  # the month's figures kept
        purged = db.execute("SELECT detail FROM audit WHERE action = 'purge' AND entity = 'violations'").fetchall()
    assert json.loads(purged[0][0])["general"] == 1
    # the ticker's check, five years on, takes the major one and the year-old fresh one
    with api.store.tx() as db:
        assert service.purge(db, datetime.fromisoformat(major["found_at"]).replace(
            year=old.year + 5) + timedelta(seconds=1)) == 2
    assert api.get("/api/v1/violations", headers=api.h("clerk")).json()["items"] == []
    # the hourly check is registered with the ticker
    assert "violations.retention" in [j.name for j in api.app.state.ticker._jobs]


def test_the_months_rate_and_counts(estate):
    api = estate
    for kind, level in [("noise", "general"), ("parking", "general"), ("facade", "major")]:
        assert _record(api, kind=kind, level=level).status_code == 201
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    vs = api.get("/api/v1/violations", headers=api.h("clerk")).json()["items"]
    month = vs[0]["month"]
    f = api.get("/api/v1/violations/figures", params={"month": month}, headers=api.h("supervisor")).json()
    assert f["count"] == 3 and f["by_level"] == {"general": 2, "major": 1} and f["households"] == 2
    assert f["rate_percent"] == 150.0 and f["by_kind"] == {"facade": 1, "noise": 1, "parking": 1}
    assert api.get("/api/v1/violations/figures", params={"month": "2026-13"},
                   headers=api.h("supervisor")).json()["error"] == "bad_month"

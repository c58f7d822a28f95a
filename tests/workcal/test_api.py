"""/api/v1/calendar through the real routes: who may read and change it, what a change
does to the stored calendar (and so to a deadline), and refusals that change nothing."""

from __future__ import annotations

from datetime import date

from hub.workcal import service
from tests.workcal.conftest import at, audit_rows


def _deadline(api, start, days):
    with api.store.read() as db:
        return service.load_calendar(db).add_working_days(start, days)


def test_the_year_read_by_every_role_that_counts_deadlines(api):
    seeded = api.post("/api/v1/calendar/seed/2025", headers=api.h("supervisor"))
    assert seeded.status_code == 200, seeded.text
    for role in ("guard", "clerk", "supervisor", "manager", "shift_leader", "admin"):
        r = api.get("/api/v1/calendar?year=2025", headers=api.h(role))
        assert r.status_code == 200, (role, r.text)
    body = r.json()
    assert body["timezone"] == "Asia/Shanghai" and body["working_periods"] == ["08:30-12:00", "13:30-17:30"]
    assert body["working_weekdays"] == [1, 2, 3, 4, 5] and body["seeded"]["seeded_by"] == "supervisor:t"
    days = {d["date"]: d for d in body["days"]}
    assert days["2025-10-11"]["kind"] == "workday" and days["2025-10-01"]["kind"] == "holiday"
    assert days["2025-09-28"]["name"] == "National Day" and days["2025-09-28"]["label"]


def test_the_page_language_names_a_seeded_day(api):
    api.post("/api/v1/calendar/seed/2025", headers=api.h("supervisor"))
    zh = api.get("/api/v1/calendar?year=2025", headers={**api.h("guard"), "Accept-Language": "zh-CN"}).json()
    hant = api.get("/api/v1/calendar?year=2025", headers={**api.h("guard"), "Accept-Language": "zh-TW"}).json()
    assert {d["label"] for d in zh["days"] if d["date"] == "2025-10-01"} == {"国庆节"}
    assert {d["label"] for d in hant["days"] if d["date"] == "2025-10-06"} == {"中秋節"}


def test_no_token_and_wrong_roles_are_refused(api):
    assert api.get("/api/v1/calendar?year=2025").status_code == 401
    body = {"kind": "holiday", "name": "年终盘点"}
    for role in ("guard", "clerk", "shift_leader"):
        assert api.put("/api/v1/calendar/days/2026-12-31", json=body, headers=api.h(role)).status_code == 403
        assert api.post("/api/v1/calendar/seed/2025", headers=api.h(role)).status_code == 403
    assert api.get("/api/v1/calendar?year=2026", headers=api.h("guard")).json()["days"][-1]["date"] != "2026-12-31"


def test_a_supervisors_edit_moves_a_deadline_and_is_audited(api):
    api.post("/api/v1/calendar/seed/2025", headers=api.h("supervisor"))
    start = at(2025, 9, 30, 15)
    assert _deadline(api, start, 1) == at(2025, 10, 9, 17, 30)
    r = api.put("/api/v1/calendar/days/2025-10-08", headers=api.h("supervisor", "li"),
                json={"kind": "workday", "name": "物业值班", "reason": "公司安排"})
    assert r.status_code == 200, r.text
    assert r.json()["source"] == "person" and r.json()["changed_by"] == "supervisor:li"
    assert _deadline(api, start, 1) == at(2025, 10, 8, 17, 30)
    r = api.delete("/api/v1/calendar/days/2025-10-08?reason=改回", headers=api.h("manager", "wang"))
    assert r.status_code == 200 and r.json()["removed"]["name"] == "物业值班"
    # removed: a Wednesday again, worked
    assert _deadline(api, start, 1) == at(2025, 10, 8, 17, 30)
    rows = [(x["action"], x["entity_id"], x["who"]) for x in audit_rows(api.store, "workcal_day")]
    assert rows == [("update", "2025-10-08", "supervisor:li"), ("delete", "2025-10-08", "manager:wang")]


def test_bad_input_is_refused_and_changes_nothing(api):
    h = api.h("supervisor")
    before = api.get("/api/v1/calendar?year=2026", headers=h).json()["days"]
    cases = [
        ("put", "/api/v1/calendar/days/2026-13-01", {"kind": "holiday", "name": "x"}, 422, "bad_input"),
        ("put", "/api/v1/calendar/days/2026-12-31", {"kind": "weekend", "name": "x"}, 422, "bad_input"),
        ("put", "/api/v1/calendar/days/2026-12-31", {"kind": "holiday", "name": ""}, 422, "bad_input"),
        ("put", "/api/v1/calendar/days/2026-12-31", {"kind": "holiday", "name": "  "}, 422, "calendar_day_name_empty"),
        ("put", "/api/v1/calendar/days/2026-12-31", {"kind": "holiday", "name": "x", "colour": "red"}, 422, "bad_input"),
        ("put", "/api/v1/calendar/days/1999-12-31", {"kind": "holiday", "name": "x"}, 422, "calendar_year_out_of_range"),
        ("delete", "/api/v1/calendar/days/2026-12-30", None, 404, "calendar_day_not_set"),
        ("post", "/api/v1/calendar/seed/2031", None, 404, "calendar_year_unknown"),
        ("post", "/api/v1/calendar/seed/1000000000000000000000", None, 422, "bad_input"),
    ]
    for method, url, body, status, rule in cases:
        r = api.request(method.upper(), url, json=body, headers=h)
        assert (r.status_code, r.json()["error"]) == (status, rule), (url, body, r.text)
    assert api.get("/api/v1/calendar?year=2026", headers=h).json()["days"] == before
    assert api.get("/api/v1/calendar?year=99999", headers=h).status_code == 422
    assert audit_rows(api.store, "workcal_day") == []


def test_the_year_defaults_to_the_estates_current_one(api):
    body = api.get("/api/v1/calendar", headers=api.h("supervisor")).json()
    with api.store.read() as db:
        tz = service.load_calendar(db).tz
    from datetime import datetime, timezone

    assert body["year"] == datetime.now(timezone.utc).astimezone(tz).year
    assert all(date.fromisoformat(d["date"]).year == body["year"] for d in body["days"])

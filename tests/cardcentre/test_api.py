"""The card centre through the hub's HTTP app: roles, status codes, error bodies."""

from __future__ import annotations

import io
from datetime import datetime, timedelta, timezone

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hub.app import create_app
from hub.auth import create_token
from hub.config import HubConfig

from .test_photos_files import JPEG, png


def make_app(store, tmp_path):
    config = HubConfig.model_validate({"hub": {"site": "demo", "db_path": str(tmp_path / "hub.db"),
                                               "timezone": "UTC"}})  # an estate set up on UTC days
    return create_app(config, store, connect_mqtt=False)  # hub.app includes card_centre_routers()


@pytest.fixture
def api(store, tmp_path):
    app = make_app(store, tmp_path)
    tokens = {role: create_token(store, role, f"t-{role}") for role in ("admin", "supervisor", "clerk", "guard")}
    with TestClient(app) as client:
        def call(method, path, role="clerk", **kw):
            headers = {"Authorization": f"Bearer {tokens[role]}"} if role else {}
            return client.request(method, path, headers=headers, **kw)
        call.tmp_path = tmp_path
        yield call


def _future(days):
    return (datetime.now(timezone.utc) + timedelta(days=days)).isoformat()


def tenant_body(uid):
    end = datetime.now(timezone.utc) + timedelta(days=200)
    return {"uid": uid, "card_type": "tenant", "holder": {"name": "Chen Jie", "unit": "A-12-04"},
            "valid_until": end.isoformat(), "tenancy_end": end.date().isoformat(),
            "police_registration_no": "PR-1", "deposit": {"amount_cents": 10000, "receipt_no": "R-1"}}


def test_no_token_401_wrong_role_403(api):
    assert api("GET", "/api/v1/stock/levels", role=None).status_code == 401
    assert api("GET", "/api/v1/stock/levels", role="guard").status_code == 403
    assert api("GET", "/api/v1/stock/levels", role="clerk").status_code == 200
    assert api("POST", "/api/v1/cards/issue", role="guard", json=tenant_body("CAFEAA01")).status_code == 403


def test_issue_lost_replace_and_refusals_over_http(api):
    r = api("POST", "/api/v1/cards/issue", json=tenant_body("ca:fe:aa:01"))
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "active" and r.json()["uid"] == "CAFEAA01"  # the same answer as POST /cards
    body = tenant_body("CAFEAA02")
    del body["tenancy_end"]
    r = api("POST", "/api/v1/cards/issue", json=body)
    assert r.status_code == 422 and r.json()["error"] == "tenancy_end_required"
    r = api("POST", "/api/v1/cards/issue", json={**tenant_body("CAFEAA02"), "colour": "red"})
    assert r.status_code == 422 and r.json()["field"] == "colour"
    r = api("POST", "/api/v1/cards/CAFEAA01/lost", json={"reason": "lost in the park", "replacement_uid": "CAFEAA03"})
    assert r.status_code == 200 and r.json()["replacement_uid"] == "CAFEAA03"
    r = api("POST", "/api/v1/cards/CAFEAA01/resume", json={})
    assert r.status_code == 422 and r.json()["error"] == "lost_card_final"
    r = api("POST", "/api/v1/cards/CAFEAA03/return", json={"refund": True, "receipt_no": "R-1"})
    assert r.status_code == 200 and r.json()["amount_cents"] == -10000
    r = api("POST", "/api/v1/cards/CAFEAA03/refund", json={"receipt_no": "R-1"})
    assert r.status_code == 422 and r.json()["error"] == "deposit_already_refunded"
    r = api("GET", "/api/v1/cards/CAFEAA01/moves")
    assert [m["move"] for m in r.json()["items"]] == ["issue", "report_lost"] and r.json()["allowed"] == []
    r = api("POST", "/api/v1/cards/ZZ/suspend", json={"reason": "x"})
    assert r.status_code == 422 and r.json()["error"] == "bad_uid"
    r = api("POST", "/api/v1/cards/CAFE0B0B/suspend", json={"reason": "x"})
    assert r.status_code == 404 and r.json()["error"] == "unknown_card"


def test_the_public_issue_and_revoke_still_work_with_the_rules(api):
    r = api("POST", "/api/v1/cards", json={"uid": "0A0012AB34", "card_type": "owner",
                                          "holder": {"name": "Wang", "unit": "A-12-03"}})
    assert r.status_code == 201 and r.json()["status"] == "active"
    r = api("POST", "/api/v1/cards/0A0012AB34/suspend", json={"reason": "abroad"})
    assert r.status_code == 200 and r.json()["to_status"] == "suspended"


def test_stock_and_monthly_report_exports(api):
    r = api("POST", "/api/v1/stock/deliveries", json={"card_type": "tenant", "qty": 30, "ref": "DN-9"})
    assert r.status_code == 201 and r.json()["in_stock"] == {"tenant": 30}
    api("POST", "/api/v1/cards/issue", json=tenant_body("CAFEAB01"))
    r = api("POST", "/api/v1/stock/scrap", json={"card_type": "tenant", "qty": 2, "reason": "misprint"})
    assert r.json()["in_stock"] == {"tenant": 27}
    month = datetime.now(timezone.utc).strftime("%Y-%m")
    rep = api("GET", f"/api/v1/stock/reports/{month}").json()
    [row] = rep["rows"]
    assert (row["purchased"], row["personalised"], row["scrapped"], row["closing"]) == (30, 1, 2, 27)
    assert rep["balanced"] and rep["status"] == "open"
    csv_r = api("GET", f"/api/v1/stock/reports/{month}?format=csv")
    assert csv_r.headers["content-type"].startswith("text/csv") and "tenant,0,30,0,1,2,0,27,0" in csv_r.text
    x = api("GET", f"/api/v1/stock/reports/{month}?format=xlsx")
    ws = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[3]] == ["tenant", 0, 30, 0, 1, 2, 0, 27, 0]
    html = api("GET", f"/clerk/stock/{month}")
    assert html.status_code == 200 and "<td>27</td>" in html.text
    r = api("POST", f"/api/v1/stock/reports/{month}/file", json={})
    assert r.status_code == 422 and r.json()["error"] == "month_not_over"
    assert api("GET", "/api/v1/stock/reports/2026-13").json()["error"] == "bad_input"


def test_import_dry_run_then_real_and_a_bad_file_over_http(api):
    good = b"building,floor,room,area_m2\nA,12,03,89\nA,12,04,90\n"
    r = api("POST", "/api/v1/import/units", files={"file": ("units.csv", good, "text/csv")})
    assert r.status_code == 200 and r.json()["would_create"] == 2 and r.json()["dry_run"]
    assert api("GET", "/api/v1/units/A-12-03").status_code == 404
    bad = b"building,floor,room,area_m2\nA,12,05,89\nA,x,06,90\n"
    r = api("POST", "/api/v1/import/units?dry_run=false", files={"file": ("units.csv", bad, "text/csv")})
    assert r.status_code == 422 and r.json()["errors"] == [
        {"row": 3, "column": "floor", "message": r.json()["errors"][0]["message"]}]
    assert api("GET", "/api/v1/units/A-12-05").status_code == 404
    r = api("POST", "/api/v1/import/units?dry_run=false", files={"file": ("units.csv", good, "text/csv")})
    assert r.status_code == 200 and r.json()["created"] == 2
    assert api("GET", "/api/v1/units/a-12-03").json()["code"] == "A-12-03"


def test_photo_upload_checked_and_served_only_to_staff(api):
    api("POST", "/api/v1/units", json={"building": "A", "floor": 12, "room": "03"})
    pid = api("POST", "/api/v1/people", json={"name": "Wang Fang", "role": "owner", "unit": "A-12-03"}).json()["id"]
    r = api("POST", f"/api/v1/people/{pid}/photo", files={"photo": ("cv.jpg", b"%PDF-1.5 not a photo" * 20, "image/jpeg")})
    assert r.status_code == 422 and r.json()["error"] == "photo_not_image"
    r = api("POST", f"/api/v1/people/{pid}/photo", files={"photo": ("p.png", png(90, 90), "image/jpeg")})
    assert r.status_code == 422 and r.json()["error"] == "photo_type_mismatch"
    assert api("GET", f"/api/v1/people/{pid}/photo").json()["error"] == "no_photo"
    r = api("POST", f"/api/v1/people/{pid}/photo", files={"photo": ("me.jpg", JPEG, "image/jpeg")})
    assert r.status_code == 201 and (r.json()["width"], r.json()["height"]) == (120, 150)
    assert api("GET", f"/api/v1/people/{pid}/photo", role=None).status_code == 401
    g = api("GET", f"/api/v1/people/{pid}/photo", role="guard")
    assert g.status_code == 200 and g.content == JPEG and g.headers["content-type"] == "image/jpeg"
    assert (api.tmp_path / "photos").is_dir() and len(list((api.tmp_path / "photos").iterdir())) == 1
    assert api("GET", f"/api/v1/people/{pid}").json()["has_photo"] is True

    # the guard's live page shows the holder's photo by card: the card names its holder
    card = {"uid": "0A0B0C0D", "card_type": "owner", "holder": {"name": "Wang Fang", "unit": "A-12-03"},
            "person_id": pid}
    assert api("POST", "/api/v1/cards", json=card).status_code == 201
    g = api("GET", "/api/v1/cards/0a:0b:0c:0d/photo", role="guard")
    assert g.status_code == 200 and g.content == JPEG
    assert api("GET", "/api/v1/cards/0A0B0C0D/photo", role=None).status_code == 401
    r = api("POST", "/api/v1/cards/0A0B0C0D/lost", json={"reason": "lost at the market", "replacement_uid": "0A0B0C0E"})
    assert r.status_code == 200, r.text
    assert api("GET", "/api/v1/cards/0A0B0C0E/photo", role="guard").content == JPEG, "the replacement keeps the photo"
    anonymous = {**card, "uid": "0F0F0F0F", "person_id": None}
    assert api("POST", "/api/v1/cards", json=anonymous).status_code == 201
    assert api("GET", "/api/v1/cards/0F0F0F0F/photo", role="guard").json()["error"] == "no_photo"


def test_household_file_over_http(api):
    api("POST", "/api/v1/units", json={"building": "A", "floor": 12, "room": "03", "move_in_date": "2019-05-01"})
    p = api("POST", "/api/v1/people", json={"name": "Wang Fang", "role": "owner", "unit": "A-12-03",
                                           "id_doc_no": "110101199001011234"}).json()
    hh = p["household_id"]
    assert p["id_doc_no"].endswith("1234") and "1101011990" not in p["id_doc_no"]
    assert api("POST", f"/api/v1/households/{hh}/file", role="clerk", json={"reason": "just looking around"}).status_code == 403
    r = api("POST", f"/api/v1/households/{hh}/file", role="supervisor", json={})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    assert api("GET", f"/api/v1/households/{hh}/reads", role="supervisor").json() == []
    r = api("POST", f"/api/v1/households/{hh}/file", role="supervisor", json={"reason": "owner disputes a fee"})
    assert r.status_code == 200 and r.json()["people"][0]["id_doc_no"] == "110101199001011234"
    [read] = api("GET", f"/api/v1/households/{hh}/reads", role="supervisor").json()
    assert (read["who"], read["reason"]) == ("supervisor:t-supervisor", "owner disputes a fee")


def test_search_box_finds_units_people_and_cards(api):
    api("POST", "/api/v1/units", json={"building": "A", "floor": 12, "room": "03"})
    api("POST", "/api/v1/people", json={"name": "Wang Fang", "role": "owner", "unit": "A-12-03", "phone": "13800000001"})
    api("POST", "/api/v1/cards/issue", json={"uid": "C0FFEE", "card_type": "owner",
                                             "holder": {"name": "Wang Fang", "unit": "A-12-03"}})
    for q in ("wang", "A-12", "1380000", "c0ff"):
        found = api("GET", "/api/v1/search", params={"q": q}).json()
        assert found["people"] or found["units"] or found["cards"], q
    assert api("GET", "/api/v1/search", params={"q": "c0ff"}).json()["cards"][0]["uid"] == "C0FFEE"
    assert api("GET", "/api/v1/search", params={"q": "%"}).json()["people"] == []
    assert api("GET", "/api/v1/search", params={"q": " "}).status_code == 422


def test_the_other_moves_over_http(api):
    r = api("POST", "/api/v1/cards/personalise", json={"uid": "CAFEAD01", "card_type": "owner",
                                                       "holder": {"name": "Wang", "unit": "A-12-03"}})
    assert r.status_code == 201 and r.json()["to_status"] == "personalised"
    r = api("POST", "/api/v1/cards/issue", json={"uid": "CAFEAD01", "card_type": "owner",
                                                 "holder": {"name": "Wang", "unit": "A-12-03"}})
    assert r.status_code == 201 and r.json()["status"] == "active"
    assert [m["move"] for m in api("GET", "/api/v1/cards/CAFEAD01/moves").json()["items"]] == ["personalise", "issue"]
    r = api("POST", "/api/v1/cards/CAFEAD01/renew", json={"valid_until": _future(30)})
    assert r.status_code == 200 and r.json()["to_status"] == "active"
    r = api("POST", "/api/v1/cards/CAFEAD01/damaged", json={"reason": "bent", "replacement_uid": "CAFEAD02"})
    assert r.status_code == 200 and r.json()["to_status"] == "scrapped"
    assert api("GET", "/api/v1/cards/CAFEAD02").json()["holder"]["name"] == "Wang"
    assert api("POST", "/api/v1/cards/CAFEAD02/return").status_code == 200
    assert api("POST", "/api/v1/cards/CAFEAD02/restock", json={}).json()["to_status"] == "in_stock"
    r = api("POST", "/api/v1/cards/CAFEAD02/scrap", json={})
    assert r.status_code == 422 and r.json()["error"] == "reason_required"
    assert api("POST", "/api/v1/cards/CAFEAD02/scrap", json={"reason": "faded"}).json()["to_status"] == "scrapped"
    assert api("POST", "/api/v1/cards/expire-due", role="clerk").status_code == 403
    assert api("POST", "/api/v1/cards/expire-due", role="supervisor").json() == {"expired": []}
    assert api("POST", "/api/v1/stock/deliveries", json={"card_type": "owner", "qty": 4, "ref": "DN-1"}).status_code == 201
    r = api("PUT", "/api/v1/stock/limits/owner", json={"min_level": 5, "max_level": 50})
    assert 0 <= r.json()["levels"][0]["in_stock"] < 5 and r.json()["levels"][0]["state"] == "low"
    year = api("GET", f"/api/v1/stock/years/{datetime.now(timezone.utc).year}").json()
    assert year["limit"] == 2


def test_correcting_a_persons_details_is_audited_without_the_id_number(api, store):
    api("POST", "/api/v1/units", json={"building": "A", "floor": 12, "room": "03"})
    pid = api("POST", "/api/v1/people", json={"name": "Chen Jie", "role": "tenant", "unit": "A-12-03",
                                             "tenancy_start": "2026-01-01", "tenancy_end": "2026-12-31"}).json()["id"]
    r = api("PATCH", f"/api/v1/people/{pid}", json={"phone": "13900000009", "id_doc_no": "E99887766",
                                                    "police_registration_no": "PR-77"})
    assert r.status_code == 200 and r.json()["phone"] == "13900000009" and r.json()["id_doc_no"] == "*****7766"
    r = api("PATCH", f"/api/v1/people/{pid}", json={"tenancy_end": "2025-12-31"})
    assert r.status_code == 422 and r.json()["field"] == "tenancy_end"
    r = api("PATCH", f"/api/v1/people/{pid}", json={"name": "Someone Else"})
    assert r.status_code == 422 and r.json()["field"] == "name"
    with store.read() as db:
        [row] = list(db.query("SELECT who, detail FROM audit WHERE entity = 'person' AND action = 'update'"))
    assert row["who"] == "clerk:t-clerk" and "E99887766" not in row["detail"] and "id_doc_no" in row["detail"]


def test_the_monthly_report_is_the_estates_month_by_default(api, store):
    """A delivery at 01:00 on 1 November in Shanghai is 17:00 on 31 October in UTC."""
    from hub.stock import ledger

    at = datetime(2026, 10, 31, 17, 0, tzinfo=timezone.utc)
    ledger.receive_delivery(store, "clerk:t", "owner", 50, "DN-1101", at=at)

    def purchased(month, **q):
        rows = api("GET", f"/api/v1/stock/reports/{month}", params=q).json()["rows"]
        return sum(r["purchased"] for r in rows if r["card_type"] == "owner")

    assert (purchased("2026-10"), purchased("2026-11")) == (50, 0)  # the estate starts on UTC
    assert api("PUT", "/api/v1/access/calendar", role="supervisor", json={"timezone": "Asia/Shanghai"}).status_code == 200
    assert (purchased("2026-10"), purchased("2026-11")) == (0, 50)
    assert purchased("2026-10", tz="UTC") == 50  # still askable in another zone


def test_a_type_is_issued_freely_until_counted_then_only_from_its_stock(api):
    """A fresh hub issues (the public contract) and books nothing against a stock nobody has
    counted; from the type's first delivery on, the books hold the drawer and never go below
    zero: the refusal names its rule and changes nothing."""
    def owner_level():
        return [lv for lv in api("GET", "/api/v1/stock/levels").json()["levels"] if lv["card_type"] == "owner"]

    assert api("POST", "/api/v1/cards", json={"uid": "0D0D0D01", "card_type": "owner",
                                              "holder": {"name": "Li Wei", "unit": "A-12-03"}}).status_code == 201
    assert owner_level() == []  # nothing booked: the books do not pretend to know the drawer
    assert api("POST", "/api/v1/stock/deliveries", json={"card_type": "owner", "qty": 1, "ref": "DN-7"}).status_code == 201
    assert owner_level()[0]["in_stock"] == 1  # the delivered blank, not one less
    body = {"uid": "0D0D0D02", "card_type": "owner", "holder": {"name": "Li Na", "unit": "A-12-03"}}
    assert api("POST", "/api/v1/cards", json=body).status_code == 201
    assert owner_level()[0]["in_stock"] == 0
    r = api("POST", "/api/v1/cards", json={**body, "uid": "0D0D0D03"})
    assert r.status_code == 422 and r.json()["error"] == "no_blank_in_stock", r.text
    assert api("GET", "/api/v1/cards/0D0D0D03").status_code == 404 and owner_level()[0]["in_stock"] == 0
    r = api("POST", "/api/v1/cards/0D0D0D02/report_lost", json={"reason": "lost", "replacement_uid": "0D0D0D04"})
    assert r.status_code == 422 and r.json()["error"] == "no_blank_in_stock"
    assert api("GET", "/api/v1/cards/0D0D0D02").json()["status"] == "active"


def test_a_units_people_and_a_name_search_sort_by_pinyin(api):
    """李 < 王 < 陈 by code point, but a Chinese list reads 陈 (chen), 李 (li), 王 (wang)."""
    assert api("POST", "/api/v1/units", json={"building": "C", "floor": 3, "room": "01"}).status_code == 201
    for name in ("李伟", "王芳", "陈静"):
        r = api("POST", "/api/v1/people", json={"name": name, "role": "family", "unit": "C-03-01"})
        assert r.status_code == 201, r.text
    unit = api("GET", "/api/v1/units/C-03-01").json()
    assert [p["name"] for p in unit["people"]] == ["陈静", "李伟", "王芳"]
    for name in ("李明", "陈明"):  # two people a search for 明 ranks alike: their order is pinyin's
        api("POST", "/api/v1/people", json={"name": name, "role": "family", "unit": "C-03-01"})
    found = [p["name"] for p in api("GET", "/api/v1/search", params={"q": "明"}).json()["people"]]
    assert found == ["陈明", "李明"], found

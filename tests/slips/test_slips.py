"""Release slips: move-outs refused on owed fees until a manager overrides (the reason in
the audit), a tenant's refused without the owner's confirmation, the finance import's dry
run and all-or-nothing, and a slip accepted once, on its date, at its gates (by number and
by its signed QR, which is a genuine visitor-pass text)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date, datetime, timedelta, timezone

import pytest
from openpyxl import Workbook, load_workbook

from hub.slips import service
from hub.slips.models import CheckIn
from hub.auth import Principal, Role
from hub.errors import RuleViolation
from protocols import visitpass
from tests.rigs.estate import OTHER_UNIT, UNIT


def _today(api) -> date:
    with api.store.read() as db:
        return datetime.now(timezone.utc).astimezone(service.zone(db)).date()


def _slip(api, role="clerk", **over):
    body = {"kind": "goods", "unit": UNIT, "applicant": "王芳", "standing": "owner",
            "items": [{"name": "沙发", "quantity": 1}, {"name": "纸箱", "quantity": 12}], "vehicle": "粤B 12345",
            "date": _today(api).isoformat(), "gates": ["north"]}
    body.update(over)
    return api.post("/api/v1/slips", json=body, headers=api.h(role))


def _import(api, text: str, dry_run: bool, name="fees.csv", role="supervisor"):
    return api.post("/api/v1/slips/fees/import", params={"dry_run": str(dry_run).lower()},
                    files={"file": (name, text.encode("utf-8"), "text/csv")}, headers=api.h(role))


def _positions(api) -> list[dict]:
    with api.store.read() as db:
        return [dict(r) for r in db.execute("SELECT * FROM fee_positions ORDER BY unit")]


def _audit(api, action: str) -> list[dict]:
    with api.store.read() as db:
        return [dict(r) for r in db.execute("SELECT * FROM audit WHERE action = ? ORDER BY id", [action])]


def _slip_count(api) -> int:
    with api.store.read() as db:
        return db.execute("SELECT COUNT(*) FROM slips").fetchone()[0]


def test_the_fee_import_dry_run_changes_nothing_and_a_bad_row_refuses_the_whole_file(estate):
    api = estate
    as_of = (_today(api) - timedelta(days=3)).isoformat()
    good = f"房号,欠费金额,截止日期\n{UNIT},1234.50,{as_of}\n{OTHER_UNIT},0,{as_of}\n"
    r = _import(api, good, dry_run=True)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["ok"] and body["dry_run"] and not body["applied"] and body["rows"] == 2 and body["owing"] == 1
    assert body["owed_yuan"] == "1234.50"
    assert _positions(api) == [] and _audit(api, "fee_import") == []  # the dry run changed nothing

    # one bad row (an unknown unit, an amount with three decimals, a date after today) refuses it all
    tomorrow = (_today(api) + timedelta(days=1)).isoformat()
    bad = (f"unit,amount_owed,as_of\n{UNIT},10.00,{as_of}\nZ-99-99,5,{as_of}\n"
           f"{OTHER_UNIT},1.234,{as_of}\n{UNIT.lower()},3,{tomorrow}\n")
    r = _import(api, bad, dry_run=False)
    assert r.status_code == 422 and r.json()["error"] == "import_rows_invalid", r.text
    rules = {(e["row"], e["rule"]) for e in r.json()["errors"]}
    assert rules == {(3, "unknown_unit"), (4, "bad_amount"), (5, "duplicate_unit"), (5, "as_of_in_future")}
    assert _positions(api) == [] and not r.json()["applied"]
    r = _import(api, "unit,as_of\nA-12-03,2026-01-01\n", dry_run=False)  # a column missing
    assert r.status_code == 422 and r.json()["errors"][0]["rule"] == "column_missing"
    assert _positions(api) == []

    # the good file applied: both positions, audited once
    r = _import(api, good, dry_run=False)
    assert r.status_code == 200 and r.json()["applied"], r.text
    assert [(p["unit"], p["owed_cents"], p["as_of"]) for p in _positions(api)] == \
        [(UNIT, 123450, as_of), (OTHER_UNIT, 0, as_of)]
    assert len(_audit(api, "fee_import")) == 1
    pos = api.get(f"/api/v1/slips/fees/{UNIT}", headers=api.h("clerk")).json()
    assert pos["owed_cents"] == 123450 and pos["age_days"] == 3
    # a clerk may not import
    assert _import(api, good, dry_run=True, role="clerk").status_code == 403


def test_an_xlsx_fee_file_imports_too(estate):
    api = estate
    wb = Workbook()
    ws = wb.active
    ws.append(["unit", "amount_owed", "as_of"])
    ws.append([UNIT, 80, datetime.combine(_today(api), datetime.min.time())])
    out = io.BytesIO()
    wb.save(out)
    r = api.post("/api/v1/slips/fees/import", params={"dry_run": "false"},
                 files={"file": ("fees.xlsx", out.getvalue(), "application/octet-stream")}, headers=api.h("manager"))
    assert r.status_code == 200 and r.json()["applied"], r.text
    assert [(p["unit"], p["owed_cents"]) for p in _positions(api)] == [(UNIT, 8000)]


def test_a_move_out_with_fees_owed_is_refused_until_a_manager_overrides_with_a_reason(estate):
    api = estate
    as_of = (_today(api) - timedelta(days=10)).isoformat()
    # no fee position yet: refused
    r = _slip(api, kind="move_out", items=[])
    assert r.status_code == 409 and r.json()["error"] == "no_fee_position", r.text
    assert _import(api, f"unit,amount_owed,as_of\n{UNIT},560.00,{as_of}\n{OTHER_UNIT},0.00,{as_of}\n",
                   dry_run=False).json()["applied"]
    r = _slip(api, kind="move_out", items=[])
    assert r.status_code == 409 and r.json()["error"] == "fees_owed", r.text
    assert "560.00" in r.json()["detail"]
    zh = api.post("/api/v1/slips", json={"kind": "move_out", "unit": UNIT, "applicant": "王芳", "date":
                                         _today(api).isoformat(), "gates": ["north"]},
                  headers={**api.h("clerk"), "Accept-Language": "zh-CN"})
    assert zh.status_code == 409 and zh.json()["detail"].startswith(f"{UNIT} 欠费 560.00 元"), zh.text
    # a clerk's reason is no override; nothing was issued either time
    r = _slip(api, kind="move_out", items=[], override_reason="业主说已经交了")
    assert r.status_code == 403 and r.json()["error"] == "override_not_allowed", r.text
    assert _slip_count(api) == 0 and _audit(api, "slip_fee_override") == []
    # the manager's override, with its reason in the audit; the slip shows the figure's age
    reason = "业主已在财务室现场缴清，财务系统次日更新"
    r = _slip(api, role="manager", kind="move_out", items=[], override_reason=reason)
    assert r.status_code == 201, r.text
    slip = r.json()
    assert slip["override"]["reason"] == reason and slip["override"]["by"].startswith("manager:")
    assert slip["fees"] == {"owed_cents": 56000, "as_of": as_of, "imported_at": slip["fees"]["imported_at"],
                            "age_days": 10}
    audited = _audit(api, "slip_fee_override")
    assert len(audited) == 1 and audited[0]["reason"] == reason and audited[0]["entity_id"] == slip["number"]
    # a household owing nothing moves out without an override
    r = _slip(api, kind="move_out", items=[], unit=OTHER_UNIT)
    assert r.status_code == 201 and r.json()["override"] is None and r.json()["fees"]["owed_cents"] == 0


def test_a_tenants_move_out_needs_the_owners_confirmation(estate):
    api = estate
    as_of = _today(api).isoformat()
    _import(api, f"unit,amount_owed,as_of\n{UNIT},0,{as_of}\n", dry_run=False)
    r = _slip(api, kind="move_out", standing="tenant", applicant="租户李四", items=[])
    assert r.status_code == 422 and r.json()["error"] == "owner_confirmation_required", r.text
    assert _slip_count(api) == 0
    r = _slip(api, kind="move_out", standing="tenant", applicant="租户李四", items=[],
              owner_confirmation={"name": "业主王五", "how": "phone"})
    assert r.status_code == 201, r.text
    assert r.json()["owner_confirmation"]["name"] == "业主王五" and r.json()["owner_confirmation"]["how"] == "phone"
    issued = _audit(api, "issue")
    assert json.loads(issued[-1]["detail"])["owner_confirmed_by"] == "业主王五"


def test_bad_slips_are_refused_and_change_nothing(estate):
    api = estate
    yesterday = (_today(api) - timedelta(days=1)).isoformat()
    for over, status, rule in [
        ({"unit": "Z-99-99"}, 422, "unknown_unit"),
        ({"gates": []}, 422, "gates_required"),
        ({"gates": ["nowhere"]}, 422, "unknown_gate"),
        ({"items": []}, 422, "items_required"),
        ({"date": yesterday}, 422, "date_in_past"),
    ]:
        r = _slip(api, **over)
        assert r.status_code == status and r.json()["error"] == rule, (over, r.text)
    assert _slip_count(api) == 0
    assert _slip(api, role="guard").status_code == 403


def test_a_slip_is_accepted_once_at_a_named_gate_on_its_date(estate):
    api = estate
    slip = _slip(api, gates=["north"]).json()
    assert slip["state"] == "issued" and slip["number"].startswith("RS-")
    check = lambda **b: api.post("/api/v1/slips/check", json=b, headers=api.h("guard"))  # noqa: E731
    # at another gate: refused, nothing changes
    r = check(gate_id="south", number=slip["number"])
    assert r.status_code == 422 and r.json()["error"] == "slip_wrong_gate", r.text
    assert api.get(f"/api/v1/slips/{slip['number']}", headers=api.h("guard")).json()["state"] == "issued"
    # at its gate: accepted, used, the exit audited
    r = check(gate_id="north", number=slip["number"].lower())
    assert r.status_code == 200 and r.json()["accepted"], r.text
    used = r.json()["slip"]
    assert used["state"] == "used" and used["used_gate"] == "north" and used["used_by"].startswith("guard:")
    exits = _audit(api, "slip_exit")
    assert len(exits) == 1 and json.loads(exits[0]["detail"])["gate"] == "north"
    # the second time: refused, by number and by QR
    r = check(gate_id="north", number=slip["number"])
    assert r.status_code == 409 and r.json()["error"] == "slip_used", r.text
    r = check(gate_id="north", qr=slip["qr"])
    assert r.status_code == 409 and r.json()["error"] == "slip_used", r.text
    assert len(_audit(api, "slip_exit")) == 1
    # its pass is listed used up at its gate, so a gate offline-checking the QR refuses it too
    with api.store.read() as db:
        block = db.execute("SELECT entry, gates FROM acl_blocks WHERE uid = ?", [slip["pass_id"]]).fetchone()
    assert block is not None and json.loads(block[1]) == ["north"]


def test_a_slips_qr_is_a_signed_pass_for_its_day_and_gates_and_is_checked_by_qr(estate):
    api = estate
    slip = _slip(api, gates=["north", "south"]).json()
    keys = visitpass.public_keys(api.app.state.visitors.keys.public_keys())
    claims = visitpass.read_pass(slip["qr"], keys)
    assert claims.pass_id == slip["pass_id"] and claims.gates == ("north", "south") and claims.entries == 1
    with api.store.read() as db:
        tz = service.zone(db)
    start = datetime.fromtimestamp(claims.valid_from, tz)
    end = datetime.fromtimestamp(claims.valid_until, tz)
    assert start.date() == end.date() == date.fromisoformat(slip["date"])
    assert (start.hour, start.minute, end.hour, end.minute, end.second) == (0, 0, 23, 59, 59)
    # a tampered QR is refused and changes nothing; the genuine one passes at south
    head, body, sig = slip["qr"].split(".")
    forged = ".".join([head, body, sig[:-2] + ("AA" if sig[-2:] != "AA" else "BB")])
    r = api.post("/api/v1/slips/check", json={"gate_id": "south", "qr": forged}, headers=api.h("guard"))
    assert r.status_code == 422 and r.json()["error"] == "slip_qr_invalid", r.text
    r = api.post("/api/v1/slips/check", json={"gate_id": "south", "qr": slip["qr"]}, headers=api.h("guard"))
    assert r.status_code == 200 and r.json()["slip"]["used_gate"] == "south", r.text
    # a visitor's pass, though genuine and signed with the same key, is no slip
    key_id, key = api.app.state.visitors.keys.pass_key()
    visitor = visitpass.make_pass(visitpass.PassClaims(
        site=api.app.state.config.hub.site, pass_id="AB" * 16, valid_from=claims.valid_from,
        valid_until=claims.valid_until, gates=("north",), entries=1, key_id=key_id), key)
    r = api.post("/api/v1/slips/check", json={"gate_id": "north", "qr": visitor}, headers=api.h("guard"))
    assert r.status_code == 422 and r.json()["error"] == "slip_qr_invalid", r.text
    # a guard limited to another gate may not check here
    r = api.post("/api/v1/slips/check", json={"gate_id": "north", "number": slip["number"]},
                 headers=api.h("guard", gates=("south",)))
    assert r.status_code == 403 and r.json()["error"] == "gate_not_allowed"


def test_a_slip_for_another_day_is_refused_and_a_cancelled_one_too(estate):
    api = estate
    tomorrow = _today(api) + timedelta(days=1)
    slip = _slip(api, date=tomorrow.isoformat()).json()
    r = api.post("/api/v1/slips/check", json={"gate_id": "north", "number": slip["number"]}, headers=api.h("guard"))
    assert r.status_code == 422 and r.json()["error"] == "slip_wrong_date", r.text
    # on its day (a chosen now) it passes: the rule is the estate's date, not the clock's
    ctx = api.app.state.slips
    with api.store.read() as db:
        tz = service.zone(db)
    noon = datetime.combine(tomorrow, datetime.min.time(), tz).replace(hour=12)
    guard = Principal("g", Role.GUARD)
    # ... and the day after its day it is refused again
    with pytest.raises(RuleViolation) as err:
        service.check(ctx, guard, CheckIn(gate_id="north", number=slip["number"]), now=noon + timedelta(days=1))
    assert getattr(err.value, "rule", "") == "slip_wrong_date"
    assert service.check(ctx, guard, CheckIn(gate_id="north", number=slip["number"]), now=noon)["accepted"]

    other = _slip(api).json()
    r = api.post(f"/api/v1/slips/{other['number']}/cancel", json={"reason": "业主改期"}, headers=api.h("clerk"))
    assert r.status_code == 200 and r.json()["state"] == "cancelled"
    r = api.post("/api/v1/slips/check", json={"gate_id": "north", "number": other["number"]}, headers=api.h("guard"))
    assert r.status_code == 409 and r.json()["error"] == "slip_cancelled"


def test_the_month_figures_of_slips_and_violations_in_csv_and_xlsx(estate):
    api = estate
    slip = _slip(api).json()
    api.post("/api/v1/slips/check", json={"gate_id": "north", "number": slip["number"]}, headers=api.h("guard"))
    _slip(api)
    now = datetime.now(timezone.utc)
    for level in ("general", "major", "major"):
        r = api.post("/api/v1/violations", json={"unit": UNIT, "kind": "noise", "what": "夜间施工", "place": "12楼",
                                                 "found_at": now.isoformat(), "found_by": "保安陈", "level": level},
                     headers=api.h("guard"))
        assert r.status_code == 201, r.text
    month = slip["date"][:7]
    fig = api.get("/api/v1/slips/figures", params={"month": month}, headers=api.h("manager")).json()
    assert (fig["slips"], fig["slips_used"], fig["slips_goods"]) == (2, 1, 2)
    assert (fig["violations"], fig["violations_general"], fig["violations_major"]) == (3, 1, 2)
    assert fig["households"] == 2 and fig["violation_rate"] == 150.0 and fig["violations_sanitation"] == 3
    r = api.get("/api/v1/slips/figures", params={"month": month, "format": "csv"},
                headers={**api.h("manager"), "Accept-Language": "zh-Hans"})
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == [rows[0][0], month] and len(rows) == 1 + len([k for k in fig if k != "month"])
    assert rows[1][0] == "开具的放行条" and "违章：环境卫生" in [row[0] for row in rows]  # in the reader's language
    values = [row[1] for row in rows[1:]]
    assert values[:2] == ["2", "2"] and "3" in values
    r = api.get("/api/v1/slips/figures", params={"month": month, "format": "xlsx"}, headers=api.h("manager"))
    ws = load_workbook(io.BytesIO(r.content)).active
    got = {row[0]: row[1] for row in ws.iter_rows(min_row=2, values_only=True)}
    assert got["Release slips issued"] == 2 and got["Major violations"] == 2 and got["Violations: sanitation"] == 3


def test_a_slip_used_at_a_gate_offline_is_used_at_the_hub_and_listed_used_up(estate):
    """The gate's own check arrives as a gate event naming the slip's pass: through the hub's
    registered reactions it uses the slip up there, so the guard's check refuses it after."""
    import uuid

    from hub.gates import acl
    from protocols.cards import PASS_BLOCKS, Reason
    from protocols.messages import Direction, GateEvent

    api = estate
    slip = _slip(api, gates=["north", "south"]).json()
    event = GateEvent(event_id="ev-" + uuid.uuid4().hex, gate_id="south", door_id="south-out", kind="visit",
                      pass_id=slip["pass_id"], direction=Direction.OUT, decision="granted", reason="valid_pass",
                      at=datetime.now(timezone.utc))
    with api.store.tx() as db:
        api.app.state.reactions.event_stored(db, event, 1)
    got = api.get(f"/api/v1/slips/{slip['number']}", headers=api.h("guard")).json()
    assert got["state"] == "used" and got["used_gate"] == "south" and got["used_by"] == "gate:south"
    r = api.post("/api/v1/slips/check", json={"gate_id": "north", "qr": slip["qr"]}, headers=api.h("guard"))
    assert r.status_code == 409 and r.json()["error"] == "slip_used"
    with api.store.read() as db:
        for gate in ("north", "south"):
            listed = {e.uid: e for chunk in acl.snapshot(db, gate) for e in chunk.upserts}
            assert PASS_BLOCKS[listed[slip["pass_id"]].status] == Reason.PASS_USED_UP
    # another gate's granted use (both offline at once) keeps the first, and is audited
    again = event.model_copy(update={"event_id": "ev-" + uuid.uuid4().hex, "gate_id": "north"})
    with api.store.tx() as db:
        api.app.state.reactions.event_stored(db, again, 2)
    assert len(_audit(api, "slip_exit")) == 1 and len(_audit(api, "slip_exit_again")) == 1
    assert api.get(f"/api/v1/slips/{slip['number']}", headers=api.h("guard")).json()["used_gate"] == "south"
    # a scan "in", or a denied one, uses nothing
    other = _slip(api, gates=["north"]).json()
    for direction, decision in ((Direction.IN, "granted"), (Direction.OUT, "denied")):
        ev = event.model_copy(update={"event_id": "ev-" + uuid.uuid4().hex, "pass_id": other["pass_id"],
                                      "direction": direction, "decision": decision})
        with api.store.tx() as db:
            api.app.state.reactions.event_stored(db, ev, 3)
    assert api.get(f"/api/v1/slips/{other['number']}", headers=api.h("guard")).json()["state"] == "issued"


def test_an_estate_sized_fee_file_passes_the_front_door_and_is_checked_row_by_row(estate):
    """11,000 households' positions (about 300 KB) are more than a JSON body's cap: the import's
    route takes them, and every row is checked (here none is in the register: all refused)."""
    api = estate
    as_of = _today(api).isoformat()
    lines = ["unit,amount_owed,as_of"] + [f"Z-{i // 100:03d}-{i % 100:02d}-X,{i % 7}.50,{as_of}" for i in range(11000)]
    text = "\n".join(lines) + "\n"
    assert len(text.encode()) > 256 * 1024
    r = _import(api, text, dry_run=True)
    assert r.status_code == 200, r.text[:300]
    body = r.json()
    assert body["rows"] == 11000 and not body["ok"] and len(body["errors"]) == 11000
    assert {e["rule"] for e in body["errors"]} == {"unknown_unit"} and _positions(api) == []


def test_the_listings_state_filter_in_sql_gives_the_rows_state_of_gives(estate):
    """The listing filters by state in SQL (service.STATE_SQL); the state each slip shows is
    service.state_of's. On slips of every state, seen on several days, both rules agree: each
    state's listing is exactly the slips showing that state, newest first, cut at the limit."""
    api = estate
    today = _today(api)
    later = [_slip(api, date=(today + timedelta(days=d)).isoformat(), unit=unit).json()
             for d in (0, 0, 1, 2) for unit in (UNIT, OTHER_UNIT)]
    r = api.post("/api/v1/slips/check", json={"gate_id": "north", "number": later[0]["number"]},
                 headers=api.h("guard"))
    assert r.status_code == 200, r.text
    r = api.post(f"/api/v1/slips/{later[5]['number']}/cancel", json={"reason": "业主改期"}, headers=api.h("clerk"))
    assert r.status_code == 200, r.text
    assert set(service.STATE_SQL) == set(service.STATES)
    ctx = api.app.state.slips
    with api.store.read() as db:
        tz = service.zone(db)
        raw = [dict(r) for r in db.execute("SELECT * FROM slips ORDER BY id DESC")]
    seen = set()
    for days in range(4):  # today: none expired yet; then today's, tomorrow's, ... expire
        now = datetime.combine(today + timedelta(days=days), datetime.min.time(), tz).replace(hour=12)
        every = [service.view(row, now.date()) for row in raw]  # the old way: every slip's view
        for state in service.STATES:
            for unit in (None, UNIT):
                want = [s for s in every if s["state"] == state and unit in (None, s["unit"])]
                if want:
                    seen.add(state)
                assert service.listing(ctx, state=state, unit=unit, now=now) == want, (days, state, unit)
                assert service.listing(ctx, state=state, unit=unit, limit=1, now=now) == want[:1]
        assert service.listing(ctx, now=now) == every
        assert service.listing(ctx, now=now, limit=3) == every[:3]
    assert seen == set(service.STATES)

"""A year of the service centre's records for bench/year.py, written in bulk into the domain tables.

Proportions of an 11,000-household estate: 100,000 visits (each with its QR pass; all but
the last few checked in and out), 10,000 alarms (all but a few dozen acknowledged), 3,000
duty-log entries, 2,000 complaints (their households, steps and follow-ups), 600 renovation
permits (their moves and worker cards), 300 violations with their measures, 5,000 release
slips and a fee position for every unit. The year ends at the run's own ``now``, so the
current shift, the open items and this month's reports have rows, as at a real desk.

They are written into the run's copy of the cached file before the hub starts, so the
18 M-event cache needs no rebuild (a few seconds each run). Rows hold what the services
write (states with their dates, JSON columns well formed), because the GETs build their
answers from them: a malformed row would measure an error page, not the endpoint.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

from hub.complaints.models import CATEGORIES, CHANNELS
from hub.dutylog.shifts import ESTATE_SHIFTS, parse_shifts, shift_at
from hub.violations.models import KIND_CATEGORY

TZ = ZoneInfo("Asia/Shanghai")
VISITS, ALARMS, DUTY, COMPLAINTS, PERMITS, VIOLATIONS, SLIPS = 100_000, 10_000, 3_000, 2_000, 600, 300, 5_000
OPEN_ALARMS = 40
ALARM_KINDS = ("door_forced", "door_held", "gate_offline", "device_degraded", "overstay", "watch_list_hit")
DEPARTMENTS = ("customer_service", "engineering", "security", "cleaning", "greening", "finance")
SLIP_GATES = ["gate00", "gate01"]


def _utc(at: datetime) -> str:
    """The services' one stored form: UTC, microseconds always (text order is time order)."""
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _month(at: datetime) -> str:
    return at.astimezone(TZ).strftime("%Y-%m")


def _day(at: datetime) -> str:
    return at.astimezone(TZ).date().isoformat()


def _spread(i: int, n: int, end: datetime) -> datetime:
    """The i-th of n instants spread evenly over the year up to ``end`` (oldest first)."""
    return end - timedelta(days=365) * (1 - (i + 1) / (n + 1))


def write_service_year(path: Path, units: list[str], gates: list[str], now: datetime) -> dict:
    """The records, in one transaction; what the endpoint list needs to name one of each."""
    conn = sqlite3.connect(str(path))
    try:
        conn.execute("BEGIN")
        facts = {**_visits(conn, units, gates, now), "alarm": _alarms(conn, gates, now),
                 **_duty(conn, now), **_complaints(conn, units, now),
                 **_permits(conn, units, now), **_violations(conn, units, now),
                 **_slips(conn, units, now)}
        conn.execute("COMMIT")
    finally:
        conn.close()
    return facts


def _visits(conn: sqlite3.Connection, units: list[str], gates: list[str], now: datetime) -> dict:
    visits, passes = [], []
    for i in range(VISITS):
        at = _spread(i, VISITS, now)
        last = i >= VISITS - 30  # the newest: some inside, some expected
        checked_in = None if last and i % 2 else _utc(at + timedelta(minutes=10))
        checked_out = None if last else _utc(at + timedelta(hours=1 + i % 5))
        cancelled = _utc(at + timedelta(minutes=5)) if not last and i % 97 == 0 else None
        if cancelled:
            checked_in = checked_out = None
        plate = f"沪A{i % 100_000:05d}" if i % 3 == 0 else None
        visits.append((i + 1, f"访客{i % 5000}", "resident_id", f"{i:064x}", f"{i % 10_000:04d}", 18, f"{i + 7:064x}",
                       f"{(i * 7) % 10_000:04d}", 11, units[(i * 37) % len(units)], "探亲", 1 + i % 3, plate,
                       _utc(at + timedelta(hours=4)), _utc(at - timedelta(seconds=90)), 30.0 + i % 300,
                       int(i % 5 == 0), _utc(at), "guard:g1", _month(at), checked_in, checked_out, cancelled))
        gate_list = json.dumps([gates[i % len(gates)]])
        passes.append((f"{i:032X}", i + 1, "qr", f"V1.{i:032X}.bench", _utc(at), _utc(at + timedelta(hours=8)),
                       gate_list, 2, 2 if checked_out else (1 if checked_in else 0), _utc(at), "guard:g1"))
    conn.executemany("""INSERT INTO visits (id, visitor_name, id_type, id_hash, id_last4, id_len, phone_hash,
                        phone_last4, phone_len, host_unit, purpose, party_size, plate, expected_leave_at,
                        form_opened_at, handled_s, pre_registered, registered_at, registered_by, month,
                        checked_in_at, checked_out_at, cancelled_at)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", visits)
    conn.executemany("""INSERT INTO visit_passes (pass_id, visit_id, kind, text, valid_from, valid_until, gates,
                        entries, used, created_at, created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", passes)
    v = visits[VISITS - 1000]  # plated (i % 3 == 0)
    return {"visit": v[0], "visit_name": v[1], "visit_plate": v[12], "visit_unit": v[9], "pass": passes[VISITS - 1000][0]}


def _alarms(conn: sqlite3.Connection, gates: list[str], now: datetime) -> int:
    rows = []
    for i in range(ALARMS):
        at = _spread(i, ALARMS, now)
        kind = ALARM_KINDS[i % len(ALARM_KINDS)]
        gate = gates[i % len(gates)]
        is_open = i >= ALARMS - OPEN_ALARMS  # distinct kind, gate and subject: one open alarm each
        rows.append((i + 1, kind, gate, "d1", f"bench-{i}", json.dumps({"gate_id": gate, "door_id": "d1"}),
                     _utc(at), "open" if is_open else "acknowledged", None,
                     None if is_open else _utc(at + timedelta(minutes=3)), None if is_open else "guard:g1",
                     None if is_open else "checked: closed", None, i + 1))
    conn.executemany("""INSERT INTO alarms (id, kind, gate_id, door_id, subject, detail, raised_at, state,
                        escalated_at, acked_at, acked_by, note, source_seq, version)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
    return ALARMS - 10


def _duty(conn: sqlite3.Connection, now: datetime) -> dict:
    shifts = parse_shifts(list(ESTATE_SHIFTS))
    rows = []
    for i in range(DUTY):
        at = _spread(i, DUTY, now)
        span = shift_at(at, shifts, TZ)
        kind = ("note", "note", "handover", "incident")[i % 4]
        recent = i >= DUTY - 20  # the newest handover items and incidents are still open
        closed = None if recent or kind == "note" else _utc(at + timedelta(hours=2))
        incident = kind == "incident"
        rows.append((i + 1, kind, "water_cut" if incident else None, f"值班记录 {i}", _utc(at), span.key,
                     span.day.isoformat(), "guard:g1", closed, "guard:g2" if closed else None,
                     "处理完毕" if closed else None, "supervisor" if incident else None,
                     _utc(at + timedelta(minutes=20)) if incident else None, "guard:g1" if incident else None))
    conn.executemany("""INSERT INTO duty_entries (id, kind, incident_kind, text, at, shift, shift_day, written_by,
                        closed_at, closed_by, closed_note, reported_to, reported_at, reported_by)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", rows)
    last = rows[-DUTY // 3][5]
    return {"duty_shift": last, "duty_day": rows[-DUTY // 3][6]}


_COMPLAINT_COLUMNS = ("id", "state", "channel", "category", "severity", "units", "complainants", "what", "place",
                      "concerns", "asks", "contact_name", "contact_phone", "department", "sheet_task",
                      "forwarded_at", "forwarded_by", "signed_at", "signed_by", "answer", "answered_at", "answered_by",
                      "result", "resolved_at", "resolved_by", "told_at", "told_how", "accepted", "acceptance_how",
                      "accepted_at", "closed_at", "closed_by", "registered_at", "registered_by", "month")
#: how far each state has got: registered, forwarded (sent), in_progress (signed), resolved, told, closed
_STEPS = ("registered", "forwarded", "in_progress", "resolved", "told", "closed")


def _complaints(conn: sqlite3.Connection, units: list[str], now: datetime) -> dict:
    rows, cunits, steps, followups = [], [], [], []
    categories, channels = list(CATEGORIES), list(CHANNELS)
    for i in range(COMPLAINTS):
        at = _spread(i, COMPLAINTS, now)
        age = (now - at).days
        state = "closed" if age > 30 else _STEPS[min(5, (COMPLAINTS - i) % 6)]
        reached = _STEPS.index(state)
        t = [at + timedelta(hours=h) for h in (0, 2, 5, 48, 60, 96)]
        done = [reached >= k for k in range(6)]
        unit = units[(i * 53) % len(units)]
        category = categories[i % len(categories)]
        dept = DEPARTMENTS[i % len(DEPARTMENTS)]
        r = {"id": i + 1, "state": state, "channel": channels[i % len(channels)], "category": category,
             "severity": ("general", "minor", "general", "major")[i % 4], "units": json.dumps([unit]),
             "complainants": json.dumps([{"unit": unit, "name": f"业主{i}"}], ensure_ascii=False),
             "what": f"楼道灯不亮 {i}", "place": unit[:3], "concerns": "", "asks": "尽快修好",
             "contact_name": f"业主{i}", "contact_phone": f"139{i:08d}",
             "department": dept if done[1] else None, "sheet_task": "修灯" if done[1] else None,
             "forwarded_at": _utc(t[1]) if done[1] else None, "forwarded_by": "clerk:c1" if done[1] else None,
             "signed_at": _utc(t[2]) if done[2] else None, "signed_by": f"dept:{dept}" if done[2] else None,
             "answer": "已安排维修" if done[2] else None, "answered_at": _utc(t[2]) if done[2] else None,
             "answered_by": f"dept:{dept}" if done[2] else None,
             "result": "已修好" if done[3] else None, "resolved_at": _utc(t[3]) if done[3] else None,
             "resolved_by": f"dept:{dept}" if done[3] else None,
             "told_at": _utc(t[4]) if done[4] else None, "told_how": "phone" if done[4] else None,
             "accepted": 1 if done[5] else None, "acceptance_how": "phone" if done[5] else None,
             "accepted_at": _utc(t[5]) if done[5] else None, "closed_at": _utc(t[5]) if done[5] else None,
             "closed_by": "clerk:c1" if done[5] else None, "registered_at": _utc(at), "registered_by": "clerk:c1",
             "month": _month(at)}
        rows.append(tuple(r[c] for c in _COMPLAINT_COLUMNS))
        cunits.append((i + 1, unit, category, _utc(at)))
        for k, action in enumerate(("register", "forward", "sign", "resolve", "tell", "close")):
            if done[k]:
                steps.append((i + 1, _utc(t[k]), "clerk:c1" if k in (0, 1, 4, 5) else f"dept:{dept}", action,
                              json.dumps({"state": _STEPS[k]})))
        if done[4]:
            due = t[4] + timedelta(days=7)
            fdone = due < now
            followups.append((i + 1, _utc(due), _utc(t[4]), "done" if fdone else "open",
                              _utc(due) if fdone else None, "clerk:c2" if fdone else None,
                              "good" if fdone else None, "good" if fdone else None, "satisfied" if fdone else None,
                              5 if fdone else None, 1 if fdone else None))
    conn.executemany(f"INSERT INTO complaints ({', '.join(_COMPLAINT_COLUMNS)}) VALUES "
                     f"({', '.join('?' * len(_COMPLAINT_COLUMNS))})", rows)
    conn.executemany("INSERT INTO complaint_units (complaint_id, unit, category, registered_at) VALUES (?, ?, ?, ?)",
                     cunits)
    conn.executemany("INSERT INTO complaint_steps (complaint_id, at, who, action, detail) VALUES (?, ?, ?, ?, ?)",
                     steps)
    conn.executemany("""INSERT INTO complaint_followups (complaint_id, due, created_at, state, done_at, done_by,
                        quality, effect, satisfaction, score, satisfied) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
                     followups)
    return {"complaint": COMPLAINTS - 5, "complaint_unit": cunits[-5][1]}


def _permits(conn: sqlite3.Connection, units: list[str], now: datetime) -> dict:
    permits, pmoves, cards, links = [], [], [], []
    numbers: dict[str, int] = {}
    for i in range(PERMITS):
        at = _spread(i, PERMITS, now)
        year = at.astimezone(TZ).year
        numbers[str(year)] = numbers.get(str(year), 0) + 1
        no = f"RP-{year}-{numbers[str(year)]:04d}"
        start = at.astimezone(TZ).date() + timedelta(days=3)
        until = start + timedelta(days=90)
        state = "ended" if until < now.astimezone(TZ).date() else ("suspended" if i % 40 == 0 else "approved")
        unit = units[(i * 71) % len(units)]
        workers = [{"name": f"工人{i}-{w}", "id_doc_no": f"3101{i:06d}{w:04d}X"} for w in range(3)]
        ended = state == "ended"
        permits.append((i + 1, no, state, unit,
                        json.dumps({"name": f"业主{i}", "standing": "owner", "person_id": None,
                                    "authorisation_ref": None, "company_letter_ref": None}, ensure_ascii=False),
                        f"装修公司{i % 50}", json.dumps({"name": f"经理{i}", "phone": f"138{i:08d}"}, ensure_ascii=False),
                        json.dumps(workers, ensure_ascii=False), start.isoformat(), until.isoformat(), "08:00", "18:00",
                        json.dumps([1, 2, 3, 4, 5]), 200_000, f"RD-{i:06d}",
                        json.dumps({"ref": f"DWG-{i}", "approved_by": "engineering", "approved_on": start.isoformat()}),
                        json.dumps({"reason": "噪音投诉", "engineering_by": "eng:e1", "engineering_on": start.isoformat(),
                                    "by": "clerk:c1"}, ensure_ascii=False) if state == "suspended" else None,
                        json.dumps({"inspected_by": "eng:e1", "inspection": "ok", "at": _utc(at + timedelta(days=93)),
                                    "by": "clerk:c1"}) if ended else None,
                        "expired" if ended else None, "clerk:c1", _utc(at + timedelta(days=1)), "clerk:c1", _utc(at),
                        _utc(at + timedelta(days=1))))
        pmoves.append((i + 1, _utc(at), "apply", None, "applied", "clerk:c1"))
        pmoves.append((i + 1, _utc(at + timedelta(days=1)), "approve", "applied", "approved", "clerk:c1"))
        if state != "approved":
            pmoves.append((i + 1, _utc(at + timedelta(days=20)), "suspend" if state == "suspended" else "end",
                           "approved", state, "clerk:c1"))
        for w in range(3):
            uid = f"B{i:05X}{w:02X}"  # hex, and apart from the estate's E, D and F cards
            begins = datetime.combine(start, datetime.min.time(), TZ)
            ends = datetime.combine(until + timedelta(days=1), datetime.min.time(), TZ)
            cards.append((uid, "returned" if ended else "active", "renovation_worker", workers[w]["name"], unit,
                          begins.isoformat(), ends.isoformat(), _utc(at), _utc(at), _utc(at), "clerk:c1"))
            links.append((uid, i + 1, _utc(at + timedelta(days=1))))
    conn.executemany(f"INSERT INTO permits (id, permit_no, state, unit, applicant, company, site_manager, workers, "
                     f"period_from, period_until, hours_start, hours_end, weekdays, deposit_cents, deposit_receipt, "
                     f"drawings, suspension, exit_record, end_reason, approved_by, approved_at, created_by, created_at, "
                     f"updated_at) VALUES ({', '.join('?' * 24)})", permits)
    conn.executemany("INSERT INTO permit_moves (permit_id, at, move, from_state, to_state, who) VALUES (?, ?, ?, ?, ?, ?)",
                     pmoves)
    conn.executemany("""INSERT INTO cards (uid, status, card_type, holder_name, holder_unit, valid_from, valid_until,
                        created_at, updated_at, issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", cards)
    conn.executemany("INSERT INTO permit_cards (uid, permit_id, linked_at) VALUES (?, ?, ?)", links)
    return {"permit": permits[-5][1], "permit_unit": permits[-5][3]}


def _violations(conn: sqlite3.Connection, units: list[str], now: datetime) -> dict:
    rows, measures = [], []
    kinds = list(KIND_CATEGORY)
    for i in range(VIOLATIONS):
        at = _spread(i, VIOLATIONS, now)
        kind = kinds[i % len(kinds)]
        level = "major" if i % 10 == 0 else "general"
        keep = at + timedelta(days=365 * (5 if level == "major" else 1))
        handled = _utc(at + timedelta(days=5)) if at + timedelta(days=5) < now else None
        penalty = i % 7 == 0
        rows.append((i + 1, units[(i * 89) % len(units)], None, KIND_CATEGORY[kind], kind, f"违规 {i}", "楼道",
                     _utc(at), "guard:g1", level, _month(at), _utc(keep), "[]", 50_000 if penalty else None,
                     "屡教不改" if penalty else None, "manager:m1" if penalty else None,
                     _utc(at + timedelta(days=2)) if penalty else None, handled, "clerk:c1" if handled else None,
                     "已整改" if handled else None, _utc(at), "guard:g1"))
        measures.append((i + 1, "persuasion", "劝阻", None, _utc(at + timedelta(hours=1)), "clerk:c1"))
        if i % 3 == 0:
            measures.append((i + 1, "rectification", "限期整改", (at + timedelta(days=7)).astimezone(TZ).date().isoformat(),
                             _utc(at + timedelta(days=1)), "clerk:c1"))
    conn.executemany(f"""INSERT INTO violations (id, unit, permit, category, kind, what, place, found_at, found_by,
                         level, month, keep_until, photos, penalty_cents, penalty_reason, penalty_by, penalty_at,
                         handled_at, handled_by, handled_note, recorded_at, recorded_by)
                         VALUES ({', '.join('?' * 22)})""", rows)
    conn.executemany("""INSERT INTO violation_measures (violation_id, measure, note, deadline, at, by)
                        VALUES (?, ?, ?, ?, ?, ?)""", measures)
    return {"violation": VIOLATIONS - 3, "violation_unit": rows[-3][1]}


def _slips(conn: sqlite3.Connection, units: list[str], now: datetime) -> dict:
    rows = []
    per_day: dict[str, int] = {}
    today = now.astimezone(TZ).date()
    as_of = (today - timedelta(days=3)).isoformat()
    imported = _utc(now - timedelta(days=2))
    for i in range(SLIPS):
        at = _spread(i, SLIPS, now)
        made = at.astimezone(TZ).date()
        per_day[made.isoformat()] = per_day.get(made.isoformat(), 0) + 1
        number = f"RS-{made:%Y%m%d}-{per_day[made.isoformat()]:04d}"
        move_out = i % 5 == 0
        used = made < today and i % 11 != 0
        cancelled = not used and i % 11 == 0 and made < today
        pass_id = f"{i + 1:032X}"
        rows.append((i + 1, number, pass_id, "move_out" if move_out else "goods", units[(i * 29) % len(units)],
                     f"住户{i}", "tenant" if move_out else "owner",
                     json.dumps([{"name": "沙发", "quantity": 1}, {"name": "纸箱", "quantity": 1 + i % 9}],
                                ensure_ascii=False), f"沪B{i:05d}" if move_out else None, made.isoformat(),
                     json.dumps(SLIP_GATES), "业主" if move_out else None, "phone" if move_out else None,
                     _utc(at) if move_out else None, "clerk:c1" if move_out else None, 0 if move_out else None,
                     as_of if move_out else None, imported if move_out else None, f"RS1.{pass_id}.bench",
                     made.strftime("%Y-%m"), _utc(at + timedelta(hours=3)) if used else None,
                     SLIP_GATES[0] if used else None, "guard:g1" if used else None,
                     _utc(at + timedelta(hours=1)) if cancelled else None, "clerk:c1" if cancelled else None,
                     "改期" if cancelled else None, _utc(at), "clerk:c1"))
    conn.executemany(f"""INSERT INTO slips (id, number, pass_id, kind, unit, applicant, standing, items, vehicle, day,
                         gates, owner_name, owner_how, owner_at, owner_by, fee_owed_cents, fee_as_of, fee_imported_at,
                         qr, month, used_at, used_gate, used_by, cancelled_at, cancelled_by, cancel_reason,
                         created_at, created_by) VALUES ({', '.join('?' * 28)})""", rows)
    conn.execute("INSERT INTO fee_imports (id, at, by, filename, rows, owing) VALUES (1, ?, 'supervisor:s1', "
                 "'fees.xlsx', ?, ?)", [imported, len(units), len(units) // 20])
    conn.executemany("INSERT INTO fee_positions (unit, owed_cents, as_of, imported_at, import_id) VALUES (?, ?, ?, ?, 1)",
                     [(u, 120_000 if k % 20 == 0 else 0, as_of, imported) for k, u in enumerate(units)])
    return {"slip": rows[-10][1], "slip_day": rows[-10][9], "slip_unit": rows[-10][4]}

"""A year of an estate over real HTTP: every GET a guard, clerk or supervisor uses, p50/p95.

Needs about 6.5 GB free in the temporary folder for 18 M events (``GATEHOUSE_YEAR_EVENTS``
sets the count: 2000000 is a quick run of about a ninth of that). The built file is kept
in bench/hubfiles.py's cache (``year-<count>-<tables hash>.db``) and copied for each run;
``GATEHOUSE_YEAR_ONLY="money,events after"`` times only the endpoints whose names hold one
of those pieces.

The estate (built, not measured): 11,000 units with a household each, 27,500 people
(Chinese names with their search keys, a few Latin names), 60,000 cards held by them,
each card's issue move and audit row, the units' and people's audit rows, all through the
schema's own tables in bulk; 50 gates registered through the hub's own code, 200 more
cards issued through it (so the gates' lists hold them: the ones revoked below); and a
year of events from 48 busy gates with a Zipf-like skew, a quiet gate (0.01% of the
events) and a gate with no events yet (hub.events via bench.reads.load_events). The service
centre's year (visits, alarms, the duty log, complaints, permits, violations, release slips:
bench/service_year.py) is written into each run's copy, so adding it rebuilds no cache.

Then the real hub in its own process (uvicorn, ``create_app`` without MQTT: the HTTP API
and its store alone), and from this process an httpx client per role with a token (keep
alive): each endpoint ROUNDS times, p50 and p95; any answer but 200 stops the run. Baseline, same run: ``/healthz`` (no
database) and the cheapest authenticated route (the paper-move kinds: a token check and
a constant answer). Last, a card revocation over HTTP alone, and while another client runs
the slowest of the GETs above in a loop.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import httpx

from bench.common import ROOT, Result, median, percentile, ratio
from bench.hubfiles import cached_db, copy_db
from bench.reads import load_events
from bench.service_year import write_service_year
from hub.auth import create_token
from hub.cards import moves
from hub.db import Store
from hub.gates import acl
from hub.people import names
from tests.rigs.broker import free_port

N = int(os.environ.get("GATEHOUSE_YEAR_EVENTS", "18000000"))
NAME = "year"
TITLE = f"A year of an estate ({N / 1e6:g} M events) over real HTTP: every GET, p50/p95"

BUILDINGS, FLOORS, ROOMS = 55, 20, 10  # 11,000 units
PEOPLE = 27_500
CARDS = 60_000
ISSUED = 200  # through the hub's own code, in every gate's list: the ones revoked
BUSY = [f"gate{g:02d}" for g in range(48)]
QUIET, EMPTY = "gate-quiet", "gate-empty"
ROUNDS = 100
START = datetime(2025, 11, 1, tzinfo=timezone.utc)

SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉梅文辉鹏飞宇浩然子轩欣怡思雨佳琪梓涵一诺晨阳博文天佑雅婷俊杰"
LATIN = ["John Smith", "Mary Brown", "Anna Lee", "David Wong", "Peter Chan", "Sarah Kim", "Tom Muller", "Olga Ivanova"]


def _unit(i: int) -> str:
    b, rest = divmod(i, FLOORS * ROOMS)
    floor, room = divmod(rest, ROOMS)
    return f"B{b + 1:02d}-{floor + 1:02d}-{room + 1:02d}"


def _name(rng: random.Random, i: int) -> str:
    if i % 20 == 0:
        return LATIN[(i // 20) % len(LATIN)]
    surname = SURNAMES[min(int(rng.paretovariate(1.2)) - 1, len(SURNAMES) - 1)]
    return surname + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2, 2))))


def _card_uid(i: int) -> str:
    return f"E{i:07X}"


def _at(day_fraction: float) -> str:
    return (START + timedelta(days=365 * day_fraction)).isoformat()


def build_estate(store: Store) -> dict:
    """Units, households, people, cards, their moves and audit rows, in bulk; gates and the
    revocable cards through the hub's own code. What the measurements need to know."""
    with store.tx() as db:
        for gate in [*BUSY, QUIET, EMPTY]:
            acl.ensure_gate(db, gate)
    rng = random.Random(10)
    conn = store.db.conn
    conn.execute("BEGIN")
    units = [_unit(i) for i in range(BUILDINGS * FLOORS * ROOMS)]
    created = _at(0)
    conn.executemany("INSERT INTO units (code, building, floor, room, created_at) VALUES (?, ?, ?, ?, ?)",
                     [(u, u[:3], int(u[4:6]), u[7:], created) for u in units])
    conn.executemany("INSERT INTO households (id, unit_code, move_in_date, created_at) VALUES (?, ?, ?, ?)",
                     [(i + 1, u, "2025-01-01", created) for i, u in enumerate(units)])
    keys: dict[str, names.NameKeys] = {}
    people = []
    for i in range(PEOPLE):
        name = _name(rng, i)
        k = keys.get(name) or keys.setdefault(name, names.keys_of(name))
        h = i % len(units)
        people.append((i + 1, h + 1, units[h], name, "owner" if i < len(units) else "family", f"139{i:08d}",
                       created, created, k.pinyin, k.initials, k.keys))
    conn.executemany("""INSERT INTO people (id, household_id, unit_code, name, role, phone, created_at, updated_at,
                        name_pinyin, name_initials, name_keys) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", people)
    cards, card_moves, audit, ledger = [], [], [], []
    for i in range(CARDS):
        p = people[i % PEOPLE]
        at = _at(i / CARDS)
        uid = _card_uid(i)
        cards.append((uid, "active", "owner" if p[4] == "owner" else "resident", p[3], p[2], p[0], at, at, at,
                      "clerk:c1"))
        detail = json.dumps({"holder": {"name": p[3], "person_id": p[0], "unit": p[2]}})
        deposit = 20_000 if i % 3 == 0 else None  # a third pay a deposit, with its receipt
        card_moves.append((i + 1, at, uid, "issue", "active", f"clerk:c{i % 5}", detail, deposit,
                           f"R-{i:06d}" if deposit else None))
        ledger.append((at, "personalised", cards[-1][2], 1, -1, uid, f"clerk:c{i % 5}", i + 1))
        audit.append((at, f"clerk:c{i % 5}", "issue", "card", uid, json.dumps({"move_id": i + 1, "to_status": "active"})))
    audit += [(created, "clerk:import", "create", "unit", u, "{}") for u in units]
    audit += [(created, "clerk:import", "create", "person", str(p[0]), json.dumps({"unit": p[2]})) for p in people]
    conn.executemany("""INSERT INTO cards (uid, status, card_type, holder_name, holder_unit, person_id, created_at,
                        updated_at, issued_at, issued_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", cards)
    conn.executemany("""INSERT INTO card_moves (id, at, uid, move, to_status, who, detail, amount_cents, receipt_no)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)""", card_moves)
    conn.executemany("""INSERT INTO stock_ledger (at, kind, card_type, qty, delta, uid, who, move_id)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?)""", ledger)
    conn.executemany("INSERT INTO audit (at, who, action, entity, entity_id, detail) VALUES (?, ?, ?, ?, ?, ?)",
                     sorted(audit))
    conn.execute("COMMIT")
    revocable = []
    for i in range(ISSUED):
        uid = f"D{i:07X}"
        p = people[i]
        moves.issue_card(store, "clerk:bench", {"uid": uid, "card_type": "owner",
                                                "holder": {"name": p[3], "unit": p[2]}})
        revocable.append(uid)
    chinese = next(p for p in people if not p[3].isascii() and len(p[3]) == 3)
    return {"revocable": revocable, "person": chinese, "unit": units[1234], "card": _card_uid(4321),
            "latin": LATIN[3]}


def _event_rows(n: int):
    weights = [1 / (g + 1) ** 0.8 for g in range(len(BUSY))]
    slots = 100_000
    scale = (slots - 10) / sum(weights)
    cycle = [gate for gate, w in zip(BUSY, weights) for _ in range(max(1, round(w * scale)))][:slots - 10]
    cycle += [QUIET] * (slots - len(cycle))  # 0.01% (10 slots in 100,000) when the rounding is kind
    step = timedelta(days=365) / n
    for i in range(n):
        at = (START + step * i).isoformat()
        gate = cycle[(i * 7919) % len(cycle)]
        uid = _card_uid((i * 104_729) % CARDS) if i % 4 else f"F{(i * 31) % 1_000_000:07X}"
        yield (f"ev-{i:09d}", gate, f"{gate}-in", "r1", "in", "decision", uid,
               "granted" if i % 4 else "denied", "valid_card" if i % 4 else "unknown_card", at, at, 1, "{}", at)


_SERVE = """
import sys, uvicorn
from hub.app import create_app, uvicorn_options
from hub.config import HubConfig
config = HubConfig.model_validate({"hub": {"site": "bench", "db_path": sys.argv[1], "http_port": int(sys.argv[2])}})
# keep-alive longer than uvicorn's 5 s: a client idle while another is measured keeps its connection
uvicorn.run(create_app(config, connect_mqtt=False), host="127.0.0.1", port=int(sys.argv[2]), log_level="warning",
            timeout_keep_alive=120, **uvicorn_options(config))
"""


def _serve(path: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", _SERVE, str(path), str(port)], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    proc.kill()
    raise RuntimeError("the hub did not start")


def _timed_get(client: httpx.Client, path: str, rounds: int, stream: bool = False) -> tuple[list[float], int]:
    out, status = [], 0
    for _ in range(rounds):
        t0 = time.perf_counter()
        if stream:  # the live page's catch-up, until the first event arrives (leaving early closes the
            # connection: the next request opens a new one, as a page's EventSource does)
            with client.stream("GET", path) as r:
                status = r.status_code
                if status != 200:
                    raise RuntimeError(f"GET {path} answered {status}: {r.read()[:300]!r}")
                for line in r.iter_lines():
                    if line.startswith("data:"):
                        break
        else:
            r = client.get(path)
            status = r.status_code
            if status != 200:  # an error page is not the endpoint's time: stop the run, loudly
                raise RuntimeError(f"GET {path} answered {status}: {r.text[:300]}")
        out.append((time.perf_counter() - t0) * 1000)
    return out, status


def _revoke(client: httpx.Client, uids: list[str]) -> list[float]:
    out = []
    for uid in uids:
        t0 = time.perf_counter()
        r = client.post(f"/api/v1/cards/{uid}/revoke")
        out.append((time.perf_counter() - t0) * 1000)
        assert r.status_code == 200, r.text
    return out


def _build(store: Store) -> None:
    """The estate, then the year of events (out of WAL, straight into the file)."""
    build_estate(store)
    store.close()
    load_events(store.path, _event_rows(N), reindex=True)


def _tables_tag() -> str:
    """The schema's hash without its CREATE INDEX lines: an index added since the cached file
    was built is made on it by Store.open (once, kept in the cache), not by a rebuild of an
    hour; a table or trigger change still builds afresh."""
    from hub.schema import DOMAINS

    text = "".join(s for d in DOMAINS for s in importlib.import_module(d).SCHEMA.split(";")
                   if not re.match(r"\s*CREATE\s+(UNIQUE\s+)?INDEX", s, re.I))
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def _facts(store: Store) -> dict:
    """What build_estate returned, read back from a cached file (the estate is the same
    for a seed: the first three-character Chinese name by id is the person searched)."""
    with store.read() as db:
        person = next((r["id"], None, None, r["name"]) for r in db.query("SELECT id, name FROM people ORDER BY id")
                      if not r["name"].isascii() and len(r["name"]) == 3)
    return {"revocable": [f"D{i:07X}" for i in range(ISSUED)], "person": person, "unit": _unit(1234),
            "card": _card_uid(4321), "latin": LATIN[3]}


def _only(endpoints: list) -> list:
    """``GATEHOUSE_YEAR_ONLY``: a comma-separated list of pieces of endpoint names (case
    blind); only the endpoints whose name holds one of them are timed."""
    only = [p.strip().lower() for p in os.environ.get("GATEHOUSE_YEAR_ONLY", "").split(",") if p.strip()]
    return [e for e in endpoints if any(p in e[0].lower() for p in only)] if only else endpoints


def run(workdir: Path) -> Result:
    t0 = time.perf_counter()
    cached, built_s = cached_db(f"year-{N}", _build, tag=_tables_tag())
    Store.open(cached).close()  # the indexes added since it was built, kept in the cache
    path = copy_db(cached, workdir / "hub.db")
    copy_s = time.perf_counter() - t0 - built_s
    t1 = time.perf_counter()
    now = datetime.now(timezone.utc)
    service = write_service_year(path, [_unit(i) for i in range(BUILDINGS * FLOORS * ROOMS)], BUSY, now)
    service_s = time.perf_counter() - t1
    store = Store(path)
    facts = _facts(store)
    tokens = {role: create_token(store, role, f"bench-{role}")
              for role in ("supervisor", "clerk", "manager", "shift_leader")}
    tokens["department"] = create_token(store, "department", "bench-department", department="engineering")
    tokens["guard quiet"] = create_token(store, "guard", "bench-guard-quiet", (QUIET,))
    tokens["guard empty"] = create_token(store, "guard", "bench-guard-empty", (EMPTY,))
    tokens["guard busy"] = create_token(store, "guard", "bench-guard-busy", (BUSY[0],))
    tokens["guard two"] = create_token(store, "guard", "bench-guard-two", (BUSY[5], QUIET))
    store.close()
    size_gb = sum(p.stat().st_size for p in workdir.iterdir()) / 1e9
    last = _last_seq(path)

    proc, url = _serve(path)
    clients = {role: httpx.Client(base_url=url, headers={"Authorization": f"Bearer {tok}"}, timeout=120)
               for role, tok in tokens.items()}
    person, unit, card = facts["person"], facts["unit"], facts["card"]
    name = person[3]
    k = names.keys_of(name)
    month = (START + timedelta(days=200)).strftime("%Y-%m")
    last_month = (now - timedelta(days=now.day + 1)).strftime("%Y-%m")  # the last whole month
    printed = f"{int(card, 16):010d}"
    endpoints: list[tuple[str, str, str, bool]] = [  # (what, role, path, stream)
        ("events: newest 50 of all", "supervisor", "/api/v1/events?limit=50", False),
        ("events: guard, busiest gate", "guard busy", "/api/v1/events?limit=50", False),
        ("events: guard, quiet gate (0.01%)", "guard quiet", "/api/v1/events?limit=50", False),
        ("events: guard, gate with no events", "guard empty", "/api/v1/events?limit=50", False),
        ("events: guard, a busy and the quiet gate", "guard two", "/api/v1/events?limit=50", False),
        ("events after a seq (live page catch-up)", "supervisor", f"/api/v1/events/stream?after={last - 200}", True),
        ("events after a seq, guard's busy gate", "guard busy", f"/api/v1/events/stream?after={last - 5000}", True),
        ("cards: list, first page", "clerk", "/api/v1/cards?limit=50", False),
        ("cards: list, active, first page", "clerk", "/api/v1/cards?status=active&limit=50", False),
        ("cards: list, active, deep page (offset 50,000)", "clerk",
         "/api/v1/cards?status=active&limit=50&offset=50000", False),
        ("cards: list by unit", "clerk", f"/api/v1/cards?unit={unit}", False),
        ("cards: one card", "clerk", f"/api/v1/cards/{card}", False),
        ("cards: one card's moves", "clerk", f"/api/v1/cards/{card}/moves", False),
        ("cards: one card's access", "clerk", f"/api/v1/cards/{card}/access", False),
        ("cards: find by printed number", "clerk", f"/api/v1/cards/find?printed={printed}", False),
        ("search: unit", "clerk", f"/api/v1/search?q={unit}", False),
        ("search: phone", "clerk", "/api/v1/search?q=1390001234", False),
        ("search: card UID", "clerk", f"/api/v1/search?q={card}", False),
        ("search: Chinese name", "clerk", f"/api/v1/search?q={name}", False),
        ("search: 2 characters of a name", "clerk", f"/api/v1/search?q={name[1:]}", False),
        ("search: a surname (1 character)", "clerk", f"/api/v1/search?q={SURNAMES[0]}", False),
        ("search: full pinyin", "clerk", f"/api/v1/search?q={k.pinyin}", False),
        ("search: pinyin initials", "clerk", f"/api/v1/search?q={k.initials}", False),
        ("search: common pinyin (wang)", "clerk", "/api/v1/search?q=wang", False),
        ("search: Latin name, lower case", "clerk", f"/api/v1/search?q={facts['latin'].lower()}", False),
        ("unit: one, with people and cards", "clerk", f"/api/v1/units/{unit}", False),
        ("person: one", "clerk", f"/api/v1/people/{person[0]}", False),
        ("gates: list", "supervisor", "/api/v1/gates", False),
        ("gates: one", "supervisor", f"/api/v1/gates/{BUSY[0]}", False),
        ("audit: by card", "supervisor", f"/api/v1/audit?card={card}", False),
        ("audit: by person id", "supervisor", f"/api/v1/audit?person={person[0]}", False),
        ("audit: by holder name", "supervisor", f"/api/v1/audit?person={name}", False),
        ("audit: by unit", "supervisor", f"/api/v1/audit?unit={unit}", False),
        ("audit: by clerk", "supervisor", "/api/v1/audit?clerk=c3", False),
        ("audit: a month", "supervisor", f"/api/v1/audit?since={month}-01&until={month}-28", False),
        ("audit: newest", "supervisor", "/api/v1/audit", False),
        ("stock: levels", "clerk", "/api/v1/stock/levels", False),
        ("stock: month report", "clerk", f"/api/v1/stock/reports/{month}", False),
        ("stock: year summary", "clerk", f"/api/v1/stock/years/{month[:4]}", False),
        ("stock: stocktakes", "clerk", "/api/v1/stock/stocktakes", False),
        ("money: month report", "clerk", f"/api/v1/money/reports/{month}", False),
        ("dead letters", "supervisor", "/api/v1/dead-letters", False),
        ("access: levels", "clerk", "/api/v1/access/levels", False),
        *service_endpoints(service, now, last_month),
    ]
    r = Result(NAME, TITLE, ["what", "status", "p50 ms", "p95 ms", "max ms", "ratio (p95 / baseline p95)"])
    try:
        for c in clients.values():  # a first request each: the connection, the token's first check
            c.get("/api/v1/paper-moves")
        health, _ = _timed_get(clients["supervisor"], "/healthz", ROUNDS)
        cheap, _ = _timed_get(clients["supervisor"], "/api/v1/paper-moves", ROUNDS)
        base = percentile(cheap, 95)
        r.add("baseline: /healthz (no token, no database)", 200, median(health), percentile(health, 95), max(health),
              ratio(percentile(health, 95), base))
        r.add("baseline: cheapest authenticated GET (paper-move kinds)", 200, median(cheap), base, max(cheap), "1.00x")
        measured = []
        for what, role, p, stream in _only(endpoints):
            _timed_get(clients[role], p, 2, stream)  # warm: the first read of a page of the file
            times, status = _timed_get(clients[role], p, ROUNDS, stream)
            measured.append((what, role, p, stream, percentile(times, 95)))
            r.add(what, status, median(times), percentile(times, 95), max(times), ratio(percentile(times, 95), base))
        if any(m[0].startswith("complaints: month report") for m in measured):
            # the reports above count every month of the year (none filed: the worst case); an
            # estate files each month by the 5th, and then a report counts only what is not filed
            for m in range(1, now.month):
                filed = clients["manager"].post(f"/api/v1/complaints/report/{now.year}-{m:02d}/file")
                if filed.status_code != 200:
                    raise RuntimeError(f"filing {now.year}-{m:02d}: {filed.status_code} {filed.text[:200]}")
            this_month = f"{now.year}-{now.month:02d}"
            for kind, suffix in (("JSON", ""), ("CSV", ".csv"), ("XLSX", ".xlsx")):
                what, p = f"complaints: this month's report {kind}, earlier months filed", \
                    f"/api/v1/complaints/report/{this_month}{suffix}"
                _timed_get(clients["manager"], p, 2, False)
                times, status = _timed_get(clients["manager"], p, ROUNDS, False)
                measured.append((what, "manager", p, False, percentile(times, 95)))
                r.add(what, status, median(times), percentile(times, 95), max(times),
                      ratio(percentile(times, 95), base))
        slowest = max(measured, key=lambda m: m[4])
        revocable = facts["revocable"]
        alone = _revoke(clients["clerk"], revocable[:20])
        during, slow = _under_load(url, tokens[slowest[1]], slowest[2], slowest[3], clients["clerk"], revocable[20:60])
        rbase = percentile(alone, 95)
        r.add("baseline: revocation over HTTP, nothing else running", 200, median(alone), rbase, max(alone), "-")
        r.add(f"revocation while '{slowest[0]}' runs in a loop", 200, median(during), percentile(during, 95),
              max(during), f"{ratio(percentile(during, 95), rbase)} of alone")
    finally:
        for c in clients.values():
            c.close()
        proc.terminate()
        proc.wait(30)
    over = [row[0] for row in r.rows[2:-2] if row[3] > 50]
    r.key = max(row[3] for row in r.rows[2:-2])
    r.key_label = "slowest endpoint p95 ms"
    origin = f"built and indexed in {built_s:.0f} s" if built_s else "from the cache"
    r.notes += [
        f"{N:,} events from {len(BUSY) + 2} gates (busiest {BUSY[0]}; {QUIET} 0.01%; {EMPTY} none); "
        f"{BUILDINGS * FLOORS * ROOMS:,} units, {PEOPLE:,} people, {CARDS + ISSUED:,} cards; files {size_gb:.1f} GB; "
        f"estate and events {origin} (bench/hubfiles.py), copied in {copy_s:.0f} s",
        f"service centre's year (bench/service_year.py) written into the copy in {service_s:.0f} s: "
        f"{SERVICE_COUNTS}",
        f"{ROUNDS} requests each, one client at a time, keep-alive; the hub in its own process (uvicorn), no MQTT",
        f"the slowest loop ('{slowest[0]}') ran {len(slow)} times during the revocations, p50 {median(slow):.0f} ms",
        "endpoints over 50 ms p95: " + (", ".join(over) if over else "none"),
    ]
    return r


SERVICE_COUNTS = "100,000 visits with passes, 10,000 alarms, 3,000 duty entries, 2,000 complaints, 600 permits, " \
                 "300 violations, 5,000 release slips, a fee position per unit"


def service_endpoints(f: dict, now: datetime, month: str) -> list[tuple[str, str, str, bool]]:
    """The service centre's GETs (visitors, alarms, duty log, calendar, complaints, permits,
    violations, release slips), each by a role that uses it; ``f`` names a record of each."""
    year = now.year
    return [
        ("visits: newest 50", "guard busy", "/api/v1/visits?limit=50", False),
        ("visits: inside now", "guard busy", "/api/v1/visits?state=inside", False),
        ("visits: expected (registered ahead)", "clerk", "/api/v1/visits?state=expected", False),
        ("visits: left, newest 50", "supervisor", "/api/v1/visits?state=left&limit=50", False),
        ("visits: find by name", "guard busy", f"/api/v1/visits?q={f['visit_name']}", False),
        ("visits: find by plate", "guard busy", f"/api/v1/visits?q={f['visit_plate']}", False),
        ("visits: find by host unit", "guard busy", f"/api/v1/visits?q={f['visit_unit']}", False),
        ("visits: one", "guard busy", f"/api/v1/visits/{f['visit']}", False),
        ("visits: a pass's QR (SVG)", "guard busy", f"/api/v1/passes/{f['pass']}/qr.svg", False),
        ("visits: month report JSON", "clerk", f"/api/v1/visits/report/{month}", False),
        ("visits: month report CSV", "supervisor", f"/api/v1/visits/report/{month}.csv", False),
        ("visits: month report XLSX", "supervisor", f"/api/v1/visits/report/{month}.xlsx", False),
        ("visits: watch list", "supervisor", "/api/v1/watchlist", False),
        ("alarms: open, guard's gate", "guard busy", "/api/v1/alarms", False),
        ("alarms: open, all gates", "supervisor", "/api/v1/alarms", False),
        ("alarms: all, newest 100", "supervisor", "/api/v1/alarms?state=all", False),
        ("alarms: one", "supervisor", f"/api/v1/alarms/{f['alarm']}", False),
        ("alarms: stream after a change (console catch-up)", "supervisor",
         f"/api/v1/alarms/stream?after={f['alarm'] - 50}", True),
        ("duty: current shift's entries", "guard busy", "/api/v1/duty/entries", False),
        ("duty: a shift's entries", "guard busy", f"/api/v1/duty/entries?shift={f['duty_shift']}", False),
        ("duty: a day's entries", "supervisor", f"/api/v1/duty/entries?date={f['duty_day']}", False),
        ("duty: open items", "guard busy", "/api/v1/duty/entries?open=true", False),
        ("duty: handover", "guard busy", "/api/v1/duty/handover", False),
        ("calendar: this year", "supervisor", f"/api/v1/calendar?year={year}", False),
        ("calendar: this year, guard", "guard busy", "/api/v1/calendar", False),
        ("complaints: meta", "clerk", "/api/v1/complaints/meta", False),
        ("complaints: newest 50", "clerk", "/api/v1/complaints", False),
        ("complaints: open", "clerk", "/api/v1/complaints?state=open", False),
        ("complaints: due soon", "shift_leader", "/api/v1/complaints?due=soon", False),
        ("complaints: late", "supervisor", "/api/v1/complaints?late=true", False),
        ("complaints: escalated to the shift leader", "shift_leader", "/api/v1/complaints?escalation=1", False),
        ("complaints: a department's queue", "department", "/api/v1/complaints", False),
        ("complaints: by unit", "clerk", f"/api/v1/complaints?unit={f['complaint_unit']}", False),
        ("complaints: text search", "clerk", "/api/v1/complaints?q=1990", False),
        ("complaints: one", "clerk", f"/api/v1/complaints/{f['complaint']}", False),
        ("complaints: one's steps", "clerk", f"/api/v1/complaints/{f['complaint']}/steps", False),
        ("complaints: follow-ups", "clerk", "/api/v1/complaints/followups", False),
        ("complaints: follow-ups late", "clerk", "/api/v1/complaints/followups?due=late", False),
        ("complaints: month report JSON", "manager", f"/api/v1/complaints/report/{month}", False),
        ("complaints: month report CSV", "supervisor", f"/api/v1/complaints/report/{month}.csv", False),
        ("complaints: month report XLSX", "supervisor", f"/api/v1/complaints/report/{month}.xlsx", False),
        ("permits: newest 50", "clerk", "/api/v1/permits", False),
        ("permits: approved", "guard busy", "/api/v1/permits?state=approved", False),
        ("permits: by unit", "clerk", f"/api/v1/permits?unit={f['permit_unit']}", False),
        ("permits: search", "clerk", "/api/v1/permits?q=RP-", False),
        ("permits: one", "guard busy", f"/api/v1/permits/{f['permit']}", False),
        ("permits: one's history", "clerk", f"/api/v1/permits/{f['permit']}/history", False),
        ("violations: newest 100", "clerk", "/api/v1/violations", False),
        ("violations: open", "shift_leader", "/api/v1/violations?state=open", False),
        ("violations: a month", "supervisor", f"/api/v1/violations?month={month}", False),
        ("violations: by unit", "guard busy", f"/api/v1/violations?unit={f['violation_unit']}", False),
        ("violations: one", "clerk", f"/api/v1/violations/{f['violation']}", False),
        ("violations: month figures", "manager", f"/api/v1/violations/figures?month={month}", False),
        ("violations: finance CSV", "manager", f"/api/v1/violations/finance.csv?month={month}", False),
        ("slips: newest 100", "clerk", "/api/v1/slips", False),
        ("slips: today's", "guard busy", f"/api/v1/slips?date={f['slip_day']}", False),
        ("slips: issued (still valid)", "guard busy", "/api/v1/slips?state=issued", False),
        ("slips: by unit", "clerk", f"/api/v1/slips?unit={f['slip_unit']}", False),
        ("slips: one", "guard busy", f"/api/v1/slips/{f['slip']}", False),
        ("slips: one's QR (SVG)", "clerk", f"/api/v1/slips/{f['slip']}/qr.svg", False),
        ("slips: a unit's fee position", "clerk", f"/api/v1/slips/fees/{f['slip_unit']}", False),
        ("slips: month figures JSON", "supervisor", f"/api/v1/slips/figures?month={month}", False),
        ("slips: month figures CSV", "manager", f"/api/v1/slips/figures?month={month}&format=csv", False),
        ("slips: month figures XLSX", "manager", f"/api/v1/slips/figures?month={month}&format=xlsx", False),
    ]


def _last_seq(path: Path) -> int:
    store = Store(path)
    try:
        with store.read() as db:
            return list(db.query("SELECT MAX(seq) AS m FROM events"))[0]["m"]
    finally:
        store.close()


def _under_load(url: str, token: str, path: str, stream: bool, clerk: httpx.Client,
                uids: list[str]) -> tuple[list[float], list[float]]:
    """Revocations while another client (its own connection) runs ``path`` over and over."""
    stop, started = threading.Event(), threading.Event()
    slow: list[float] = []

    def loop() -> None:
        with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as c:
            while not stop.is_set():
                started.set()
                slow.extend(_timed_get(c, path, 1, stream)[0])

    t = threading.Thread(target=loop, daemon=True)
    t.start()
    started.wait(30)
    out = []
    try:
        for uid in uids:
            out += _revoke(clerk, [uid])
            time.sleep(0.01)  # spread the revocations over the loop's requests
    finally:
        stop.set()
        t.join(120)
    return out, slow

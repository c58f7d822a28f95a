"""``gate-hub demo``: the whole system on one machine with nothing installed but Python.

It starts an MQTT broker inside the process (amqtt; production uses mosquitto), the hub on
a temporary database, and three gates (north, south, east) whose agents run the real
decision, cache and outbox code with simulated readers and relays. The estate gets units,
residents with photos and cards through the hub's own API, as a clerk would; then simulated
residents tap in and out, now and then with a revoked, lost or unknown card, and a desk
reader at the card centre taps a new blank card every so often, so tap-to-fill on the
clerk's page can be tried without hardware. A visitor registered with a QR pass on the
visitor page (or one of the demo's own) scans it at a gate a few seconds later and leaves
again a while after, so the whole visit can be followed on the live page. Ctrl-C, SIGTERM and SIGHUP stop it alike and
remove its temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import random
import secrets
import shutil
import signal
import socket
import sys
import struct
import tempfile
import threading
import time
import zlib
from pathlib import Path

import httpx

from gate_agent.agent import GateAgent
from gate_agent.config import AgentConfig
from hub.app import start_hub
from hub.auth import create_token
from hub.config import HubConfig
from hub.db import Store
from hub.embedded_broker import EmbeddedBroker
from hub.gates.service import register_gate
from hub.users.accounts import add_user

log = logging.getLogger(__name__)

GATES = ("north", "south", "east")
ESTATE_TZ = "Asia/Shanghai"  # the estate's day and hours, as set when an estate is set up
#: the demo's staff: (username, name, role); each gets a password printed in the banner
STAFF = [("guard", "王强", "guard"), ("clerk", "李梅", "clerk"), ("supervisor", "陈静", "supervisor")]
DESK = "desk"  # the card centre's desk reader (an enroll-role agent): it never opens anything
DESK_FIRST_S = 5.0  # the first blank card is tapped this soon after the banner ...
DESK_EVERY_S = 20.0  # ... and another this often
VISITS_EVERY_S = 5.0  # how often the simulated visitors look for new QR passes
STAY_S = 60.0  # a simulated visitor leaves this long after going in
RESIDENTS = [
    ("Wang Fang", "A", 12, "03", "owner"), ("Li Wei", "A", 12, "03", "resident"),
    ("Zhang Min", "A", 8, "01", "owner"), ("Liu Yang", "B", 3, "02", "owner"),
    ("Chen Jie", "B", 3, "02", "resident"), ("Yang Li", "B", 15, "07", "owner"),
    ("Zhao Lei", "C", 6, "04", "owner"), ("Huang Xin", "C", 6, "04", "resident"),
    ("Zhou Tao", "C", 21, "01", "owner"), ("Wu Hong", "D", 2, "05", "owner"),
    ("Xu Jing", "D", 2, "05", "resident"), ("Sun Qiang", "D", 9, "03", "owner"),
]
COLOURS = [(52, 101, 164), (78, 154, 6), (196, 160, 0), (117, 80, 123), (204, 0, 0), (193, 125, 17)]


def port_taken(host: str, port: int) -> bool:
    """Whether the hub could not listen on ``port`` (checked as uvicorn binds: SO_REUSEADDR)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return True
    return False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def avatar_png(index: int, width: int = 96, height: int = 120) -> bytes:
    """A plain head-and-shoulders silhouette, so the live page has a photo to show."""
    bg = COLOURS[index % len(COLOURS)]
    fg = tuple(min(255, c + 110) for c in bg)
    rows = []
    for y in range(height):
        row = bytearray([0])
        for x in range(width):
            head = (x - width / 2) ** 2 + (y - height * 0.38) ** 2 < (width * 0.22) ** 2
            body = y > height * 0.68 and (x - width / 2) ** 2 + (y - height * 1.05) ** 2 < (width * 0.48) ** 2
            row += bytes(fg if head or body else bg)
        rows.append(bytes(row))

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"".join(rows)))
            + chunk(b"IEND", b""))


def _seed_estate(api: httpx.Client, desk: httpx.Client) -> dict[str, list[str]]:
    """Units, residents with photos and cards, through the API; returns UIDs by what a tap should do."""
    cards: dict[str, list[str]] = {"active": [], "blocked": []}
    for card_type in ("owner", "resident"):  # the blanks arrive before any card is made
        api.post("/api/v1/stock/deliveries", json={"card_type": card_type, "qty": 100, "ref": "DN-DEMO-1"}
                 ).raise_for_status()
    units = sorted({(b, f, r) for _, b, f, r, _ in RESIDENTS})
    for b, f, r in units:
        api.post("/api/v1/units", json={"building": b, "floor": f, "room": r}).raise_for_status()
    for i, (name, b, f, r, kind) in enumerate(RESIDENTS):
        unit = f"{b}-{f:02d}-{r}"
        person = api.post("/api/v1/people", json={"name": name, "role": kind if kind == "owner" else "family",
                                                  "unit": unit})
        person.raise_for_status()
        pid = person.json()["id"]
        api.post(f"/api/v1/people/{pid}/photo", files={"photo": ("photo.png", avatar_png(i), "image/png")}).raise_for_status()
        uid = f"0A{0x10 + i:02X}00{i * 37 % 256:02X}{i:02X}"
        card = {"uid": uid, "card_type": kind, "holder": {"name": name, "unit": unit}, "person_id": pid}
        api.post("/api/v1/cards", json=card).raise_for_status()
        cards["active"].append(uid)
    # one card revoked, one reported lost (its replacement is active): both still get tapped
    revoked, lost = cards["active"][-1], cards["active"][-2]
    api.post(f"/api/v1/cards/{revoked}/revoke").raise_for_status()
    api.post(f"/api/v1/cards/{lost}/lost", json={"reason": "lost at the market", "replacement_uid": "0AFF00AA01"}
             ).raise_for_status()
    cards["active"] = [u for u in cards["active"] if u not in (revoked, lost)] + ["0AFF00AA01"]
    cards["blocked"] = [revoked, lost]
    # a visitor the desk has registered ahead: the guard confirms them on the visitor page
    desk.post("/api/v1/visits", json={"visitor_name": "Gao Yan", "host_unit": "A-12-03", "purpose": "family visit",
                                     "party_size": 2, "plate": "沪A12345"}).raise_for_status()
    return cards


class _Visitors:
    """The demo's simulated visitors: each QR pass issued at the hub is scanned at a gate's
    "in" reader soon after, and at an "out" reader STAY_S later (what a guard would watch)."""

    def __init__(self, api: httpx.Client, agents: list[GateAgent], rnd: random.Random) -> None:
        self.api, self.agents, self.rnd = api, agents, rnd
        self.went_in: dict[str, float] = {}
        self.left: set[str] = set()

    def step(self, now: float) -> None:
        try:
            visits = self.api.get("/api/v1/visits", params={"limit": 50}).json()
        except httpx.HTTPError:
            return
        for visit in visits if isinstance(visits, list) else visits.get("items", []):
            for p in visit.get("passes", []):
                if p.get("kind") != "qr" or not p.get("text") or p["pass_id"] in self.left:
                    continue
                if p["pass_id"] not in self.went_in and p.get("state") == "active":
                    self._scan(p, "in")
                    self.went_in[p["pass_id"]] = now
                elif p["pass_id"] in self.went_in and now - self.went_in[p["pass_id"]] >= STAY_S:
                    self._scan(p, "out")
                    self.left.add(p["pass_id"])

    def _scan(self, p: dict, direction: str) -> None:
        gates = [a for a in self.agents if not p.get("gates") or a.gate_id in p["gates"]] or self.agents
        agent = self.rnd.choice(gates)
        door = next(d for d in agent.config.doors if d.id.endswith(direction))
        agent.reader(f"{door.id}/0").scan(p["text"])


def run_demo(http_port: int = 8080, seconds: float | None = None, keep: bool = False, seed: int | None = None) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if port_taken("127.0.0.1", http_port):
        print(f"gate-hub demo: port {http_port} is already in use (another program, or a demo already running).\n"
              f"Choose a free one, e.g.: gate-hub demo --port {http_port + 1}", file=sys.stderr, flush=True)
        return 2
    # SIGTERM (systemd, a closed terminal's SIGHUP) stops as Ctrl-C does: the handler only
    # sets a flag the tapping loop waits on, so no code is interrupted half-way
    stopping = threading.Event()
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, lambda *_: stopping.set())
    rnd = random.Random(seed)
    workdir = Path(tempfile.mkdtemp(prefix="gatehouse-demo-"))
    broker = hub = None
    agents: list[GateAgent] = []
    try:
        broker = EmbeddedBroker(free_port()).start()
        config = HubConfig.model_validate({
            "hub": {"site": "demo", "db_path": str(workdir / "hub.db"), "http_host": "127.0.0.1",
                    "http_port": http_port, "timezone": ESTATE_TZ},
            "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 10},
        })
        store = Store.open(config.hub.db_path)
        keys = {g: register_gate(store, g, "demo") for g in (*GATES, DESK)}
        admin = create_token(store, "admin", "demo admin")  # for scripts: people sign in with a password
        passwords = {username: f"demo-{secrets.token_hex(4)}" for username, _, _ in STAFF}
        for username, name, role in STAFF:
            add_user(store, "demo", username, name, role, passwords[username])
        hub = start_hub(config, store)
        api = httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {admin}"}, timeout=10)
        desk_api = httpx.Client(base_url=hub.url, timeout=10,
                                headers={"Authorization": f"Bearer {create_token(store, 'clerk', 'demo desk')}"})
        cards = _seed_estate(api, desk_api)
        for gate in GATES:
            doors = [{"id": f"{gate}-{d}", "relay": {"kind": "sim", "pulse_ms": 1500},
                      "readers": [{"kind": "sim", "direction": d}]} for d in ("in", "out")]
            agents.append(_agent(gate, keys[gate], broker, workdir, doors))
        desk = _agent(DESK, keys[DESK], broker, workdir, [{"id": DESK, "readers": [{"kind": "sim"}]}], role="enroll")
        agents.append(desk)
        print(f"""
gatehouse demo: hub on {hub.url}, MQTT broker (amqtt, in this process) on {broker.host}:{broker.port}
gates: {', '.join(GATES)} (simulated readers and relays); data in {workdir}
desk reader: {DESK} (the card centre's; a new blank card is tapped on it every {DESK_EVERY_S:g} s)

  sign in at {hub.url}/login as
    guard       password {passwords['guard']}   (the live entry feed, visitors, the duty log)
    clerk       password {passwords['clerk']}   (the IC card centre)
    supervisor  password {passwords['supervisor']}   (both, the monthly report and the audit log)
  admin API token:    {admin}
     e.g. curl -H 'Authorization: Bearer {admin}' {hub.url}/api/v1/events?limit=5

Residents are tapping cards. Register a visitor with a QR pass at {hub.url}/visitors (as
guard): the visitor scans it at a gate a few seconds later and leaves {STAY_S:g} s after.
Ctrl-C stops the demo.
""", flush=True)
        started = time.monotonic()
        deadline = None if seconds is None else started + seconds
        next_blank, blanks = started + DESK_FIRST_S, 0
        visitors, next_visits = _Visitors(api, agents[:len(GATES)], rnd), started + VISITS_EVERY_S
        while not stopping.is_set() and (deadline is None or time.monotonic() < deadline):
            if time.monotonic() >= next_blank:
                blanks += 1
                desk.reader(f"{DESK}/0").tap(f"0D{0xD0000000 + blanks:08X}")  # never issued: the clerk may issue it
                next_blank += DESK_EVERY_S
            if time.monotonic() >= next_visits:
                visitors.step(time.monotonic())
                next_visits += VISITS_EVERY_S
            agent = rnd.choice(agents[:len(GATES)])
            door = rnd.choice(agent.config.doors)
            roll = rnd.random()
            if roll < 0.85:
                uid = rnd.choice(cards["active"])
            elif roll < 0.95:
                uid = rnd.choice(cards["blocked"])
            else:
                uid = f"0B{rnd.getrandbits(32):08X}"  # a card the estate never issued
            agent.reader(f"{door.id}/0").tap(uid)
            stopping.wait(rnd.uniform(1.0, 3.0))
        if stopping.is_set():
            print("\nstopping the demo", flush=True)
    except KeyboardInterrupt:
        print("\nstopping the demo", flush=True)
    finally:
        for agent in agents:
            agent.stop()
        if hub is not None:
            hub.stop()
        if broker is not None:
            broker.stop()
        if not keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


def _agent(gate_id: str, key: str, broker: EmbeddedBroker, workdir: Path, doors: list[dict],
           role: str = "gate") -> GateAgent:
    agent = GateAgent(AgentConfig.model_validate({
        "agent": {"gate_id": gate_id, "site": "demo", "data_dir": str(workdir / f"agent-{gate_id}"), "role": role,
                  "heartbeat_s": 5, "gate_key": key},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 10, "reconnect_max_s": 2},
        "doors": doors,
    }))
    agent.start()
    return agent


def add_demo_command(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run the hub, a broker and three simulated gates on this machine")
    p.add_argument("--port", type=int, default=8080, help="the hub's HTTP port (default 8080)")
    p.add_argument("--seconds", type=float, default=None, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--keep", action="store_true", help="keep the temporary data folder")
    p.add_argument("--seed", type=int, default=None, help="make the residents' taps repeatable")
    p.set_defaults(func=lambda a: run_demo(a.port, a.seconds, a.keep, a.seed))

"""The guard's post on real parts: one hub (uvicorn + SQLite file) with a guard signed in to
it in chromium, and one real gate agent, on a real mosquitto. The gate's one door reads
EM4100 cards off a pty and drives an LCUS relay on another; with ``qr=True`` it also has a
serial QR scanner for the way in and another for the way out (each a pty), and with
``contact=True`` a door contact: input 1 of a Modbus RTU I/O board answering on a pty
(tests.drivers.test_modbus_inputs.IoBoard). Without a browser there is no guard's page.
The agent reads its time off ``post.clock`` (AgentClock), which the test may move forward.

The parts are plain objects the test drives at their far ends: bytes into the reader's or
a scanner's pty, bytes read off the relay's, rows in the guard's browser, the hub's API.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import httpx

from gate_agent.agent import GateAgent
from hub.app import RunningHub, start_hub
from hub.config import HubConfig
from hub.users.accounts import add_user
from protocols.em4100 import encode_frame
from protocols.lcus import relay_frame
from protocols.messages import utcnow
from tests.rigs import stack
from tests.rigs.broker import Mosquitto, free_port
from tests.rigs.serialpty import PtyDevice
from tests.rigs.wait import wait_for

if TYPE_CHECKING:
    from tests.drivers.test_modbus_inputs import IoBoard

GATE = "north"
DOOR = "north-in"
CHANNEL = 1
#: the I/O board's input the door contact is wired to
CONTACT = 1
#: the LCUS frames the relay's pty sees: energised (open) and released (locked)
ON, OFF = relay_frame(CHANNEL, True), relay_frame(CHANNEL, False)
GUARD = {"username": "gina", "name": "Gina Ho", "password": "correct horse battery"}
#: the browser's wait for anything the page draws, in ms (generous: two shared cores)
PAGE_MS = 20_000


class AgentClock:
    """The gate agent's clock: the real one, moved forward only when the test says. It never
    goes back, so the events the gate makes keep their order in time."""

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return utcnow() + self.ahead

    def advance_to(self, when: datetime) -> None:
        """Forward (unless it is there already) so that it reads ``when`` or later from now on."""
        self.ahead += max(timedelta(0), when - self())


@dataclass
class GatePost:
    hub: RunningHub
    agent: GateAgent
    broker: Any
    #: an admin's API client (the test's hands at the hub: cards, people, reads)
    api: httpx.Client
    reader: PtyDevice
    relay: PtyDevice
    #: the agent's clock (real time unless the test moves it forward)
    clock: AgentClock
    #: the guard's page on /live, signed in through the login form (None: no browser)
    page: Any = None
    scanner_in: PtyDevice | None = None
    scanner_out: PtyDevice | None = None
    #: the I/O board whose input CONTACT is the door's contact (None: no contact)
    board: "IoBoard | None" = None
    #: script errors the guard's page raised (a test asserts none)
    page_errors: list[str] = field(default_factory=list)

    @property
    def site(self) -> str:
        return self.hub.site

    def tap(self, uid: str) -> None:
        """An EM4100 card held to the door's reader: one frame on its serial line."""
        self.reader.write(encode_frame(uid))

    def scan(self, text: str, direction: str = "in") -> None:
        """A QR code under the scanner of that direction: its text as one CR LF line."""
        scanner = self.scanner_in if direction == "in" else self.scanner_out
        assert scanner is not None, "this gate post has no QR scanners (gate_post(qr=True))"
        scanner.write(text.encode() + b"\r\n")

    def pulse(self, what: str, timeout: float = 10.0) -> None:
        """The relay opens and locks again: ON then OFF on its pty, or AssertionError naming ``what``."""
        got = self.relay.read_exactly(4, timeout=timeout)
        assert got == ON, f"{what}: the relay's first frame is {got.hex()}, not open ({ON.hex()})"
        got = self.relay.read_exactly(4, timeout=timeout)
        assert got == OFF, f"{what}: after opening the relay wrote {got.hex()}, not locked ({OFF.hex()})"

    def door(self, is_open: bool) -> None:
        """The door's contact: open or shut, held until the agent's poll has read it."""
        assert self.board is not None, "this gate post has no door contact (gate_post(contact=True))"
        self.board.set_and_wait_polled(CONTACT, is_open, timeout=10)

    def still(self, what: str, quiet: float = 0.8) -> None:
        """Nothing on the relay's line while it stays quiet for ``quiet`` seconds."""
        assert self.relay.read_available(quiet=quiet) == b"", f"{what}: the relay moved"

    def events(self, kind: str | None = None, limit: int = 200) -> list[dict]:
        """The hub's stored events, newest first (GET /api/v1/events), of ``kind`` if given."""
        r = self.api.get("/api/v1/events", params={"limit": limit})
        r.raise_for_status()
        body = r.json()
        items = body["items"] if isinstance(body, dict) else body
        return [e for e in items if kind is None or e.get("kind", "pass") == kind]

    def row(self, event_id: str) -> Any:
        """The live page's row for that event, once drawn."""
        return self.page.wait_for_selector(f'tr[data-event-id="{event_id}"]', timeout=PAGE_MS)


def persistent_broker(workdir: Path) -> Mosquitto:
    """A broker (not started) that keeps sessions across a restart, as config/mosquitto.conf
    sets one up: for tests that stop the broker while the gate keeps working."""
    from tests.conftest import need_mosquitto

    need_mosquitto()
    store = workdir / "mosquitto-db"
    store.mkdir(exist_ok=True)
    conf = (f"allow_anonymous true\npersistence true\npersistence_location {store}/\n"
            "autosave_interval 1\nmax_queued_messages 0\n")
    return Mosquitto(workdir, extra_conf=conf)


def hub_config(tmp_path: Path, broker, extra: dict[str, Any] | None = None) -> HubConfig:
    """stack.hub_config's hub, with ``extra`` top-level tables (a domain's settings) added."""
    data: dict[str, Any] = {
        "hub": {"site": "p" + uuid.uuid4().hex[:8], "db_path": str(tmp_path / "hub.db"),
                "http_host": "127.0.0.1", "http_port": free_port(), "language": "en", "timezone": "UTC"},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5},
    }
    for table, values in (extra or {}).items():
        data[table] = {**data.get(table, {}), **values}
    return HubConfig.model_validate(data)


def door_config(reader: PtyDevice, relay: PtyDevice, scanners: tuple[PtyDevice, PtyDevice] | None,
                contact: PtyDevice | None, pulse_ms: int, qr_repeat_s: float | None = None) -> dict[str, Any]:
    """The one door; ``qr_repeat_s`` (None: the product's default) is the scanners' repeat window."""
    readers: list[dict[str, Any]] = [{"kind": "em4100-serial", "port": reader.path, "direction": "in"}]
    if scanners is not None:
        repeat = {} if qr_repeat_s is None else {"repeat_s": qr_repeat_s}
        readers += [{"kind": "qr-serial", "port": scanners[0].path, "direction": "in", **repeat},
                    {"kind": "qr-serial", "port": scanners[1].path, "direction": "out", **repeat}]
    door: dict[str, Any] = {
        "id": DOOR,
        "relay": {"kind": "lcus-serial", "port": relay.path, "channel": CHANNEL, "pulse_ms": pulse_ms},
        "readers": readers,
    }
    if contact is not None:
        door["contact"] = {"kind": "modbus-rtu", "port": contact.path, "unit": 1, "input": CONTACT, "poll_ms": 20}
    return door


def sign_in(browser: Any, hub: RunningHub, errors: list[str]) -> Any:
    """The guard's console: a new browser context signed in through the login form, on /live
    with its stream open."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(hub.url + "/live")
    page.wait_for_url(hub.url + "/login", timeout=PAGE_MS)
    page.fill("#username", GUARD["username"])
    page.fill("#password", GUARD["password"])
    page.click("#account-submit")
    page.wait_for_url(hub.url + "/live", timeout=PAGE_MS)
    page.wait_for_selector("#stream-state.live", timeout=PAGE_MS)
    # and the alarms' stream, where the page has one
    page.wait_for_function("() => { const p = document.getElementById('alarm-panel');"
                           " return !p || p.dataset.stream === 'open'; }", timeout=PAGE_MS)
    return page


@contextmanager
def gate_post(tmp_path: Path, broker, pty_device, browser=None, *, qr: bool = False, contact: bool = False,
              pulse_ms: int = 300, qr_repeat_s: float | None = None,
              hub_extra: dict[str, Any] | None = None) -> Iterator[GatePost]:
    """The whole post, started; everything stopped afterwards (agent, hub, browser context)."""
    clock = AgentClock()
    hub = start_hub(hub_config(tmp_path / "hub", broker, hub_extra))
    hub.site = hub.app.state.config.hub.site
    agent = None
    page = None
    board = None
    try:
        reader, relay = pty_device(), pty_device()
        scanners = (pty_device(), pty_device()) if qr else None
        contact_pty = pty_device() if contact else None
        if contact_pty is not None:
            from tests.drivers.test_modbus_inputs import IoBoard

            board = IoBoard(contact_pty.master, unit=1)
        cfg = stack.agent_config(hub.site, GATE, tmp_path / "agent", broker,
                                 [door_config(reader, relay, scanners, contact_pty, pulse_ms, qr_repeat_s)],
                                 gate_key=stack.register(hub, GATE))
        agent = GateAgent(cfg, clock=clock)
        agent.start()
        got = relay.read_exactly(4, timeout=10)
        assert got == OFF, f"the relay is driven locked when the agent starts; it got {got.hex()}"
        api = stack.client(hub, "admin")
        wait_for(lambda: any(g["gate_id"] == GATE and g["online"] for g in api.get("/api/v1/gates").json()),
                 timeout=15, what="the gate online at the hub")
        if contact:  # the door is ok once the board has answered for its contact
            wait_for(lambda: (lambda g: g and g[0]["doors"].get(DOOR, {}).get("state") == "ok")(
                [g for g in api.get("/api/v1/gates").json() if g["gate_id"] == GATE]),
                timeout=15, what="the door (and its contact) ok at the hub")
        add_user(hub.store, "test", GUARD["username"], GUARD["name"], "guard", GUARD["password"])
        errors: list[str] = []
        if browser is not None:
            page = sign_in(browser, hub, errors)
        yield GatePost(hub=hub, agent=agent, broker=broker, api=api, reader=reader, relay=relay, clock=clock, page=page,
                       scanner_in=scanners[0] if scanners else None, scanner_out=scanners[1] if scanners else None,
                       board=board, page_errors=errors)
    finally:
        if page is not None:
            page.context.close()
        if agent is not None:
            agent.stop()
        if board is not None:
            board.stop()
        hub.stop()

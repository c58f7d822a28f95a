"""The hub's FastAPI application, and a way to run it in a thread (tests, the demo).

Domain errors become HTTP here and only here: the status comes from the error class and the
body is always {"error": rule, "detail": text, "field": name or null}. Every route needs a
token or a browser session except the login page, its stylesheet and script, and /healthz
(which says only "ok"): the front door (hub.frontdoor) checks the credential for real, the
origin of cookie-authenticated changes and the body's size before a route, or its body
parsing, sees the request, so a forgotten dependency cannot open an endpoint.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from functools import partial

import uvicorn
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import HTTPConnection

from hub.access.service import set_up_timezone
from hub.access.views import router as access_router
from hub.alarms.setup import alarms_setup
from hub.alarms.views import router as alarms_router
from hub import systemd
from hub.cards.moves_views import card_centre_routers
from hub.cards.printed import router as printed_router
from hub.cards.import_views import router as card_imports_router
from hub.cards.views import router as cards_router
from hub.config import HubConfig
from hub.db import Store
from hub.deadletters.store import DeadLetters
from hub.deadletters.views import router as dead_letters_router
from hub.dutylog.pages import router as duty_pages_router
from hub.dutylog.setup import duty_setup
from hub.dutylog.views import router as duty_router
from hub.errors import DomainError
from hub.frontdoor import Door, FrontDoor
from hub.enroll.views import routers as enroll_routers
from hub.events.bus import EventBus
from hub.events.ingest import EventIngest
from hub.events.reactions import Reactions
from hub.events.views import router as events_router
from hub.gates.ingest import GateIngest
from hub.gates.keys import GateKeys, KeyPusher
from hub.gates.projector import Projector
from hub.gates.publisher import AclPublisher
from hub.gates.views import router as gates_router
from hub.ticker import Ticker
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.i18n.validation import N_, detail_of, explained
from hub.housekeeping import Housekeeper
from hub.mqtt import Drops, HubMqtt
from hub.users.sessions import Lifetime
from hub.users.views import router as users_router
from hub.visitors.pages import router as visitor_pages_router
from hub.complaints.pages import router as complaint_pages_router
from hub.permits.pages import router as permit_pages_router
from hub.slips.pages import router as slip_pages_router
from hub.violations.pages import router as violation_pages_router
from hub.complaints.setup import setup as complaints_setup
from hub.complaints.views import router as complaints_router
from hub.visitors.setup import setup as visitors_setup
from hub.visitors.views import router as visitors_router
from hub.workcal.setup import workcal_setup
from hub.workcal.views import router as workcal_router
from hub.workcal.pages import router as workcal_pages_router
from hub.permits.views import router as permits_router
from hub.permits.setup import permits_setup
from hub.slips.setup import slips_setup
from hub.slips.views import router as slips_router
from hub.violations.setup import violations_setup
from hub.violations.views import router as violations_router
from hub.web.views import PUBLIC_STATIC
from hub.web.language import PATH as LANGUAGE_PATH
from hub.web.language import router as language_router
from hub.web.shell import PROBLEMS, problem_page, wants_page
from hub.web.views import router as web_router
from protocols.topics import all_gates_filter

log = logging.getLogger(__name__)
#: the interpreter lock's switch interval in the hub's process (lifespan says why)
SWITCH_INTERVAL_S = 0.001

PUBLIC_PATHS = {"/healthz", "/login", LANGUAGE_PATH, *(f"/static/{n}" for n in PUBLIC_STATIC)}
#: browser pages: no credential sends the browser to the login page instead of a 401
PAGES = {"/", "/live", "/clerk", "/logout", "/visitors", "/duty", "/complaints", "/complaints/queue", "/complaints/supervise", "/complaints/follow-ups", "/calendar", "/permits", "/permits/engineering", "/violations", "/slips", "/slips/check"}


def _error(status: int, rule: str, detail: str, field: str | None = None, headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"error": rule, "detail": detail, "field": field}, status_code=status, headers=headers)


def error_response(exc: DomainError, conn: HTTPConnection | None = None) -> JSONResponse:
    """The one mapping of a domain error to an HTTP answer (handlers and the front door use
    it): its detail in the language of whoever asked (hub.i18n), its rule as it is."""
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    detail = exc.detail if conn is None else exc.in_language(partial(gettext, language_of(conn)))
    return _error(exc.status, exc.rule, detail, exc.field, headers)


NO_PAGE = N_("There is nothing at this address.")
BROKE = N_("Something went wrong in the hub. It has been written to the hub's log; try again, and tell the administrator if it happens again.")


def _field(loc: tuple, kind: str = "") -> str:
    if kind == "json_invalid":
        return "(body)"
    parts = [str(p) for p in loc]
    if parts and parts[0] in ("body", "query", "path", "header", "cookie"):
        parts = parts[1:]
    return ".".join(parts) or "(body)"


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> Response:
        if exc.status in PROBLEMS and wants_page(request):
            return problem_page(request, exc.status, exc.in_language(partial(gettext, language_of(request))))
        return error_response(exc, request)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        say = partial(gettext, language_of(request))
        errors = exc.errors() or [{"loc": (), "type": "", "msg": "invalid request"}]
        fields = [_field(tuple(e.get("loc", ())), str(e.get("type", ""))) for e in errors]
        said = [explained(f, e, say) for f, e in zip(fields, errors)]  # (the field as a person reads it, what is wrong)
        body = {
            "error": "bad_input",
            "detail": detail_of(fields[0], errors[0], say),
            "field": fields[0],
            "errors": [{"field": f, "detail": what} for f, (_, what) in zip(fields, said)],
        }
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        rule = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        say = partial(gettext, language_of(request))
        detail = say(NO_PAGE) if exc.status_code == 404 else str(exc.detail)
        if exc.status_code == 404 and wants_page(request):
            return problem_page(request, 404, detail)
        return _error(exc.status_code, rule, detail)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> Response:
        """A fault of the hub's own: logged with its trace, and said plainly to whoever asked."""
        log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
        detail = gettext(language_of(request), BROKE)
        if wants_page(request):
            return problem_page(request, 500, detail)
        return _error(500, "internal_error", detail)


def create_app(config: HubConfig, store: Store | None = None, *, connect_mqtt: bool = True) -> FastAPI:
    """The hub. ``store`` defaults to ``Store.open(config.hub.db_path)`` (closed on shutdown).

    With ``connect_mqtt`` the lifespan connects to the broker in config.mqtt, ingests gate
    status, events and sync requests, and publishes ACL updates; without it the API works
    alone (remote open then answers 503).
    """
    own_store = store is None
    store = store or Store.open(config.hub.db_path)

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        state = app.state
        if connect_mqtt:
            mqtt = HubMqtt(config.mqtt, config.hub.site, dead_letters=state.dead_letters)
            state.event_ingest = EventIngest(store, state.bus, state.drops, state.reactions)
            state.gate_ingest = GateIngest(store, mqtt, state.drops, config.hub.site, state.gate_keys, state.reactions)
            site = config.hub.site
            # a gate heard using an older key is sent its newest (hub.gates.keys)
            state.key_pusher = KeyPusher(state.gate_keys, lambda t, p: mqtt.publish(t, p, qos=1, retain=False), site)
            state.drops.verified = state.key_pusher
            mqtt.subscribe(all_gates_filter(site, "status"), state.gate_ingest.handle_status)
            mqtt.subscribe(all_gates_filter(site, "event"), state.event_ingest.handle, batch=store)  # group commit (hub.mqtt)
            mqtt.subscribe(all_gates_filter(site, "sync"), state.gate_ingest.handle_sync)
            state.publisher = AclPublisher(store, mqtt, site, state.gate_keys)
            state.mqtt = mqtt
            state.publisher.start()
            mqtt.start()
        housekeeper = Housekeeper(store)
        housekeeper.start()
        app.state.ticker.start()  # every domain's few-second checks (hub.ticker)
        projector = Projector(store)  # re-projection jobs, in small steps (hub.gates.acl.schedule_reproject)
        projector.start()
        state.projector = projector
        # what startup made lives as long as the process: kept out of the cyclic collector, a full
        # collection (a big import sets one off) scans far less and pauses every request far less
        gc.freeze()
        # the hub's threads (paho, the intake, the snapshot sender, the projector, requests)
        # share one interpreter lock, and a thread back from I/O waits for it up to the switch
        # interval, at every hop of an event: 1 ms instead of CPython's 5 keeps another gate's
        # events prompt while a 100,000-card list is being sent (BENCHMARKS.md, newgate)
        sys.setswitchinterval(SWITCH_INTERVAL_S)
        notify = systemd.notifier()
        alive = asyncio.create_task(systemd.keep_alive(notify, store)) if notify else None
        try:
            yield
        finally:
            if alive is not None:
                alive.cancel()
            housekeeper.stop()
            app.state.ticker.stop()
            projector.stop()
            state.closing.set()
            state.bus.notify()
            if state.publisher is not None:
                state.publisher.stop()
            if state.gate_ingest is not None:
                state.gate_ingest.stop()  # its snapshot sender
            if state.mqtt is not None:
                state.mqtt.stop()
            if own_store:
                store.close()

    # no /docs or /redoc: they load their scripts from a CDN; /openapi.json (with a token) stays
    app = FastAPI(title="gatehouse hub", version="1", lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.config = config
    app.state.store = store
    set_up_timezone(store, config.hub.timezone)  # a new estate's day; a running one keeps its own
    app.state.bus = EventBus()
    # every gate message is checked against that gate's keys, sealed in hub.db (hub.gates.keys)
    app.state.gate_keys = GateKeys(store, config.hub.secret_path)
    app.state.dead_letters = DeadLetters(store)  # poison messages, kept instead of blocking intake
    app.state.drops = Drops(keys=app.state.gate_keys.keys)
    #: each domain's reactions to stored gate events and statuses (hub.events.reactions),
    #: registered here, before the intake starts
    app.state.reactions = Reactions(store)
    app.state.ticker = Ticker(store)
    # each domain registers its reactions and checks here (one line each)
    workcal_setup(app)  # first: every deadline counts on the working calendar (hub.workcal)
    duty_setup(app)
    alarms_setup(app)
    visitors_setup(app)
    complaints_setup(app)
    permits_setup(app)  # workers' schedules kept on the working calendar (hub.permits)
    violations_setup(app)  # violations' retention (hub.violations)
    slips_setup(app)  # after visitors: a slip's QR is signed with the pass key (hub.slips)
    app.state.key_pusher = None
    app.state.closing = threading.Event()
    app.state.mqtt = None
    app.state.publisher = None
    app.state.event_ingest = None
    app.state.gate_ingest = None
    _install_error_handlers(app)

    app.add_middleware(FrontDoor, door=Door(
        store=store, public_paths=frozenset(PUBLIC_PATHS), pages=frozenset(PAGES), lifetime=Lifetime.of(config.hub),
        public_origin=config.hub.public_origin, respond=error_response,
    ))

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict:  # on the event loop: it must answer even with every worker thread busy
        return {"status": "ok"}

    app.include_router(printed_router)  # before cards: /api/v1/cards/find is not a UID
    app.include_router(card_imports_router)  # before cards: /api/v1/cards/imports is not a UID
    app.include_router(cards_router)
    for router in card_centre_routers():  # after cards: /api/v1/cards/issue, /{uid}/lost ...
        app.include_router(router)
    app.include_router(access_router)
    app.include_router(events_router)
    app.include_router(gates_router)
    app.include_router(alarms_router)
    app.include_router(dead_letters_router)
    for router in enroll_routers:
        app.include_router(router)
    app.include_router(users_router)
    app.include_router(duty_router)
    app.include_router(duty_pages_router)
    app.include_router(visitors_router)
    app.include_router(visitor_pages_router)
    app.include_router(complaints_router)
    app.include_router(complaint_pages_router)
    app.include_router(permit_pages_router)  # the renovation pages (permits, violations, slips)
    app.include_router(violation_pages_router)
    app.include_router(slip_pages_router)
    app.include_router(workcal_router)
    app.include_router(workcal_pages_router)
    app.include_router(permits_router)
    app.include_router(violations_router)
    app.include_router(slips_router)
    app.include_router(web_router)
    app.include_router(language_router)
    return app


def uvicorn_options(config: HubConfig) -> dict:
    """What every way of serving the hub passes to uvicorn: its own access log instead of
    uvicorn's (which prints query strings), and proxy headers believed only from the
    configured proxies (so only they can make a request https, and the cookie Secure)."""
    allowed = config.hub.forwarded_allow_ips
    return {"access_log": False, "proxy_headers": bool(allowed),
            "forwarded_allow_ips": ",".join(allowed) if allowed else "127.0.0.1"}


class HubServer(uvicorn.Server):
    """uvicorn's server, telling the hub's streams to end as its shutdown begins. A live
    stream waits for the next event, so it would hold uvicorn's graceful shutdown until that
    timed out and be cancelled (an error in the log at every restart with consoles open);
    told here, each ends at once and the browser reconnects to whatever serves next."""

    def __init__(self, config: uvicorn.Config, app: FastAPI) -> None:
        super().__init__(config)
        self.hub_app = app

    async def shutdown(self, sockets: list | None = None) -> None:
        self.hub_app.state.closing.set()
        self.hub_app.state.bus.notify()
        await super().shutdown(sockets)


def serve(config: HubConfig, app: FastAPI, **options: object) -> HubServer:
    """The server for ``app`` with every option each way of serving the hub passes."""
    return HubServer(uvicorn.Config(app, host=config.hub.http_host, port=config.hub.http_port,
                                    **uvicorn_options(config), **options), app)


@dataclass
class RunningHub:
    """A hub served by uvicorn in a thread; ``url`` is its base URL."""

    app: FastAPI
    server: HubServer
    thread: threading.Thread
    url: str

    @property
    def store(self) -> Store:
        return self.app.state.store

    @property
    def mqtt(self) -> HubMqtt | None:
        return self.app.state.mqtt

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(10)

    def __enter__(self) -> "RunningHub":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


def start_hub(
    config: HubConfig, store: Store | None = None, *, connect_mqtt: bool = True, wait_mqtt: float = 5.0
) -> RunningHub:
    """Serve the hub on config.hub.http_host:http_port in a thread; returns once it listens
    (and, with MQTT, once connected to the broker or ``wait_mqtt`` seconds have passed)."""
    app = create_app(config, store, connect_mqtt=connect_mqtt)
    server = serve(config, app, log_level="warning", lifespan="on", timeout_graceful_shutdown=2)
    thread = threading.Thread(target=server.run, name="hub-http", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the hub did not start on {config.hub.http_host}:{config.hub.http_port}")
        time.sleep(0.02)
    if connect_mqtt and app.state.mqtt is not None:
        app.state.mqtt.wait_connected(wait_mqtt)
    return RunningHub(app, server, thread, f"http://{config.hub.http_host}:{config.hub.http_port}")

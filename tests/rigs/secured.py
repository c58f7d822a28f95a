"""An estate secured as the README says: the hub's own CA, server certificate and gate
logins made with ``gate-hub``, and mosquitto run from config/mosquitto.conf on those files
(``make_estate``); ``Attempt`` is one paho client's connect to it, with why it failed."""

from __future__ import annotations

import contextlib
import io
import queue
import ssl
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import paho.mqtt.client as mqtt

from hub.broker.pki import Pki
from hub.cli import main as gate_hub
from hub.config import HubConfig
from protocols.configfile import load_toml
from protocols.mqtt_settings import MqttSettings, login
from tests.conftest import need_mosquitto
from tests.rigs.broker import Mosquitto, free_port
from tests.rigs.wait import wait_for


def run_gate_hub(*argv: str) -> tuple[int, str, str]:
    """``gate-hub ARGV`` in this process: exit code, what it printed, what it complained."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = gate_hub(list(argv))
    return rc, out.getvalue(), err.getvalue()


def shown_after(text: str, marker: str) -> str:
    """The line printed right after the line containing ``marker`` (a secret shown once)."""
    lines = text.splitlines()
    return next(lines[i + 1] for i, line in enumerate(lines) if marker in line)


@dataclass
class GateLogin:
    gate_id: str
    password: str
    key: str
    ca_file: Path
    cert_file: Path
    key_file: Path
    printed: str


@dataclass
class Estate:
    dir: Path
    config_path: Path
    config: HubConfig
    pki: Pki
    broker: Mosquitto
    hub_user: str
    hub_password: str
    gates: dict[str, GateLogin] = field(default_factory=dict)

    @property
    def site(self) -> str:
        return self.config.hub.site

    def add_gate(self, gate_id: str) -> GateLogin:
        rc, out, err = run_gate_hub("gate", "add", gate_id, "--config", str(self.config_path))
        assert rc == 0, err
        ca, cert, key = self.pki.gate_files(gate_id)
        g = GateLogin(gate_id, shown_after(out, f"broker login for gate {gate_id}"), out.splitlines()[-1],
                      ca, cert, key, out + err)
        self.gates[gate_id] = g
        return g

    def gate_settings(self, gate_id: str, **over) -> MqttSettings:
        """How the gate's agent reaches the broker: the TLS listener, its certificate and login."""
        g = self.gates[gate_id]
        values = {"host": "127.0.0.1", "port": self.broker.tls_port, "tls": True, "ca_file": g.ca_file,
                  "cert_file": g.cert_file, "key_file": g.key_file, "username": gate_id, "password": g.password,
                  "keepalive_s": 5}
        values.update(over)
        return MqttSettings.model_validate(values)

    def hub_settings(self, **over) -> MqttSettings:
        """The loopback listener, with the hub's login unless ``over`` says otherwise."""
        values = {"host": "127.0.0.1", "port": self.broker.port, "username": self.hub_user,
                  "password": self.hub_password, "keepalive_s": 5}
        values.update(over)
        return MqttSettings.model_validate(values)


def make_estate(base: Path, gates: tuple[str, ...]) -> Estate:
    need_mosquitto()
    base.mkdir(parents=True, exist_ok=True)
    pki_dir = base / "pki"
    hub_password = uuid.uuid4().hex
    port = free_port()
    config_path = base / "hub.toml"
    config_path.write_text(f"""
[hub]
site = "s{uuid.uuid4().hex[:8]}"
db_path = "{base / 'hub.db'}"
http_host = "127.0.0.1"
http_port = {free_port()}
language = "en"
timezone = "UTC"

[mqtt]
host = "127.0.0.1"
port = {port}
username = "hub"
password = "{hub_password}"
keepalive_s = 5

[broker]
pki_dir = "{pki_dir}"
""")
    for argv in (("ca", "init"), ("ca", "server", "--host", "127.0.0.1", "--host", "localhost")):
        rc, _out, err = run_gate_hub(*argv, "--config", str(config_path))
        assert rc == 0, err
    config = load_toml(config_path, HubConfig)
    broker = Mosquitto(base, port=port, pki_dir=pki_dir)
    estate = Estate(base, config_path, config, Pki(pki_dir), broker, "hub", hub_password)
    for gate_id in gates:
        estate.add_gate(gate_id)
    broker.start()
    return estate


class Attempt:
    """One paho client's connect: ``ok`` once the broker accepted it, else why not."""

    def __init__(self, settings: MqttSettings, client_id: str, clean_session: bool = True) -> None:
        self.events: queue.Queue = queue.Queue()
        self.messages: queue.Queue = queue.Queue()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, clean_session=clean_session)
        login(self.client, settings)
        self.online = threading.Event()

        def on_connect(_c, _u, _f, rc, _p) -> None:
            if not rc.is_failure:
                self.online.set()
            self.events.put(("connect", rc))

        def on_disconnect(_c, _u, _f, rc, _p) -> None:
            self.online.clear()
            self.events.put(("disconnect", rc))

        self.client.on_connect = on_connect
        self.client.on_disconnect = on_disconnect
        self.client.on_subscribe = lambda *_a: self.events.put(("subscribed", None))
        self.client.on_message = lambda _c, _u, msg: self.messages.put((msg.topic, msg.payload))
        self.acked: set[int] = set()
        self.client.on_publish = lambda _c, _u, mid, _rc, _p: self.acked.add(mid)
        self.ok = False
        self.why = ""
        try:
            self.client.connect(settings.host, settings.port, keepalive=settings.keepalive_s)
        except (ssl.SSLError, OSError) as exc:
            self.why = f"{type(exc).__name__}: {exc}"
            return
        self.client.loop_start()
        try:
            kind, rc = self.events.get(timeout=5)
        except queue.Empty:
            self.why = "no answer from the broker"
            return
        self.ok = kind == "connect" and not rc.is_failure
        self.why = "" if self.ok else f"{kind}: {rc}"

    def subscribe(self, topic: str) -> None:
        self.client.subscribe(topic, qos=1)
        assert self.events.get(timeout=5)[0] == "subscribed"

    def publish(self, topic: str, payload: bytes, retain: bool = False) -> None:
        """QoS 1, acknowledged by the broker, across a reconnect if the broker dropped us.

        mosquitto 2.0.11 drops a client at its next delivery after refusing one of its
        publishes; paho then keeps a QoS 1 message (NO_CONN) and sends it again once it has
        reconnected, so the broker's PUBACK for this message id is what is waited for.
        """
        assert self.online.wait(5), "not connected to the broker"
        info = self.client.publish(topic, payload, qos=1, retain=retain)
        if info.rc not in (mqtt.MQTT_ERR_SUCCESS, mqtt.MQTT_ERR_NO_CONN):
            raise AssertionError(f"could not publish to {topic}: {mqtt.error_string(info.rc)}")
        wait_for(lambda: info.mid in self.acked, timeout=15, what=f"the broker acknowledging a publish to {topic}")

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()

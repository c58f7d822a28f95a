"""The shipped mosquitto ACL (config/mosquitto.acl), on a real broker: a gate speaks only as itself."""

from __future__ import annotations

import queue
import shutil
import subprocess
import uuid
from pathlib import Path

import paho.mqtt.client as mqtt
import pytest

from protocols import topics
from tests.conftest import need
from tests.rigs.broker import Mosquitto

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def secured_broker(tmp_path: Path) -> Mosquitto:
    need(shutil.which("mosquitto_passwd") is not None, "mosquitto_passwd not installed (apt-get install mosquitto)")
    passwd = tmp_path / "passwd"
    passwd.touch()
    for user in ("hub", "north", "south"):
        subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, f"pw-{user}"], check=True)
    passwd.chmod(0o600)
    acl = tmp_path / "acl"
    acl.write_text((ROOT / "config" / "mosquitto.acl").read_text())
    acl.chmod(0o600)
    conf = f"allow_anonymous false\npassword_file {passwd}\nacl_file {acl}\n"
    b = Mosquitto(tmp_path, extra_conf=conf).start()
    yield b
    b.stop()


def _client(broker: Mosquitto, user: str | None, password: str | None = None) -> tuple[mqtt.Client, "queue.Queue"]:
    got: queue.Queue = queue.Queue()
    connected: queue.Queue = queue.Queue()
    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=f"t-{uuid.uuid4().hex[:8]}")
    if user:
        c.username_pw_set(user, password or f"pw-{user}")
    c.on_message = lambda _c, _u, msg: got.put((msg.topic, msg.payload))
    c.on_connect = lambda _c, _u, _f, rc, _p: connected.put(rc)
    c.on_subscribe = lambda *_a: connected.put("subscribed")
    c.connect(broker.host, broker.port)
    c.loop_start()
    rc = connected.get(timeout=5)
    c._test_rc = rc  # noqa: SLF001 - kept for the assertion in the test
    return c, got, connected


def test_anonymous_and_wrong_password_are_refused(secured_broker: Mosquitto) -> None:
    for user, pw in ((None, None), ("north", "wrong")):
        c, _, _ = _client(secured_broker, user, pw)
        try:
            assert c._test_rc.is_failure, f"login {user!r} should be refused"
        finally:
            c.loop_stop()


def test_a_gate_can_publish_only_as_itself_and_hear_only_its_own_commands(secured_broker: Mosquitto) -> None:
    hub, hub_got, hub_ack = _client(secured_broker, "hub")
    north, north_got, north_ack = _client(secured_broker, "north")
    try:
        hub.subscribe(topics.all_gates_filter("demo", "event"), qos=1)
        assert hub_ack.get(timeout=5) == "subscribed"
        north.subscribe(topics.gate_topic("demo", "south", "cmd"), qos=1)
        north.subscribe(topics.gate_topic("demo", "north", "cmd"), qos=1)
        north_ack.get(timeout=5)
        north_ack.get(timeout=5)

        # north pretends to be south: the broker drops it; then speaks as itself.
        north.publish(topics.gate_topic("demo", "south", "event"), b"forged", qos=1).wait_for_publish(5)
        north.publish(topics.gate_topic("demo", "north", "event"), b"genuine", qos=1).wait_for_publish(5)
        topic, payload = hub_got.get(timeout=5)
        assert (topic, payload) == (topics.gate_topic("demo", "north", "event"), b"genuine")

        # a command for south never reaches north; north's own does.
        hub.publish(topics.gate_topic("demo", "south", "cmd"), b"for-south", qos=1).wait_for_publish(5)
        hub.publish(topics.gate_topic("demo", "north", "cmd"), b"for-north", qos=1).wait_for_publish(5)
        assert north_got.get(timeout=5) == (topics.gate_topic("demo", "north", "cmd"), b"for-north")
        assert north_got.empty() and hub_got.empty()
    finally:
        hub.loop_stop()
        north.loop_stop()

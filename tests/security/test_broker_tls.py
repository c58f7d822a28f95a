"""TLS on the broker link and the logins the hub makes, on a real mosquitto run from
config/mosquitto.conf with files made by ``gate-hub ca`` and ``gate-hub gate add``."""

from __future__ import annotations

import sqlite3
import stat
import subprocess
import shutil
from datetime import datetime, timezone

import pytest
from cryptography.hazmat.primitives import serialization

from hub.broker import passwd
from hub.broker.pki import GATE_DAYS, issue, make_ca
from protocols import topics
from protocols.configfile import ConfigError, load_toml
from tests.conftest import need
from tests.rigs.wait import wait_for
from tests.rigs.secured import Attempt, Estate, run_gate_hub


def _pem_pair(tmp_path, name, key, cert):
    k, c = tmp_path / f"{name}.key", tmp_path / f"{name}.crt"
    k.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()))
    c.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return k, c


def test_a_gate_with_its_generated_files_connects(estate: Estate) -> None:
    a = Attempt(estate.gate_settings("north"), "anything")
    try:
        assert a.ok, a.why
    finally:
        a.close()


def test_plain_tcp_to_the_tls_listener_is_refused(estate: Estate) -> None:
    s = estate.gate_settings("north", tls=False, ca_file=None, cert_file=None, key_file=None)
    a = Attempt(s, "plain")
    try:
        assert not a.ok, "a plain MQTT connect to the TLS listener was accepted"
    finally:
        a.close()


def test_a_client_trusting_another_ca_refuses_the_broker(estate: Estate, tmp_path) -> None:
    other_key, other_ca = make_ca("someone else's CA", datetime.now(timezone.utc))
    _k, ca_file = _pem_pair(tmp_path, "other-ca", other_key, other_ca)
    a = Attempt(estate.gate_settings("north", ca_file=ca_file), "wrong-ca")
    try:
        assert not a.ok
        assert "certificate verify failed" in a.why, a.why
    finally:
        a.close()


def test_a_gate_without_its_certificate_is_refused(estate: Estate, tmp_path) -> None:
    no_cert = Attempt(estate.gate_settings("north", cert_file=None, key_file=None), "no-cert")
    try:
        assert not no_cert.ok, "the TLS listener took a client without a certificate"
    finally:
        no_cert.close()
    # a certificate for "north" from another CA, with north's right password: refused too
    other_key, other_ca = make_ca("forger", datetime.now(timezone.utc))
    key, cert = issue(other_key, other_ca, "north", datetime.now(timezone.utc), client=True, days=GATE_DAYS)
    key_file, cert_file = _pem_pair(tmp_path, "forged", key, cert)
    forged = Attempt(estate.gate_settings("north", cert_file=cert_file, key_file=key_file), "forged-cert")
    try:
        assert not forged.ok, "a client certificate from another CA was accepted"
    finally:
        forged.close()


def test_wrong_or_missing_passwords_are_refused_on_both_listeners(estate: Estate) -> None:
    for s in (estate.gate_settings("north", password="wrong"), estate.gate_settings("north", username=None, password=None)):
        a = Attempt(s, "bad-login")
        try:
            assert not a.ok, f"login {s.username!r} accepted on the TLS listener"
        finally:
            a.close()
    plain_north = estate.hub_settings(username="north", password=estate.gates["north"].password)
    anonymous = estate.hub_settings(username=None, password=None)
    accepted = Attempt(plain_north, "plain-north")
    accepted.close()
    assert accepted.ok, "the loopback listener refused a good login"  # same password file
    a = Attempt(anonymous, "anon")
    try:
        assert not a.ok, "anonymous accepted on the loopback listener"
    finally:
        a.close()


def test_a_gate_login_cannot_take_the_hubs_client_id(estate: Estate) -> None:
    hub_id = f"gatehouse-hub-{estate.site}"  # what hub.mqtt.HubMqtt uses
    hub = Attempt(estate.hub_settings(), hub_id, clean_session=False)
    try:
        assert hub.ok, hub.why
        hub.subscribe(topics.all_gates_filter(estate.site, "event"))
        for stolen in (hub_id, estate.hub_user):
            thief = Attempt(estate.gate_settings("north"), stolen, clean_session=True)
            try:
                assert thief.ok, thief.why  # accepted, but as client "north", not as the hub
                thief.publish(topics.gate_topic(estate.site, "north", "event"), stolen.encode())
                assert hub.messages.get(timeout=5) == (topics.gate_topic(estate.site, "north", "event"), stolen.encode())
            finally:
                thief.close()
        # the hub was never thrown off: its first connect is still the only event it saw
        assert hub.events.empty(), f"the hub's connection saw {hub.events.get_nowait()}"
    finally:
        hub.close()


def test_a_gate_cannot_publish_or_listen_as_another_gate(estate: Estate) -> None:
    site = estate.site
    hub = Attempt(estate.hub_settings(), f"hub-{site}")
    # a persistent session: mosquitto 2.0 (with max_queued_messages 0, as shipped) drops a
    # client at its next delivery after a refused publish; paho reconnects, and the session
    # keeps north's subscriptions and what was queued for it
    north = Attempt(estate.gate_settings("north"), "north", clean_session=False)
    try:
        assert hub.ok and north.ok, (hub.why, north.why)
        for channel in ("event", "status"):
            hub.subscribe(topics.all_gates_filter(site, channel))
        hub.subscribe(topics.hub_status_topic(site))
        for gate, channel in (("south", "acl"), ("south", "cmd"), ("north", "acl")):
            north.subscribe(topics.gate_topic(site, gate, channel))

        # north hears neither south's list nor its commands
        hub.publish(topics.gate_topic(site, "south", "acl"), b"for-south")
        hub.publish(topics.gate_topic(site, "south", "cmd"), b"for-south")
        hub.publish(topics.gate_topic(site, "north", "acl"), b"first")
        assert north.messages.get(timeout=5) == (topics.gate_topic(site, "north", "acl"), b"first")

        # north making its own list, speaking as south or as the hub, reaches nobody
        north.publish(topics.gate_topic(site, "north", "acl"), b"self-made list")
        north.publish(topics.gate_topic(site, "south", "event"), b"forged")
        north.publish(topics.gate_topic(site, "south", "status"), b"forged", retain=True)
        north.publish(topics.hub_status_topic(site), b"forged", retain=True)
        north.publish(topics.gate_topic(site, "north", "event"), b"genuine")
        hub.publish(topics.gate_topic(site, "north", "acl"), b"second")
        assert hub.messages.get(timeout=5) == (topics.gate_topic(site, "north", "event"), b"genuine")
        assert north.messages.get(timeout=5) == (topics.gate_topic(site, "north", "acl"), b"second")
        assert hub.messages.empty(), f"a forged message reached the hub: {hub.messages.get_nowait()}"
        assert north.messages.empty(), f"north heard {north.messages.get_nowait()}"
    finally:
        hub.close()
        north.close()
    # and nothing forged was kept as retained
    late = Attempt(estate.hub_settings(), f"hub-late-{site}")
    try:
        late.subscribe(topics.gate_topic(site, "south", "status"))
        late.subscribe(topics.hub_status_topic(site))
        late.publish(topics.hub_status_topic(site), b"hub says", retain=True)
        assert late.messages.get(timeout=5) == (topics.hub_status_topic(site), b"hub says")
        assert late.messages.empty()
    finally:
        late.close()


def _connects(settings, client_id: str) -> bool:
    a = Attempt(settings, client_id)
    a.close()
    return a.ok


def test_a_retired_gate_cannot_connect(estate: Estate, tmp_path) -> None:
    estate.add_gate("east")
    pi = tmp_path / "east-pi"  # what the installer copied to the gate's Pi
    shutil.copytree(estate.pki.gate_dir("east"), pi)
    on_pi = {"ca_file": pi / "ca.crt", "cert_file": pi / "east.crt", "key_file": pi / "east.key"}
    estate.broker.reload()
    wait_for(lambda: _connects(estate.gate_settings("east", **on_pi), "east"), what="the new gate accepted after a reload")

    rc, out, err = run_gate_hub("gate", "retire", "east", "--config", str(estate.config_path))
    assert rc == 0, err
    assert "kill -HUP $(pidof mosquitto)" in out and "systemctl reload mosquitto" in out
    assert not estate.pki.gate_dir("east").exists(), "the retired gate's key stayed on the hub"
    assert "user east" not in estate.pki.acl.read_text() and "east:" not in estate.pki.passwd.read_text()
    estate.broker.reload()
    wait_for(lambda: not _connects(estate.gate_settings("east", **on_pi), "east"),
             what="the retired gate refused after a reload")
    # its certificate is revoked (the CRL): with another gate's good password it is refused too
    assert not _connects(estate.gate_settings("south", **on_pi), "south"), \
        "a revoked certificate was accepted with another gate's password"
    assert _connects(estate.gate_settings("south"), "south"), "a gate still registered was refused after the reload"


def test_a_gate_cannot_be_named_as_the_hubs_login(estate: Estate) -> None:
    rc, out, err = run_gate_hub("gate", "add", estate.hub_user, "--config", str(estate.config_path))
    assert rc == 1 and "hub's broker username" in err
    with sqlite3.connect(estate.config.hub.db_path) as db:
        assert db.execute("SELECT COUNT(*) FROM gates WHERE gate_id = ?", [estate.hub_user]).fetchone()[0] == 0


def test_files_are_private_whole_and_never_printed(estate: Estate) -> None:
    def mode(p):
        return stat.S_IMODE(p.stat().st_mode)

    north = estate.gates["north"]
    assert mode(estate.pki.ca_key) == 0o600 and mode(estate.pki.ca_key.parent) == 0o700
    assert mode(north.key_file) == 0o600 and mode(north.key_file.parent) == 0o700
    assert mode(estate.pki.server_key) == 0o640
    assert mode(estate.pki.passwd) == 0o640 and mode(estate.pki.acl) == 0o640
    assert not list(estate.pki.root.rglob(".*.tmp")), "a temporary file was left behind"
    for secret in (estate.pki.ca_key, north.key_file, estate.pki.server_key):
        body = secret.read_text().splitlines()[1]  # a line of the key itself
        assert body not in north.printed
    assert "PRIVATE KEY" not in north.printed
    # only the hash of the password is kept, in the database and in the file
    assert north.password not in estate.pki.passwd.read_text()
    assert north.password not in estate.config.hub.db_path.read_bytes().decode("latin-1")


def test_the_acl_names_the_site(estate: Estate) -> None:
    lines = [ln for ln in estate.pki.acl.read_text().splitlines() if ln.startswith("topic ")]
    assert lines and all(f"gatehouse/v1/{estate.site}/" in ln for ln in lines)
    assert not any("gatehouse/v1/+/" in ln for ln in lines)


def test_the_hash_is_mosquittos_own() -> None:
    need(shutil.which("mosquitto_passwd") is not None, "mosquitto_passwd not installed (apt-get install mosquitto)")
    import tempfile

    with tempfile.TemporaryDirectory() as d:
        f = f"{d}/pw"
        open(f, "w").close()
        subprocess.run(["mosquitto_passwd", "-b", f, "north", "pw-north"], check=True)
        theirs = open(f).read().strip().split(":", 1)[1]
    assert passwd.verify("pw-north", theirs) and not passwd.verify("pw-south", theirs)
    ours = passwd.mosquitto_hash("pw-north")
    assert ours.startswith("$7$101$") and passwd.verify("pw-north", ours)


@pytest.mark.parametrize("section", ["agent", "hub"])
def test_plain_mqtt_off_loopback_is_a_config_error_naming_mqtt_tls(tmp_path, section: str) -> None:
    from gate_agent.config import AgentConfig
    from hub.config import HubConfig

    head = ('[agent]\ngate_id = "north"\nsite = "demo"\ndata_dir = "x"\ngate_key = "' + '0' * 64 + '"\n'
            if section == "agent" else '[hub]\nsite = "demo"\ndb_path = "x.db"\n')
    doors = '[[doors]]\nid = "d"\n[doors.relay]\nkind = "sim"\n[[doors.readers]]\nkind = "sim"\n' if section == "agent" else ""
    model = AgentConfig if section == "agent" else HubConfig
    for host, ok in (("hub.estate.lan", False), ("10.0.0.2", False), ("127.0.0.1", True), ("localhost", True)):
        f = tmp_path / f"{section}-{host}.toml"
        f.write_text(f'{head}\n[mqtt]\nhost = "{host}"\nport = 1883\n\n{doors}')
        if ok:
            assert load_toml(f, model).mqtt.tls is False
        else:
            with pytest.raises(ConfigError, match=r"'mqtt\.tls'.*plain MQTT"):
                load_toml(f, model)


def test_a_missing_tls_file_is_a_config_error_naming_its_key(estate: Estate, tmp_path) -> None:
    import paho.mqtt.client as mqtt

    from protocols.mqtt_settings import login

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="x")
    with pytest.raises(ConfigError, match="'mqtt.cert_file'"):
        login(c, estate.gate_settings("north", cert_file=tmp_path / "gone.crt"))
    with pytest.raises(ConfigError, match="'mqtt.ca_file'"):
        login(c, estate.gate_settings("north", ca_file=tmp_path / "gone.crt"))


def test_a_new_certificate_revokes_the_old_and_a_second_ca_is_refused(estate: Estate) -> None:
    from cryptography import x509

    old = x509.load_pem_x509_certificate(estate.gates["south"].cert_file.read_bytes()).serial_number
    rc, out, err = run_gate_hub("ca", "gate", "south", "--config", str(estate.config_path))
    assert rc == 0, err
    assert "earlier certificate is revoked" in out and "PRIVATE KEY" not in out
    new = x509.load_pem_x509_certificate(estate.gates["south"].cert_file.read_bytes()).serial_number
    crl = x509.load_pem_x509_crl(estate.pki.crl.read_bytes())
    assert new != old
    assert crl.get_revoked_certificate_by_serial_number(old) is not None
    assert crl.get_revoked_certificate_by_serial_number(new) is None
    ca_before = estate.pki.ca_cert.read_bytes()
    rc, _out, err = run_gate_hub("ca", "init", "--config", str(estate.config_path))
    assert rc == 1 and "already holds an estate CA" in err
    assert estate.pki.ca_cert.read_bytes() == ca_before


def test_rotating_a_gate_key_keeps_its_broker_login(estate: Estate) -> None:
    line = next(ln for ln in estate.pki.passwd.read_text().splitlines() if ln.startswith("north:"))
    rc, out, err = run_gate_hub("gate", "add", "north", "--rotate-key", "--config", str(estate.config_path))
    assert rc == 0, err
    assert "broker login for gate north unchanged" in out
    assert line in estate.pki.passwd.read_text().splitlines()


def test_a_hub_on_another_host_connects_over_tls_with_its_own_certificate(estate: Estate) -> None:
    rc, out, err = run_gate_hub("ca", "hub", "--config", str(estate.config_path))
    assert rc == 0, err
    ca, cert, key = estate.pki.hub_files(estate.hub_user)
    assert stat.S_IMODE(key.stat().st_mode) == 0o600 and "PRIVATE KEY" not in out
    settings = estate.hub_settings(port=estate.broker.tls_port, tls=True, ca_file=ca, cert_file=cert, key_file=key)
    hub = Attempt(settings, "hub-remote")
    north = Attempt(estate.gate_settings("north"), "north")
    try:
        assert hub.ok and north.ok, (hub.why, north.why)
        hub.subscribe(topics.all_gates_filter(estate.site, "event"))
        north.publish(topics.gate_topic(estate.site, "north", "event"), b"over tls both ways")
        assert hub.messages.get(timeout=5) == (topics.gate_topic(estate.site, "north", "event"), b"over tls both ways")
    finally:
        hub.close()
        north.close()

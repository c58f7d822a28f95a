"""The ``[mqtt]`` table both services read, and how it logs a paho client in.

One model so that a gate's and the hub's config spell the broker settings the same way,
and one place that turns them into a login and TLS, where a password is never logged.

Plain MQTT is refused except to a loopback address, for the hub as for a gate: on a cable
anyone can read a plain broker password and every card list, and forge either. So off the
host itself ``tls = true`` with the estate CA (``ca_file``) is required, and a gate also
presents its own certificate (``cert_file``/``key_file``, from ``gate-hub gate add``).
The demo and the tests use loopback and stay plain.
"""

from __future__ import annotations

import ipaddress
import ssl
from pathlib import Path

import paho.mqtt.client as paho
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationInfo, field_validator, model_validator

from protocols.configfile import ConfigError


def is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class MqttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    #: validated even when left out: off loopback it must be set
    tls: bool = Field(default=False, validate_default=True)
    #: the estate CA certificate the broker's certificate must chain to
    ca_file: Path | None = None
    #: this client's certificate and private key (PEM), for a broker that requires one
    cert_file: Path | None = None
    key_file: Path | None = None
    client_id: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=600)

    @field_validator("tls")
    @classmethod
    def _tls_off_loopback(cls, v: bool, info: ValidationInfo) -> bool:
        host = info.data.get("host")
        if not v and host is not None and not is_loopback(host):
            raise ValueError(
                f"plain MQTT to {host} is refused: set tls = true (with ca_file, cert_file, key_file);"
                " only a loopback broker may be reached without TLS"
            )
        return v

    @model_validator(mode="after")
    def _cert_with_key(self) -> "MqttSettings":
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file go together (both from gate-hub gate add)")
        if (self.cert_file is not None or self.ca_file is not None) and not self.tls:
            raise ValueError("ca_file, cert_file and key_file need tls = true")
        return self


def login(client: paho.Client, settings: MqttSettings) -> None:
    """Credentials and TLS (server certificate and its name checked, TLS 1.2 at least) before connecting."""
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password is not None else None
        client.username_pw_set(settings.username, password)
    if settings.tls:
        client.tls_set_context(tls_context(settings))


def tls_context(settings: MqttSettings) -> ssl.SSLContext:
    """The files are read here, when the service starts (a config check on another machine
    need not have them); one that cannot be read is a config error naming its key."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    key = "mqtt.ca_file"
    try:
        if settings.ca_file is not None:
            ctx.load_verify_locations(cafile=str(settings.ca_file))
        if settings.cert_file is not None:
            key = "mqtt.cert_file"
            ctx.load_cert_chain(str(settings.cert_file), str(settings.key_file))
    except (OSError, ssl.SSLError) as exc:
        where = settings.ca_file if key == "mqtt.ca_file" else f"{settings.cert_file} / {settings.key_file}"
        raise ConfigError(f"bad value for '{key}': cannot load {where}: {exc}") from None
    return ctx

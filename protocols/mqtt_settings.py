"""The ``[mqtt]`` table both services read, and how it logs a paho client in.

One model so that a gate's and the hub's config spell the broker settings the same way,
and one place that turns them into a login and TLS, where a password is never logged.
"""

from __future__ import annotations

import ssl
from pathlib import Path

import paho.mqtt.client as paho
from pydantic import BaseModel, ConfigDict, Field, SecretStr


class MqttSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    client_id: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=600)


def login(client: paho.Client, settings: MqttSettings) -> None:
    """Credentials and TLS (server certificate required) on a client before it connects."""
    if settings.username is not None:
        password = settings.password.get_secret_value() if settings.password is not None else None
        client.username_pw_set(settings.username, password)
    if settings.tls:
        client.tls_set(ca_certs=str(settings.ca_file) if settings.ca_file else None, cert_reqs=ssl.CERT_REQUIRED)

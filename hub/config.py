"""The hub's TOML config (see config/hub.example.toml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from protocols.topics import check_name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HubSection(_Section):
    site: str
    db_path: Path
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    #: where holder photos are kept; beside the database unless set
    photo_dir: Path | None = None
    #: a gate whose status is older than this is shown offline even without its last will
    gate_stale_s: int = Field(default=90, ge=5)

    @field_validator("site")
    @classmethod
    def _site_is_a_topic_level(cls, v: str) -> str:
        return check_name("site", v)


class MqttSection(_Section):
    host: str = "127.0.0.1"
    port: int = Field(default=1883, ge=1, le=65535)
    username: str | None = None
    password: SecretStr | None = None
    tls: bool = False
    ca_file: Path | None = None
    client_id: str | None = None
    keepalive_s: int = Field(default=30, ge=5, le=600)


class HubConfig(_Section):
    hub: HubSection
    mqtt: MqttSection = Field(default_factory=MqttSection)

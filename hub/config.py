"""The hub's TOML config (see config/hub.example.toml)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from protocols.mqtt_settings import MqttSettings
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


MqttSection = MqttSettings


class HubConfig(_Section):
    hub: HubSection
    mqtt: MqttSection = Field(default_factory=MqttSection)

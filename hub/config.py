"""The hub's TOML config (see config/hub.example.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.broker.config import BrokerSection
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
    #: the key that seals gate keys in the database (0600, made on first use); keep it
    #: out of database backups. Default: hub.key beside db_path
    secret_file: Path | None = None

    @property
    def secret_path(self) -> Path:
        return self.secret_file or self.db_path.parent / "hub.key"
    #: TLS proxies whose X-Forwarded-Proto/-For the hub believes (uvicorn's forwarded_allow_ips);
    #: empty: none, so no client can claim https or another address
    forwarded_allow_ips: list[str] = Field(default_factory=list)
    #: the origin browsers see behind a proxy ("https://gate.example.org"): accepted in Origin
    public_origin: str | None = Field(default=None, pattern=r"^https?://[^/\s?#]+$")
    #: a browser session ends after this long unused, and this long after sign-in in any case
    session_idle_minutes: int = Field(default=120, ge=5, le=24 * 60)
    session_hours: int = Field(default=12, ge=1, le=14 * 24)
    #: what the pages speak to someone who has not chosen (each person's choice is kept):
    #: zh_Hans (Simplified Chinese), zh_Hant (Traditional Chinese) or en
    language: Literal["zh_Hans", "zh_Hant", "en"] = "zh_Hans"
    #: the estate's timezone (an IANA name), taken by a new estate's calendar when the hub
    #: first starts on an empty database; from then on it is the calendar's, changed through
    #: PUT /api/v1/access/calendar
    timezone: str = Field(default="Asia/Shanghai", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (an IANA name such as Asia/Shanghai)") from None
        return v

    @field_validator("site")
    @classmethod
    def _site_is_a_topic_level(cls, v: str) -> str:
        return check_name("site", v)


MqttSection = MqttSettings


class HubConfig(_Section):
    hub: HubSection
    mqtt: MqttSection = Field(default_factory=MqttSection)
    #: the estate CA and the broker's password and ACL files (hub.broker); optional
    broker: BrokerSection | None = None

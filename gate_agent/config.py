"""The agent's TOML config (the [agent], [mqtt] and [[doors]] tables of DESIGN.md).

Unknown keys are refused so that a typo at install time is an error naming the key, not a
door that silently ignores its exit button.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from drivers.config import InputConfig, ReaderConfig, RelayConfig
from protocols.commands import KEY_BYTES
from protocols.configfile import load_toml
from protocols.mqtt_settings import MqttSettings
from protocols.topics import check_name

_HEX_KEY = re.compile(rf"^[0-9a-fA-F]{{{KEY_BYTES * 2}}}$")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AgentSection(_Section):
    gate_id: str
    site: str
    data_dir: Path
    #: "gate" opens doors; "enroll" is a desk reader at the card centre: every read is a
    #: "presented" event for the clerk's page, and nothing is ever opened.
    role: Literal["gate", "enroll"] = "gate"
    #: the per-gate key printed by `gate-hub gate add`: every message to and from the hub is
    #: signed with it (a key the hub pushed since is kept in data_dir: gate_agent.keys)
    gate_key: SecretStr
    heartbeat_s: float = Field(default=30.0, ge=0.2, le=3600)

    @field_validator("gate_id")
    @classmethod
    def _gate_is_topic_level(cls, v: str) -> str:
        return check_name("gate_id", v)

    @field_validator("site")
    @classmethod
    def _site_is_topic_level(cls, v: str) -> str:
        return check_name("site", v)

    @field_validator("gate_key")
    @classmethod
    def _key_is_hex(cls, v: SecretStr) -> SecretStr:
        if not _HEX_KEY.match(v.get_secret_value()):
            raise ValueError(f"gate_key must be {KEY_BYTES * 2} hex digits (from `gate-hub gate add`)")
        return v


class MqttSection(MqttSettings):
    #: reconnect backoff doubles from 1 s up to this
    reconnect_max_s: int = Field(default=30, ge=1, le=600)


class DoorConfig(_Section):
    id: str
    relay: RelayConfig | None = None
    readers: list[ReaderConfig] = Field(default_factory=list)
    #: a GPIO pin (as before) or a Modbus RTU discrete input (drivers.config.InputConfig)
    contact: InputConfig | None = None
    exit_button: InputConfig | None = None
    #: the contact may stay open this long after a grant before a door_held event
    held_open_s: float = Field(default=30.0, gt=0, le=3600)
    #: "card": cards flagged anti_passback in the ACL; "always": every card; "off": none.
    #: Only for doors with both an "in" and an "out" reader, or nobody gets out again.
    anti_passback: Literal["off", "card", "always"] = "card"

    @field_validator("id")
    @classmethod
    def _door_is_name(cls, v: str) -> str:
        return check_name("door id", v)


class AgentConfig(_Section):
    agent: AgentSection
    mqtt: MqttSection = Field(default_factory=MqttSection)
    doors: list[DoorConfig] = Field(min_length=1)

    @model_validator(mode="after")
    def _doors_fit_role(self) -> "AgentConfig":
        seen: set[str] = set()
        for i, door in enumerate(self.doors):
            if door.id in seen:
                raise ValueError(f"doors.{i}.id: door id {door.id!r} is used twice")
            seen.add(door.id)
            if self.agent.role == "gate" and door.relay is None:
                raise ValueError(f"missing key 'doors.{i}.relay': a gate door needs a relay")
            if self.agent.role == "enroll" and door.relay is not None:
                raise ValueError(f"doors.{i}.relay: an enrolment station opens nothing; remove the relay")
            if not door.readers and door.exit_button is None and door.contact is None:
                raise ValueError(f"doors.{i}.readers: a door needs at least one reader")
        return self

    def door(self, door_id: str) -> DoorConfig | None:
        return next((d for d in self.doors if d.id == door_id), None)


def reader_name(door_id: str, index: int) -> str:
    """The name a reader goes by in events and logs: the door and its position in the config."""
    return f"{door_id}/{index}"


def load_config(path: str | Path) -> AgentConfig:
    """Raises protocols.configfile.ConfigError whose text names the bad key."""
    return load_toml(path, AgentConfig)

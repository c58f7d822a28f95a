"""The hub config's ``[broker]`` table: where the hub keeps the estate CA and writes the
files mosquitto reads. Absent, the hub makes no broker files (a demo, a test, an estate
that runs its broker another way)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict


class BrokerSection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    #: the CA, the broker's certificate, its password and ACL files, each gate's files
    pki_dir: Path
    #: the group mosquitto runs as: it must read passwd, acl and server.key (mode 0640)
    group: str | None = "mosquitto"

"""A whole site in one test: a real hub (uvicorn + SQLite file) and real gate agents, on a
real broker. Each site gets its own name so retained messages never leak between tests."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import httpx

from gate_agent.agent import GateAgent
from gate_agent.config import AgentConfig
from hub.app import RunningHub, start_hub
from hub.auth import create_token
from hub.config import HubConfig
from hub.gates import acl
from hub.gates.service import register_gate
from protocols.signing import signed_bytes
from tests.rigs.broker import free_port
from tests.rigs.wait import wait_for


def hub_config(tmp_path: Path, broker) -> HubConfig:
    return HubConfig.model_validate({
        "hub": {"site": "s" + uuid.uuid4().hex[:8], "db_path": str(tmp_path / "hub.db"),
                "http_host": "127.0.0.1", "http_port": free_port(), "language": "en", "timezone": "UTC"},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5},
    })


def start(tmp_path: Path, broker) -> RunningHub:
    running = start_hub(hub_config(tmp_path, broker))
    running.site = running.app.state.config.hub.site
    return running


def client(hub: RunningHub, role: str = "admin") -> httpx.Client:
    token = create_token(hub.store, role, f"e2e-{role}")
    return httpx.Client(base_url=hub.url, headers={"Authorization": f"Bearer {token}"}, timeout=10)


def register(hub: RunningHub, gate_id: str) -> str:
    """Register a gate at the hub as `gate-hub gate add` does; its key, hex."""
    return register_gate(hub.store, gate_id, "test", secret_file=hub.app.state.config.hub.secret_path)


def signed(site: str, key: str, msg: Any, channel: str) -> bytes:
    """A wire message signed as a gate (or the hub) signs it, ready to publish."""
    return signed_bytes(msg, key, site, channel)


def agent_config(
    site: str, gate_id: str, data_dir: Path, broker, doors: list[dict[str, Any]], *, gate_key: str, **agent: Any
) -> AgentConfig:
    return AgentConfig.model_validate({
        "agent": {"gate_id": gate_id, "site": site, "data_dir": str(data_dir), "heartbeat_s": 0.5,
                  "gate_key": gate_key, **agent},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5, "reconnect_max_s": 1},
        "doors": doors,
    })


def sim_door(door_id: str, pulse_ms: int = 200) -> dict[str, Any]:
    return {"id": door_id, "relay": {"kind": "sim", "pulse_ms": pulse_ms}, "readers": [{"kind": "sim", "direction": "in"}]}


def in_step(hub: RunningHub, agent: GateAgent, timeout: float = 5.0, what: str = "the agent at the hub's revision") -> tuple[int, str]:
    """Wait until the agent holds exactly the hub's list for its gate (revision and checksum)."""
    gate_id = agent.config.agent.gate_id

    def same() -> tuple[int, str] | None:
        with hub.store.read() as db:
            head = acl.head(db, gate_id)
        return head if (agent.acl.state.rev, agent.acl.state.checksum) == head and head[0] > 0 else None

    return wait_for(same, timeout=timeout, what=what)


def passes(api: httpx.Client, limit: int = 500) -> list[dict]:
    r = api.get("/api/v1/events", params={"limit": limit})
    r.raise_for_status()
    body = r.json()
    items = body["items"] if isinstance(body, dict) else body
    return [e for e in items if e.get("kind", "pass") == "pass"]

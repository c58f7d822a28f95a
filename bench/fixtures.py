"""Data and real parts the benchmarks set up: an estate-sized card list, a gate's cache
filled with it, a private mosquitto, a gate agent on pty serial lines.

The card list looks like the estate's: mostly owners, family and tenants (any door, any
time), some cards revoked, lost or suspended, domestic helpers and renovation workers with
a schedule and an end date, a few cards limited to some doors.
"""

from __future__ import annotations

import random
import uuid
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from bench.common import ROOT  # noqa: F401  (puts the project on sys.path)
from protocols.acl import AclEntry, Schedule, TimeWindow, checksum_of
from protocols.cards import CardStatus, CardType
from protocols.messages import AclUpdate

N_CARDS = 30_000
GATE = "north"
DOOR = "north-in"

#: weekdays 08:00-18:00 and Saturday mornings, Hong Kong time; closed on two holidays
WORK_HOURS = Schedule(
    timezone="Asia/Hong_Kong",
    windows=(TimeWindow(days=(0, 1, 2, 3, 4), start=time(8), end=time(18)),
             TimeWindow(days=(5,), start=time(8), end=time(12))),
    holidays=(datetime(2026, 12, 25).date(), datetime(2027, 1, 1).date()),
)


def uid_of(i: int) -> str:
    """An EM4100-style UID: version byte 0A and 4 data bytes."""
    return f"0A{i:08X}"


def entries(n: int = N_CARDS, seed: int = 7) -> list[AclEntry]:
    rnd = random.Random(seed)
    now = datetime(2026, 11, 24, tzinfo=timezone.utc)
    out = []
    for i in range(n):
        r = rnd.random()
        kw: dict[str, Any] = {"uid": uid_of(i), "status": CardStatus.ACTIVE, "card_type": CardType.OWNER}
        if r < 0.55:
            kw["card_type"] = CardType.OWNER
        elif r < 0.80:
            kw["card_type"] = CardType.RESIDENT
        elif r < 0.90:
            kw["card_type"] = CardType.TENANT
            kw["valid_until"] = now + timedelta(days=rnd.randint(30, 700))
        elif r < 0.95:
            kw["card_type"] = CardType.DOMESTIC_HELPER
            kw["schedule"] = WORK_HOURS
            kw["valid_until"] = now + timedelta(days=rnd.randint(30, 700))
        else:
            kw["card_type"] = CardType.RENOVATION_WORKER
            kw["schedule"] = WORK_HOURS
            kw["doors"] = (DOOR,)
            kw["valid_from"] = now - timedelta(days=10)
            kw["valid_until"] = now + timedelta(days=rnd.randint(10, 90))
        s = rnd.random()
        if s < 0.04:
            kw["status"] = CardStatus.REVOKED
        elif s < 0.06:
            kw["status"] = CardStatus.LOST
        elif s < 0.07:
            kw["status"] = CardStatus.SUSPENDED
        kw["anti_passback"] = rnd.random() < 0.02
        out.append(AclEntry(**kw))
    return out


def snapshot_updates(items: list[AclEntry], rev: int = 1, gate_id: str = GATE, chunk: int = 500) -> list[AclUpdate]:
    """The chunks a hub would send for ``items`` (what hub.gates.acl.snapshot builds)."""
    checksum = checksum_of(items)
    parts = [items[i:i + chunk] for i in range(0, len(items), chunk)] or [[]]
    sid = uuid.uuid4().hex
    return [AclUpdate(gate_id=gate_id, kind="snapshot", rev=rev, checksum=checksum, upserts=tuple(p),
                      snapshot_id=sid, chunk=i, chunks=len(parts)) for i, p in enumerate(parts)]


def filled_cache(data_dir: Path, items: list[AclEntry], gate_id: str = GATE) -> None:
    """A gate's acl.db holding ``items`` at rev 1, written through the agent's own store."""
    from gate_agent.acl_store import AclStore, Applied

    store = AclStore(data_dir, gate_id)
    try:
        results = [store.apply(u) for u in snapshot_updates(items, gate_id=gate_id)]
        if results[-1] != Applied.APPLIED or store.state.count != len(items):
            raise RuntimeError(f"cache not filled: {results[-1]}, {store.state.count} entries")
    finally:
        store.close()


def broker(workdir: Path, extra_conf: str = ""):
    """A private mosquitto configured as config/mosquitto.conf queues (no per-client cap)."""
    from tests.rigs.broker import Mosquitto

    workdir.mkdir(parents=True, exist_ok=True)
    conf = extra_conf or "allow_anonymous true\nmax_queued_messages 0\nmax_queued_bytes 0\n"
    return Mosquitto(workdir, extra_conf=conf).start()


#: the key of a gate that talks to no hub (the tap bench); gates at a hub get theirs from it
KEY = "b0" * 32


def agent_config(site: str, data_dir: Path, broker, doors: list[dict[str, Any]], gate_id: str = GATE,
                 gate_key: str = KEY):
    from gate_agent.config import AgentConfig

    return AgentConfig.model_validate({
        "agent": {"gate_id": gate_id, "site": site, "data_dir": str(data_dir), "heartbeat_s": 30,
                  "gate_key": gate_key},
        "mqtt": {"host": broker.host, "port": broker.port, "keepalive_s": 5, "reconnect_max_s": 1},
        "doors": doors,
    })


def serial_door(reader_path: str, relay_path: str, pulse_ms: int = 50) -> dict[str, Any]:
    return {
        "id": DOOR,
        "relay": {"kind": "lcus-serial", "port": relay_path, "channel": 1, "pulse_ms": pulse_ms},
        "readers": [{"kind": "em4100-serial", "port": reader_path, "direction": "in"}],
    }


def site_name() -> str:
    return "b" + uuid.uuid4().hex[:8]

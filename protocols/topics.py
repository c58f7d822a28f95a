"""The MQTT topic scheme, in one place.

    gatehouse/v1/{site}/gate/{gate_id}/status   agent -> hub, retained, also the last will
    gatehouse/v1/{site}/gate/{gate_id}/event    agent -> hub, QoS 1, from the outbox
    gatehouse/v1/{site}/gate/{gate_id}/sync     agent -> hub, "I hold revision N, checksum C"
    gatehouse/v1/{site}/gate/{gate_id}/acl      hub -> agent, QoS 1, ACL deltas and snapshot chunks
    gatehouse/v1/{site}/gate/{gate_id}/cmd      hub -> agent, QoS 1, never retained, signed
    gatehouse/v1/{site}/hub/status              hub, retained, also the hub's last will

The gate id sits at a fixed level so that a broker ACL can pin each gate's login to its
own topics (mosquitto: ``pattern write gatehouse/v1/+/gate/%u/event``). The version is
in the topic so that a v2 agent and a v1 hub never misread each other.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

ROOT = "gatehouse"
VERSION = "v1"

GateChannel = Literal["status", "event", "sync", "acl", "cmd"]
GATE_CHANNELS: tuple[str, ...] = ("status", "event", "sync", "acl", "cmd")
FROM_GATE: tuple[str, ...] = ("status", "event", "sync")
TO_GATE: tuple[str, ...] = ("acl", "cmd")

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class BadTopic(ValueError):
    """A topic outside the scheme, or a site or gate id that cannot be a topic level."""


def check_name(kind: str, value: str) -> str:
    """Site, gate and door ids become topic levels and broker user names: no wildcards or slashes."""
    if not isinstance(value, str) or not _NAME.match(value):
        raise BadTopic(
            f"{kind} {value!r} must be 1-64 letters, digits, '.', '_' or '-', starting with a letter or digit"
        )
    return value


def gate_topic(site: str, gate_id: str, channel: GateChannel) -> str:
    if channel not in GATE_CHANNELS:
        raise BadTopic(f"unknown gate channel {channel!r}")
    return f"{ROOT}/{VERSION}/{check_name('site', site)}/gate/{check_name('gate_id', gate_id)}/{channel}"


def hub_status_topic(site: str) -> str:
    return f"{ROOT}/{VERSION}/{check_name('site', site)}/hub/status"


def all_gates_filter(site: str, channel: GateChannel) -> str:
    """The subscription the hub makes for one channel of every gate."""
    return f"{ROOT}/{VERSION}/{check_name('site', site)}/gate/+/{channel}"


@dataclass(frozen=True)
class GateTopic:
    site: str
    gate_id: str
    channel: str


def parse_gate_topic(topic: str) -> GateTopic:
    """Split a gate topic; raises BadTopic for anything outside the scheme."""
    parts = topic.split("/")
    if len(parts) != 6 or parts[0] != ROOT or parts[1] != VERSION or parts[3] != "gate":
        raise BadTopic(f"not a {ROOT}/{VERSION} gate topic: {topic!r}")
    site, gate_id, channel = parts[2], parts[4], parts[5]
    check_name("site", site)
    check_name("gate_id", gate_id)
    if channel not in GATE_CHANNELS:
        raise BadTopic(f"unknown gate channel {channel!r} in {topic!r}")
    return GateTopic(site, gate_id, channel)

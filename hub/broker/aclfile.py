"""mosquitto's ACL file, from the list of gates that hold a broker login.

Each login gets its own ``user`` block naming the estate's site (never ``+``), so a gate
may publish only its own status, events and sync requests and hear only its own list and
commands, and a login the hub did not make (or a retired gate's) is granted nothing.
"""

from __future__ import annotations

from typing import Iterable

from protocols.topics import FROM_GATE, TO_GATE, all_gates_filter, gate_topic, hub_status_topic

HEADER = "# Written by gate-hub from its database; edits are lost. Rewrite: gate-hub broker write"


def render(site: str, hub_user: str, gate_ids: Iterable[str]) -> str:
    lines = [HEADER, "", f"user {hub_user}"]
    lines += [f"topic read {all_gates_filter(site, ch)}" for ch in FROM_GATE]
    lines += [f"topic write {all_gates_filter(site, ch)}" for ch in TO_GATE]
    lines.append(f"topic readwrite {hub_status_topic(site)}")
    for gate_id in sorted(set(gate_ids)):
        lines += ["", f"user {gate_id}"]
        lines += [f"topic write {gate_topic(site, gate_id, ch)}" for ch in FROM_GATE]  # type: ignore[arg-type]
        lines += [f"topic read {gate_topic(site, gate_id, ch)}" for ch in TO_GATE]  # type: ignore[arg-type]
        lines.append(f"topic read {hub_status_topic(site)}")
    return "\n".join(lines) + "\n"

"""The fresh process of bench.sync's 100,000-card apply: ``python -m bench.fresh_apply MODE
WIRE DIR GATE SITE KEY`` prints its figures as one JSON line.

Its own small module so that the process loads what a gate agent loads and nothing else:
importing bench.sync (the hub, its database, the test rigs) alone peaks at 130 MB, which
would hide the apply's own peak.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import time
from pathlib import Path


def memory_mb() -> tuple[float, float]:
    """(RSS now, peak RSS) of this process in MB, from /proc/self/status."""
    fields = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024
    return fields["VmRSS"], fields["VmHWM"]


def gate(wire: Path, data_dir: Path, gate_id: str, site: str, key: str) -> int:
    """Every chunk as ``GateAgent._on_acl`` takes it: parsed, its entries serialised once,
    its signature checked over those texts, applied with them."""
    from gate_agent.acl_store import AclStore, Applied
    from protocols.acl import canonical_texts
    from protocols.messages import AclUpdate, parse
    from protocols.signing import verify

    store = AclStore(data_dir, gate_id)
    result = None
    with wire.open("rb") as f:
        for line in f:
            update = parse(AclUpdate, line.rstrip(b"\n"))
            texts = canonical_texts(update.upserts)
            verify(update, [key], site, "acl", gate_id=gate_id, listed=("upserts", texts))
            result = store.apply(update, texts=texts)
    count = store.state.count
    store.close()
    if result != Applied.APPLIED:
        raise SystemExit(f"the last chunk gave {result}")
    return count


def baseline(wire: Path, data_dir: Path) -> int:
    """The least a gate that stages on disk must do: read each chunk, hash each entry's
    JSON, insert the rows (a transaction per chunk, fsync'd as the gate's are)."""
    conn = sqlite3.connect(str(data_dir / "bare.db"), isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("CREATE TABLE entries (uid TEXT PRIMARY KEY, body TEXT NOT NULL)")
    acc = 0
    with wire.open("rb") as f:
        for line in f:
            rows = []
            for e in json.loads(line)["upserts"]:
                text = json.dumps(e, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
                acc ^= int.from_bytes(hashlib.sha256(text.encode()).digest(), "big")
                rows.append((e["uid"], text))
            conn.execute("BEGIN")
            conn.executemany("INSERT INTO entries (uid, body) VALUES (?, ?)", rows)
            conn.execute("COMMIT")
    (count,) = conn.execute("SELECT COUNT(*) FROM entries").fetchone()
    conn.close()
    return count


def main(argv: list[str]) -> dict:
    mode, wire, data_dir, gate_id, site, key = argv
    import gate_agent.agent  # noqa: F401  (what an agent has loaded before its first chunk)

    rss0, _ = memory_mb()
    t0 = time.perf_counter()
    if mode == "gate":
        count = gate(Path(wire), Path(data_dir), gate_id, site, key)
    else:
        count = baseline(Path(wire), Path(data_dir))
    seconds = time.perf_counter() - t0
    rss1, peak = memory_mb()
    return {"seconds": seconds, "count": count, "rss_start_mb": rss0, "rss_end_mb": rss1, "peak_mb": peak}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1:])))

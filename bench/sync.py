"""ACL sync: the hub's snapshot of a 30,000-card list, the gate's atomic apply of it, and an
offline gate catching up through a real hub and mosquitto.

In process: hub.gates.acl.snapshot on a hub file holding 30,000 issued cards; the chunks
to bytes and back (what crosses the broker); AclStore.apply of every chunk into an empty
cache (staged chunk by chunk, swapped in whole). Baseline: protocols.acl.checksum_of over
the same 30,000 entries, the least work either side must do with the whole list.

Through a real hub and broker (a GateAgent with a simulated door): a new gate with an
empty cache receiving the whole list; the same gate restarted with nothing to catch up
(the baseline: start, connect, say its revision); offline through 1,000 changes on 250
cards (a delta); offline through 700 new cards and 300 revocations (more than 500 cards
changed, so the hub sends the whole list again).

A new gate's apply of a 100,000-card snapshot (the estate mix, signed chunks on the wire),
each in a fresh Python process importing the agent: every chunk parsed, its signature
checked and applied as ``GateAgent._on_acl`` does, timed from the first chunk to the list
in place, with the process's peak RSS (VmHWM) and its RSS afterwards. Baseline, same run,
same imports and same chunks: ``json.loads`` of each chunk, SHA-256 of each entry's JSON and
a bare SQLite insert of the rows, a transaction per chunk (the least a gate that stages on
disk must do).
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from bench import fixtures
from bench.common import ROOT, Result, ratio
from bench.hubfiles import CACHE, cached_db, copy_db
from gate_agent.acl_store import AclStore, Applied
from gate_agent.agent import GateAgent
from hub.cards import moves
from hub.db import Store
from hub.gates import acl
from hub.gates.snapshots import snapshot_payloads
from protocols.acl import checksum_of, listed
from protocols.messages import MAX_PAYLOAD, AclUpdate, parse
from protocols.signing import sign
from tests.rigs import stack

NAME = "sync"
TITLE = "ACL snapshot, apply and catch-up"

WHO = "bench"


def _card(i: int) -> dict:
    return {"uid": fixtures.uid_of(i), "card_type": "owner", "holder": {"name": f"Holder {i}", "unit": "A-12-03"}}


def seeded_hub_db(n: int = fixtures.N_CARDS) -> tuple[Path, float]:
    """A hub database with gate north and ``n`` owner cards issued through the hub's own
    issue path; built once per schema and copied for each run. (path, build s or 0 if cached)."""
    def build(store: Store) -> None:
        with store.tx() as db:
            acl.ensure_gate(db, fixtures.GATE)
            for i in range(n):
                moves.issue_card(store, WHO, _card(i))

    return cached_db(f"hub-{n}", build)


#: cards in the fresh-process apply: the estate's goal (issue 10) is under 80 MB and 3 s
BIG = 100_000
BIG_SITE = "bench"


def listed_updates(items: list, rev: int = 1) -> list[AclUpdate]:
    """The snapshot chunks a hub sends for ``items``: entries in the listed form (schedules
    by id), each chunk carrying the schedules its own entries name."""
    out, schedules = [], {}
    for e in items:
        item, schedule = listed(e)
        out.append(item)
        if schedule is not None:
            schedules[item.schedule] = schedule
    return [u.model_copy(update={"schedules": {e.schedule: schedules[e.schedule] for e in u.upserts if e.schedule}})
            for u in fixtures.snapshot_updates(out, rev=rev)]


def big_wire(path: Path, n: int = BIG) -> int:
    """``n`` estate-mix entries as the signed snapshot chunks a hub sends, one payload a line
    (built here, so the measured processes never hold the list). Returns the chunk count."""
    updates = listed_updates(fixtures.entries(n), rev=1)
    with path.open("wb") as f:
        for u in updates:
            f.write(sign(u, fixtures.KEY, BIG_SITE, "acl").to_bytes() + b"\n")
    return len(updates)


def apply_in_child(mode: str, wire: Path, data_dir: Path) -> dict:
    """bench.fresh_apply in a fresh process (``gate`` or ``baseline``): its figures."""
    data_dir.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-m", "bench.fresh_apply", mode, str(wire), str(data_dir),
                           fixtures.GATE, BIG_SITE, fixtures.KEY],
                          cwd=ROOT, capture_output=True, text=True, check=False, timeout=600)
    if proc.returncode != 0:
        raise AssertionError(f"{mode} apply failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _timed_start(hub, broker, data_dir: Path, timeout: float) -> tuple[GateAgent, float]:
    t0 = time.perf_counter()
    agent = GateAgent(fixtures.agent_config(hub.site, data_dir, broker, [{
        "id": fixtures.DOOR, "relay": {"kind": "sim", "pulse_ms": 200},
        "readers": [{"kind": "sim", "direction": "in"}]}], gate_key=hub.gate_key))
    agent.start()
    stack.in_step(hub, agent, timeout=timeout, what="the gate at the hub's revision and checksum")
    return agent, time.perf_counter() - t0


def run(workdir: Path) -> Result:
    src, built_s = seeded_hub_db()
    db_path = workdir / "hub" / "hub.db"
    copy_db(src, db_path)

    # -- in process ------------------------------------------------------------------------
    store = Store.open(db_path)
    t0 = time.perf_counter()
    with store.read() as db:
        chunks = acl.snapshot(db, fixtures.GATE)
    snap_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    by_models = [sign(u, fixtures.KEY, BIG_SITE, "acl").to_bytes() for u in chunks]
    models_s = snap_s + time.perf_counter() - t0
    t0 = time.perf_counter()
    by_texts = snapshot_payloads(store, fixtures.GATE, fixtures.KEY, BIG_SITE)
    texts_s = time.perf_counter() - t0
    store.close()
    def same(payloads: list[bytes]) -> list[tuple]:
        return [(u.rev, u.checksum, u.chunk, u.chunks, u.upserts) for u in (parse(AclUpdate, b) for b in payloads[:3])]

    if by_texts is None or same(by_texts) != same(by_models):
        raise AssertionError("the chunks signed over the stored texts are not the model path's")
    entries = [e for u in chunks for e in u.upserts]
    t0 = time.perf_counter()
    checksum = checksum_of(entries)
    base_s = time.perf_counter() - t0
    if checksum != chunks[0].checksum:
        raise AssertionError("the hub's snapshot checksum is not checksum_of its entries")
    t0 = time.perf_counter()
    wire = [u.to_bytes() for u in chunks]
    to_bytes_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    parsed = [parse(AclUpdate, b) for b in wire]
    parse_s = time.perf_counter() - t0
    gate = AclStore(workdir / "fresh", fixtures.GATE)
    t0 = time.perf_counter()
    results = [gate.apply(u) for u in parsed]
    apply_s = time.perf_counter() - t0
    if results[-1] != Applied.APPLIED or gate.state.count != len(entries):
        raise AssertionError(f"apply gave {results[-1]} with {gate.state.count} entries")
    gate.close()
    mix = listed_updates(fixtures.entries())
    mix_max = max(len(u.to_bytes()) for u in mix)

    # -- a 100,000-card snapshot into a new gate, each side in a fresh process --------------
    big = workdir / "big.jsonl"
    big_chunks = big_wire(big)
    big_base = apply_in_child("baseline", big, workdir / "big-base")
    big_gate = apply_in_child("gate", big, workdir / "big-gate")
    if big_gate["count"] != BIG or big_base["count"] != BIG:
        raise AssertionError(f"the fresh gate holds {big_gate['count']} cards, the baseline {big_base['count']}")

    # -- through the hub -------------------------------------------------------------------
    broker = fixtures.broker(workdir / "mosquitto")
    try:
        cfg = stack.hub_config(workdir / "hub", broker)
        cfg.hub.db_path = db_path
        from hub.app import start_hub

        hub = start_hub(cfg)
        hub.site = cfg.hub.site
        hub.gate_key = stack.register(hub, fixtures.GATE)
        try:
            data_dir = workdir / "gate"
            agent, fresh_s = _timed_start(hub, broker, data_dir, 120)
            agent.stop()
            agent, idle_s = _timed_start(hub, broker, data_dir, 60)
            agent.stop()

            few = [fixtures.N_CARDS - 1 - i for i in range(250)]
            for _ in range(2):
                for i in few:
                    moves.suspend(hub.store, WHO, fixtures.uid_of(i), "bench")
                for i in few:
                    moves.resume(hub.store, WHO, fixtures.uid_of(i), "bench")
            agent, delta_s = _timed_start(hub, broker, data_dir, 60)
            agent.stop()

            for i in range(700):
                moves.issue_card(hub.store, WHO, _card(fixtures.N_CARDS + i))
            for i in range(300):
                moves.revoke(hub.store, WHO, fixtures.uid_of(i), "bench")
            agent, many_s = _timed_start(hub, broker, data_dir, 120)
            count = agent.acl.state.count
            agent.stop()
            if count != fixtures.N_CARDS + 700:
                raise AssertionError(f"the gate holds {count} cards")
        finally:
            hub.stop()
    finally:
        broker.stop()

    r = Result(NAME, TITLE, ["what", "cards", "seconds", "ratio vs baseline"])
    n = len(entries)
    r.add("baseline: checksum_of over the list", n, base_s, "1.00x")
    r.add("hub: acl.snapshot (read, parse, chunk)", n, snap_s, ratio(snap_s, base_s))
    r.add("hub, model path: acl.snapshot + sign + to_bytes, every chunk", n, models_s, ratio(models_s, base_s))
    r.add("hub, as it sends: snapshot_payloads (stored texts signed as they are)", n, texts_s,
          ratio(texts_s, base_s))
    r.add("wire: AclUpdate.to_bytes, all chunks", n, to_bytes_s, ratio(to_bytes_s, base_s))
    r.add("wire: parse(AclUpdate) at the gate, all chunks", n, parse_s, ratio(parse_s, base_s))
    r.add("gate: AclStore.apply of every chunk (stage + swap)", n, apply_s, ratio(apply_s, base_s))
    r.add("baseline: fresh process, json.loads + SHA-256 + bare SQLite insert", BIG, big_base["seconds"], "1.00x")
    r.add("gate: fresh process, parse + verify + AclStore.apply, every chunk", BIG, big_gate["seconds"],
          ratio(big_gate["seconds"], big_base["seconds"]))
    r.add("catch-up baseline: restart, nothing changed", n, idle_s, "1.00x")
    r.add("catch-up: 1,000 changes on 250 cards (delta)", n, delta_s, ratio(delta_s, idle_s))
    r.add("catch-up: 700 new + 300 revoked (whole list again)", n + 700, many_s, ratio(many_s, idle_s))
    r.add("new gate, empty cache: whole list via hub + broker", n, fresh_s, ratio(fresh_s, idle_s))
    r.key = apply_s
    r.key_label = "AclStore.apply s"
    r.notes.append(f"{len(chunks)} chunks of up to {acl.CHUNK} entries; largest on the wire "
                   f"{max(len(b) for b in wire):,} bytes (owner cards); with the estate mix "
                   f"(10% scheduled) {mix_max:,} bytes; the gate refuses any payload over {MAX_PAYLOAD:,}")
    r.notes.append(
        f"{BIG:,}-card apply in a fresh process ({big_chunks} signed chunks, estate mix): peak RSS (VmHWM) "
        f"{big_gate['peak_mb']:.0f} MB for the gate (RSS {big_gate['rss_start_mb']:.0f} MB with the agent "
        f"imported, {big_gate['rss_end_mb']:.0f} MB afterwards), {big_base['peak_mb']:.0f} MB for the baseline "
        f"(RSS {big_base['rss_start_mb']:.0f} MB at the start, {big_base['rss_end_mb']:.0f} MB afterwards)")
    if built_s:
        r.notes.append(f"hub database with {n:,} cards built through moves.issue_card in {built_s:.1f} s "
                       f"({built_s / n * 1000:.2f} ms per card), cached in {CACHE}")
    return r

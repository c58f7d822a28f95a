"""Run the benchmarks by hand: ``python -m bench`` (all) or ``python -m bench tap outbox``.

Each benchmark runs ``--runs`` times (3 by default), each run in a fresh Python process in
its own temporary folder, so threads, caches and files of one run never touch the next.
The load average is read just before each run. The run whose headline figure is the
median is the one reported, with the others listed beside it, because the machine is
shared and one run can land on someone else's test suite.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import ROOT, Result, fmt, loadavg, machine

BENCHMARKS = ["decide", "tap", "outbox", "ingest", "sync", "reads", "livepage", "year", "bulk_import", "newgate",
              "reproject", "qrpass", "alarms"]


def _child(name: str, out: Path) -> int:
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    module = importlib.import_module(f"bench.{name}")
    workdir = Path(tempfile.mkdtemp(prefix=f"gatehouse-bench-{name}-"))
    try:
        result: Result = module.run(workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    out.write_text(json.dumps(result.as_dict()))
    return 0


def _one(name: str, runs: int) -> dict:
    done = []
    for i in range(runs):
        load = loadavg()
        with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as f:
            out = Path(f.name)
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "bench", "--child", name, "--out", str(out)], cwd=ROOT, check=False)
        took = time.perf_counter() - t0
        if proc.returncode != 0:
            out.unlink(missing_ok=True)
            raise SystemExit(f"{name}: run {i + 1} failed (exit {proc.returncode})")
        result = Result.from_dict(json.loads(out.read_text()))
        out.unlink()
        done.append({"run": i + 1, "load": load, "seconds": took, "result": result})
        print(f"  {name} run {i + 1}/{runs}: {result.key_label} = {fmt(result.key)} "
              f"(load before: {load}; {took:.0f} s)", flush=True)
    order = sorted(done, key=lambda d: d["result"].key)
    chosen = order[len(order) // 2]
    return {"name": name, "runs": done, "median": chosen}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    p.add_argument("names", nargs="*", help=f"benchmarks to run (default all): {', '.join(BENCHMARKS)}")
    p.add_argument("--runs", type=int, default=3, help="runs per benchmark; the median run is reported")
    p.add_argument("--json", type=Path, help="also write every run's figures to this file")
    p.add_argument("--child", help=argparse.SUPPRESS)
    p.add_argument("--out", type=Path, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.child:
        return _child(a.child, a.out)
    names = a.names or BENCHMARKS
    unknown = [n for n in names if n not in BENCHMARKS]
    if unknown:
        p.error(f"no benchmark {', '.join(unknown)}; there are: {', '.join(BENCHMARKS)}")
    facts = machine()
    print("machine: " + "; ".join(f"{k} {v}" for k, v in facts.items()), flush=True)
    report = []
    for name in names:
        print(f"\n== {name}", flush=True)
        report.append(_one(name, a.runs))
    for item in report:
        m = item["median"]
        res: Result = m["result"]
        print(f"\n## {res.title} (`{res.name}`)\n")
        print(f"median of {len(item['runs'])} runs by {res.key_label}: run {m['run']}; "
              "load before each run: " + " | ".join(d["load"] for d in item["runs"]))
        print()
        print(res.markdown())
        for note in res.notes:
            print(f"\n- {note}")
    if a.json:
        a.json.write_text(json.dumps({"machine": facts, "benchmarks": [
            {"name": it["name"], "median_run": it["median"]["run"],
             "runs": [{"run": d["run"], "load": d["load"], "seconds": d["seconds"], "result": d["result"].as_dict()}
                      for d in it["runs"]]} for it in report]}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())

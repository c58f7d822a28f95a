"""What every benchmark shares: statistics, the result table, load and machine facts.

A benchmark is a module with ``NAME``, ``TITLE`` and ``run(workdir) -> Result``. It measures
its figures and a baseline in the same run, so the ratio holds even when the absolute
numbers move with the load other people put on the machine.
"""

from __future__ import annotations

import math
import os
import platform
import re
import sqlite3
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile: a value that was actually measured, never an interpolation."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = max(0, min(len(s) - 1, math.ceil(p / 100.0 * len(s)) - 1))
    return s[k]


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def loadavg() -> str:
    """uptime's three load averages, as uptime prints them."""
    one, five, fifteen = os.getloadavg()
    return f"{one:.2f}, {five:.2f}, {fifteen:.2f}"


def fmt(v: object) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "-"
        if abs(v) >= 1000:
            return f"{v:,.0f}"
        if abs(v) >= 100:
            return f"{v:.0f}"
        if abs(v) >= 10:
            return f"{v:.1f}"
        return f"{v:.2f}"
    if isinstance(v, int):
        return f"{v:,}"
    return str(v)


@dataclass
class Result:
    """One run of one benchmark: a table (the first row is normally the baseline), the one
    figure the runner sorts runs by to pick the median run, and notes."""

    name: str
    title: str
    columns: list[str]
    rows: list[list[object]] = field(default_factory=list)
    key: float = 0.0
    key_label: str = ""
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append(list(cells))

    def markdown(self) -> str:
        out = ["| " + " | ".join(self.columns) + " |", "|" + "|".join("---" for _ in self.columns) + "|"]
        for r in self.rows:
            out.append("| " + " | ".join(fmt(c) for c in r) + " |")
        return "\n".join(out)

    def as_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "columns": self.columns,
                "rows": [[c if isinstance(c, (int, float, str)) or c is None else str(c) for c in r] for r in self.rows],
                "key": self.key, "key_label": self.key_label, "notes": self.notes}

    @classmethod
    def from_dict(cls, d: dict) -> Result:
        return cls(d["name"], d["title"], d["columns"], d["rows"], d["key"], d["key_label"], d["notes"])


def ratio(value: float, base: float) -> str:
    if not base or math.isnan(base) or math.isnan(value):
        return "-"
    return f"{value / base:.2f}x"


def machine() -> dict[str, str]:
    """The facts BENCHMARKS.md notes about the machine the figures came from."""
    cpu = "?"
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = m.group(1).strip() if m else "?"
    except OSError:
        pass
    mem = "?"
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        mem = f"{int(m.group(1)) / 1024 / 1024:.1f} GiB" if m else "?"
    except OSError:
        pass
    try:
        mosq = subprocess.run(["mosquitto", "-h"], capture_output=True, text=True, timeout=5, check=False).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        mosq = "not found"
    return {
        "cpu": cpu,
        "cores": str(os.cpu_count()),
        "memory": mem,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "mosquitto": mosq.replace("mosquitto version ", ""),
        "kernel": platform.release(),
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
    }

"""Imports run off the event loop, stop at the row limit as they read, and cap what an XLSX
may unpack to (through a real served hub)."""

from __future__ import annotations

import gc
import threading
import time

import httpx
import pytest

from hub.errors import BadInput
from hub.people import importer

from .xlsx import claiming, many_rows

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _units_csv(rows: int) -> bytes:
    lines = ["building,floor,room"] + [f"B{i // 200},{i % 200},R{i}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


FULL = 8000  # rows of the dry run that keeps the hub busy (two or three seconds here)


def _healthz_during(url: str, work) -> tuple[object, list[float], float]:
    """Run ``work`` in a thread; meanwhile call /healthz every ~0.1 s. Returns its result, how
    long each /healthz that was answered while it ran took, and how long it ran."""
    health = httpx.Client(base_url=url, timeout=5)
    health.get("/healthz")  # connected before the clock starts
    result: list[object] = []
    done = threading.Event()

    def run() -> None:
        try:
            result.append(work())
        finally:
            done.set()

    began = time.monotonic()
    threading.Thread(target=run, daemon=True).start()
    times: list[float] = []
    gc.disable()  # this process's own collections would pause the measuring, not the hub (its own process)
    try:
        while not done.is_set():
            t0 = time.perf_counter()
            assert health.get("/healthz").status_code == 200
            if not done.is_set():
                times.append(time.perf_counter() - t0)
            done.wait(0.1)
    finally:
        gc.enable()
    took = time.monotonic() - began
    assert result, "the import request failed"
    return result[0], times, took


def test_a_million_row_xlsx_is_refused_while_healthz_keeps_answering(hub_process):
    million = many_rows(1_000_000)
    assert len(million) < 200 * 1024  # a small file: the size check alone lets it through
    h = {"Authorization": "Bearer " + hub_process.token("clerk")}

    def post(data: bytes, filename: str, ctype: str):
        return lambda: httpx.post(hub_process.url + "/api/v1/import/units", params={"dry_run": "true"}, headers=h,
                                  files={"file": (filename, data, ctype)}, timeout=120)

    refused, times, took = _healthz_during(hub_process.url, post(million, "units.xlsx", XLSX))
    assert refused.status_code == 422 and refused.json()["error"] == "too_many_rows"
    assert refused.json()["detail"] == f"more than {importer.MAX_ROWS} rows; split the file"
    assert took < 5, f"refusing took {took:.1f} s: reading did not stop at the row limit"
    _never_blocked(times, took)

    # the import itself as the slow part: a dry run of a large file (every row parsed, checked,
    # inserted and rolled back) takes seconds, and /healthz answers all along
    full, times, took = _healthz_during(hub_process.url, post(_units_csv(FULL), "units.csv", "text/csv"))
    assert full.status_code == 200 and full.json()["would_create"] == FULL, full.text[:300]
    assert len(times) >= 12, f"the import took {took:.2f} s: too quick for the check to mean anything"
    _never_blocked(times, took)


def _never_blocked(times: list[float], took: float) -> None:
    """A request held behind the import would wait for most of it: no /healthz waited for a
    third of it (or a second: a busy 2-core machine delays any request a little)."""
    bound = max(took / 3, 1.0)
    assert max(times, default=0.0) < bound, (
        f"/healthz took {max(times) * 1000:.0f} ms during an import of {took:.1f} s ({len(times)} calls)")


def test_reading_stops_at_the_row_limit():
    started = time.perf_counter()
    with pytest.raises(BadInput) as exc:
        importer.read_rows(many_rows(1_000_000), "units.xlsx")
    assert exc.value.rule == "too_many_rows"
    # reading all million rows takes tens of seconds here; the limit is reached in a fraction of that
    assert time.perf_counter() - started < 5
    with pytest.raises(BadInput) as exc:
        importer.read_rows(_units_csv(importer.MAX_ROWS + 1), "units.csv")
    assert exc.value.rule == "too_many_rows"
    header, rows = importer.read_rows(_units_csv(importer.MAX_ROWS), "units.csv")
    assert len(rows) == importer.MAX_ROWS


def test_an_xlsx_that_would_unpack_too_large_is_refused_before_it_is_opened():
    bomb = claiming(importer.MAX_PART_BYTES + 1)
    assert len(bomb) < 4096
    with pytest.raises(BadInput) as exc:
        importer.read_rows(bomb, "units.xlsx")
    assert exc.value.rule == "file_too_large" and "unpacked" in exc.value.detail
    with pytest.raises(BadInput) as exc:
        importer.read_rows(b"PK\x03\x04 not really a zip", "units.xlsx")
    assert exc.value.field == "file"

"""HTTP routes for the bulk card import, run as a job the client polls.

``POST /api/v1/cards/imports?dry_run=true|false`` (multipart ``file``: .csv or .xlsx, at most
hub.cards.bulk_import.MAX_BYTES) answers **202** with the job (``id``, ``state``, ``url``),
dry run or not, small file or big: one shape for the client (only a file over the cap is
refused at once: 422 ``file_too_large``, or 413 from the front door). ``GET
/api/v1/cards/imports/{id}`` answers the job as it stands: ``state`` (``reading``,
``checking``, ``writing``, then ``done``, ``refused``: bad rows, nothing written, or
``failed``: the file could not be read, with ``error``), rows ``checked`` and ``written``,
``counts`` per outcome and every bad row (``errors``: row, column, rule, detail).

``dry_run`` defaults to true: a real run must be asked for. One import runs at a time
(another is refused with 409 ``import_running``): an import of 100,000 rows takes seconds of
a core and a few hundred MB, and the hub has two cores. (Two overlapping files could not
both be written anyway: the write re-checks UIDs and receipts under the lock.) The import is a supervisor's act (admin always), as paper
moves are. Jobs are kept in memory (the last KEEP_JOBS); the import itself is in the
database and the audit log whatever becomes of its job record.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from typing import Any, Callable

from fastapi import APIRouter, Depends, File, Path, Query, Request, UploadFile
from fastapi.responses import JSONResponse

from hub.auth import Principal, Role, require
from hub.cards import bulk_import
from hub.db import Store
from hub.errors import BadInput, Conflict, DomainError, NotFound
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of

router = APIRouter(prefix="/api/v1/cards/imports", tags=["cards"])
_supervisor = require(Role.SUPERVISOR)

KEEP_JOBS = 50


@dataclass
class ImportJob:
    id: str
    who: str
    filename: str
    dry_run: bool
    state: str = "reading"
    rows: int | None = None
    checked: int = 0
    written: int = 0
    sha256: str | None = None
    counts: dict[str, Any] = field(default_factory=dict)
    errors: list[bulk_import.RowError] = field(default_factory=list)
    error: DomainError | dict[str, Any] | None = None
    started_at: str = field(default_factory=lambda: datetime.now(timezone.utc).isoformat())
    finished_at: str | None = None
    seconds: float | None = None

    def progress(self, stage: str, done: int) -> None:
        self.state = stage
        if stage == "checking":
            self.checked = done
        elif stage == "writing":
            self.written = done

    @property
    def running(self) -> bool:
        return self.finished_at is None

    def as_dict(self, say: Callable[[str], str] = str) -> dict[str, Any]:
        """The job as answered: its bad rows and its failure in the words of ``say`` (the reader's
        gettext; English without it), rules and fields as they are."""
        out = dict(self.__dict__)
        out["errors"] = [e.said(say) for e in self.errors]
        if isinstance(self.error, DomainError):
            out["error"] = {"error": self.error.rule, "detail": self.error.in_language(say), "field": self.error.field}
        out["url"] = f"{router.prefix}/{self.id}"
        return out


class ImportJobs:
    """The hub's import jobs: one running at a time, the last KEEP_JOBS remembered."""

    def __init__(self) -> None:
        self._jobs: OrderedDict[str, ImportJob] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, job_id: str) -> ImportJob:
        with self._lock:
            job = self._jobs.get(job_id)
        if job is None:
            raise NotFound("no import {job_id}", rule="unknown_import", field="id", job_id=job_id)
        return job

    def start(self, store: Store, who: str, data: bytes, filename: str, dry_run: bool) -> ImportJob:
        with self._lock:
            busy = [j for j in self._jobs.values() if j.running]
            if busy:
                raise Conflict("import {job_id} is still running: wait for it", rule="import_running", job_id=busy[0].id)
            job = ImportJob(secrets.token_hex(8), who, filename, dry_run)
            self._jobs[job.id] = job
            while len(self._jobs) > KEEP_JOBS:
                self._jobs.popitem(last=False)
        threading.Thread(target=run_job, args=(store, job, data), name=f"card-import-{job.id}", daemon=True).start()
        return job


def run_job(store: Store, job: ImportJob, data: bytes) -> None:
    """Check, then (unless a dry run) write; the job says how it went. Never raises."""
    began = time.perf_counter()
    try:
        table, checked = bulk_import.check_file(store, data, job.filename, progress=job.progress)
        job.rows, job.sha256 = len(table.rows), table.sha256
        _report(job, checked)
        if not checked.ok:
            job.state = "refused"
        elif job.dry_run:
            job.state = "done"
        else:
            bulk_import.write_cards(store, job.who, table, job.filename, checked, job.id, progress=job.progress)
            job.state = "done"
    except bulk_import.ImportRefused as exc:
        _report(job, exc.checked)
        job.written = 0
        job.state = "refused"
    except DomainError as exc:
        job.error = exc
        job.state = "failed"
    except Exception as exc:  # the job must end, whatever happened; the traceback goes to the log
        import logging

        logging.getLogger(__name__).exception("card import %s failed", job.id)
        job.error = {"error": "import_failed", "detail": type(exc).__name__, "field": None}
        job.written = 0
        job.state = "failed"
    finally:
        job.seconds = round(time.perf_counter() - began, 3)
        job.finished_at = datetime.now(timezone.utc).isoformat()


def _report(job: ImportJob, checked: bulk_import.Checked) -> None:
    job.counts = checked.counts()
    job.errors = list(checked.errors)


_made = threading.Lock()


def jobs_of(request: Request) -> ImportJobs:
    """The app's one job registry (made on first use, so hub.app needs no wiring for it)."""
    state = request.app.state
    with _made:
        jobs = getattr(state, "card_imports", None)
        if jobs is None:
            jobs = state.card_imports = ImportJobs()
    return jobs


@router.post("", status_code=202)
async def start_import(
    request: Request,
    file: UploadFile = File(..., description="the cards: .csv (UTF-8 or GBK) or .xlsx, one card a row"),
    dry_run: bool = Query(default=True, description="check only (the default); false: write, all rows or none"),
    who: Principal = Depends(_supervisor),
) -> JSONResponse:
    """Start an import (or its dry run); 202 with the job to poll at its ``url``."""
    data = await file.read(bulk_import.MAX_BYTES + 1)
    if len(data) > bulk_import.MAX_BYTES:
        raise BadInput("the file is larger than {mb} MB; split it",
                       field="file", rule="file_too_large", mb=bulk_import.MAX_BYTES // bulk_import.MB)
    job = jobs_of(request).start(request.app.state.store, who.who, data, file.filename or "", dry_run)
    answer = job.as_dict(partial(gettext, language_of(request)))
    return JSONResponse(answer, status_code=202, headers={"Location": answer["url"]})


@router.get("/{job_id}")
def import_status(request: Request, job_id: str = Path(max_length=32), _: Principal = Depends(_supervisor)) -> dict[str, Any]:
    """The job as it stands: state, rows checked and written, counts, every bad row."""
    return jobs_of(request).get(job_id).as_dict(partial(gettext, language_of(request)))

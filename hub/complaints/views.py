"""The complaints' HTTP API (JSON), as hub/complaints/API.md describes it; the pages build on it.

Who may do what: the desk (clerk), shift leaders, supervisors and the manager register,
forward and carry complaints through; a department's staff see only their department's
queue and sign, pause, resume and resolve its complaints; only the manager extends a
deadline (the service names the refusal ``extension_needs_manager``); supervisors and the
manager file a month. Admin may do everything.
"""

from __future__ import annotations

from functools import partial
from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request

from hub.auth import Principal, Role, require
from hub.complaints import followups, report, service
from hub.complaints.models import (AcceptIn, AnswerIn, CloseIn, ComplaintIn, ExtendIn, FollowupIn, ForwardIn, NoteIn,
                                   OfficeReportIn, PauseIn, ResolveIn, TellIn, ValidityIn)
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.params import MAX_ROW
from hub.web.downloads import download

router = APIRouter(prefix="/api/v1/complaints", tags=["complaints"])

_DESK = (Role.CLERK, Role.SHIFT_LEADER, Role.SUPERVISOR, Role.MANAGER)
_desk = require(*_DESK)
_all = require(*_DESK, Role.DEPARTMENT)
_filers = require(Role.SUPERVISOR, Role.MANAGER)

Id = Path(ge=1, le=MAX_ROW)
#: its own Path: FastAPI names a Path object after the first parameter it serves
FollowupId = Path(ge=1, le=MAX_ROW)


def _ctx(request: Request) -> service.Complaints:
    return request.app.state.complaints


@router.get("/meta")
def meta(request: Request, who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.meta(_ctx(request))


@router.post("", status_code=201)
def register(request: Request, body: ComplaintIn, who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.register(_ctx(request), who, body)


@router.get("")
def list_complaints(request: Request, state: str | None = Query(default=None, max_length=16),
                    department: str | None = Query(default=None, max_length=32),
                    severity: str | None = Query(default=None, pattern="^(major|general|minor)$"),
                    due: str | None = Query(default=None, pattern="^soon$"), late: bool | None = None,
                    unit: str | None = Query(default=None, max_length=64), q: str | None = Query(default=None, max_length=64),
                    escalation: int | None = Query(default=None, ge=1, le=3),
                    limit: int = Query(default=50, ge=1, le=service.MAX_LIST),
                    who: Principal = Depends(_all)) -> list[dict[str, Any]]:
    return service.list_complaints(_ctx(request), who, state=state, department=department, severity=severity,
                                   due=due, late=late, unit=unit, q=q, escalation=escalation, limit=limit)


@router.get("/followups")
def list_followups(request: Request, state: str | None = Query(default=None, max_length=8),
                   due: str | None = Query(default=None, pattern="^(soon|late)$"),
                   limit: int = Query(default=100, ge=1, le=service.MAX_LIST),
                   who: Principal = Depends(_desk)) -> list[dict[str, Any]]:
    return followups.list_followups(_ctx(request), who, state, due, limit)


@router.post("/followups/{followup_id}")
def record_followup(request: Request, body: FollowupIn, followup_id: int = FollowupId,
                    who: Principal = Depends(_desk)) -> dict[str, Any]:
    return followups.record_followup(_ctx(request), who, followup_id, body)


@router.get("/report/{month}")
def month_report(request: Request, month: str = Path(max_length=16), who: Principal = Depends(_desk)) -> Any:
    """JSON; ``2026-11.csv`` and ``2026-11.xlsx`` give the files, headings in the reader's language."""
    name, _, kind = month.partition(".")
    if kind not in ("", "csv", "xlsx"):
        kind, name = "", month  # refused by the month's check
    report.check_month(name)
    ctx = _ctx(request)
    with ctx.store.read() as db:
        fig = report.figures(db, ctx, name)
    say = partial(gettext, language_of(request))
    if kind == "csv":
        return download(report.to_csv(fig, say), f"complaints-{name}.csv", "csv")
    if kind == "xlsx":
        return download(report.to_xlsx(fig, say), f"complaints-{name}.xlsx", "xlsx")
    return fig


@router.post("/report/{month}/file")
def file_month(request: Request, month: str = Path(max_length=16), who: Principal = Depends(_filers)) -> dict[str, Any]:
    return report.file_month(_ctx(request), who.who, month)


@router.get("/{complaint_id}")
def get_complaint(request: Request, complaint_id: int = Id, who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.get(_ctx(request), who, complaint_id)


@router.get("/{complaint_id}/steps")
def get_steps(request: Request, complaint_id: int = Id, who: Principal = Depends(_all)) -> list[dict[str, Any]]:
    return service.steps(_ctx(request), who, complaint_id)


@router.post("/{complaint_id}/forward")
def forward(request: Request, body: ForwardIn, complaint_id: int = Id, who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.forward(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/sign")
def sign(request: Request, body: NoteIn | None = None, complaint_id: int = Id,
         who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.sign(_ctx(request), who, complaint_id, body or NoteIn())


@router.post("/{complaint_id}/answer")
def answer(request: Request, body: AnswerIn, complaint_id: int = Id, who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.answer(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/validity")
def validity(request: Request, body: ValidityIn, complaint_id: int = Id,
             who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.validity(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/pause")
def pause(request: Request, body: PauseIn, complaint_id: int = Id, who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.pause(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/resume")
def resume(request: Request, complaint_id: int = Id, who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.resume(_ctx(request), who, complaint_id)


@router.post("/{complaint_id}/extend")
def extend(request: Request, body: ExtendIn, complaint_id: int = Id, who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.extend(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/resolve")
def resolve(request: Request, body: ResolveIn, complaint_id: int = Id, who: Principal = Depends(_all)) -> dict[str, Any]:
    return service.resolve(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/tell")
def tell(request: Request, body: TellIn, complaint_id: int = Id, who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.tell(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/accept")
def accept(request: Request, body: AcceptIn, complaint_id: int = Id, who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.accept(_ctx(request), who, complaint_id, body)


@router.post("/{complaint_id}/close")
def close(request: Request, body: CloseIn | None = None, complaint_id: int = Id,
          who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.close(_ctx(request), who, complaint_id, body or CloseIn())


@router.post("/{complaint_id}/office-report")
def office_report(request: Request, body: OfficeReportIn, complaint_id: int = Id,
                  who: Principal = Depends(_desk)) -> dict[str, Any]:
    return service.office_report(_ctx(request), who, complaint_id, body)

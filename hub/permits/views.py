"""The renovation permits' HTTP API (hub/permits/API.md). The pages are built on it.

Who may do what: the renovation desk (clerk, supervisor, manager) applies and makes every
move; stopping work also needs the engineering department's approval, recorded in the
request, unless the engineering department (role ``engineering``) makes the move itself;
guards read. Admin may do everything.
"""

from __future__ import annotations

import json
from typing import Any

import sqlite_utils
from fastapi import APIRouter, Depends, Path, Query, Request

from hub.auth import Principal, Role, require
from hub.permits import access, moves
from hub.permits.models import ExitIn, ExtendIn, LostIn, NoteIn, PermitIn, ReasonIn, SuspendIn
from hub.permits.rules import document_no
from hub.people.registry import mask

router = APIRouter(prefix="/api/v1/permits", tags=["permits"])

_DESK = (Role.CLERK, Role.SUPERVISOR, Role.MANAGER, Role.ENGINEERING)
_desk = require(*_DESK)
_readers = require(*_DESK, Role.GUARD)

PermitNo = Path(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9\-]+$")


def _phone(phone: str | None) -> str | None:
    if not phone:
        return None
    digits = "".join(c for c in phone if c.isdigit())
    return digits[:3] + "*" * max(0, len(digits) - 7) + digits[-4:] if len(digits) > 7 else "*" * len(digits)


def public(db: sqlite_utils.Database, row: dict[str, Any]) -> dict[str, Any]:
    """A permit as the API shows it: phones masked, ID numbers by their last four."""
    manager = json.loads(row["site_manager"])
    cards = []
    for uid in access.card_uids(db, row["id"]):
        c = list(db.query("SELECT uid, holder_name, status, valid_until FROM cards WHERE uid = ?", [uid]))
        if c:
            cards.append({**c[0], "out": c[0]["status"] in moves.NOT_BACK})
    return {
        "permit_no": row["permit_no"], "state": row["state"], "unit": row["unit"],
        "applicant": json.loads(row["applicant"]), "company": row["company"],
        "site_manager": {"name": manager["name"], "phone": _phone(manager.get("phone"))},
        "workers": [{"name": w["name"], "id_doc_tail": (mask(w.get("id_doc_no")) or "")[-4:] or None}
                    for w in json.loads(row["workers"])],
        "period_from": row["period_from"], "period_until": row["period_until"],
        "hours": {"start": row["hours_start"], "end": row["hours_end"], "weekdays": json.loads(row["weekdays"])},
        "deposit": {"amount_cents": row["deposit_cents"], "receipt_no": row["deposit_receipt"],
                    "refund_on": row["refund_on"], "deductions_cents": row["deductions_cents"],
                    "deduction_reason": row["deduction_reason"]},
        "drawings": json.loads(row["drawings"]),
        "document": {"copy": row["document_copy"], "number": document_no(row["permit_no"], row["document_copy"]),
                     "lost": bool(row["document_lost"]), "loss_declaration_ref": row["loss_declaration_ref"]},
        "suspension": json.loads(row["suspension"]) if row["suspension"] else None,
        "exit": json.loads(row["exit_record"]) if row["exit_record"] else None,
        "end_reason": row["end_reason"],
        "passes": cards, "passes_out": [c["uid"] for c in cards if c["out"]],
        "approved_by": row["approved_by"], "approved_at": row["approved_at"],
        "created_by": row["created_by"], "created_at": row["created_at"], "updated_at": row["updated_at"],
    }


def _one(request: Request, permit_no: str) -> dict[str, Any]:
    with request.app.state.store.read() as db:
        row = moves._row(db, permit_no)
        return public(db, row)


@router.get("")
def list_permits(request: Request, state: str | None = Query(default=None, max_length=16),
                 unit: str | None = Query(default=None, max_length=64), q: str | None = Query(default=None, max_length=64),
                 limit: int = Query(default=50, ge=1, le=500), who: Principal = Depends(_readers)) -> dict[str, Any]:
    where, args = [], []
    if state:
        where.append("state = ?")
        args.append(state)
    if unit:
        where.append("unit = ?")
        args.append(unit.strip().upper())
    if q:
        where.append("(permit_no LIKE ? OR unit LIKE ? OR company LIKE ?)")
        args += [f"%{q.strip().upper()}%", f"{q.strip().upper()}%", f"%{q.strip()}%"]
    sql = "SELECT * FROM permits" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY id DESC LIMIT ?"
    with request.app.state.store.read() as db:
        return {"items": [public(db, r) for r in db.query(sql, [*args, limit])]}


@router.post("", status_code=201)
def apply(request: Request, body: PermitIn, who: Principal = Depends(_desk)) -> dict[str, Any]:
    return _one(request, moves.apply(request.app.state.store, who.who, body))


@router.get("/{permit_no}")
def get_permit(request: Request, permit_no: str = PermitNo, who: Principal = Depends(_readers)) -> dict[str, Any]:
    return _one(request, permit_no)


@router.get("/{permit_no}/history")
def permit_history(request: Request, permit_no: str = PermitNo, who: Principal = Depends(_readers)) -> dict[str, Any]:
    return {"items": moves.history(request.app.state.store, permit_no)}


@router.post("/{permit_no}/approve")
def approve(request: Request, body: NoteIn | None = None, permit_no: str = PermitNo,
            who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.approve(request.app.state.store, who.who, permit_no, body.note if body else None)
    return _one(request, permit_no)


@router.post("/{permit_no}/extend")
def extend(request: Request, body: ExtendIn, permit_no: str = PermitNo, who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.extend(request.app.state.store, who.who, permit_no, body)
    return _one(request, permit_no)


@router.post("/{permit_no}/suspend")
def suspend(request: Request, body: SuspendIn, permit_no: str = PermitNo,
            who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.suspend(request.app.state.store, who, permit_no, body)
    return _one(request, permit_no)


@router.post("/{permit_no}/resume")
def resume(request: Request, body: ReasonIn | None = None, permit_no: str = PermitNo,
            who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.resume(request.app.state.store, who.who, permit_no, body.reason if body else None)
    return _one(request, permit_no)


@router.post("/{permit_no}/report-lost")
def report_lost(request: Request, body: LostIn, permit_no: str = PermitNo,
                who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.report_lost(request.app.state.store, who.who, permit_no, body)
    return _one(request, permit_no)


@router.post("/{permit_no}/reissue")
def reissue(request: Request, body: ReasonIn | None = None, permit_no: str = PermitNo,
            who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.reissue(request.app.state.store, who.who, permit_no, body.reason if body else None)
    return _one(request, permit_no)


@router.post("/{permit_no}/exit")
def exit_permit(request: Request, body: ExitIn, permit_no: str = PermitNo,
                who: Principal = Depends(_desk)) -> dict[str, Any]:
    moves.exit_(request.app.state.store, who.who, permit_no, body)
    return _one(request, permit_no)

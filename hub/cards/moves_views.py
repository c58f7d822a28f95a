"""HTTP routes for the card moves beyond issue and revoke, and the clerk's full issue.

Every route needs the clerk or supervisor role (admin always). Bodies are strict: an
unknown key is a 422 naming it.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.auth import Principal, Role, require
from hub.cards import moves
from hub.cards.models import IssueCard
from hub.cards.lifecycle import allowed_moves
from protocols.cards import CardStatus

router = APIRouter(prefix="/api/v1/cards", tags=["card moves"])

_staff = require(Role.CLERK, Role.SUPERVISOR)
_supervisor = require(Role.SUPERVISOR)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Reason(_Body):
    reason: str | None = Field(default=None, max_length=500)


class Replace(_Body):
    reason: str | None = Field(default=None, max_length=500)
    replacement_uid: str | None = None
    fee_cents: int | None = Field(default=None, ge=0, le=100_000_000)
    receipt_no: str | None = Field(default=None, max_length=64)


class Return(_Body):
    refund: bool = False
    receipt_no: str | None = Field(default=None, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class Refund(_Body):
    receipt_no: str = Field(min_length=1, max_length=64)
    reason: str | None = Field(default=None, max_length=500)


class Renew(_Body):
    valid_until: AwareDatetime
    reason: str | None = Field(default=None, max_length=500)


def _store(request: Request):
    return request.app.state.store


def _reason(body: Reason | None) -> str | None:
    return body.reason if body else None


@router.post("/issue", status_code=201)
def issue_full(request: Request, body: IssueCard, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """The clerk's issue: the same body as POST /api/v1/cards, answered with the move made."""
    return moves.issue_card(_store(request), who.who, body.model_dump(mode="json", exclude_none=True)).as_dict()


@router.post("/personalise", status_code=201)
def personalise(request: Request, body: IssueCard, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """A card made for its holder but not handed over yet (no deposit until it is)."""
    return moves.personalise_card(_store(request), who.who, body.model_dump(mode="json", exclude_none=True)).as_dict()


@router.post("/{uid}/suspend")
def suspend(request: Request, uid: str, body: Reason, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.suspend(_store(request), who.who, uid, body.reason).as_dict()


@router.post("/{uid}/resume")
def resume(request: Request, uid: str, body: Reason | None = Body(default=None),
           who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.resume(_store(request), who.who, uid, _reason(body)).as_dict()


@router.post("/{uid}/lost")
def report_lost(request: Request, uid: str, body: Replace, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.report_lost(_store(request), who.who, uid, body.reason, replacement_uid=body.replacement_uid,
                             fee_cents=body.fee_cents, receipt_no=body.receipt_no).as_dict()


@router.post("/{uid}/damaged")
def damaged(request: Request, uid: str, body: Replace, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.damage(_store(request), who.who, uid, body.reason, replacement_uid=body.replacement_uid,
                        fee_cents=body.fee_cents, receipt_no=body.receipt_no).as_dict()


@router.post("/{uid}/return")
def return_card(request: Request, uid: str, body: Return | None = Body(default=None),
                who: Principal = Depends(_staff)) -> dict[str, Any]:
    body = body or Return()
    return moves.return_card(_store(request), who.who, uid, refund=body.refund, receipt_no=body.receipt_no,
                             reason=body.reason).as_dict()


@router.post("/{uid}/refund")
def refund(request: Request, uid: str, body: Refund, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.refund_deposit(_store(request), who.who, uid, body.receipt_no, body.reason).as_dict()


@router.post("/{uid}/scrap")
def scrap(request: Request, uid: str, body: Reason, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.scrap(_store(request), who.who, uid, body.reason).as_dict()


@router.post("/{uid}/restock")
def restock(request: Request, uid: str, body: Reason | None = Body(default=None),
            who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.restock(_store(request), who.who, uid, _reason(body)).as_dict()


@router.post("/{uid}/renew")
def renew(request: Request, uid: str, body: Renew, who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.renew(_store(request), who.who, uid, body.valid_until, body.reason).as_dict()


@router.post("/{uid}/expire")
def expire(request: Request, uid: str, body: Reason | None = Body(default=None),
           who: Principal = Depends(_staff)) -> dict[str, Any]:
    return moves.expire(_store(request), who.who, uid, _reason(body)).as_dict()


@router.post("/expire-due")
def expire_due(request: Request, who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    return {"expired": moves.expire_due(_store(request), who.who)}


@router.get("/{uid}/moves")
def card_moves(request: Request, uid: str, _: Principal = Depends(_staff)) -> dict[str, Any]:
    store = _store(request)
    items = moves.history(store, uid)
    uid = moves.canonical(uid)
    with store.read() as db:
        rows = list(db.query("SELECT status FROM cards WHERE uid = ?", [uid]))
    current = CardStatus(rows[0]["status"]) if rows else None
    return {
        "uid": uid,
        "status": current.value if current else None,
        "allowed": [m.value for m in allowed_moves(current)] if current else [],
        "deposit": moves.deposit_of(store, uid),
        "items": items,
    }


def card_centre_routers() -> list[APIRouter]:
    """Every router of the card centre, for hub.app to include (after the cards router)."""
    from hub.people.views import router as people_router
    from hub.stock.views import pages as stock_pages
    from hub.stock.views import router as stock_router

    routers = [router, people_router, stock_router, stock_pages]
    try:
        from hub.people.pages import router as clerk_pages
    except ImportError:  # the clerk's pages are optional
        return routers
    return [*routers, clerk_pages]

"""HTTP routes for cards: issue, revoke, list, one card.

``POST /api/v1/cards`` is the one issue endpoint (the public contract); ``POST
/api/v1/cards/issue`` is an exact alias of it (same body, same answer: the card), kept for
clients written against it and left out of the schema.
"""

from __future__ import annotations

from fastapi import APIRouter, Body, Depends, Query, Request

from hub.auth import Principal, Role, require
from hub.cards import service
from hub.cards.models import Card, IssueCard, RevokeCard
from hub.params import Offset
from protocols.cards import CardStatus

router = APIRouter(prefix="/api/v1/cards", tags=["cards"])

_staff = require(Role.CLERK, Role.SUPERVISOR)


@router.post("", status_code=201, response_model=Card)
def issue_card(request: Request, body: IssueCard, who: Principal = Depends(_staff)) -> Card:
    """Issue a card: the one issue endpoint (a blank from stock, a card from the drawer, or a
    personalised card handed over), answered with the card."""
    return service.issue(request.app.state.store, who.who, body)


# the clerk's older issue path: the same endpoint, the same answer, kept out of the schema
router.add_api_route("/issue", issue_card, methods=["POST"], status_code=201, response_model=Card,
                     include_in_schema=False)


@router.post("/{uid}/revoke", response_model=Card)
def revoke_card(
    request: Request, uid: str, body: RevokeCard | None = Body(default=None), who: Principal = Depends(_staff)
) -> Card:
    return service.revoke(request.app.state.store, who.who, uid, body.reason if body else None)


@router.get("", response_model=list[Card])
def list_cards(
    request: Request,
    status: CardStatus | None = None,
    unit: str | None = Query(default=None, max_length=64),
    limit: int = Query(default=service.DEFAULT_LIMIT, ge=1, le=service.MAX_LIMIT),
    offset: Offset = 0,
    _: Principal = Depends(_staff),
) -> list[Card]:
    return service.list_cards(request.app.state.store, status, unit, limit, offset)


@router.get("/{uid}", response_model=Card)
def get_card(request: Request, uid: str, _: Principal = Depends(_staff)) -> Card:
    return service.get(request.app.state.store, uid)

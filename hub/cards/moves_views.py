"""HTTP routes for the card moves beyond issue and revoke (hub.cards.views has those).

Every move has one canonical path named as the move: ``POST /api/v1/cards/{uid}/<move>``
(suspend, resume, report_lost, damage, return, refund_deposit, forfeit_deposit, restock,
scrap, expire, renew; revoke in hub.cards.views) and ``POST /api/v1/cards/personalise``.
The older paths ``/lost``, ``/damaged`` and ``/refund`` still answer the same, as aliases
left out of the schema.

Every route needs the clerk or supervisor role (admin always); forfeiting a deposit needs a
supervisor. Bodies are strict: an unknown key is a 422 naming it. A move whose reason is
required says so in the schema (``required``) and, without one, is refused with
``reason_required``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, WithJsonSchema

from hub.auth import Principal, Role, require
from hub.cards import books, moves
from hub.cards.lifecycle import Move, allowed_moves
from hub.cards.models import IssueCard
from protocols.cards import CardStatus, CardType

router = APIRouter(prefix="/api/v1/cards", tags=["card moves"])

_staff = require(Role.CLERK, Role.SUPERVISOR)
_supervisor = require(Role.SUPERVISOR)

_REASON = "Why, in the clerk's words; kept on the move and in the audit log."
_DEPOSIT_RECEIPT = ("The receipt number of the deposit: the deposit.receipt_no given when the card was issued "
                    "(a replacement card keeps the receipt of the deposit it took over).")


def _required_reason(schema: dict[str, Any]) -> None:
    """The schema of a body whose reason the move requires: ``reason`` is listed as required
    (the hub answers 422 ``reason_required`` without one, or with only blanks)."""
    required = schema.setdefault("required", [])
    if "reason" not in required:
        required.append("reason")
    schema["properties"]["reason"].pop("default", None)


#: a reason the move requires (see _required_reason): its schema is a non-empty string
RequiredReason = Annotated[str | None, WithJsonSchema(
    {"type": "string", "minLength": 1, "maxLength": 500, "description": _REASON + " Required."})]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class Reason(_Body):
    """Optional body of a move whose reason is optional."""

    reason: str | None = Field(default=None, max_length=500, description=_REASON + " Optional.")


class ReasonNeeded(_Body):
    """Body of a move that needs a reason."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_required_reason)

    reason: RequiredReason = Field(default=None, max_length=500)


class Replace(_Body):
    """Body of report_lost and damage: the card blocked or taken back, with an optional
    replacement for the same holder."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_required_reason)

    reason: RequiredReason = Field(default=None, max_length=500)
    replacement_uid: str | None = Field(default=None, description=(
        "UID of the card handed over in its place: a blank of the same card type (there must be one in stock "
        "once the type is counted) or a card of that type from the drawer. Omitted: no replacement. An expired "
        "card is not replaced (replace_expired_card)."))
    fee_cents: int | None = Field(default=None, ge=0, le=100_000_000, description=(
        "The fee charged (replacement or damage), in fen; omitted or 0: none."))
    receipt_no: str | None = Field(default=None, max_length=64, description=(
        "The receipt number of that fee; required with a fee. Not a deposit's receipt: the card's deposit moves "
        "to the replacement with its own receipt."))


class Return(_Body):
    """Body of return: the holder hands the card back."""

    refund: bool = Field(default=False, description="Pay the card's deposit back now, against receipt_no.")
    receipt_no: str | None = Field(default=None, max_length=64, description="With refund: " + _DEPOSIT_RECEIPT)
    reason: str | None = Field(default=None, max_length=500, description=_REASON + " Optional.")


class Refund(_Body):
    """Body of refund_deposit: the deposit of a card taken back, paid back once."""

    receipt_no: str = Field(min_length=1, max_length=64, description=_DEPOSIT_RECEIPT)
    reason: str | None = Field(default=None, max_length=500, description=_REASON + " Optional.")


class Forfeit(_Body):
    """Body of forfeit_deposit: a supervisor keeps the deposit for the estate."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_required_reason)

    receipt_no: str = Field(min_length=1, max_length=64, description=_DEPOSIT_RECEIPT)
    reason: RequiredReason = Field(default=None, max_length=500)


class Renew(_Body):
    """Body of renew: a new end of validity for a card the holder still holds."""

    valid_until: AwareDatetime = Field(description="The new end of validity (ISO 8601 with offset), in the future.")
    reason: str | None = Field(default=None, max_length=500, description=_REASON + " Optional.")


class Transfer(_Body):
    """Body of transfer: a card in the drawer moved to another type's stock."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, json_schema_extra=_required_reason)

    card_type: CardType = Field(description="The card type whose stock the card moves to (booked out of its "
                                "present type's stock and into this one's).")
    reason: RequiredReason = Field(default=None, max_length=500)


class MoveOut(BaseModel):
    """The move made."""

    uid: str = Field(description="The card moved.")
    move: str = Field(description="The move's name (the last part of its path).")
    from_status: str | None = Field(description="The card's status before; null: a card new to the hub.")
    to_status: str = Field(description="The card's status after.")
    move_id: int = Field(description="The move's row in the card's history (GET /api/v1/cards/{uid}/moves).")
    amount_cents: int | None = Field(default=None, description="Money of the move in fen: a fee or deposit "
                                     "taken (+), a deposit paid back (-).")
    replacement_uid: str | None = Field(default=None, description="The card issued in its place, if any.")


def _store(request: Request):
    return request.app.state.store


def _reason(body: Reason | None) -> str | None:
    return body.reason if body else None


def _route(path: str, endpoint, *, aliases: tuple[str, ...] = (), status_code: int = 200,
           deps: Any = None) -> None:
    """One move at its canonical path, and at its older paths as aliases kept out of the schema."""
    router.add_api_route(path, endpoint, methods=["POST"], status_code=status_code, response_model=MoveOut,
                         summary=endpoint.__doc__.split("\n")[0] if endpoint.__doc__ else None)
    for alias in aliases:
        router.add_api_route(alias, endpoint, methods=["POST"], status_code=status_code, response_model=MoveOut,
                             include_in_schema=False)


def personalise(request: Request, body: IssueCard, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """A card made for its holder but not handed over yet (no deposit until it is)."""
    return moves.personalise_card(_store(request), who.who, body.model_dump(mode="json", exclude_none=True)).as_dict()


def suspend(request: Request, uid: str, body: ReasonNeeded, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """Suspend: the card stops opening gates until resumed (reason required)."""
    return moves.suspend(_store(request), who.who, uid, body.reason).as_dict()


def resume(request: Request, uid: str, body: Reason | None = Body(default=None),
           who: Principal = Depends(_staff)) -> dict[str, Any]:
    """Resume a suspended card."""
    return moves.resume(_store(request), who.who, uid, _reason(body)).as_dict()


def report_lost(request: Request, uid: str, body: Replace, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """Report a card lost: blocked at once and for good, optionally replaced (reason required)."""
    return moves.report_lost(_store(request), who.who, uid, body.reason, replacement_uid=body.replacement_uid,
                             fee_cents=body.fee_cents, receipt_no=body.receipt_no).as_dict()


def damage(request: Request, uid: str, body: Replace, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """A holder's broken card taken back and destroyed, optionally replaced (reason required)."""
    return moves.damage(_store(request), who.who, uid, body.reason, replacement_uid=body.replacement_uid,
                        fee_cents=body.fee_cents, receipt_no=body.receipt_no).as_dict()


def return_card(request: Request, uid: str, body: Return | None = Body(default=None),
                who: Principal = Depends(_staff)) -> dict[str, Any]:
    """The holder hands the card back, the deposit paid back now or later."""
    body = body or Return()
    return moves.return_card(_store(request), who.who, uid, refund=body.refund, receipt_no=body.receipt_no,
                             reason=body.reason).as_dict()


def refund_deposit(request: Request, uid: str, body: Refund, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """Pay back the deposit of a card taken back, against its receipt, once."""
    return moves.refund_deposit(_store(request), who.who, uid, body.receipt_no, body.reason).as_dict()


def forfeit_deposit(request: Request, uid: str, body: Forfeit, who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    """A supervisor keeps the deposit of a card not held any more (lost, taken back) (reason required)."""
    return moves.forfeit_deposit(_store(request), who.who, uid, body.receipt_no, body.reason).as_dict()


def scrap(request: Request, uid: str, body: ReasonNeeded, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """Destroy a card not in use: misprinted, faulty, worn (reason required)."""
    return moves.scrap(_store(request), who.who, uid, body.reason).as_dict()


def restock(request: Request, uid: str, body: Reason | None = Body(default=None),
            who: Principal = Depends(_staff)) -> dict[str, Any]:
    """A returned card fit for reuse goes back into its type's stock (its deposit settled first)."""
    return moves.restock(_store(request), who.who, uid, _reason(body)).as_dict()


def renew(request: Request, uid: str, body: Renew, who: Principal = Depends(_staff)) -> dict[str, Any]:
    """A new end of validity for a card the holder still holds."""
    return moves.renew(_store(request), who.who, uid, body.valid_until, body.reason).as_dict()


def expire(request: Request, uid: str, body: Reason | None = Body(default=None),
           who: Principal = Depends(_staff)) -> dict[str, Any]:
    """Mark a card whose validity has ended as expired."""
    return moves.expire(_store(request), who.who, uid, _reason(body)).as_dict()


def transfer(request: Request, uid: str, body: Transfer, who: Principal = Depends(_supervisor)) -> dict[str, Any]:
    """A supervisor moves a card in the drawer to another card type's stock (reason required)."""
    return moves.transfer(_store(request), who.who, uid, body.card_type.value, body.reason).as_dict()


_route("/personalise", personalise, status_code=201)
_route("/{uid}/suspend", suspend)
_route("/{uid}/resume", resume)
_route("/{uid}/report_lost", report_lost, aliases=("/{uid}/lost",))
_route("/{uid}/damage", damage, aliases=("/{uid}/damaged",))
_route("/{uid}/return", return_card)
_route("/{uid}/refund_deposit", refund_deposit, aliases=("/{uid}/refund",))
_route("/{uid}/forfeit_deposit", forfeit_deposit)
_route("/{uid}/scrap", scrap)
_route("/{uid}/restock", restock)
_route("/{uid}/renew", renew)
_route("/{uid}/expire", expire)
_route("/{uid}/transfer", transfer)


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
        dep = books.open_deposit(db, uid) if rows else None
        refundable = dep is not None and books.holding_ended(db, uid, dep, books.TAKEN_BACK)
    current = CardStatus(rows[0]["status"]) if rows else None
    allowed = [m for m in allowed_moves(current)] if current else []
    # the money moves are offered only when there is an open deposit to settle
    allowed = [m for m in allowed if m not in (Move.REFUND_DEPOSIT, Move.FORFEIT_DEPOSIT) or dep is not None]
    if refundable and Move.REFUND_DEPOSIT not in allowed:
        allowed.append(Move.REFUND_DEPOSIT)
    return {
        "uid": uid,
        "status": current.value if current else None,
        "allowed": [m.value for m in allowed],
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

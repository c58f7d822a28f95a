"""Paper moves: a move the desk made on paper (the hub was down, the clerk was at a unit),
entered afterwards by a supervisor with the time it really happened and a reason.

The move is the ordinary one (hub.cards.moves or hub.stock.ledger, with the same rules and
the same body as its own endpoint), given ``at``: its move row, stock entry and deposit
carry that time, so every report counts it in the month it happened, in the estate's
timezone. The time may not be in the future (``paper_move_in_future``), nor in a month that
has been filed or that a filed month follows (``month_filed``). The supervisor and the
reason are in the audit log beside the move's own row (``paper_move``).
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from pydantic import BaseModel, ValidationError

from hub import audit
from hub.cards import moves
from hub.cards.models import IssueCard
from hub.db import Store
from hub.errors import BadInput, RuleViolation
from hub.i18n.validation import detail_of
from hub.stock import ledger
from hub.stock.report import refuse_if_filed

#: a paper move may be entered this far ahead of the hub's clock (clocks differ a little)
CLOCK_SLACK_S = 60


def check_time(db, at: datetime, tz_name: str, now: datetime | None = None) -> None:
    """The rules on a paper move's time, inside the caller's transaction."""
    if at.tzinfo is None:
        raise BadInput("at needs a timezone offset", field="at")
    now = now or datetime.now(timezone.utc)
    if (at - now).total_seconds() > CLOCK_SLACK_S:
        raise RuleViolation("{at} has not happened yet", rule="paper_move_in_future", field="at", at=at.isoformat())
    refuse_if_filed(db, at, tz_name)


class _BadBody(BadInput):
    """A paper move's body that does not fit its move's schema: answered in the words the API's
    own 422s use (hub.i18n.validation: the field's label, what is wrong with it); ``detail``
    keeps pydantic's English for the CLI and the log."""

    def __init__(self, where: str, error: dict[str, Any]) -> None:
        field = f"body.{where}"
        super().__init__("{field_name}: {problem}", field=field, field_name=field, problem=error["msg"])
        self.where, self.error = where, error

    def in_language(self, gettext: Callable[[str], str]) -> str:
        return detail_of(self.where, self.error, gettext)


def _body(model: type[BaseModel], body: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "body"
        raise _BadBody(where, dict(err)) from None


def _card_moves() -> dict[str, tuple[type[BaseModel] | None, Callable[..., Any]]]:
    """Each move a paper move may be: the body model of its own endpoint and how to make it.
    Read when called, so the bodies are the card moves' own (hub.cards.moves_views)."""
    from hub.cards import moves_views as mv
    from hub.stock import views as sv

    def simple(fn):
        return (mv.Reason, lambda s, w, uid, b, at: fn(s, w, uid, b.reason, at=at))

    def replace(fn):
        return (mv.Replace, lambda s, w, uid, b, at: fn(s, w, uid, b.reason, replacement_uid=b.replacement_uid,
                                                       fee_cents=b.fee_cents, receipt_no=b.receipt_no, at=at))

    table: dict[str, tuple[type[BaseModel] | None, Callable[..., Any]]] = {
        "issue": (IssueCard, lambda s, w, uid, b, at: moves.issue_card(
            s, w, b.model_dump(mode="json", exclude_none=True), at=at)),
        "personalise": (IssueCard, lambda s, w, uid, b, at: moves.personalise_card(
            s, w, b.model_dump(mode="json", exclude_none=True), at=at)),
        "suspend": simple(moves.suspend),
        "resume": simple(moves.resume),
        "revoke": simple(moves.revoke),
        "expire": simple(moves.expire),
        "scrap": simple(moves.scrap),
        "restock": simple(moves.restock),
        "report_lost": replace(moves.report_lost),
        "damage": replace(moves.damage),
        "return": (mv.Return, lambda s, w, uid, b, at: moves.return_card(
            s, w, uid, refund=b.refund, receipt_no=b.receipt_no, reason=b.reason, at=at)),
        "refund_deposit": (mv.Refund, lambda s, w, uid, b, at: moves.refund_deposit(
            s, w, uid, b.receipt_no, b.reason, at=at)),
        "renew": (mv.Renew, lambda s, w, uid, b, at: moves.renew(s, w, uid, b.valid_until, b.reason, at=at)),
        "delivery": (sv.Delivery, lambda s, w, uid, b, at: {"entry": ledger.receive_delivery(
            s, w, b.card_type.value, b.qty, b.ref, at=at)}),
        "scrap_blanks": (sv.ScrapBlanks, lambda s, w, uid, b, at: {"entry": ledger.scrap_blanks(
            s, w, b.card_type.value, b.qty, b.reason, at=at)}),
    }
    forfeit = getattr(moves, "forfeit_deposit", None)
    if forfeit is not None:  # a supervisor's move in any case; its body is a refund's (receipt and reason)
        table["forfeit_deposit"] = (getattr(mv, "Forfeit", mv.Refund), lambda s, w, uid, b, at: forfeit(
            s, w, uid, b.receipt_no, b.reason, at=at))
    return table


STOCK_MOVES = ("delivery", "scrap_blanks")


def paper_moves() -> list[str]:
    return sorted(_card_moves())


def record(
    store: Store, who: str, move: str, uid: str | None, at: datetime, paper_reason: str, body: dict[str, Any],
    *, tz_name: str = "UTC", now: datetime | None = None,
) -> dict[str, Any]:
    """Make ``move`` as of ``at``, for a supervisor; the move's own answer, and ``at``."""
    text = (paper_reason or "").strip()
    if not text:
        raise BadInput("a paper move needs the reason it is entered late", field="paper_reason", rule="reason_required")
    table = _card_moves()
    if move not in table:
        raise BadInput("move must be one of {moves}, not {move!r}", field="move", moves=", ".join(sorted(table)),
                       move=move)
    model, make = table[move]
    parsed = _body(model, body or {})
    if move in STOCK_MOVES:
        uid = None
    elif move in ("issue", "personalise"):
        uid = parsed.uid
    elif not uid:
        raise BadInput("a paper {move} needs the card's uid", field="uid", move=move)
    else:
        uid = moves.canonical(uid)
    with store.tx() as db:  # the move's own transaction joins this one: the checks and the move commit together
        check_time(db, at, tz_name, now)
        result = make(store, who, uid, parsed, at)
        answer = result.as_dict() if hasattr(result, "as_dict") else dict(result)
        audit.record(db, who, "paper_move", "stock" if uid is None else "card", uid or str(answer.get("entry")), text,
                     move=move, at=ledger.utc_iso(at), move_id=answer.get("move_id"), entry=answer.get("entry"))
    return {**answer, "move": move, "at": ledger.utc_iso(at), "paper": True}

"""The renovation permit's moves: apply, approve, extend, suspend (stop work, with the
engineering department's approval recorded), resume, report_lost, reissue, exit (with the
inspection and the deposit's refund or deductions) and expire (housekeeping, once the
period has passed).

Each move is one transaction that reads the permit, asks hub.permits.rules whether the move
is allowed (every refusal names its rule, before anything is written), writes the permit,
appends a ``permit_moves`` row and the audit row, and, when the move changes what the
permit's worker cards may do (approve, extend, suspend, resume, exit, expire), re-projects
those cards at every gate (hub.permits.access.reproject_permit) so the gates hear at once.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import sqlite_utils

from hub import audit
from hub.auth import Principal, Role
from hub.db import Store
from hub.errors import NotFound
from hub.permits import access
from hub.permits.models import ExitIn, ExtendIn, LostIn, PermitIn, SuspendIn
from hub.permits.rules import Move, State, check_apply, check_exit, check_extend, check_reissue, check_report_lost
from hub.permits.rules import check_suspend, document_no, next_state
from protocols.cards import CardStatus

#: card statuses of a pass that has not come back to the desk (listed at exit)
NOT_BACK = frozenset({CardStatus.PERSONALISED.value, CardStatus.ACTIVE.value, CardStatus.SUSPENDED.value,
                      CardStatus.EXPIRED.value, CardStatus.REVOKED.value})


def utc_iso(at: datetime | None = None) -> str:
    return (at or datetime.now(timezone.utc)).astimezone(timezone.utc).isoformat()


def estate_tz(db: sqlite_utils.Database) -> ZoneInfo:
    from hub.access.plan import calendar

    return ZoneInfo(calendar(db)[0])


def today(db: sqlite_utils.Database, at: datetime | None = None) -> date:
    return (at or datetime.now(timezone.utc)).astimezone(estate_tz(db)).date()


def day_end(db: sqlite_utils.Database, day: date) -> str:
    """The last instant of an estate-local day, as a card's valid_until."""
    end = datetime.combine(day + timedelta(days=1), time(0), tzinfo=estate_tz(db)) - timedelta(seconds=1)
    return end.astimezone(timezone.utc).isoformat()


def _row(db: sqlite_utils.Database, permit_no: str) -> dict[str, Any]:
    rows = list(db.query("SELECT * FROM permits WHERE permit_no = ?", [permit_no.strip().upper()]))
    if not rows:
        raise NotFound("no renovation permit {permit_no}", rule="unknown_permit", field="permit_no",
                       permit_no=permit_no)
    return rows[0]


def find(db: sqlite_utils.Database, permit_no: str) -> dict[str, Any] | None:
    rows = list(db.query("SELECT * FROM permits WHERE permit_no = ?", [str(permit_no).strip().upper()]))
    return rows[0] if rows else None


def _record(db: sqlite_utils.Database, permit: dict[str, Any], move: Move, before: str | None, after: str, who: str,
            reason: str | None, at: datetime | None, **detail: Any) -> None:
    db["permit_moves"].insert({"permit_id": permit["id"], "at": utc_iso(at), "move": move.value,
                               "from_state": before, "to_state": after, "who": who, "reason": reason,
                               "detail": json.dumps(detail, default=str, sort_keys=True)})
    audit.record(db, who, move.value, "permit", permit["permit_no"], reason, unit=permit["unit"],
                 from_state=before, to_state=after, **detail)


def _update(db: sqlite_utils.Database, permit: dict[str, Any], at: datetime | None, **fields: Any) -> None:
    db["permits"].update(permit["id"], {**fields, "updated_at": utc_iso(at)})


def _next_no(db: sqlite_utils.Database, year: int) -> str:
    prefix = f"RP-{year}-"
    n = db.execute("SELECT COUNT(*) FROM permits WHERE permit_no LIKE ?", [prefix + "%"]).fetchone()[0]
    return f"{prefix}{n + 1:04d}"


def _text(v: Any) -> str | None:
    return (str(v).strip() or None) if v is not None else None


# --- apply ------------------------------------------------------------------------------


def apply(store: Store, who: str, body: PermitIn, at: datetime | None = None) -> str:
    """The application at the desk; the new permit's number."""
    with store.tx() as db:
        unit = list(db.query("SELECT * FROM units WHERE code = ?", [body.unit])) if db["units"].exists() else []
        owners = {r["id"] for r in db.query("SELECT id FROM people WHERE unit_code = ? AND role = 'owner'",
                                           [body.unit])} if db["people"].exists() else set()
        open_row = db.execute("SELECT permit_no FROM permits WHERE unit = ? AND state IN ('applied', 'approved',"
                              " 'suspended') LIMIT 1", [body.unit]).fetchone()
        now_day = today(db, at)
        check_apply(body, unit[0] if unit else None, owners, open_row[0] if open_row else None, now_day)
        assert body.deposit is not None
        now = utc_iso(at)
        permit_no = _next_no(db, now_day.year)
        a = body.applicant
        table = db["permits"]
        table.insert({
            "permit_no": permit_no, "state": State.APPLIED.value, "unit": body.unit,
            "applicant": json.dumps({"name": a.name, "standing": a.standing, "person_id": a.person_id,
                                     "authorisation_ref": _text(a.authorisation_ref),
                                     "company_letter_ref": _text(a.company_letter_ref)}),
            "company": _text(body.company),
            "site_manager": json.dumps({"name": body.site_manager.name, "phone": body.site_manager.phone}),
            "workers": json.dumps([{"name": w.name, "id_doc_no": w.id_doc_no} for w in body.workers]),
            "period_from": body.period_from.isoformat(), "period_until": body.period_until.isoformat(),
            "hours_start": body.hours.start.strftime("%H:%M"), "hours_end": body.hours.end.strftime("%H:%M"),
            "weekdays": json.dumps(body.hours.weekdays),
            "deposit_cents": body.deposit.amount_cents, "deposit_receipt": body.deposit.receipt_no.strip(),
            "drawings": json.dumps({"ref": body.drawings.ref, "approved_by": body.drawings.approved_by,
                                    "approved_on": body.drawings.approved_on.isoformat()
                                    if body.drawings.approved_on else None}),
            "created_by": who, "created_at": now, "updated_at": now,
        })
        permit = _row(db, permit_no)
        _record(db, permit, Move.APPLY, None, State.APPLIED.value, who, None, at,
                standing=a.standing, deposit_cents=body.deposit.amount_cents,
                receipt_no=body.deposit.receipt_no.strip(), period_from=permit["period_from"],
                period_until=permit["period_until"], workers=len(body.workers))
    return permit_no


# --- the moves --------------------------------------------------------------------------


def approve(store: Store, who: str, permit_no: str, note: str | None = None, at: datetime | None = None) -> None:
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.APPROVE)
        _update(db, permit, at, state=after.value, approved_by=who, approved_at=utc_iso(at))
        _record(db, permit, Move.APPROVE, permit["state"], after.value, who, _text(note), at)
        access.reproject_permit(db, permit["id"])


def extend(store: Store, who: str, permit_no: str, body: ExtendIn, at: datetime | None = None) -> None:
    """A later end; the workers' cards get it too (their validity is the permit's period)."""
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.EXTEND)
        check_extend(permit, body.document_no, body.period_until)
        _update(db, permit, at, period_until=body.period_until.isoformat())
        _record(db, permit, Move.EXTEND, permit["state"], after.value, who, _text(body.reason), at,
                period_until_before=permit["period_until"], period_until=body.period_until.isoformat(),
                document_no=document_no(permit["permit_no"], permit["document_copy"]))
        _extend_cards(db, who, permit, day_end(db, body.period_until), at)
        access.reproject_permit(db, permit["id"])


def _extend_cards(db: sqlite_utils.Database, who: str, permit: dict[str, Any], until: str,
                  at: datetime | None) -> None:
    from hub.cards.lifecycle import Move as CardMove
    from hub.cards.moves import record_move

    for uid in access.card_uids(db, permit["id"]):
        card = list(db.query("SELECT status, card_type FROM cards WHERE uid = ?", [uid]))
        if not card or card[0]["status"] not in (CardStatus.ACTIVE.value, CardStatus.SUSPENDED.value):
            continue
        status = CardStatus(card[0]["status"])
        db["cards"].update(uid, {"valid_until": until, "updated_at": utc_iso(at)})
        record_move(db, uid, CardMove.RENEW, status, status, who, card[0]["card_type"],
                    reason=f"permit {permit['permit_no']} extended", at=at, valid_until=until,
                    permit_no=permit["permit_no"])


def suspend(store: Store, who: Principal, permit_no: str, body: SuspendIn, at: datetime | None = None) -> None:
    """Stop work: the engineering department's approval recorded (or the department itself)."""
    by_engineering = who.role == Role.ENGINEERING
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.SUSPEND)
        check_suspend(body.reason, body.engineering_approval, by_engineering)
        approval = body.engineering_approval
        record = {"reason": _text(body.reason), "by": who.who,
                  "engineering_by": approval.by if approval else who.who,
                  "engineering_on": (approval.on if approval else today(db, at)).isoformat()}
        _update(db, permit, at, state=after.value, suspension=json.dumps(record))
        _record(db, permit, Move.SUSPEND, permit["state"], after.value, who.who, record["reason"], at,
                engineering_by=record["engineering_by"], engineering_on=record["engineering_on"])
        access.reproject_permit(db, permit["id"])


def resume(store: Store, who: str, permit_no: str, reason: str | None = None, at: datetime | None = None) -> None:
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.RESUME)
        _update(db, permit, at, state=after.value, suspension=None)
        _record(db, permit, Move.RESUME, permit["state"], after.value, who, _text(reason), at,
                suspension=json.loads(permit["suspension"] or "null"))
        access.reproject_permit(db, permit["id"])


def report_lost(store: Store, who: str, permit_no: str, body: LostIn, at: datetime | None = None) -> None:
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.REPORT_LOST)
        check_report_lost(permit, body.loss_declaration_ref)
        _update(db, permit, at, document_lost=1, loss_declaration_ref=_text(body.loss_declaration_ref))
        _record(db, permit, Move.REPORT_LOST, permit["state"], after.value, who, _text(body.reason), at,
                loss_declaration_ref=_text(body.loss_declaration_ref),
                document_no=document_no(permit["permit_no"], permit["document_copy"]))


def reissue(store: Store, who: str, permit_no: str, reason: str | None = None, at: datetime | None = None) -> None:
    """A new copy of the document; the lost copy's number no longer counts as the permit."""
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.REISSUE)
        check_reissue(permit)
        copy = permit["document_copy"] + 1
        _update(db, permit, at, document_copy=copy, document_lost=0)
        _record(db, permit, Move.REISSUE, permit["state"], after.value, who, _text(reason), at,
                document_no=document_no(permit["permit_no"], copy),
                loss_declaration_ref=permit["loss_declaration_ref"])


def passes_out(db: sqlite_utils.Database, permit_id: int) -> list[str]:
    """The permit's cards that have not come back to the desk."""
    uids = access.card_uids(db, permit_id)
    return [uid for uid in uids if db.execute("SELECT 1 FROM cards WHERE uid = ? AND status IN (%s)"
                                              % ",".join("?" * len(NOT_BACK)), [uid, *sorted(NOT_BACK)]).fetchone()]


def exit_(store: Store, who: str, permit_no: str, body: ExitIn, at: datetime | None = None) -> list[str]:
    """The exit: inspected, the deposit's refund date said (or deductions with a reason);
    the cards stop at once. The passes still out, to chase."""
    with store.tx() as db:
        permit = _row(db, permit_no)
        after = next_state(permit["state"], Move.EXIT)
        check_exit(permit, body)
        out = passes_out(db, permit["id"])
        record = {"inspected_by": _text(body.inspected_by), "inspection": _text(body.inspection),
                  "at": utc_iso(at), "by": who}
        _update(db, permit, at, state=after.value, exit_record=json.dumps(record), end_reason="exited",
                refund_on=body.refund_on.isoformat() if body.refund_on else None,
                deductions_cents=body.deductions_cents, deduction_reason=_text(body.deduction_reason),
                suspension=None)
        _record(db, permit, Move.EXIT, permit["state"], after.value, who, _text(body.deduction_reason), at,
                inspected_by=record["inspected_by"], refund_on=body.refund_on, deductions_cents=body.deductions_cents,
                deposit_cents=permit["deposit_cents"], receipt_no=permit["deposit_receipt"], passes_out=out)
        access.reproject_permit(db, permit["id"])
    return out


def expire_due(store: Store, now: datetime | None = None, who: str = "system:permits") -> list[str]:
    """Permits whose period has passed end (housekeeping); their cards stop with permit_ended."""
    with store.read() as db:
        if not db["permits"].exists():
            return []
        day = today(db, now).isoformat()
        due = [r[0] for r in db.execute("SELECT permit_no FROM permits WHERE state IN ('approved', 'suspended')"
                                        " AND period_until < ?", [day])]
    done = []
    for permit_no in due:
        with store.tx() as db:
            permit = _row(db, permit_no)
            if permit["state"] not in (State.APPROVED.value, State.SUSPENDED.value) or permit["period_until"] >= day:
                continue
            _update(db, permit, now, state=State.ENDED.value, end_reason="expired", suspension=None)
            _record(db, permit, Move.EXPIRE, permit["state"], State.ENDED.value, who, "period ended", now,
                    period_until=permit["period_until"], passes_out=passes_out(db, permit["id"]))
            access.reproject_permit(db, permit["id"])
        done.append(permit_no)
    return done


def history(store: Store, permit_no: str) -> list[dict[str, Any]]:
    with store.read() as db:
        permit = _row(db, permit_no)
        rows = list(db.query("SELECT at, move, from_state, to_state, who, reason, detail FROM permit_moves"
                             " WHERE permit_id = ? ORDER BY id", [permit["id"]]))
    for r in rows:
        r["detail"] = json.loads(r["detail"])
    return rows

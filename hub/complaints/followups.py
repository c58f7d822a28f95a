"""Follow-up visits: closing a major or general complaint makes one due within a month
(hub.complaints.service.close); the desk records its five points (quality, effect,
satisfaction, shortcomings, suggestions) and a satisfaction score. A dissatisfied
complainant either has the work reopened (the complaint back to in progress, its resolve
deadline counted again from the reopening) or a next visit set (a new follow-up due that day).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from hub import audit
from hub.auth import Principal
from hub.complaints import rules
from hub.complaints.deadlines import end_of_local_day
from hub.complaints.models import STATES, FollowupIn, utc
from hub.complaints.service import (FOLLOWUP_MONTHS, MAX_LIST, Complaints, _followup_view, _readable, _row, add_step,
                                    add_months)
from hub.errors import BadInput, Conflict, NotFound, RuleViolation, Word


def due_after_closing(closed_at: datetime, tz: Any) -> datetime:
    """Within a month of closing: the end of the same day next month (estate-local)."""
    return end_of_local_day(add_months(closed_at.astimezone(tz).date(), FOLLOWUP_MONTHS), tz)



def list_followups(ctx: Complaints, who: Principal, state: str | None = None, due: str | None = None,
                   limit: int = 100) -> list[dict[str, Any]]:
    now = ctx.clock()
    where, args = ["1"], []
    if state:
        if state not in ("open", "done"):
            raise BadInput("a follow-up is open or done, not {state}", rule="unknown_state", field="state", state=state)
        where.append("f.state = ?")
        args.append(state)
    if due in ("soon", "late"):
        where.append("f.state = 'open' AND f.due < ?")
        args.append(utc(now if due == "late" else now + timedelta(days=7)))
    with ctx.store.read() as db:
        rows = db.execute(f"SELECT f.* FROM complaint_followups f WHERE {' AND '.join(where)} ORDER BY f.due LIMIT ?",
                          [*args, min(limit, MAX_LIST)]).fetchall()
        return [_followup_view(dict(f), _row(db, f["complaint_id"]), now) for f in rows]


def record_followup(ctx: Complaints, who: Principal, followup_id: int, body: FollowupIn) -> dict[str, Any]:
    if not body.satisfied and body.then is None:
        raise BadInput("a dissatisfied complainant: reopen the work or set the next visit", rule="dissatisfied_needs_next",
                       field="then")
    if body.then == "next_visit" and body.next_visit_on is None:
        raise BadInput("give the date of the next visit", rule="next_visit_needs_date", field="next_visit_on")
    now = ctx.clock()
    with ctx.store.tx() as db:
        r = db.execute("SELECT * FROM complaint_followups WHERE id = ?", [followup_id]).fetchone()
        if r is None:
            raise NotFound("no follow-up {id}", rule="unknown_followup", field="followup_id", id=followup_id)
        f = dict(r)
        if f["state"] != "open":
            raise Conflict("follow-up {id} is recorded already", rule="followup_done", id=followup_id)
        row = _readable(db, who, f["complaint_id"])
        cal = ctx.calendar(db)
        if body.then == "next_visit" and body.next_visit_on < now.astimezone(cal.tz).date():
            raise BadInput("the next visit's date {date} has passed", rule="next_visit_past", field="next_visit_on",
                           date=body.next_visit_on.isoformat())
        if body.then == "reopen" and row["state"] != "closed":
            raise RuleViolation("a complaint that is {state} cannot be {move}", rule="not_in_state",
                                state=Word(STATES[row["state"]]), move=Word(rules.MOVE_NAMES["reopen"]))
        db["complaint_followups"].update(followup_id, {
            "state": "done", "done_at": utc(now), "done_by": who.who, "quality": body.quality, "effect": body.effect,
            "satisfaction": body.satisfaction, "shortcomings": body.shortcomings, "suggestions": body.suggestions,
            "score": body.score, "satisfied": int(body.satisfied), "then_": body.then,
            "next_visit_on": body.next_visit_on.isoformat() if body.next_visit_on else None})
        cid = row["id"]
        add_step(db, cid, now, who.who, "followup", followup=followup_id, score=body.score, satisfied=body.satisfied,
                 then=body.then)
        audit.record(db, who.who, "followup", "complaint", str(cid), followup=followup_id, score=body.score,
                     satisfied=body.satisfied, then=body.then)
        if body.then == "reopen":
            db["complaints"].update(cid, {
                "state": "in_progress", "reopened": row["reopened"] + 1, "reopened_at": utc(now),
                "result": None, "resolved_at": None, "resolved_by": None, "told_at": None, "told_how": None,
                "told_note": None, "accepted": None, "acceptance_how": None, "acceptance_note": None,
                "accepted_at": None, "closed_at": None, "closed_by": None, "close_reason": None,
                "escalation_level": 0, "escalation_kind": None})
            add_step(db, cid, now, who.who, "reopen", followup=followup_id)
            audit.record(db, who.who, "reopen", "complaint", str(cid), followup=followup_id)
        elif body.then == "next_visit":
            due = end_of_local_day(body.next_visit_on, cal.tz)
            db["complaint_followups"].insert({"complaint_id": cid, "due": utc(due), "created_at": utc(now)})
            add_step(db, cid, now, who.who, "followup_due", due=utc(due))
        f = dict(db.execute("SELECT * FROM complaint_followups WHERE id = ?", [followup_id]).fetchone())
        return _followup_view(f, _row(db, cid), now)

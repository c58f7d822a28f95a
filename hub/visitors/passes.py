"""A visit's passes: a QR code signed by the hub, or a temporary card from the card centre.

A QR pass is ``protocols.visitpass`` text signed with the hub's pass key (hub.visitors.keys):
a gate checks it offline. What its signature cannot say reaches the gates as ordinary list
changes (hub.gates.acl.list_block): a pass revoked here is listed REVOKED, and one whose
entries are all used (counted across gates from the visit events: hub.visitors.service) is
listed EXPIRED, which a gate reads as used up (protocols.cards.PASS_BLOCKS). Blocks leave
the lists once the pass has ended (``unlist_ended``: the gate refuses it by date then).

A card pass is the card centre's own issue of a temporary card (hub.cards.moves.issue_card:
deposit, end, its rules), made in the same transaction as the pass row; revoking the pass
revokes the card (hub.cards.moves.revoke), so the gates hear of it as of any card.
"""

from __future__ import annotations

import io
import json
import secrets
from datetime import datetime, timedelta
from typing import Any

import segno
import sqlite_utils

from hub import audit
from hub.auth import Principal
from hub.errors import BadInput, Conflict, Forbidden, NotFound, RuleViolation
from hub.gates import acl
from hub.visitors.models import PassIn, utc
from protocols import visitpass
from protocols.cards import CardStatus
from protocols.topics import BadTopic, check_name


def new_pass_id() -> str:
    return secrets.token_hex(16).upper()


def state_of(row: dict[str, Any], now: datetime) -> str:
    """active | used_up | revoked | expired"""
    if row["revoked_at"]:
        return "revoked"
    if row["used"] >= row["entries"]:
        return "used_up"
    if utc(now) > row["valid_until"]:
        return "expired"
    return "active"


def view(row: dict[str, Any], now: datetime) -> dict[str, Any]:
    return {
        "pass_id": row["pass_id"], "kind": row["kind"],
        **({"text": row["text"]} if row["kind"] == "qr" else {"uid": row["uid"]}),
        "valid_from": row["valid_from"], "valid_until": row["valid_until"], "gates": json.loads(row["gates"]),
        "entries": row["entries"], "used": row["used"], "state": state_of(row, now),
        "created_at": row["created_at"], "created_by": row["created_by"],
    }


def _gates(db: sqlite_utils.Database, who: Principal, asked: list[str]) -> list[str]:
    """The pass's gates: those asked for (each a gate the hub knows), within a limited guard's own."""
    gates = sorted(set(asked))
    for gate in gates:
        try:
            check_name("gate_id", gate)
        except BadTopic:
            raise BadInput("{gate} is not a gate's name", rule="bad_gate_id", field="gates", gate=gate) from None
        if not db.execute("SELECT 1 FROM gates WHERE gate_id = ?", [gate]).fetchone():
            raise BadInput("no gate {gate}", rule="unknown_gate", field="gates", gate=gate)
    if who.gates:
        if not gates:
            return sorted(who.gates)
        if not set(gates) <= who.gates:
            raise Forbidden("{who} may not make passes for other gates than their own", rule="gate_not_allowed",
                            who=who.who)
    return gates


def make(db: sqlite_utils.Database, ctx: Any, who: Principal, visit: dict[str, Any], req: PassIn,
         now: datetime) -> dict[str, Any]:
    """A new pass for ``visit`` (a row of visits), inside the caller's transaction; its row."""
    if visit["cancelled_at"] or visit["checked_out_at"]:
        raise RuleViolation("visit {visit_id} has ended: no new pass", rule="visit_ended", visit_id=visit["id"])
    settings = ctx.settings
    start = req.valid_from or now
    until = req.valid_until or (start + timedelta(hours=settings.pass_hours))
    if until <= start:
        raise BadInput("valid_until must be after valid_from", rule="validity_reversed", field="valid_until")
    if until <= now:
        raise BadInput("valid_until is already past", rule="validity_in_past", field="valid_until")
    entries = req.entries or settings.pass_entries
    if req.kind == "card" and req.gates:
        raise BadInput("a temporary card opens the gates its card type's access gives: leave gates empty",
                       rule="card_pass_gates", field="gates")
    gates = _gates(db, who, req.gates) if req.kind == "qr" else []
    pass_id = new_pass_id()
    row: dict[str, Any] = {
        "pass_id": pass_id, "visit_id": visit["id"], "kind": req.kind, "text": None, "uid": None,
        "valid_from": utc(start), "valid_until": utc(until), "gates": json.dumps(gates), "entries": entries,
        "used": 0, "created_at": utc(now), "created_by": who.who,
    }
    if req.kind == "qr":
        if req.uid or req.deposit:
            raise BadInput("a QR pass has no card or deposit", rule="not_a_card_pass", field="uid")
        key_id, key = ctx.keys.pass_key()
        claims = visitpass.PassClaims(
            site=ctx.site, pass_id=pass_id, valid_from=int(start.timestamp()), valid_until=int(until.timestamp()),
            gates=tuple(gates), entries=entries, key_id=key_id)
        row["text"] = visitpass.make_pass(claims, key)
    else:
        if not req.uid:
            raise BadInput("a card pass needs the temporary card's UID", rule="uid_required", field="uid")
        from hub.cards import moves

        issued = moves.issue_card(ctx.store, who.who, {
            "uid": req.uid, "card_type": "temporary",
            "holder": {"name": visit["visitor_name"], "unit": visit["host_unit"]},
            "valid_from": start.isoformat(), "valid_until": until.isoformat(),
            "deposit": req.deposit.model_dump() if req.deposit else None,
            "reason": "visitor pass",
        }, at=now)
        row["uid"] = issued.uid
        row["entries"] = entries
    db["visit_passes"].insert(row)
    audit.record(db, who.who, "create_pass", "visit", str(visit["id"]), pass_id=pass_id, kind=req.kind,
                 valid_until=row["valid_until"], gates=gates, entries=entries, unit=visit["host_unit"],
                 **({"uid": row["uid"]} if row["uid"] else {}))
    return dict(db.execute("SELECT * FROM visit_passes WHERE pass_id = ?", [pass_id]).fetchone())


def revoke(db: sqlite_utils.Database, ctx: Any, who: str, pass_id: str, reason: str | None,
           now: datetime) -> dict[str, Any]:
    row = db.execute("SELECT * FROM visit_passes WHERE pass_id = ?", [pass_id]).fetchone()
    if row is None:
        raise NotFound("no pass {pass_id}", rule="unknown_pass", field="pass_id", pass_id=pass_id)
    row = dict(row)
    if row["revoked_at"]:
        raise Conflict("pass {pass_id} is already revoked", rule="pass_already_revoked", pass_id=pass_id)
    db.execute("UPDATE visit_passes SET revoked_at = ?, blocked = ? WHERE pass_id = ?",
               [utc(now), "revoked" if row["kind"] == "qr" else None, pass_id])
    if row["kind"] == "qr":
        acl.list_block(db, pass_id, CardStatus.REVOKED, _until(row), json.loads(row["gates"]))
    else:
        from hub.cards import moves

        card = db.execute("SELECT status FROM cards WHERE uid = ?", [row["uid"]]).fetchone()
        if card is not None and card[0] == CardStatus.ACTIVE.value:
            moves.revoke(ctx.store, who, row["uid"], reason or "visitor pass revoked", at=now)
    audit.record(db, who, "revoke_pass", "visit", str(row["visit_id"]), reason=reason, pass_id=pass_id)
    return dict(db.execute("SELECT * FROM visit_passes WHERE pass_id = ?", [pass_id]).fetchone())


def _until(row: dict[str, Any]) -> datetime:
    return datetime.fromisoformat(row["valid_until"])


def count_entry(db: sqlite_utils.Database, row: dict[str, Any], who: str) -> bool:
    """One more entry on a QR pass (a granted scan "in" at some gate: ``who``); when that
    uses the last, the pass is listed used up at its gates. True if it was."""
    used = row["used"] + 1
    db.execute("UPDATE visit_passes SET used = ? WHERE pass_id = ?", [used, row["pass_id"]])
    if used >= row["entries"] and not row["revoked_at"] and not row["blocked"] and row["kind"] == "qr":
        db.execute("UPDATE visit_passes SET blocked = 'used_up' WHERE pass_id = ?", [row["pass_id"]])
        acl.list_block(db, row["pass_id"], CardStatus.EXPIRED, _until(row), json.loads(row["gates"]))
        audit.record(db, who, "pass_used_up", "visit", str(row["visit_id"]), pass_id=row["pass_id"],
                     entries=row["entries"])
        return True
    return False


def unlist_ended(db: sqlite_utils.Database, now: datetime) -> int:
    """Blocks of passes that have ended leave the gates' lists (a gate refuses them by date)."""
    return acl.unlist_blocks_until(db, now)


def qr_svg(text: str, scale: int = 4) -> bytes:
    """The pass's QR code as SVG (error correction M: a phone screen or a print survives a smudge)."""
    out = io.BytesIO()
    segno.make(text, error="m", micro=False).save(out, kind="svg", scale=scale, border=4, xmldecl=False,
                                                   svgclass="gh-qr", title="QR")
    return out.getvalue()

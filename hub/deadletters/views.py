"""HTTP route for dead letters: what gates sent that the hub could not handle, for a supervisor.

The payload is shown as it came (bounded; base64 where it is not UTF-8): it is what a
supervisor needs to tell a broken agent from a tampered one. It is returned as JSON data,
never rendered as markup.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query, Request

from hub.auth import Principal, Role, require
from hub.deadletters import store as dead

router = APIRouter(prefix="/api/v1", tags=["dead letters"])


@router.get("/dead-letters")
def list_dead_letters(
    request: Request,
    limit: int = Query(default=100, ge=1, le=dead.MAX_LIMIT),
    gate_id: str | None = Query(default=None, max_length=64),
    _: Principal = Depends(require(Role.SUPERVISOR)),
) -> dict:
    """Most recently delivered first; ``total`` counts every kept dead letter, ``deliveries``
    how often the broker delivered them."""
    with request.app.state.store.read() as db:
        summary = dead.summary(db)
        return {"items": dead.newest(db, limit, gate_id), "total": summary["kept"],
                "deliveries": summary["deliveries"]}

"""HTTP routes for admins: API tokens (list, create, revoke) and people's accounts.

A token's secret is in the answer to its creation only; lists never carry one (the hub
keeps only hashes). A password is sent in a body, never in a URL.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hub.auth import Principal, get_token, issue_token, list_tokens, revoke_token, require
from hub.params import RowId
from hub.users import accounts

router = APIRouter(prefix="/api/v1", tags=["tokens and users"])

_admin = require()


class NewToken(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: str = Field(max_length=20)
    name: str = Field(min_length=1, max_length=100)
    gates: list[str] = Field(default_factory=list, max_length=100)
    expires_at: AwareDatetime | None = None


class NewUser(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(max_length=64)
    name: str = Field(min_length=1, max_length=100)
    role: str = Field(max_length=20)
    password: str = Field(max_length=accounts.MAX_PASSWORD)
    gates: list[str] = Field(default_factory=list, max_length=100)


@router.get("/tokens")
def tokens(request: Request, _: Principal = Depends(_admin)) -> list[dict[str, Any]]:
    return list_tokens(request.app.state.store)


@router.post("/tokens", status_code=201)
def new_token(request: Request, body: NewToken, who: Principal = Depends(_admin)) -> dict[str, Any]:
    """The token's secret is in this answer and nowhere else, ever."""
    store = request.app.state.store
    token_id, secret = issue_token(store, body.role, body.name, tuple(body.gates), expires_at=body.expires_at,
                                   who=who.who)
    return {**get_token(store, token_id), "token": secret}


@router.post("/tokens/{token_id}/revoke")
def revoke(request: Request, token_id: RowId, who: Principal = Depends(_admin)) -> dict[str, Any]:
    return revoke_token(request.app.state.store, who.who, token_id)


@router.get("/users")
def users(request: Request, _: Principal = Depends(_admin)) -> list[dict[str, Any]]:
    return accounts.list_users(request.app.state.store)


@router.post("/users", status_code=201)
def new_user(request: Request, body: NewUser, who: Principal = Depends(_admin)) -> dict[str, Any]:
    return accounts.add_user(request.app.state.store, who.who, body.username, body.name, body.role, body.password,
                             tuple(body.gates))


@router.post("/users/{username}/disable")
def disable(request: Request, username: str, who: Principal = Depends(_admin)) -> dict[str, Any]:
    return accounts.disable_user(request.app.state.store, who.who, username)


@router.post("/users/{username}/unlock")
def unlock(request: Request, username: str, who: Principal = Depends(_admin)) -> dict[str, Any]:
    cleared = accounts.unlock_user(request.app.state.store, who.who, username)
    return {"username": accounts.normalise_username(username), "failures_cleared": cleared}

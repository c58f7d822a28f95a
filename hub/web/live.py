"""The guard's live page: the page, its stream of passes, and the holders' photos it shows.

Measured (bench/livepage.py, Resource Timing and a chromium trace per navigation), a new
page waited on three things the static page of the same size does not:
- photos: every row in view asked ``/api/v1/cards/{uid}/photo``, answered ``no-store``, so
  each navigation fetched each photo again, six at a time over HTTP/1.1 (50-70 ms of a
  page), and rows whose holder has no photo asked too and got a 404. The hub's own cost per
  photo is small (the session lookup and the card's photo id are under 0.1 ms each): the
  requests are what cost. So every pass the page gets carries ``photo``, the URL of its
  holder's current photo by content, or null: a row without one asks for nothing, and a
  photo seen before is drawn from the browser's cache;
- the stream's first rows: its request could start only once the script ran, and its
  answer came 20-100 ms later. The page now comes with those rows (``first_passes``, the
  stream's own) and the stream is asked only for what follows them;
- its script and style, asked for again on every navigation (hub.web.assets: now kept by
  versioned URLs).

Why a cached photo is acceptable (they are confidential):
- the URL names the card and the photo's SHA-256 (hub.photos), so it changes whenever the
  photo does, or the card is given to someone else: a cached copy can never show a face
  the register no longer gives that card, and it is never revalidated (``immutable``);
- every request for it is still checked: a session or token (the front door), a staff role,
  and the same rule as ``/api/v1/cards/{uid}/photo`` (a guard limited to some gates sees
  only people seen there), and the photo must be the card's current one, or it is a 404;
- the copy is ``private`` (no shared cache keeps it), lives no longer than a session can
  (hub.session_hours), and signing out tells the browser to drop its cache for the hub
  (``Clear-Site-Data``, hub.web.views.logout; tested in chromium: a new tab asks again).
  What remains: until then the guard console's browser profile holds the photos it has
  shown (its screen showed them anyway), and a tab left open after signing out may keep
  decoded images in memory until it is closed.

The stream's start (Last-Event-ID, ``after``, or the last few) is the events stream's, and
its rows are the events store's: only the photo and, on a remote open's row, ``opened_by`` (the
name of who sent it) and ``remote`` (why, the gate's acknowledgement, the door's result) are
added here. The page also comes with the open alarms, and follows /api/v1/alarms/stream. /api/v1/events/stream is unchanged for every other client.

The page is the shell's (hub.web.shell: header, role links, language; the reader's language,
the estate's timezone and the page scripts' catalog in #page-i18n); live.js says everything
through that catalog and shows times with gh.instant. A role the page is not for gets the
shell's 403 page.
"""

from __future__ import annotations

import json
from functools import partial
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from hub import photos
from hub.alarms import remote_opens
from hub.alarms import service as alarms
from hub.alarms.service import person_names
from hub.auth import Principal, Role, credential_of, require, role_refused
from hub.db import Store
from hub.errors import NotFound
from hub.events import store as events
from hub.events.bus import last_event_id, sse_response
from hub.events.views import BACKLOG
from hub.i18n.catalogs import gettext
from hub.i18n.choice import language_of
from hub.params import MAX_ROW
from hub.people import registry
from hub.people.views import _limit as photo_limit  # the gate-sightings rule of photos, kept in one place
from hub.people.views import photo_dir
from hub.web.shell import page, problem_page

LIVE_ROLES = {Role.ADMIN, Role.GUARD, Role.SUPERVISOR}
#: the rows that carry a remote open's record (``remote``): the gate's answer, the door's result
_REMOTE_KINDS = ("remote_open", "open_result")
PHOTO_PREFIX = "/live/photos/"

router = APIRouter(include_in_schema=False)
_watchers = require(Role.GUARD, Role.SUPERVISOR)
_photo_viewers = require(Role.CLERK, Role.SUPERVISOR, Role.GUARD)  # as /api/v1/cards/{uid}/photo


def photo_url(uid: str, photo_id: str) -> str:
    return PHOTO_PREFIX + quote(uid, safe="") + "/" + photo_id


def with_photos(store: Store, rows: list[dict[str, Any]], gates: frozenset[str]) -> list[dict[str, Any]]:
    """The rows, each with ``photo``: its holder's current photo URL, or None.

    Only a card in the register can have one (a row with a holder); each card is looked up
    once per batch, through the register's own rule (``registry.photo_of_card``)."""
    found: dict[str, str | None] = {}
    for row in rows:
        uid = row.get("uid")
        url = None
        if uid and row.get("holder"):
            if uid not in found:
                photo_id = registry.photo_of_card(store, uid, gates)
                found[uid] = photo_url(uid, photo_id) if photo_id else None
            url = found[uid]
        row["photo"] = url
    return rows


def with_openers(db: Any, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The rows, each with ``opened_by`` (for a remote open, the name of who sent it; else
    None) and ``remote`` (for a remote open or its door's result: the command as the hub
    kept it, hub.alarms.remote_opens: who, why, the gate's acknowledgement, the door's result).

    The hub signs a remote open with the sender's audit name (``role:login``, hub.gates.service)
    and the gate reports it back in the event's detail (``by``, and the command's ``nonce``);
    the events store's rows do not carry the detail, so it is read here, only for the remote
    opens of the batch (most batches have none: no query). The name shown is the account's
    name (hub.users), or the token's."""
    seqs = [row["seq"] for row in rows if row.get("kind") in _REMOTE_KINDS]
    by: dict[int, str] = {}
    nonce_of: dict[int, str] = {}
    if seqs:
        marks = ",".join("?" * len(seqs))
        for r in db.query(f"SELECT seq, detail FROM events WHERE seq IN ({marks})", seqs):
            try:
                detail = json.loads(r["detail"] or "{}")
            except ValueError:
                detail = None
            if not isinstance(detail, dict):
                continue
            sender, nonce = detail.get("by"), detail.get("nonce")
            if isinstance(sender, str) and sender:
                by[r["seq"]] = sender
            if isinstance(nonce, str) and nonce:
                nonce_of[r["seq"]] = nonce
    # by the command's nonce; an older agent's answer has none, and is found by the event the
    # hub matched to its command (remote_opens.on_remote_open)
    answering = [row["seq"] for row in rows if row.get("kind") == "remote_open" and row["seq"] not in nonce_of]
    remote, by_ack = remote_opens.by_nonces(db, sorted(set(nonce_of.values())), answering)
    names = person_names(db, set(by.values()))
    for row in rows:
        found = remote.get(nonce_of.get(row["seq"], "")) or by_ack.get(row["seq"])
        row["remote"] = found
        row["opened_by"] = names.get(by.get(row["seq"], "")) or (found["by_name"] if found else None)
    return rows


def passes_after(store: Store, who: Principal, seq: int) -> list[dict[str, Any]]:
    """The passes ``who`` may see stored after ``seq``, oldest first, with their photos and,
    for remote opens, who opened."""
    with store.read() as db:
        rows = with_openers(db, events.after(db, seq, gate_ids=who.gates))
    return with_photos(store, rows, photo_limit(who))


def first_passes(store: Store, who: Principal, start: int | None) -> tuple[int, list[dict[str, Any]]]:
    """Where a stream starts (``start``, or the last few passes) and the passes after it."""
    if start is None:
        with store.read() as db:
            start = max(0, events.last_seq(db) - BACKLOG)
    return start, passes_after(store, who, start)


@router.get("/live", response_class=HTMLResponse)
def live(request: Request) -> Response:
    """The page, with the passes a new stream would start with: measured, waiting for the
    stream's first rows was the longest wait of a new page (its request can only start once
    the script runs). The rows are the stream's own (``first_passes``), as JSON in a data
    block the script reads (``tojson`` escapes it for HTML; no script is made of it), and the
    stream is then asked for what came after them."""
    principal: Principal = credential_of(request).principal
    if principal.role not in LIVE_ROLES:  # the shell's 403 page, with the API's words for it
        refused = role_refused(principal)
        return problem_page(request, 403, refused.in_language(partial(gettext, language_of(request))))
    store = request.app.state.store
    start, rows = first_passes(store, principal, None)
    after = rows[-1]["seq"] if rows else start
    with store.read() as db:  # the alarms open now, and where their stream is to go on from
        open_now = {"alarms": alarms.open_alarms(db, principal.gates), "after": alarms.last_version(db)}
    # the shell answers no-store: the passes are the guard's, and stale a second later
    return page(request, "live.html", principal, current="nav-live", can_open=principal.role in LIVE_ROLES,
                backlog=rows, after=after, open_alarms=open_now,
                # a supervisor's console shows the alarms guards have not answered in time
                escalated_only=principal.role == Role.SUPERVISOR)


@router.get("/live/stream")
async def stream(request: Request, after: int | None = Query(default=None, ge=0, le=MAX_ROW)) -> StreamingResponse:
    """The passes the guard may see, as the events stream sends them, with their photos.

    The first rows are found in one trip to a worker thread (where to start, the rows after
    it, their photos) instead of three; the role check is a plain call for the same reason
    (a sync FastAPI dependency is one more trip)."""
    who = _watchers(request)
    store: Store = request.app.state.store
    resume = last_event_id(request)
    start, rows = await run_in_threadpool(first_passes, store, who, resume if resume is not None else after)
    prefetched = [rows]

    def read_next(seq: int) -> list[dict[str, Any]]:
        if prefetched and seq == start:  # the stream's first read: done above
            return prefetched.pop()
        return passes_after(store, who, seq)

    return sse_response(request, start, read_next, "gate-event", share=("live", who.gates, photo_limit(who)))


@router.get(PHOTO_PREFIX + "{uid}/{photo_id}")
def photo(request: Request, uid: str, photo_id: str) -> FileResponse:
    """A holder's photo by content: only while it is the card's current photo, to whoever may
    see it (hub.people.views' rule); cacheable, privately, for as long as a session lasts."""
    who = _photo_viewers(request)  # a plain call: a sync dependency is one more worker thread trip
    if registry.photo_of_card(request.app.state.store, uid, photo_limit(who)) != photo_id:
        raise NotFound("no such photo", rule="unknown_photo")
    path, ctype = photos.photo_path(photo_dir(request), photo_id)
    hours = request.app.state.config.hub.session_hours
    return FileResponse(path, media_type=ctype, headers={"Cache-Control": photos.cache_control(hours * 3600)})

"""What the live page is given: the passes it starts with (in the page, escaped, only those
its viewer may see), a stream naming each holder's photo by its content, photo URLs the
browser may keep yet checked on every request and dead once the photo changes, script and
style kept by versioned URLs, a sign-out that drops what the browser kept, the name of who
opened on a remote open's row, and the shell's 403 page for a role the page is not for."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone

import httpx

from hub.auth import COOKIE
from hub.users.accounts import add_user
from hub.web import assets
from tests.cardcentre.test_photos_files import JPEG, png
from tests.frontdoor.test_photos import _seen


def _register(base: str, admin: dict[str, str]) -> dict[str, str]:
    """Wang Fang (photo, card 0A0B0C01), Li Wei (photo, 0A0B0C02), Zhao Min (no photo, 0A0B0C03)."""
    api = httpx.Client(base_url=base, headers=admin)
    assert api.post("/api/v1/units", json={"building": "A", "floor": 12, "room": "03"}).status_code == 201
    pids = {}
    for name, uid, photo in (("Wang Fang", "0A0B0C01", True), ("Li Wei", "0A0B0C02", True),
                             ("Zhao Min", "0A0B0C03", False)):
        pid = api.post("/api/v1/people", json={"name": name, "role": "owner", "unit": "A-12-03"}).json()["id"]
        if photo:
            assert api.post(f"/api/v1/people/{pid}/photo", files={"photo": ("p.jpg", JPEG, "image/jpeg")}
                            ).status_code == 201
        card = {"uid": uid, "card_type": "owner", "holder": {"name": name, "unit": "A-12-03"}, "person_id": pid}
        assert api.post("/api/v1/cards", json=card).status_code == 201
        pids[name] = pid
    return pids


def _stream(base: str, headers: dict[str, str], n: int) -> list[dict]:
    """The first ``n`` passes of /live/stream, oldest first."""
    rows = []
    with httpx.Client(base_url=base, headers=headers, timeout=15) as c:
        with c.stream("GET", "/live/stream?after=0", headers={"Accept": "text/event-stream"}) as r:
            assert r.status_code == 200, r.read()
            for line in r.iter_lines():
                if line.startswith("data:"):
                    rows.append(json.loads(line[5:]))
                    if len(rows) == n:
                        break
    return rows


def test_the_stream_names_current_photos_that_may_be_kept_but_are_checked_each_time(served):
    admin = {"Authorization": "Bearer " + served.token("admin")}
    pids = _register(served.url, admin)
    for uid, gate in (("0A0B0C01", "north"), ("0A0B0C02", "south"), ("0A0B0C03", "north"), ("0BADCAFE", "north")):
        _seen(served.store, uid, gate)
    guard = {"Authorization": "Bearer " + served.token("guard", "gina")}

    rows = {r["uid"]: r for r in _stream(served.url, guard, 4)}
    assert rows["0BADCAFE"]["photo"] is None and rows["0BADCAFE"]["holder"] is None  # unknown card: nothing to ask
    assert rows["0A0B0C03"]["photo"] is None  # in the register, no photo: nothing to ask either
    wang = rows["0A0B0C01"]["photo"]
    assert wang.startswith("/live/photos/0A0B0C01/") and wang.endswith(".jpg")
    assert rows["0A0B0C01"]["holder"] == {"name": "Wang Fang", "unit": "A-12-03"}  # the events stream's fields

    r = httpx.get(served.url + wang, headers=guard)
    assert r.status_code == 200 and r.content == JPEG
    hours = served.config.hub.session_hours
    assert r.headers["cache-control"] == f"private, max-age={hours * 3600}, immutable"
    assert httpx.get(served.url + wang).status_code == 401  # still checked: nobody gets nothing
    # the same photo through another card is not this card's: a URL cannot be re-pointed
    assert httpx.get(served.url + wang.replace("0A0B0C01", "0A0B0C03"), headers=guard).status_code == 404

    # a guard limited to south never saw Wang Fang there: no URL in the stream, and the URL is refused
    south = {"Authorization": "Bearer " + served.token("guard", "sam", ("south",))}
    refused = httpx.get(served.url + wang, headers=south)
    assert refused.status_code == 404 and JPEG[:4] not in refused.content
    assert [r["photo"] for r in _stream(served.url, south, 1)] == [rows["0A0B0C02"]["photo"]]

    # a new photo is a new URL; the old one is refused, so a kept copy can never be shown as current
    new = png(64, 64)
    assert httpx.post(f"{served.url}/api/v1/people/{pids['Wang Fang']}/photo", headers=admin,
                      files={"photo": ("n.png", new, "image/png")}).status_code == 201
    _seen(served.store, "0A0B0C01", "east")
    now = [r for r in _stream(served.url, guard, 5) if r["uid"] == "0A0B0C01"]
    assert {r["photo"] for r in now} != {wang} and all(r["photo"].endswith(".png") for r in now)
    assert httpx.get(served.url + wang, headers=guard).status_code == 404
    assert httpx.get(served.url + now[0]["photo"], headers=guard).content == new


def test_only_live_roles_read_the_live_stream_or_get_the_page(served):
    clerk = {"Authorization": "Bearer " + served.token("clerk")}
    r = httpx.get(served.url + "/live/stream", headers=clerk)
    assert r.status_code == 403 and r.json()["error"] == "forbidden"
    assert httpx.get(served.url + "/live/stream").status_code == 401
    page = httpx.get(served.url + "/live", headers=clerk)
    assert page.status_code == 403 and 'id="backlog"' not in page.text  # nor the page's passes
    assert 'id="problem-h"' in page.text and "role IC card clerk may not do this" in page.text  # the shell's 403 page
    assert page.headers["content-type"].startswith("text/html")


def test_versioned_assets_are_kept_and_bare_ones_revalidated(served):
    guard = {"Authorization": "Bearer " + served.token("guard")}
    page = httpx.get(served.url + "/live", headers=guard).text
    url = assets.url("live.js")
    assert url in page and assets.url("hub.css") in page
    kept = httpx.get(served.url + url, headers=guard)
    assert kept.status_code == 200 and "immutable" in kept.headers["cache-control"]
    assert kept.content == (assets.STATIC / "live.js").read_bytes()
    for stale in ("/static/live.js", "/static/live.js?v=0123456789abcdef"):
        assert httpx.get(served.url + stale, headers=guard).headers["cache-control"] == "no-cache"
    assert httpx.get(served.url + url).status_code == 401  # the live page's script still needs a session


def test_signing_out_tells_the_browser_to_drop_what_it_kept(served):
    login = httpx.post(served.url + "/login", data={"token": served.token("guard")})
    out = httpx.post(served.url + "/logout", cookies={COOKIE: login.cookies[COOKIE]},
                     headers={"Origin": served.url}, follow_redirects=False)
    assert out.status_code == 303 and out.headers["clear-site-data"] == '"cache"'


def _backlog_of(html: str) -> tuple[list[dict], int]:
    """The data block the live page carries: its passes and where its stream resumes."""
    m = re.search(r'<script type="application/json" id="backlog" data-after="(\d+)">(.*?)</script>', html, re.S)
    assert m, "the page has no backlog block"
    return json.loads(m.group(2)), int(m.group(1))


def test_the_page_comes_with_the_passes_its_viewer_may_see_escaped_for_html(served):
    admin = {"Authorization": "Bearer " + served.token("admin")}
    _register(served.url, admin)
    sly = "</script><script>alert(1)</script>"
    card = {"uid": "0A0B0C09", "card_type": "owner", "holder": {"name": sly, "unit": "A-12-03"}}
    assert httpx.post(served.url + "/api/v1/cards", json=card, headers=admin).status_code == 201
    for uid, gate in (("0A0B0C01", "north"), ("0A0B0C09", "north"), ("0A0B0C02", "south")):
        _seen(served.store, uid, gate)

    html = httpx.get(served.url + "/live", headers={"Authorization": "Bearer " + served.token("guard")}).text
    assert sly not in html  # a holder's name cannot end the block (nor start a script)
    rows, after = _backlog_of(html)
    assert [r["uid"] for r in rows] == ["0A0B0C01", "0A0B0C09", "0A0B0C02"]  # oldest first, as the stream
    assert rows[1]["holder"]["name"] == sly and after == rows[-1]["seq"]
    assert rows[0]["photo"] == _stream(served.url, admin, 1)[0]["photo"]  # the stream's own rows

    south = httpx.get(served.url + "/live", headers={"Authorization": "Bearer " + served.token("guard", "s", ("south",))})
    assert [r["uid"] for r in _backlog_of(south.text)[0]] == ["0A0B0C02"]
    assert south.headers["cache-control"] == "no-store"


def _opened(store, event_id: str, by: str | None) -> None:
    """A remote open as a gate agent reports it: the signed command's sender in the detail."""
    now = datetime.now(timezone.utc).isoformat()
    with store.tx() as db:
        db["events"].insert({"event_id": event_id, "gate_id": "north", "door_id": "north-in", "kind": "remote_open",
                             "decision": "granted", "reason": "remote_open", "at": now, "at_utc": now, "acl_rev": 1,
                             "detail": json.dumps({"by": by} if by else {}), "received_at": now})


def test_remote_open_rows_name_who_opened_in_the_page_and_the_stream(served):
    add_user(served.store, "test", "hejia", "何佳", "guard", "correct horse battery")
    _seen(served.store, "0BADCAFE", "north")
    _opened(served.store, "ev-opened-by-user", "guard:hejia")  # an account: its name
    _opened(served.store, "ev-opened-by-token", "supervisor:night-desk")  # a token: its name
    _opened(served.store, "ev-opened-unsaid", None)  # an older gate that did not say
    guard = {"Authorization": "Bearer " + served.token("guard")}

    rows, _ = _backlog_of(httpx.get(served.url + "/live", headers=guard).text)
    assert [r["opened_by"] for r in rows] == [None, "何佳", "night-desk", None]
    assert [r["opened_by"] for r in _stream(served.url, guard, 4)] == [None, "何佳", "night-desk", None]
    # the events API is unchanged for its other clients
    assert "opened_by" not in httpx.get(served.url + "/api/v1/events", headers=guard).json()[0]

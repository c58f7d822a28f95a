"""The guard's live page in the staff's language and on a phone, in chromium against a real hub:
- in Simplified Chinese, Traditional Chinese and English, a pass is drawn with its photo, its
  decision and reason in that language, and the time 24-hour in the estate's timezone (not the
  browser's); a remote-open row names who opened, in words of that language; the stream state
  and the door buttons speak it too;
- at 390x844 the passes are a list of cards: twenty of them, one with a very long name, and a
  gate with many doors, scroll nothing sideways, the door buttons wrap, a unit never wraps
  inside itself; axe-core finds no serious violation, on a phone or a desk;
- the live region reads out a pass that happens while the guard watches, once, and not the
  rows the page starts with."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import httpx
import pytest

from hub.auth import COOKIE, create_token
from hub.i18n.languages import COOKIE as LANGUAGE_COOKIE
from hub.users.accounts import add_user
from protocols.messages import DoorStatus, EventKind, GateEvent, GateStatus
from protocols.topics import gate_topic
from tests.cardcentre.test_photos_files import png
from tests.rigs.axe import serious_violations, sideways
from tests.rigs.wait import wait_for

pytestmark = pytest.mark.browser

ESTATE_TZ = "Asia/Shanghai"
PHONE = {"width": 390, "height": 844}
#: what each language shows for the same passes (texts of hub/static/live.js' table)
SAID = {
    "zh_Hans": {"tag": "zh-Hans", "granted": "放行", "valid_card": "有效卡", "denied": "拒绝",
                "unknown_card": "未登记卡", "unknown": "未登记卡 0BADCAFE", "opened": "何佳 远程开门",
                "remote": "远程开门", "live": "实时", "open": "开门 north-in", "photo": "李伟 的照片"},
    "zh_Hant": {"tag": "zh-Hant", "granted": "放行", "valid_card": "有效卡", "denied": "拒絕",
                "unknown_card": "未登記卡", "unknown": "未登記卡 0BADCAFE", "opened": "何佳 遠端開門",
                "remote": "遠端開門", "live": "即時", "open": "開門 north-in", "photo": "李伟 的相片"},
    "en": {"tag": "en", "granted": "granted", "valid_card": "valid card", "denied": "denied",
           "unknown_card": "unknown card", "unknown": "Unknown card 0BADCAFE", "opened": "Opened by 何佳",
           "remote": "opened remotely", "live": "live", "open": "Open north-in", "photo": "Photo of 李伟"},
}


def _estate(hub, people: list[tuple[str, str, str]]) -> httpx.Client:
    """The estate in Shanghai time, with ``people`` (name, card UID, unit), each with a photo."""
    admin = httpx.Client(base_url=hub.url, headers=hub.h("admin"))
    assert admin.put("/api/v1/access/calendar", json={"timezone": ESTATE_TZ}).status_code == 200
    for unit in sorted({u for _, _, u in people}):
        building, floor, room = unit.split("-")
        assert admin.post("/api/v1/units", json={"building": building, "floor": int(floor), "room": room}
                          ).status_code == 201
    for name, uid, unit in people:
        person = admin.post("/api/v1/people", json={"name": name, "role": "owner", "unit": unit})
        assert person.status_code == 201, person.text
        pid = person.json()["id"]
        assert admin.post(f"/api/v1/people/{pid}/photo", files={"photo": ("p.png", png(64, 64), "image/png")}
                          ).status_code == 201
        card = admin.post("/api/v1/cards", json={"uid": uid, "card_type": "owner", "person_id": pid,
                                                 "holder": {"name": name, "unit": unit}})
        assert card.status_code == 201, card.text
    return admin


def _gate_online(hub, agent, doors: list[str]) -> None:
    status = GateStatus(gate_id="north", online=True, at=datetime.now(timezone.utc),
                        doors={d: DoorStatus() for d in doors})
    agent.publish(gate_topic(hub.site, "north", "status"), hub.signed("north", status, "status"))


def _publish(hub, agent, events: list[GateEvent]) -> None:
    for event in events:
        agent.publish(gate_topic(hub.site, "north", "event"), hub.signed("north", event, "event"))


def _guard_page(browser, hub, language: str, viewport: dict):
    """A signed-in guard's tab in a browser set to another language and zone than the estate's."""
    login = httpx.post(hub.url + "/login", data={"token": create_token(hub.store, "guard", "gina")})
    context = browser.new_context(locale="en-US", timezone_id="America/New_York", viewport=viewport)
    context.add_cookies([{"name": COOKIE, "value": login.cookies[COOKIE], "url": hub.url},
                         {"name": LANGUAGE_COOKIE, "value": language, "url": hub.url}])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    return context, page, errors


@pytest.mark.parametrize("language", ["zh_Hans", "zh_Hant", "en"])
def test_the_live_page_in_each_language(hub, peer, browser, language):
    said = SAID[language]
    admin = _estate(hub, [("李伟", "0A0012AB34", "A-12-03")])
    add_user(hub.store, "test", "hejia", "何佳", "guard", "correct horse battery")
    agent = peer()
    _gate_online(hub, agent, ["north-in"])
    at = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=3)
    _publish(hub, agent, [
        GateEvent(event_id="ev-lang-0001", gate_id="north", door_id="north-in", uid="0A0012AB34",
                  decision="granted", reason="valid_card", at=at),
        GateEvent(event_id="ev-lang-0002", gate_id="north", door_id="north-in", uid="0BADCAFE",
                  decision="denied", reason="unknown_card", at=at + timedelta(seconds=1)),
        # as a gate agent reports a remote open: the signed command's sender in the detail
        GateEvent(event_id="ev-lang-0003", gate_id="north", door_id="north-in", kind=EventKind.REMOTE_OPEN,
                  decision="granted", reason="remote_open", at=at + timedelta(seconds=2),
                  detail={"by": "guard:hejia"}),
    ])
    wait_for(lambda: len(admin.get("/api/v1/events?limit=10").json()) == 3, what="3 passes stored")

    context, page, errors = _guard_page(browser, hub, language, {"width": 1280, "height": 800})
    page.goto(hub.url + "/live")
    assert page.get_attribute("html", "lang") == said["tag"]
    assert page.locator("#nav-live").get_attribute("aria-current") == "page"  # the shell's header and links

    granted = page.wait_for_selector('tr[data-event-id="ev-lang-0001"]')
    assert granted.query_selector("td.decision").inner_text() == said["granted"]
    assert granted.query_selector("td.reason").inner_text() == said["valid_card"]
    assert granted.query_selector("td.holder").inner_text() == "李伟"
    assert granted.query_selector("td.unit").inner_text() == "A-12-03"
    # 24-hour, in the estate's timezone, whatever the browser's language and zone
    shanghai = at.astimezone(ZoneInfo(ESTATE_TZ)).strftime("%Y-%m-%d %H:%M:%S")
    assert granted.query_selector("td.time").inner_text() == shanghai
    img = granted.wait_for_selector("td.photo img")
    wait_for(lambda: img.evaluate("i => i.complete && i.naturalWidth > 0"), what="the holder's photo drawn")
    assert img.get_attribute("alt") == said["photo"]

    denied = page.query_selector('tr[data-event-id="ev-lang-0002"]')
    assert denied.query_selector("td.decision").inner_text() == said["denied"]
    assert denied.query_selector("td.reason").inner_text() == said["unknown_card"]
    assert denied.query_selector("td.holder").inner_text() == said["unknown"]

    opened = page.query_selector('tr[data-event-id="ev-lang-0003"]')
    assert opened.query_selector("td.holder").inner_text() == said["opened"]  # who opened, by name
    assert opened.query_selector("td.reason").inner_text() == said["remote"]

    page.wait_for_selector("#stream-state.live", timeout=15000)
    assert page.inner_text("#stream-state") == said["live"]
    button = page.wait_for_selector('button[data-key="north/north-in"]', timeout=15000)
    assert button.inner_text() == said["open"]
    assert button.get_attribute("aria-label").startswith(said["open"])  # its name begins with what it shows
    assert errors == []
    context.close()


def test_on_a_phone_the_passes_are_cards_that_fit_and_only_new_passes_are_read_out(hub, peer, browser):
    long_name = "Wolfeschlegelsteinhausenbergerdorff-Montgomery"
    admin = _estate(hub, [("李伟", "0A0012AB34", "A-12-03"), (long_name, "0A0012AB35", "B-03-21")])
    agent = peer()
    doors = ["north-in", "north-out", "car-in", "car-out", "bike-gate", "side-door", "lobby-east", "lobby-west"]
    _gate_online(hub, agent, doors)
    base = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(minutes=5)
    passes = []
    for i in range(20):
        uid, decision, reason = (("0BAD%04X" % i, "denied", "unknown_card") if i % 5 == 0
                                 else ("0A0012AB35" if i % 2 else "0A0012AB34", "granted", "valid_card"))
        passes.append(GateEvent(event_id=f"ev-phone-{i:04d}", gate_id="north", door_id=doors[i % len(doors)],
                                uid=uid, decision=decision, reason=reason, at=base + timedelta(seconds=i)))
    _publish(hub, agent, passes)
    wait_for(lambda: len(admin.get("/api/v1/events?limit=50").json()) == 20, what="20 passes stored")

    context, page, errors = _guard_page(browser, hub, "zh_Hans", PHONE)
    page.goto(hub.url + "/live")
    page.wait_for_function("() => performance.getEntriesByName('rows-drawn').length > 0", timeout=15000)
    page.wait_for_selector('button[data-key="north/lobby-west"]', timeout=15000)
    assert page.locator("#passes tr").count() == 20

    assert sideways(page) <= 0, f"/live scrolls {sideways(page)} px sideways at 390 px"
    cards = page.evaluate("""() => [...document.querySelectorAll('#passes tr')].map(tr => {
        const r = tr.getBoundingClientRect();
        return {display: getComputedStyle(tr).display, left: r.left, right: r.right};
    })""")
    assert {c["display"] for c in cards} == {"grid"}, "a list of cards, not table rows"
    assert all(c["left"] >= 0 and c["right"] <= PHONE["width"] for c in cards)
    long_cell = page.locator("#passes td.holder", has_text=long_name).first
    box = long_cell.bounding_box()
    assert box["x"] + box["width"] <= PHONE["width"]
    # a unit is one line, never "A-/12-/03"
    units = page.evaluate("""() => [...document.querySelectorAll('#passes td.unit')].filter(td => td.textContent)
        .map(td => { const r = document.createRange(); r.selectNodeContents(td); return r.getClientRects().length; })""")
    assert units and max(units) == 1, f"a unit wraps: {max(units)} lines"
    # the door buttons wrap: every one on the screen, on more than one line
    buttons = page.evaluate("""() => [...document.querySelectorAll('#gates button')].map(b => {
        const r = b.getBoundingClientRect(); return {left: r.left, right: r.right, top: r.top};
    })""")
    assert len(buttons) == len(doors)
    assert all(b["left"] >= 0 and b["right"] <= PHONE["width"] for b in buttons)
    assert len({round(b["top"]) for b in buttons}) > 1
    assert serious_violations(page) == []

    # the rows the page started with are on the screen, not read out; a pass that happens now is, once
    assert page.inner_text("#latest") == ""
    page.wait_for_selector("#stream-state.live", timeout=15000)
    opened_at = page.evaluate("performance.now()")
    page.wait_for_function(f"() => performance.now() > {opened_at} + 1100")  # the page's calm second after opening
    _publish(hub, agent, [GateEvent(event_id="ev-phone-0100", gate_id="north", door_id="north-in",
                                    uid="0A0012AB34", decision="granted", reason="valid_card",
                                    at=datetime.now(timezone.utc))])
    page.wait_for_selector('tr[data-event-id="ev-phone-0100"]', timeout=15000)
    assert page.inner_text("#latest") == "放行 李伟 north north-in"
    assert page.locator("#latest").get_attribute("aria-live") == "polite"
    assert errors == []

    page.set_viewport_size({"width": 1366, "height": 900})  # the desk: a table, and still no serious violation
    assert page.evaluate("getComputedStyle(document.querySelector('#passes tr')).display") == "table-row"
    assert serious_violations(page) == []
    context.close()

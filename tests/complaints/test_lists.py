"""The lists read many complaints at once (their pauses, extensions and follow-ups in three
queries for all); the time filters (due soon, late) decide on the deadlines before they
build a view. Checked here against each complaint read alone: the listing is the filter
of the whole list in Python, and every listed complaint's deadlines are its own."""

from __future__ import annotations

from datetime import datetime, timedelta

from tests.complaints.conftest import UNITS, complaint, cst

BASE = "/api/v1/complaints"
T0 = cst(2025, 11, 3, 9, 0)  # a Monday
#: what a list's view shares with the one complaint's (the list masks the rest)
SHARED = ("id", "state", "paused", "pauses", "extensions", "deadlines", "next_due", "late", "due_soon", "followup")


def _make(estate) -> None:
    """Complaints in every shape the deadlines know: pending, paused (open and resumed),
    extended, major, joint, minor with the complainant's date, resolved, closed with its
    follow-up due, invalid."""
    desk, boss, mgr = estate.h("clerk"), estate.h("supervisor"), estate.h("manager")

    def new(at: datetime, **over) -> int:
        estate.at(at)
        r = estate.post(BASE, json=complaint(**over), headers=desk)
        assert r.status_code == 201, r.text
        return r.json()["id"]

    def move(cid: int, at: datetime, path: str, body: dict | None = None, who=boss) -> None:
        estate.at(at)
        r = estate.post(f"{BASE}/{cid}/{path}", json=body or {}, headers=who)
        assert r.status_code == 200, (path, r.text)

    m = lambda n: T0 + timedelta(minutes=n)  # noqa: E731
    forward = {"department": "engineering", "task": "see to it"}
    new(m(0))  # not forwarded
    c = new(m(10), severity="minor", units=[UNITS[1]])
    move(c, m(20), "forward", forward)
    move(c, m(30), "pause", {"reason": "away"})  # still paused
    c = new(m(40), severity="major", units=[UNITS[2]])
    move(c, m(45), "answer", {"answer": "on it"})
    move(c, m(50), "forward", forward)
    move(c, m(55), "sign")
    move(c, m(60), "extend", {"days": 2, "reason": "parts on order"}, who=mgr)
    move(c, m(65), "extend", {"days": 1, "reason": "more parts"}, who=mgr)
    c = new(m(70), units=[UNITS[3]])
    move(c, m(75), "forward", forward)
    move(c, m(80), "sign")
    move(c, m(85), "pause", {"reason": "photos"})
    move(c, m(180), "resume")
    move(c, m(240), "resolve", {"result": "done"})  # the result not told yet
    c = new(m(100), units=[UNITS[4]], category="noise")
    move(c, m(105), "forward", forward)
    move(c, m(110), "sign")
    move(c, m(115), "resolve", {"result": "done"})
    move(c, m(120), "tell", {"how": "phone"})
    move(c, m(125), "accept", {"accepted": True})
    move(c, m(130), "close")  # its follow-up due in a month
    c = new(m(140), valid=False, invalid_reason="not the estate's", units=[UNITS[0]], category="parking")
    new(m(150), units=UNITS[:3], category="cleaning")  # joint: the office report due today
    new(m(160), severity="minor", units=[UNITS[1]], category="greening", wanted_by="2025-11-04")
    new(m(300), severity="major", units=[UNITS[2]], category="charges")  # its answer pending


def test_the_time_filters_list_what_each_complaint_says_of_itself(estate):
    _make(estate)
    boss = estate.h("supervisor")
    seen = {"late": 0, "due_soon": 0}
    for at in (T0 + timedelta(minutes=330), cst(2025, 11, 3, 16, 0), cst(2025, 11, 4, 9, 0),
               cst(2025, 11, 4, 16, 30), cst(2025, 11, 6, 16, 0), cst(2025, 11, 12, 10, 0),
               cst(2025, 12, 5, 10, 0)):
        estate.at(at)
        everything = estate.get(f"{BASE}?limit=500", headers=boss).json()
        assert len(everything) == 9
        for c in everything:  # the bulk read gives each complaint its own pauses, extensions, follow-up
            alone = estate.get(f"{BASE}/{c['id']}", headers=boss).json()
            assert {k: c[k] for k in SHARED} == {k: alone[k] for k in SHARED}, (at, c["id"])
        open_ = [c for c in everything if c["state"] != "closed"]
        for query, keep in (("due=soon", lambda c: c["due_soon"]), ("late=true", lambda c: c["late"]),
                            ("due=soon&late=true", lambda c: c["due_soon"] and c["late"]),
                            ("late=true&severity=major", lambda c: c["late"] and c["severity"] == "major")):
            want = [c for c in open_ if keep(c)]
            assert estate.get(f"{BASE}?{query}&limit=500", headers=boss).json() == want, (at, query)
            assert estate.get(f"{BASE}?{query}&limit=2", headers=boss).json() == want[:2], (at, query)
        seen["late"] += sum(c["late"] for c in open_)
        seen["due_soon"] += sum(c["due_soon"] for c in open_)
    # the times chosen find both, and a filter that drops some (else this proves less than it seems)
    assert seen["late"] and seen["due_soon"]

"""A whole month of the clerk's work, from a seeded random script, and the inventory report.

The script keeps its own tally of what it did (cards bought, made, scrapped, put back, per
card type) without asking the hub; the report, computed from the ledger by the hub, must
balance and match that tally, and the CSV, XLSX and HTML exports must carry the same numbers.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from openpyxl import load_workbook

from hub.cards import moves
from hub.errors import DomainError
from hub.stock import export, ledger, report

from .conftest import CLERK, count, request_for

TYPES = ["owner", "resident", "tenant", "domestic_helper", "temporary", "renovation_worker"]
DEPOSIT = {"tenant", "temporary", "renovation_worker"}
UTC = timezone.utc


class Clerk:
    """Does the work and remembers, in its own terms, what it did."""

    def __init__(self, store, rng: random.Random) -> None:
        self.store, self.rng = store, rng
        self.next_uid = 0x100000
        self.on_hand: Counter = Counter()  # blanks and put-back cards in the drawer, per type
        self.tally: dict[str, Counter] = {k: Counter() for k in ("purchased", "personalised", "scrapped", "returned", "retired")}
        self.active: dict[str, str] = {}  # uid -> type
        self.suspended: dict[str, str] = {}
        self.returned: dict[str, str] = {}
        self.in_drawer: dict[str, str] = {}  # put back with a UID
        self.deposits: dict[str, str] = {}  # uid -> receipt still refundable
        self.money = 0
        self.moves_done = 0

    def uid(self) -> str:
        self.next_uid += 1
        return f"{self.next_uid:08X}"

    def deliver(self, at, card_type=None, qty=None):
        card_type = card_type or self.rng.choice(TYPES)
        qty = qty or self.rng.randint(20, 60)
        ledger.receive_delivery(self.store, CLERK, card_type, qty, f"DN-{at:%m%d%H%M}", at=at)
        self.on_hand[card_type] += qty
        self.tally["purchased"][card_type] += qty

    def issue_new(self, at):
        card_type = self.rng.choice(TYPES)
        if self.on_hand[card_type] - self._drawer_count(card_type) <= 0:
            return self.deliver(at, card_type)
        uid = self.uid()
        req = request_for(uid, card_type, at=at)
        moves.issue_card(self.store, CLERK, req, at=at)
        self._made(uid, card_type, req)

    def _drawer_count(self, card_type):
        return sum(1 for t in self.in_drawer.values() if t == card_type)

    def _made(self, uid, card_type, req):
        self.on_hand[card_type] -= 1
        self.tally["personalised"][card_type] += 1
        self.active[uid] = card_type
        self.moves_done += 1
        if card_type in DEPOSIT:
            self.deposits[uid] = req["deposit"]["receipt_no"]
            self.money += req["deposit"]["amount_cents"]

    def reissue_from_drawer(self, at):
        if not self.in_drawer:
            return self.issue_new(at)
        uid = self.rng.choice(sorted(self.in_drawer))
        card_type = self.in_drawer.pop(uid)
        req = request_for(uid, card_type, at=at)
        moves.issue_card(self.store, CLERK, req, at=at)
        self._made(uid, card_type, req)

    def suspend_or_resume(self, at):
        if self.suspended and self.rng.random() < 0.5:
            uid = self.rng.choice(sorted(self.suspended))
            moves.resume(self.store, CLERK, uid, at=at)
            self.active[uid] = self.suspended.pop(uid)
        elif self.active:
            uid = self.rng.choice(sorted(self.active))
            moves.suspend(self.store, CLERK, uid, "holder asked", at=at)
            self.suspended[uid] = self.active.pop(uid)
        self.moves_done += 1

    def replace(self, at, lost: bool):
        if not self.active:
            return self.issue_new(at)
        uid = self.rng.choice(sorted(self.active))
        card_type = self.active[uid]
        if self.on_hand[card_type] - self._drawer_count(card_type) <= 0:
            return self.deliver(at, card_type)
        new = self.uid()
        fn = moves.report_lost if lost else moves.damage
        fn(self.store, CLERK, uid, "lost" if lost else "cracked", replacement_uid=new, fee_cents=2000,
           receipt_no=f"F-{new}", at=at)
        del self.active[uid]
        self.money += 2000
        if uid in self.deposits:
            self.deposits[new] = self.deposits.pop(uid)
        if not lost:
            self.tally["retired"][card_type] += 1
        self.on_hand[card_type] -= 1
        self.tally["personalised"][card_type] += 1
        self.active[new] = card_type
        self.moves_done += 2

    def take_back(self, at):
        if not self.active:
            return self.issue_new(at)
        uid = self.rng.choice(sorted(self.active))
        receipt = self.deposits.pop(uid, None)
        r = moves.return_card(self.store, CLERK, uid, refund=receipt is not None, receipt_no=receipt, at=at)
        if receipt:
            assert r.amount_cents < 0
            self.money += r.amount_cents
        self.returned[uid] = self.active.pop(uid)
        self.moves_done += 1

    def after_return(self, at):
        if not self.returned:
            return self.take_back(at)
        uid = self.rng.choice(sorted(self.returned))
        card_type = self.returned.pop(uid)
        if self.rng.random() < 0.6:
            moves.restock(self.store, CLERK, uid, at=at)
            self.in_drawer[uid] = card_type
            self.on_hand[card_type] += 1
            self.tally["returned"][card_type] += 1
        else:
            moves.scrap(self.store, CLERK, uid, "worn out", at=at)
            self.tally["retired"][card_type] += 1
        self.moves_done += 1

    def scrap_from_drawer(self, at):
        if self.in_drawer and self.rng.random() < 0.5:
            uid = self.rng.choice(sorted(self.in_drawer))
            card_type = self.in_drawer.pop(uid)
            moves.scrap(self.store, CLERK, uid, "chip dead", at=at)
            qty = 1
            self.moves_done += 1
        else:
            card_type = self.rng.choice(TYPES)
            qty = min(self.rng.randint(1, 3), self.on_hand[card_type] - self._drawer_count(card_type))
            if qty <= 0:
                return
            ledger.scrap_blanks(self.store, CLERK, card_type, qty, "misprint", at=at)
        self.on_hand[card_type] -= qty
        self.tally["scrapped"][card_type] += qty

    def refusal(self, at):
        """The clerk also tries things the rules forbid: they must change nothing."""
        if self.suspended:
            uid = sorted(self.suspended)[0]
            with pytest.raises(DomainError):
                moves.suspend(self.store, CLERK, uid, "again", at=at)

    def work(self, start: datetime, end: datetime, steps: int) -> None:
        actions = [(self.issue_new, 30), (self.reissue_from_drawer, 6), (self.suspend_or_resume, 10),
                   (lambda at: self.replace(at, True), 6), (lambda at: self.replace(at, False), 4),
                   (self.take_back, 12), (self.after_return, 10), (self.scrap_from_drawer, 5),
                   (self.deliver, 3), (self.refusal, 3)]
        funcs, weights = zip(*actions)
        span = (end - start).total_seconds()
        times = sorted(start + timedelta(seconds=self.rng.uniform(0, span)) for _ in range(steps))
        for at in times:
            self.rng.choices(funcs, weights)[0](at)

    def snapshot(self):
        return {k: Counter(v) for k, v in self.tally.items()}, Counter(self.on_hand)


def _row_map(rep):
    return {r.card_type: r for r in rep.rows}


def test_a_month_of_clerk_work_balances_and_matches_the_clerks_own_count(store):
    rng = random.Random(20260301)
    clerk = Clerk(store, rng)
    feb, mar, apr = (datetime(2026, m, 1, tzinfo=UTC) for m in (2, 3, 4))
    for t in TYPES:
        clerk.deliver(feb + timedelta(hours=9), t, 40)
    clerk.work(feb + timedelta(days=1), mar - timedelta(seconds=1), 60)
    _, opening = clerk.snapshot()
    for k in clerk.tally:
        clerk.tally[k].clear()
    moves_before, money_before = count(store, "card_moves"), clerk.money
    clerk.work(mar, apr - timedelta(seconds=1), 420)
    tally, closing = clerk.snapshot()

    with store.read() as db:
        rep = report.compute(db, 2026, 3, "UTC", now=datetime(2026, 4, 2, tzinfo=UTC))
        march_money = list(db.query(
            "SELECT COALESCE(SUM(amount_cents), 0) AS m FROM card_moves WHERE at >= ? AND at < ?",
            [ledger.utc_iso(mar), ledger.utc_iso(apr)]))[0]["m"]
    assert rep.balanced, rep.problems
    assert rep.status == "due"
    rows = _row_map(rep)
    assert set(rows) == set(TYPES)
    for t in TYPES:
        r = rows[t]
        assert r.opening == opening[t], t
        assert r.closing == closing[t], t
        assert r.purchased == tally["purchased"][t], t
        assert r.personalised == tally["personalised"][t], t
        assert r.scrapped == tally["scrapped"][t], t
        assert r.returned == tally["returned"][t], t
        assert r.retired == tally["retired"][t], t
    assert rep.total.personalised == sum(tally["personalised"].values()) > 100
    assert count(store, "card_moves") - moves_before >= 300
    assert march_money == clerk.money - money_before

    # the exports carry the same numbers
    lines = list(csv.reader(io.StringIO(export.to_csv(rep))))
    assert lines[0][0] == "Card type" and lines[-1][0] == "total"
    by_type = {line[0]: [int(v) for v in line[1:]] for line in lines[1:]}
    for t in TYPES:
        r = rows[t]
        assert by_type[t] == [r.opening, r.purchased, r.returned, r.personalised, r.scrapped, r.closing, r.retired]
    ws = load_workbook(io.BytesIO(export.to_xlsx(rep))).active
    xl = {row[0]: list(row[1:]) for row in ws.iter_rows(min_row=3, values_only=True)}
    assert xl == {k: v for k, v in by_type.items()}
    html = export.to_html(rep)
    assert "2026-03" in html and f"<td>{rows['owner'].closing}</td>" in html and "Balanced" in html


def test_filing_the_report_on_time_late_and_corrected(store):
    at = datetime(2026, 3, 3, 10, tzinfo=UTC)
    ledger.receive_delivery(store, CLERK, "owner", 50, "DN-1", at=at)
    moves.issue_card(store, CLERK, request_for("AA01", at=at), at=at)
    with pytest.raises(DomainError) as err:
        report.file_report(store, "supervisor:li", 2026, 3, now=datetime(2026, 3, 31, 23, tzinfo=UTC))
    assert err.value.rule == "month_not_over"
    rep = report.file_report(store, "supervisor:li", 2026, 3, now=datetime(2026, 4, 3, tzinfo=UTC))
    assert (rep.status, rep.revision, rep.filed_by) == ("filed", 1, "supervisor:li")
    with pytest.raises(DomainError) as err:
        report.file_report(store, "supervisor:li", 2026, 3, now=datetime(2026, 4, 4, tzinfo=UTC))
    assert err.value.rule == "reason_required"
    rep = report.file_report(store, "supervisor:li", 2026, 3, note="one delivery typed twice",
                             now=datetime(2026, 4, 4, tzinfo=UTC))
    assert rep.revision == 2 and rep.status == "filed"
    # February (nothing moved) was due on 5 March and is filed on 3 April: late
    with store.read() as db:
        assert report.compute(db, 2026, 2, now=datetime(2026, 3, 6, tzinfo=UTC)).status == "late"
        assert report.compute(db, 2026, 2, now=datetime(2026, 3, 5, 23, tzinfo=UTC)).status == "due"
    rep = report.file_report(store, "supervisor:li", 2026, 2, now=datetime(2026, 4, 3, tzinfo=UTC))
    assert rep.status == "filed_late"
    with store.read() as db:
        year = report.late_or_wrong(db, 2026, now=datetime(2026, 4, 10, tzinfo=UTC))
    assert year["filed_late"] == ["2026-02"] and year["corrected"] == ["2026-03"]
    assert year["not_filed_past_due"] == ["2026-01"]
    assert year["count"] == 3 and not year["within_limit"]


def test_a_report_that_cannot_balance_is_not_filed(store):
    at = datetime(2026, 5, 3, tzinfo=UTC)
    moves.issue_card(store, CLERK, request_for("AA02", at=at), at=at)  # made, but never delivered
    with store.read() as db:
        rep = report.compute(db, 2026, 5)
    assert not rep.balanced and "negative" in rep.problems[0]
    with pytest.raises(DomainError) as err:
        report.file_report(store, "supervisor:li", 2026, 5, now=datetime(2026, 6, 2, tzinfo=UTC))
    assert err.value.rule == "report_unbalanced"


def test_month_bounds_follow_the_estates_timezone(store):
    # 1 April 01:00 in Shanghai is still 31 March in UTC
    at = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    ledger.receive_delivery(store, CLERK, "owner", 10, "DN-2", at=at)
    with store.read() as db:
        utc = _row_map(report.compute(db, 2026, 3, "UTC"))
        sh = report.compute(db, 2026, 3, "Asia/Shanghai")
        sh_apr = _row_map(report.compute(db, 2026, 4, "Asia/Shanghai"))
    assert utc["owner"].purchased == 10 and sh.rows == [] and sh_apr["owner"].purchased == 10


def test_scrapping_more_blanks_than_in_stock_is_refused(store):
    ledger.receive_delivery(store, CLERK, "tenant", 2, "DN-3")
    with pytest.raises(DomainError) as err:
        ledger.scrap_blanks(store, CLERK, "tenant", 3, "bent")
    assert err.value.rule == "not_in_stock"
    with pytest.raises(DomainError) as err:
        ledger.receive_delivery(store, CLERK, "tenant", 0, "DN-4")
    assert err.value.rule == "bad_input"


def test_stock_is_kept_within_its_limits(store):
    ledger.receive_delivery(store, CLERK, "owner", 12, "DN-5")
    ledger.set_limits(store, CLERK, "owner", 10, 100)
    with store.read() as db:
        assert ledger.levels(db) == [{"card_type": "owner", "in_stock": 12, "min_level": 10, "max_level": 100, "state": "ok"}]
    at = datetime.now(UTC)
    for i in range(3):
        moves.issue_card(store, CLERK, request_for(f"AC0{i}", at=at), at=at)
    with store.read() as db:
        assert ledger.levels(db)[0]["state"] == "low" and ledger.levels(db)[0]["in_stock"] == 9
    with pytest.raises(DomainError):
        ledger.set_limits(store, CLERK, "owner", 50, 10)

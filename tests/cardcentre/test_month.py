"""A whole month of the card centre's work through the hub's API, against the monthly
inventory report and the money ledger.

The month is March 2026 in the estate's timezone (Asia/Shanghai). It is entered as paper
moves (``POST /api/v1/paper-moves``: a supervisor, the move's own body, its real time), the
one way the API takes a move's time; two supervisors share the desk, so the money ledger has
two people to sum by. A seeded script makes a few hundred moves (deliveries, issues, returns
with and without refund, deposits settled later, lost and damaged cards replaced for a fee,
cards put back and reissued, scrapped, blanks scrapped, suspensions), a stocktake whose
difference a supervisor approves and one another refuses, and refusals, each checked to
change nothing. The script keeps its own tally without asking the hub (``Books``); the
report in JSON, CSV, XLSX and print must match it, and the money ledger must reconcile with
the cards' deposits to the fen.

To add a move: a method on ``Month`` that calls ``self.paper(...)`` and tells ``self.books``
what it did, and a line in ``Month.actions``.
"""

from __future__ import annotations

import csv
import io
import random
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook

from hub.auth import create_token
from hub.cards import moves
from hub.errors import DomainError
from hub.stock import export, ledger, report

from .conftest import CLERK, count, request_for
from .test_api import make_app

TZ = "Asia/Shanghai"
SH = ZoneInfo(TZ)
UTC = timezone.utc
TYPES = ["owner", "resident", "tenant", "domestic_helper", "temporary", "renovation_worker"]
DEPOSIT = {"tenant": 10000, "temporary": 5000, "renovation_worker": 20000}
FEE = {"report_lost": 2000, "damage": 1500}
DESK = ("li", "wang")  # the supervisors who enter the paper
KINDS = ("purchased", "returned", "personalised", "scrapped", "adjusted", "retired")


def local(y, m, d, hh=0, mm=0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=SH)


def month_of(at: datetime) -> str:
    return at.astimezone(SH).strftime("%Y-%m")


class Books:
    """The script's own count of the drawer and the money, never read from the hub."""

    def __init__(self) -> None:
        self.stock: Counter = Counter()  # per type, by the books
        self.drawer: dict[str, str] = {}  # put-back cards with their UID: uid -> type
        self.held: dict[str, str] = {}  # active cards: uid -> type
        self.suspended: dict[str, str] = {}
        self.returned: dict[str, str] = {}  # taken back, not yet put back or scrapped
        self.lost: set[str] = set()
        self.deposits: dict[str, tuple[str, int]] = {}  # card -> (receipt, fen) still open
        self.tally: dict[str, dict[str, Counter]] = defaultdict(lambda: {k: Counter() for k in KINDS})
        self.money: dict[str, list[tuple[str, str, str, int, str]]] = defaultdict(list)  # month -> lines
        self.stock_at: dict[str, Counter] = {}  # month -> stock at its start
        self.held_at: dict[str, int] = {}  # month -> deposits held at its start

    def blanks(self, card_type: str) -> int:
        """Blanks without a UID: the type's stock less its put-back cards."""
        return self.stock[card_type] - sum(1 for t in self.drawer.values() if t == card_type)

    def book(self, at: datetime, kind: str, card_type: str, qty: int = 1) -> None:
        self.tally[month_of(at)][kind][card_type] += qty
        self.stock[card_type] += {"purchased": qty, "returned": qty, "personalised": -qty, "scrapped": -qty,
                                  "adjusted": qty, "retired": 0}[kind]

    def pay(self, at: datetime, kind: str, card_type: str, who: str, fen: int, receipt: str) -> None:
        self.money[month_of(at)].append((kind, card_type, f"supervisor:{who}", fen, receipt))

    def deposits_held(self) -> int:
        return sum(fen for _, fen in self.deposits.values())


class Month:
    def __init__(self, api, rng: random.Random, store) -> None:
        self.api, self.rng, self.store = api, rng, store
        self.books = Books()
        self.next_uid = 0x5A000000
        self.receipts = 0
        self.refusals: Counter = Counter()
        self.filed: set[str] = set()
        self.can_forfeit = "forfeit_deposit" in api("GET", "/api/v1/paper-moves", role="li").json()["moves"]

    # --- the desk --------------------------------------------------------------------------

    def paper(self, move: str, at: datetime, body: dict | None = None, uid: str | None = None, who: str | None = None):
        who = who or self.rng.choice(DESK)
        r = self.api("POST", "/api/v1/paper-moves", role=who, json={
            "move": move, "uid": uid, "at": at.isoformat(), "paper_reason": "entered from the desk book",
            "body": body or {}})
        assert r.status_code == 201, (move, uid, r.text)
        return who, r.json()

    def uid(self) -> str:
        self.next_uid += 1
        return f"{self.next_uid:08X}"

    def receipt(self, prefix: str) -> str:
        self.receipts += 1
        return f"{prefix}-{self.receipts:05d}"

    def request(self, uid: str, card_type: str, at: datetime) -> dict:
        req = request_for(uid, card_type, at=at)
        if card_type in DEPOSIT:
            req["valid_until"] = (at + timedelta(days=180)).isoformat()
            req["deposit"] = {"amount_cents": DEPOSIT[card_type], "receipt_no": self.receipt("R")}
        return req

    def mark(self, at: datetime) -> None:
        """At the first move of a month, remember what the books held when it began."""
        m = month_of(at)
        if m not in self.books.stock_at:
            self.books.stock_at[m] = Counter(self.books.stock)
            self.books.held_at[m] = self.books.deposits_held()

    # --- the moves ---------------------------------------------------------------------------

    def deliver(self, at, card_type=None, qty=None):
        card_type = card_type or self.rng.choice(TYPES)
        qty = qty or self.rng.randint(20, 50)
        self.paper("delivery", at, {"card_type": card_type, "qty": qty, "ref": f"DN-{self.receipt('D')}"})
        self.books.book(at, "purchased", card_type, qty)

    def _hand_over(self, at, uid, card_type, who, body):
        self.books.book(at, "personalised", card_type)
        self.books.held[uid] = card_type
        if card_type in DEPOSIT:
            dep = body["deposit"]
            self.books.deposits[uid] = (dep["receipt_no"], dep["amount_cents"])
            self.books.pay(at, "deposit_taken", card_type, who, dep["amount_cents"], dep["receipt_no"])

    def issue_new(self, at, card_type=None):
        card_type = card_type or self.rng.choice(TYPES)
        if self.books.blanks(card_type) < 1:
            return self.deliver(at, card_type)  # the rules: no issue without a blank of the type
        uid = self.uid()
        body = self.request(uid, card_type, at)
        who, _ = self.paper("issue", at, body)
        self._hand_over(at, uid, card_type, who, body)

    def reissue_from_drawer(self, at):
        if not self.books.drawer:
            return self.issue_new(at)
        uid = self.rng.choice(sorted(self.books.drawer))
        card_type = self.books.drawer.pop(uid)  # a put-back card is reissued as its own type
        body = self.request(uid, card_type, at)
        who, _ = self.paper("issue", at, body)
        self._hand_over(at, uid, card_type, who, body)

    def suspend_or_resume(self, at):
        if self.books.suspended and self.rng.random() < 0.5:
            uid = self.rng.choice(sorted(self.books.suspended))
            self.paper("resume", at, {}, uid)
            self.books.held[uid] = self.books.suspended.pop(uid)
        elif self.books.held:
            uid = self.rng.choice(sorted(self.books.held))
            self.paper("suspend", at, {"reason": "holder asked"}, uid)
            self.books.suspended[uid] = self.books.held.pop(uid)

    def replace(self, at, move):
        held = {**self.books.held, **self.books.suspended}
        if not held:
            return self.issue_new(at)
        uid = self.rng.choice(sorted(held))
        card_type = held[uid]
        if self.books.blanks(card_type) < 1:
            return self.deliver(at, card_type)
        new = self.uid()
        fee = self.receipt("F")
        who, r = self.paper(move, at, {"reason": "lost in the park" if move == "report_lost" else "cracked",
                                       "replacement_uid": new, "fee_cents": FEE[move], "receipt_no": fee}, uid)
        assert r["replacement_uid"] == new
        self.books.held.pop(uid, None)
        self.books.suspended.pop(uid, None)
        if move == "report_lost":
            self.books.lost.add(uid)
        else:
            self.books.book(at, "retired", card_type)
        self.books.book(at, "personalised", card_type)
        self.books.held[new] = card_type
        if uid in self.books.deposits:  # the deposit moves to the replacement
            self.books.deposits[new] = self.books.deposits.pop(uid)
        self.books.pay(at, "fee_replacement" if move == "report_lost" else "fee_damage", card_type, who, FEE[move], fee)

    def take_back(self, at):
        held = {**self.books.held, **self.books.suspended}
        if not held:
            return self.issue_new(at)
        uid = self.rng.choice(sorted(held))
        card_type = held[uid]
        dep = self.books.deposits.get(uid)
        refund = dep is not None and self.rng.random() < 0.6
        who, r = self.paper("return", at, {"refund": refund, "receipt_no": dep[0] if refund else None}, uid)
        if refund:
            assert r["amount_cents"] == -dep[1]
            del self.books.deposits[uid]
            self.books.pay(at, "deposit_refunded", card_type, who, dep[1], dep[0])
        self.books.held.pop(uid, None)
        self.books.suspended.pop(uid, None)
        self.books.returned[uid] = card_type

    def after_return(self, at):
        if not self.books.returned:
            return self.take_back(at)
        uid = self.rng.choice(sorted(self.books.returned))
        card_type = self.books.returned[uid]
        dep = self.books.deposits.get(uid)
        if dep is not None:  # settled before the card goes anywhere
            forfeit = self.can_forfeit and self.rng.random() < 0.3
            move = "forfeit_deposit" if forfeit else "refund_deposit"
            who, _ = self.paper(move, at, {"receipt_no": dep[0], "reason": "kept back" if forfeit else "came back"},
                                uid)
            del self.books.deposits[uid]
            self.books.pay(at, "deposit_forfeited" if forfeit else "deposit_refunded", card_type, who, dep[1], dep[0])
            return
        del self.books.returned[uid]
        if self.rng.random() < 0.6:
            self.paper("restock", at, {}, uid)
            self.books.drawer[uid] = card_type
            self.books.book(at, "returned", card_type)
        else:
            self.paper("scrap", at, {"reason": "worn out"}, uid)
            self.books.book(at, "retired", card_type)

    def scrap_from_drawer(self, at):
        if self.books.drawer and self.rng.random() < 0.5:
            uid = self.rng.choice(sorted(self.books.drawer))
            card_type = self.books.drawer.pop(uid)
            self.paper("scrap", at, {"reason": "chip dead"}, uid)
            self.books.book(at, "scrapped", card_type)
            return
        card_type = self.rng.choice(TYPES)
        qty = min(self.rng.randint(1, 3), self.books.blanks(card_type))
        if qty > 0:
            self.paper("scrap_blanks", at, {"card_type": card_type, "qty": qty, "reason": "misprint"})
            self.books.book(at, "scrapped", card_type, qty)

    # --- refusals: each named, each changing nothing ---------------------------------------

    def fingerprint(self):
        with self.store.read() as db:
            tables = {t: db[t].count for t in ("card_moves", "stock_ledger", "card_deposits", "stock_counts",
                                               "stock_reports", "cards")}
            cards = sorted((r["uid"], r["status"], r["card_type"]) for r in db.query(
                "SELECT uid, status, card_type FROM cards"))
            deps = sorted(tuple(r.values()) for r in db.query("SELECT * FROM card_deposits"))
            return tables, cards, deps, ledger.in_stock(db)

    def refused(self, status, rule, method, path, role, **kw):
        before = self.fingerprint()
        r = self.api(method, path, role=role, **kw)
        assert r.status_code == status, (path, r.text)
        if rule:
            assert r.json()["error"] == rule, r.text
        assert self.fingerprint() == before, f"a refused {path} changed something"
        self.refusals[rule or status] += 1

    def refusal(self, at):
        pick = self.rng.randrange(7)
        move = {"move": "delivery", "at": at.isoformat(), "paper_reason": "x",
                "body": {"card_type": "owner", "qty": 5, "ref": "DN-X"}}
        if pick == 0:  # a clerk may not enter a past time
            self.refused(403, None, "POST", "/api/v1/paper-moves", "clerk", json=move)
        elif pick == 1:
            ahead = datetime.now(UTC) + timedelta(days=2)
            self.refused(422, "paper_move_in_future", "POST", "/api/v1/paper-moves", "li",
                         json={**move, "at": ahead.isoformat()})
        elif pick == 2 and self.filed:  # February is filed
            self.refused(422, "month_filed", "POST", "/api/v1/paper-moves", "li",
                         json={**move, "at": local(2026, 2, 27, 10).isoformat()})
        elif pick == 3 and self.books.suspended:
            uid = sorted(self.books.suspended)[0]
            self.refused(422, "suspend_from_suspended", "POST", "/api/v1/paper-moves", "wang",
                         json={"move": "suspend", "uid": uid, "at": at.isoformat(), "paper_reason": "x",
                               "body": {"reason": "again"}})
        elif pick == 4 and self.books.lost:
            uid = sorted(self.books.lost)[0]
            self.refused(422, "lost_card_final", "POST", "/api/v1/paper-moves", "li",
                         json={"move": "resume", "uid": uid, "at": at.isoformat(), "paper_reason": "found it"})
        elif pick == 5:
            card_type = self.rng.choice(TYPES)
            self.refused(422, "not_in_stock", "POST", "/api/v1/paper-moves", "wang",
                         json={"move": "scrap_blanks", "at": at.isoformat(), "paper_reason": "x",
                               "body": {"card_type": card_type, "qty": self.books.stock[card_type] + 1,
                                        "reason": "bent"}})
        elif pick == 6:
            self.refused(422, "bad_input", "GET", "/api/v1/stock/reports/2026-3", "clerk")

    # --- the stocktake -----------------------------------------------------------------------

    def stocktake(self, at):
        short = max(TYPES, key=self.books.blanks)  # two blanks gone missing from the fullest type
        other = next(t for t in TYPES if t != short)
        r = self.api("POST", "/api/v1/stock/stocktakes", role="li", json={
            "card_type": short, "counted": self.books.stock[short] - 2, "note": "two missing", "at": at.isoformat()})
        assert r.status_code == 201, r.text
        missing = r.json()
        assert (missing["state"], missing["booked"], missing["difference"]) == ("pending", self.books.stock[short], -2)
        r = self.api("POST", "/api/v1/stock/stocktakes", role="wang", json={
            "card_type": other, "counted": self.books.stock[other] + 1, "at": at.isoformat()})
        extra = r.json()
        assert extra["state"] == "pending" and extra["difference"] == 1
        # a clerk may neither count at a past time nor approve; a decision needs a reason
        self.refused(403, "paper_move_supervisor_only", "POST", "/api/v1/stock/stocktakes", "clerk",
                     json={"card_type": short, "counted": 1, "at": at.isoformat()})
        self.refused(403, None, "POST", f"/api/v1/stock/stocktakes/{missing['id']}/approve", "clerk",
                     json={"reason": "ok"})
        self.refused(422, "bad_input", "POST", f"/api/v1/stock/stocktakes/{missing['id']}/approve", "wang", json={})
        pending = self.api("GET", "/api/v1/stock/stocktakes", role="clerk", params={"state": "pending"}).json()["items"]
        assert {c["id"] for c in pending} == {missing["id"], extra["id"]}
        r = self.api("POST", f"/api/v1/stock/stocktakes/{extra['id']}/refuse", role="li",
                     json={"reason": "recounted: one was a resident card in the wrong box"})
        assert r.json()["state"] == "refused" and r.json()["entry_id"] is None
        r = self.api("POST", f"/api/v1/stock/stocktakes/{missing['id']}/approve", role="wang",
                     json={"reason": "two blanks written off after a search"})
        assert r.json()["state"] == "approved" and r.json()["entry_id"]
        self.refused(422, "stocktake_not_pending", "POST", f"/api/v1/stock/stocktakes/{missing['id']}/approve",
                     "li", json={"reason": "twice"})
        self.books.book(at, "adjusted", short, -2)
        return short

    # --- a run -------------------------------------------------------------------------------

    def actions(self):
        return [(self.issue_new, 30), (self.reissue_from_drawer, 6), (self.suspend_or_resume, 8),
                (lambda at: self.replace(at, "report_lost"), 6), (lambda at: self.replace(at, "damage"), 4),
                (self.take_back, 14), (self.after_return, 14), (self.scrap_from_drawer, 4), (self.deliver, 3),
                (self.refusal, 6)]

    def work(self, start: datetime, end: datetime, steps: int, stocktake_at: datetime | None = None) -> str | None:
        funcs, weights = zip(*self.actions())
        span = (end - start).total_seconds()
        times = sorted(start + timedelta(seconds=int(self.rng.uniform(0, span))) for _ in range(steps))
        counted = None
        for at in times:
            self.mark(at)
            if stocktake_at is not None and counted is None and at >= stocktake_at:
                counted = self.stocktake(stocktake_at)
            self.rng.choices(funcs, weights)[0](at)
        return counted


@pytest.fixture
def desk(store, tmp_path):
    app = make_app(store, tmp_path)
    tokens = {"clerk": create_token(store, "clerk", "mei")}
    tokens.update({name: create_token(store, "supervisor", name) for name in DESK})
    with TestClient(app) as client:
        def call(method, path, role="clerk", **kw):
            return client.request(method, path, headers={"Authorization": f"Bearer {tokens[role]}"}, **kw)
        yield call


def _csv_rows(text: str) -> dict[str, list[int]]:
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [export.HEADINGS[c] for c in report.COLUMNS]
    return {line[0]: [int(v) for v in line[1:]] for line in lines[1:]}


def test_a_month_of_clerk_work_matches_the_report_and_the_money_reconciles(desk, store):
    assert desk("PUT", "/api/v1/access/calendar", role="li", json={"timezone": TZ}).status_code == 200
    month = Month(desk, random.Random(20260301), store)

    # February: the first deliveries, some work, and the month filed
    for t in TYPES:
        month.deliver(local(2026, 2, 2, 9), t, 40)
    month.work(local(2026, 2, 3, 8), local(2026, 2, 28, 20), 60)
    r = desk("POST", "/api/v1/stock/reports/2026-02/file", role="li", json={})
    assert r.status_code == 200 and r.json()["status"] == "filed_late", r.text
    month.filed.add("2026-02")

    # March: a few hundred moves, a stocktake on the 20th, refusals mixed in
    moves_before = count(store, "card_moves") + count(store, "stock_ledger")
    short = month.work(local(2026, 3, 1, 0, 5), local(2026, 3, 31, 22), 330, stocktake_at=local(2026, 3, 20, 10))
    assert short is not None
    # a paper move on the month's last evening is still March in the estate (15:30 UTC) ...
    last_evening = local(2026, 3, 31, 23, 30)
    month.issue_new(last_evening, "owner")
    # ... and one at 00:30 on 1 April is April, though it is still 31 March in UTC
    month.mark(local(2026, 4, 1, 0, 30))
    month.deliver(local(2026, 4, 1, 0, 30), "owner", 10)
    assert (local(2026, 4, 1, 0, 30).astimezone(UTC).day, month_of(local(2026, 4, 1, 0, 30))) == (31, "2026-04")
    made = count(store, "card_moves") + count(store, "stock_ledger") - moves_before
    assert made >= 300, made
    assert sum(month.refusals.values()) >= 15 and len(month.refusals) >= 5, month.refusals

    books, tally = month.books, month.books.tally["2026-03"]
    opening, closing = books.stock_at["2026-03"], books.stock_at["2026-04"]
    expect = {t: [opening[t], tally["purchased"][t], tally["returned"][t], tally["personalised"][t],
                  tally["scrapped"][t], tally["adjusted"][t], closing[t], tally["retired"][t]] for t in TYPES}
    assert tally["adjusted"][short] == -2 and sum(tally["adjusted"].values()) == -2
    assert sum(tally["personalised"].values()) > 100

    # the inventory report, in the estate's month, in JSON ...
    rep = desk("GET", "/api/v1/stock/reports/2026-03").json()
    assert rep["timezone"] == TZ and rep["balanced"], rep["problems"]
    got = {r["card_type"]: [r[c] for c in report.COLUMNS[1:]] for r in rep["rows"]}
    assert got == expect
    total = [sum(v[i] for v in expect.values()) for i in range(len(report.COLUMNS) - 1)]
    assert [rep["total"][c] for c in report.COLUMNS[1:]] == total
    # ... CSV ...
    by_csv = _csv_rows(desk("GET", "/api/v1/stock/reports/2026-03", params={"format": "csv"}).text)
    assert by_csv == {**expect, "total": total}
    # ... XLSX ...
    x = desk("GET", "/api/v1/stock/reports/2026-03", params={"format": "xlsx"})
    ws = load_workbook(io.BytesIO(x.content)).active
    assert [c.value for c in ws[2]] == [export.HEADINGS[c] for c in report.COLUMNS]
    assert {row[0]: list(row[1:]) for row in ws.iter_rows(min_row=3, values_only=True)} == {**expect, "total": total}
    # ... and on paper
    html = desk("GET", "/clerk/stock/2026-03").text
    assert "Stocktake adjustment" in html and f'<th scope="row" data-type="{short}">' in html and "Balanced" in html
    # February's closing is March's opening; April has the evening delivery
    feb = {r["card_type"]: r for r in desk("GET", "/api/v1/stock/reports/2026-02").json()["rows"]}
    assert {t: feb[t]["closing"] for t in TYPES} == {t: opening[t] for t in TYPES}
    apr = {r["card_type"]: r for r in desk("GET", "/api/v1/stock/reports/2026-04").json()["rows"]}
    assert apr["owner"]["purchased"] == 10

    # the money ledger: per card type, per clerk, each line with its receipt, to the fen
    lines = books.money["2026-03"]
    money = desk("GET", "/api/v1/money/reports/2026-03").json()
    sums = Counter()
    by_type: dict[str, Counter] = defaultdict(Counter)
    by_who: dict[str, Counter] = defaultdict(Counter)
    for kind, card_type, who, fen, _ in lines:
        sums[kind] += fen
        by_type[card_type][kind] += fen
        by_who[who][kind] += fen
    assert all(money["total"][k] == sums[k] for k in money["total"]), (money["total"], sums)
    assert {r["card_type"]: Counter({k: v for k, v in r.items() if k != "card_type" and v}) for r in money["by_card_type"]} == by_type
    assert {r["clerk"]: Counter({k: v for k, v in r.items() if k != "clerk" and v}) for r in money["by_clerk"]} == by_who
    assert sorted((ln["kind"], ln["amount_cents"], ln["receipt_no"]) for ln in money["lines"]) == \
        sorted((k, fen, receipt) for k, _, _, fen, receipt in lines)
    assert sums["deposit_taken"] and sums["deposit_refunded"] and sums["fee_replacement"] and sums["fee_damage"]
    assert sums["deposit_forfeited"] or not month.can_forfeit
    deposits = money["deposits"]
    assert deposits["held_at_start"] == books.held_at["2026-03"]
    assert deposits["held_at_end"] == books.held_at["2026-04"]
    assert deposits["held_at_end"] == (deposits["held_at_start"] + sums["deposit_taken"] - sums["deposit_refunded"]
                                       - sums["deposit_forfeited"])
    assert deposits["reconciles"] and money["problems"] == []
    with store.read() as db:  # and the cards' own deposits, now, are what the script holds
        open_now = list(db.query(
            "SELECT COALESCE(SUM(amount_cents), 0) AS n FROM card_deposits WHERE transferred_to IS NULL"
            " AND refunded_at IS NULL AND forfeited_at IS NULL"))[0]["n"]
    assert open_now == books.deposits_held()
    # the money as CSV (summary, an empty line, the lines) and as XLSX
    text = desk("GET", "/api/v1/money/reports/2026-03", params={"format": "csv"}).text
    summary, _, items = text.partition("\r\n\r\n")
    srows = list(csv.reader(io.StringIO(summary)))
    heads = srows[0][2:]
    csv_total = dict(zip(heads, map(int, next(r for r in srows if r[0] == "total")[2:])))
    assert csv_total == {export.MONEY_HEADINGS[k]: money["total"][k] for k in export.MONEY_HEADINGS}
    item_rows = list(csv.reader(io.StringIO(items)))[1:]
    assert sorted(r[7] for r in item_rows) == sorted(receipt for *_, receipt in lines)
    assert sum(int(r[6]) for r in item_rows) == sum(sums.values())
    wb = load_workbook(io.BytesIO(desk("GET", "/api/v1/money/reports/2026-03", params={"format": "xlsx"}).content))
    xs = list(wb.worksheets[0].iter_rows(min_row=3, values_only=True))
    assert list(next(r for r in xs if r[0] == "total")[2:]) == [money["total"][k] for k in export.MONEY_HEADINGS]
    assert next(r for r in xs if r[:2] == ("deposits held", "at end"))[2] == books.held_at["2026-04"]
    assert len(list(wb["Lines"].iter_rows(min_row=2))) == len(lines)

    # the evening's paper move is in the audit: who entered it, and when it happened
    found = desk("GET", "/api/v1/audit", role="li", params={"action": "paper_move", "since": "2026-03-31",
                                                            "until": "2026-03-31"}).json()["items"]
    assert any(i["move_at"].startswith("2026-03-31T15:30") for i in found)

    # the year: January, before the first record, is not late; March, unfiled, is
    year = desk("GET", "/api/v1/stock/years/2026").json()
    assert "2026-01" not in year["not_filed_past_due"] and "2026-03" in year["not_filed_past_due"]
    assert year["filed_late"] == ["2026-02"]


# --- filing, late months, bounds -------------------------------------------------------------


def test_filing_the_report_on_time_late_and_corrected(store):
    ledger.receive_delivery(store, CLERK, "owner", 5, "DN-0", at=datetime(2026, 1, 10, tzinfo=UTC))
    at = datetime(2026, 3, 3, 10, tzinfo=UTC)
    ledger.receive_delivery(store, CLERK, "owner", 50, "DN-1", at=at)
    moves.issue_card(store, CLERK, request_for("AA0000A1", at=at), at=at)
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
    # February (nothing moved, but after the first record) was due on 5 March and is filed on 3 April: late
    with store.read() as db:
        assert report.compute(db, 2026, 2, now=datetime(2026, 3, 6, tzinfo=UTC)).status == "late"
        assert report.compute(db, 2026, 2, now=datetime(2026, 3, 5, 23, tzinfo=UTC)).status == "due"
        assert report.compute(db, 2025, 12, now=datetime(2026, 3, 6, tzinfo=UTC)).status == "before_records"
    rep = report.file_report(store, "supervisor:li", 2026, 2, now=datetime(2026, 4, 3, tzinfo=UTC))
    assert rep.status == "filed_late"
    with store.read() as db:
        year = report.late_or_wrong(db, 2026, now=datetime(2026, 4, 10, tzinfo=UTC))
    assert year["filed_late"] == ["2026-02"] and year["corrected"] == ["2026-03"]
    assert year["not_filed_past_due"] == ["2026-01"]
    assert year["count"] == 3 and not year["within_limit"]


def test_a_fresh_hub_owes_no_report_for_the_months_before_its_first_record(store):
    now = datetime(2026, 11, 20, tzinfo=UTC)
    with store.read() as db:
        assert report.late_or_wrong(db, 2026, "Asia/Shanghai", now=now)["count"] == 0
        assert report.compute(db, 2026, 3, now=now).status == "before_records"
    ledger.receive_delivery(store, CLERK, "owner", 10, "DN-1", at=datetime(2026, 9, 14, tzinfo=UTC))
    with store.read() as db:
        year = report.late_or_wrong(db, 2026, now=now)
    assert year["not_filed_past_due"] == ["2026-09", "2026-10"] and year["count"] == 2


def test_month_bounds_follow_the_estates_timezone(store):
    # 1 April 01:00 in Shanghai is still 31 March in UTC
    at = datetime(2026, 3, 31, 17, 0, tzinfo=UTC)
    ledger.receive_delivery(store, CLERK, "owner", 10, "DN-2", at=at)
    with store.read() as db:
        utc = {r.card_type: r for r in report.compute(db, 2026, 3, "UTC").rows}
        sh = report.compute(db, 2026, 3, "Asia/Shanghai")
        sh_apr = {r.card_type: r for r in report.compute(db, 2026, 4, "Asia/Shanghai").rows}
    assert utc["owner"].purchased == 10 and sh.rows == [] and sh_apr["owner"].purchased == 10


@pytest.mark.parametrize("text", ["2026-1", "2026-001", "26-01", "2026-13", "2026-00", "2026/01", " 2026-01", "٢٠٢٦-٠٣"])
def test_months_are_yyyy_mm_only(store, text):
    with pytest.raises(DomainError) as err:
        report.parse_month(text)
    assert err.value.field == "month" and "YYYY-MM" in err.value.detail


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
        moves.issue_card(store, CLERK, request_for(f"AC0000C{i}", at=at), at=at)
    with store.read() as db:
        assert ledger.levels(db)[0]["state"] == "low" and ledger.levels(db)[0]["in_stock"] == 9
    with pytest.raises(DomainError):
        ledger.set_limits(store, CLERK, "owner", 50, 10)

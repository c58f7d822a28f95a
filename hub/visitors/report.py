"""The monthly visitor figures, and retention: visits purged after ``[visitors] keep_days``.

A month's figures: visits registered (not cancelled), how many of those had a timed
registration (the form's opening time given), how many of those had the pass in hand
within 5 minutes (and the share), overstays, and watch-list hits (refused or overridden).
Retention counts what it purges into ``visit_months`` first, in the same transaction, so a
month's figures stay what they were after its visits are gone.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any, Callable

import sqlite_utils

from hub import audit
from hub.errors import BadInput
from hub.i18n.validation import N_
from hub.visitors.models import utc
from hub.visitors.service import TARGET_S
from hub.web.downloads import Sheet, csv_bytes, xlsx_bytes

log = logging.getLogger(__name__)

COLUMNS = ("month", "visits", "timed", "within_5_min", "share_within_5_min", "overstays", "watch_list_hits")
#: the columns' headings (msgids): the files say them in the reader's language
HEADINGS = {
    "month": N_("Month"),
    "visits": N_("Visits"),
    "timed": N_("Timed registrations"),
    "within_5_min": N_("Pass in hand within 5 minutes"),
    "share_within_5_min": N_("Share within 5 minutes"),
    "overstays": N_("Overstays"),
    "watch_list_hits": N_("Watch-list hits"),
}

_LIVE = """
SELECT COUNT(*) AS visits,
       COALESCE(SUM(handled_s IS NOT NULL), 0) AS timed,
       COALESCE(SUM(handled_s IS NOT NULL AND handled_s <= ?), 0) AS within_5,
       COALESCE(SUM(overstay_at IS NOT NULL), 0) AS overstays
FROM visits WHERE month = ? AND cancelled_at IS NULL
"""


def check_month(month: str) -> str:
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise BadInput("a month is written YYYY-MM, not {month}", rule="bad_month", field="month", month=month) from None
    return month


def figures(db: sqlite_utils.Database, month: str) -> dict[str, Any]:
    """The month's figures: its visits still kept, plus what retention counted before purging."""
    check_month(month)
    live = dict(db.execute(_LIVE, [TARGET_S, month]).fetchone())
    hits = db.execute("SELECT COUNT(*) FROM visit_hits WHERE month = ?", [month]).fetchone()[0]
    kept = db.execute("SELECT visits, timed, within_5, overstays, watch_hits FROM visit_months WHERE month = ?",
                      [month]).fetchone()
    k = dict(kept) if kept else {"visits": 0, "timed": 0, "within_5": 0, "overstays": 0, "watch_hits": 0}
    timed = live["timed"] + k["timed"]
    within = live["within_5"] + k["within_5"]
    return {
        "month": month,
        "visits": live["visits"] + k["visits"],
        "timed": timed,
        "within_5_min": within,
        "share_within_5_min": round(within / timed, 4) if timed else None,
        "overstays": live["overstays"] + k["overstays"],
        "watch_list_hits": hits + k["watch_hits"],
    }


Say = Callable[[str], str]


def _same(text: str) -> str:
    return text


def _line(fig: dict[str, Any]) -> list[Any]:
    return [fig[c] if fig[c] is not None else "" for c in COLUMNS]


def to_csv(fig: dict[str, Any], say: Say = _same) -> bytes:
    return csv_bytes([say(HEADINGS[c]) for c in COLUMNS], [_line(fig)], bom=False)


def to_xlsx(fig: dict[str, Any], say: Say = _same) -> bytes:
    rows = [[say(N_("Visitor figures {month}")).format(month=fig["month"])],
            [say(HEADINGS[c]) for c in COLUMNS], _line(fig)]
    share = {} if fig["share_within_5_min"] is None else {(3, COLUMNS.index("share_within_5_min") + 1): "0.0%"}
    return xlsx_bytes([Sheet(say(N_("Visitors {month}")).format(month=fig["month"]), rows, bold_rows=(2,),
                             widths=dict.fromkeys("ABCDEFG", 18), number_formats=share)])


# -- retention -------------------------------------------------------------------------------

def purge(db: sqlite_utils.Database, now: datetime, keep_days: int) -> dict[str, int]:
    """Visits registered more than ``keep_days`` ago, their passes and their visit events,
    and watch-list hits as old, leave the hub; each month's counts of them are kept first.
    Inside the caller's transaction (the ticker's)."""
    cutoff = utc(now - timedelta(days=keep_days))
    months: dict[str, dict[str, int]] = {}

    def add(month: str, **counts: int) -> None:
        m = months.setdefault(month, {"visits": 0, "timed": 0, "within_5": 0, "overstays": 0, "watch_hits": 0})
        for k, v in counts.items():
            m[k] += v

    for r in db.execute(
            "SELECT month, COUNT(*), COALESCE(SUM(handled_s IS NOT NULL), 0),"
            " COALESCE(SUM(handled_s IS NOT NULL AND handled_s <= ?), 0), COALESCE(SUM(overstay_at IS NOT NULL), 0)"
            " FROM visits WHERE registered_at < ? AND cancelled_at IS NULL GROUP BY month", [TARGET_S, cutoff]):
        add(r[0], visits=r[1], timed=r[2], within_5=r[3], overstays=r[4])
    for r in db.execute("SELECT month, COUNT(*) FROM visit_hits WHERE at < ? GROUP BY month", [cutoff]):
        add(r[0], watch_hits=r[1])
    for month, m in months.items():
        db.execute(
            "INSERT INTO visit_months (month, visits, timed, within_5, overstays, watch_hits) VALUES (?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (month) DO UPDATE SET visits = visits + excluded.visits, timed = timed + excluded.timed,"
            " within_5 = within_5 + excluded.within_5, overstays = overstays + excluded.overstays,"
            " watch_hits = watch_hits + excluded.watch_hits",
            [month, m["visits"], m["timed"], m["within_5"], m["overstays"], m["watch_hits"]])
    old = "SELECT id FROM visits WHERE registered_at < ?"
    events = db.execute(
        "DELETE FROM events WHERE kind = 'visit' AND (at_utc < ? OR pass_id IN"
        f" (SELECT pass_id FROM visit_passes WHERE visit_id IN ({old})))", [cutoff, cutoff]).rowcount
    passes = db.execute(f"DELETE FROM visit_passes WHERE visit_id IN ({old})", [cutoff]).rowcount
    visits = db.execute("DELETE FROM visits WHERE registered_at < ?", [cutoff]).rowcount
    hits = db.execute("DELETE FROM visit_hits WHERE at < ?", [cutoff]).rowcount
    if visits or events or hits:
        audit.record(db, "hub", "purge", "visits", cutoff[:10], visits=visits, passes=passes, events=events,
                     hits=hits, keep_days=keep_days)
        log.info("visitor retention: %d visits, %d passes, %d visit events, %d watch-list hits purged",
                 visits, passes, events, hits)
    return {"visits": visits, "passes": passes, "events": events, "hits": hits}

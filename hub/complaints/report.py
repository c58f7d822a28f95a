"""The month's complaint figures, the year so far against the estate's targets, and the
files (CSV, XLSX). A filed month is frozen: its figures are kept as they were filed and
given from then on, whatever later happens to its complaints.

A complaint belongs to the month it was registered in (the estate's timezone). Each
figure carries its numerator, denominator and formula (a msgid the page shows):
- on_time_rate: valid complaints handled with every deadline met / valid complaints handled;
- correct_rate: valid complaints closed with the complainant's acceptance and never reopened
  / valid complaints closed;
- followup_rate: complaints whose follow-up visit is recorded / complaints due a follow-up;
- satisfaction_rate: satisfied at their latest follow-up / complaints followed up;
- handled_rate: valid complaints handled (resolved) / valid complaints;
- complaint_rate, valid_rate: complaints, valid complaints, per 1,000 households
  (households: ``[complaints] households``, else the units in the register).
The year so far adds each month's numerators and denominators (a filed month's as filed).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any, Callable, Sequence

import sqlite_utils

from hub import audit
from hub.complaints import service
from hub.complaints.deadlines import DayMemo, on_time
from hub.complaints.models import CHANNELS, SEVERITIES, utc
from hub.errors import BadInput, Conflict
from hub.i18n.validation import N_
from hub.web.downloads import Sheet, csv_bytes, xlsx_bytes

#: the figures in order: key -> (name, formula, unit) (msgids)
FIGURES: dict[str, tuple[str, str, str]] = {
    "on_time_rate": (N_("On-time handling rate"),
                     N_("valid complaints handled with every deadline met ÷ valid complaints handled × 100%"), "%"),
    "correct_rate": (N_("Correct-handling rate"),
                     N_("valid complaints closed with the complainant's acceptance and never reopened"
                        " ÷ valid complaints closed × 100%"), "%"),
    "followup_rate": (N_("Follow-up rate"),
                      N_("complaints whose follow-up visit is recorded ÷ complaints due a follow-up visit × 100%"), "%"),
    "satisfaction_rate": (N_("Satisfaction rate"),
                          N_("complaints satisfied at their latest follow-up ÷ complaints followed up × 100%"), "%"),
    "handled_rate": (N_("Valid complaints handled"),
                     N_("valid complaints resolved ÷ valid complaints × 100%"), "%"),
    "complaint_rate": (N_("Complaint rate"), N_("complaints ÷ households × 1,000"), "‰"),
    "valid_rate": (N_("Valid-complaint rate"), N_("valid complaints ÷ households × 1,000"), "‰"),
}
#: the estate's public targets, on the year so far: key -> (comparison, value, how it reads)
TARGETS: dict[str, tuple[str, float, str]] = {
    "satisfaction_rate": (">=", 95.0, ">= 95%"),
    "valid_rate": ("<=", 5.0, "<= 5 / 1,000"),
    "handled_rate": (">=", 100.0, "100%"),
}
PER_THOUSAND = ("complaint_rate", "valid_rate")


def check_month(month: str) -> str:
    try:
        datetime.strptime(month, "%Y-%m")
    except ValueError:
        raise BadInput("a month is written YYYY-MM, not {month}", rule="bad_month", field="month", month=month) from None
    return month


def households(db: sqlite_utils.Database, settings: Any) -> tuple[int, str]:
    if settings.households:
        return settings.households, "config"
    n = db.execute("SELECT COUNT(*) FROM units").fetchone()[0] if db["units"].exists() else 0
    return n, "register"


def _value(key: str, num: int, den: int, homes: int) -> float | None:
    if key in PER_THOUSAND:
        return round(num / homes * 1000, 3) if homes else None
    return round(num / den * 100, 2) if den else None


def counts(db: sqlite_utils.Database, ctx: service.Complaints, month: str, now: datetime) -> dict[str, Any]:
    """The month's numerators and denominators, and its counts, from its complaints now."""
    return counts_by_month(db, ctx, [month], now)[month]


def counts_by_month(db: sqlite_utils.Database, ctx: service.Complaints, months: Sequence[str],
                    now: datetime) -> dict[str, dict[str, Any]]:
    """``counts`` of each month, in one pass: the months' complaints in one query, their
    pauses, extensions and follow-ups in three (service.load_parts), not four per complaint,
    which made the year so far of a busy estate slow."""
    cal = DayMemo(ctx.calendar(db))
    limits = ctx.limits
    out: dict[str, dict[str, Any]] = {}
    for m in months:
        out[m] = {"n": {"complaints": 0, "valid": 0, "handled": 0, "on_time": 0, "closed": 0, "correct": 0,
                        "followup_due": 0, "followed_up": 0, "satisfied": 0},
                  "by_severity": {k: 0 for k in SEVERITIES}, "by_channel": {k: 0 for k in CHANNELS},
                  "by_department": {}}
    columns = ", ".join(("id", "month", "channel", "department", "state", "accepted", "reopened",
                         *service.TIMES_COLUMNS))
    rows = [dict(r) for r in db.execute(f"SELECT {columns} FROM complaints"
                                        " WHERE month IN (SELECT value FROM json_each(?)) ORDER BY id",
                                        [json.dumps(list(out))])]
    parts = service.load_parts(db, [r["id"] for r in rows])
    for row in rows:
        c = out[row["month"]]
        n, by_dept = c["n"], c["by_department"]
        n["complaints"] += 1
        c["by_severity"][row["severity"]] += 1
        c["by_channel"][row["channel"]] += 1
        dept = row["department"] or ""
        by_dept[dept] = by_dept.get(dept, 0) + 1
        if not row["valid"]:
            continue
        n["valid"] += 1
        p = parts[row["id"]]
        if row["resolved_at"]:
            n["handled"] += 1
            if on_time(p.times(row), cal, limits, now):
                n["on_time"] += 1
        if row["state"] == "closed":
            n["closed"] += 1
            if row["accepted"] and not row["reopened"]:
                n["correct"] += 1
        if p.followups:
            n["followup_due"] += 1
            done = [f for f in p.followups if f["state"] == "done"]
            if done:
                n["followed_up"] += 1
                if done[-1]["satisfied"]:
                    n["satisfied"] += 1
    return out


#: each figure's numerator and denominator among the counts
PARTS = {
    "on_time_rate": ("on_time", "handled"), "correct_rate": ("correct", "closed"),
    "followup_rate": ("followed_up", "followup_due"), "satisfaction_rate": ("satisfied", "followed_up"),
    "handled_rate": ("handled", "valid"), "complaint_rate": ("complaints", None), "valid_rate": ("valid", None),
}


def _figures(n: dict[str, int], homes: int) -> list[dict[str, Any]]:
    out = []
    for key, (name, formula, unit) in FIGURES.items():
        a, b = PARTS[key]
        num = n[a]
        den = homes if b is None else n[b]
        out.append({"key": key, "name": name, "formula": formula, "numerator": num, "denominator": den,
                    "value": _value(key, num, den, homes), "unit": unit})
    return out


def _filed(db: sqlite_utils.Database, months: Sequence[str]) -> dict[str, dict[str, Any]]:
    """The filed months among ``months``: month -> its figures as filed."""
    return {r["month"]: json.loads(r["figures"]) for r in db.execute(
        "SELECT month, figures FROM complaint_months WHERE month IN (SELECT value FROM json_each(?))",
        [json.dumps(list(months))])}


def _months(db: sqlite_utils.Database, ctx: service.Complaints, months: Sequence[str],
            now: datetime) -> dict[str, dict[str, Any]]:
    """Each month alone (no year): frozen if filed, else counted now (all of them in one pass)."""
    filed = _filed(db, months)
    live = [m for m in months if m not in filed]
    if not live:
        return filed
    homes, source = households(db, ctx.settings)
    counted = counts_by_month(db, ctx, live, now)
    out = {}
    for month in months:
        if month in filed:
            out[month] = filed[month]
            continue
        c = counted[month]
        out[month] = {"month": month, "filed": False, "filed_at": None, "filed_by": None, "households": homes,
                      "households_source": source,
                      "counts": {"complaints": c["n"]["complaints"], "valid": c["n"]["valid"],
                                 "by_severity": c["by_severity"], "by_department": c["by_department"],
                                 "by_channel": c["by_channel"]},
                      "parts": c["n"], "figures": _figures(c["n"], homes)}
    return out


def figures(db: sqlite_utils.Database, ctx: service.Complaints, month: str, now: datetime | None = None) -> dict[str, Any]:
    """The month's figures and the year so far against the targets."""
    check_month(month)
    now = now or ctx.clock()
    year = month[:4]
    # the months before it, then the month as asked (check_month lets 2026-1 through)
    earlier = [f"{year}-{m:02d}" for m in range(1, int(month[5:]))]
    each = _months(db, ctx, [*earlier, month], now)
    out = each[month]
    total = {k: 0 for k in out["parts"]}
    for m in [*earlier, month]:
        part = each[m]["parts"]
        for k in total:
            total[k] += part.get(k, 0)
    yfig = _figures(total, out["households"])
    targets = []
    for f in yfig:
        if f["key"] not in TARGETS:
            continue
        op, target, reads = TARGETS[f["key"]]
        met = None if f["value"] is None else (f["value"] >= target if op == ">=" else f["value"] <= target)
        targets.append({"key": f["key"], "name": f["name"], "target": reads, "value": f["value"], "unit": f["unit"],
                        "met": met})
    return {**out, "year": {"from": f"{year}-01", "to": month, "parts": total, "figures": yfig, "targets": targets}}


def file_month(ctx: service.Complaints, who: str, month: str) -> dict[str, Any]:
    """Freeze the month's figures as they are now (once; only after the month has ended)."""
    check_month(month)
    now = ctx.clock()
    with ctx.store.tx() as db:
        tz = ctx.calendar(db).tz
        if month >= service.month_of(now, tz):
            raise BadInput("{month} has not ended yet", rule="month_not_over", field="month", month=month)
        fig = _months(db, ctx, [month], now)[month]
        if fig["filed"]:
            raise Conflict("{month} is filed already", rule="month_already_filed", month=month)
        fig.update({"filed": True, "filed_at": utc(now), "filed_by": who})
        db["complaint_months"].insert({"month": month, "filed_at": utc(now), "filed_by": who,
                                       "figures": json.dumps(fig, ensure_ascii=False, sort_keys=True)})
        audit.record(db, who, "complaints_month_filed", "complaint_month", month,
                     complaints=fig["counts"]["complaints"], valid=fig["counts"]["valid"])
        return figures(db, ctx, month, now)


# -- files ------------------------------------------------------------------------------------

Say = Callable[[str], str]


def _same(text: str) -> str:
    return text


HEADINGS = (N_("Figure"), N_("Formula"), N_("Numerator"), N_("Denominator"), N_("Value"), N_("Unit"))
COUNT_HEADINGS = (N_("Count"), N_("Item"), N_("Complaints"))


def _rows(fig: dict[str, Any], say: Say) -> list[list[Any]]:
    """The file's rows: the month's figures, the year so far and its targets, the counts."""
    rows: list[list[Any]] = [[say(N_("Complaint figures {month}")).format(month=fig["month"])],
                             [say(N_("Households")), fig["households"]],
                             [say(h) for h in HEADINGS]]
    for f in fig["figures"]:
        rows.append([say(f["name"]), say(f["formula"]), f["numerator"], f["denominator"],
                     "" if f["value"] is None else f["value"], f["unit"]])
    rows.append([])
    rows.append([say(N_("Year so far {start} to {end}")).format(start=fig["year"]["from"], end=fig["year"]["to"])])
    rows.append([say(h) for h in HEADINGS])
    for f in fig["year"]["figures"]:
        rows.append([say(f["name"]), say(f["formula"]), f["numerator"], f["denominator"],
                     "" if f["value"] is None else f["value"], f["unit"]])
    rows.append([])
    rows.append([say(N_("Target")), say(N_("Year so far")), say(N_("Met"))])
    for t in fig["year"]["targets"]:
        met = "" if t["met"] is None else say(N_("yes") if t["met"] else N_("no"))
        rows.append([f"{say(t['name'])} {t['target']}", "" if t["value"] is None else t["value"], met])
    rows.append([])
    rows.append([say(h) for h in COUNT_HEADINGS])
    rows.append([say(N_("all")), "", fig["counts"]["complaints"]])
    rows.append([say(N_("valid")), "", fig["counts"]["valid"]])
    for group, label, names in (("by_severity", N_("severity"), SEVERITIES), ("by_department", N_("department"), None),
                                ("by_channel", N_("channel"), CHANNELS)):
        for k, v in fig["counts"][group].items():
            if names is not None:
                item = say(names[k])
            else:
                from hub.complaints.models import DEPARTMENTS
                item = say(DEPARTMENTS[k]) if k in DEPARTMENTS else (k or say(N_("not forwarded")))
            rows.append([say(label), item, v])
    return rows


def to_csv(fig: dict[str, Any], say: Say = _same) -> bytes:
    title, *rows = _rows(fig, say)
    return csv_bytes(title, rows, bom=False)


def to_xlsx(fig: dict[str, Any], say: Say = _same) -> bytes:
    title = say(N_("Complaints {month}")).format(month=fig["month"])
    return xlsx_bytes([Sheet(title, _rows(fig, say), bold_rows=(1,),
                             widths=dict(zip("ABCDEF", (28, 60, 12, 12, 10, 6))))])

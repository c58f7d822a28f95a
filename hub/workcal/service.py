"""The stored working calendar's rules: loading it as a WorkCalendar, seeding a year from
chinesecalendar, a person's edit of a day, and the check that raises an alarm from
1 December when next year's days are missing.

Every change bumps ``workcal_settings.version`` (``load_calendar`` caches by it) and is in
the audit log (entity ``workcal_day``, ``workcal_year`` or ``workcal_settings``) in the
transaction of the change. Each refusal names its rule and changes nothing.

The timezone is the estate calendar's (hub.access.plan.calendar): one timezone for the
estate's gates, shifts and deadlines.
"""

from __future__ import annotations

import json
import logging
import secrets
import threading
from datetime import date, datetime, timezone
from typing import Any, Sequence
from zoneinfo import ZoneInfo

import sqlite_utils

from hub import audit
from hub.access.plan import calendar as estate_calendar
from hub.errors import BadInput, NotFound
from hub.workcal import seed
from hub.workcal.calendar import DEFAULT_PERIODS, DEFAULT_WEEKDAYS, WorkCalendar, parse_periods, period_text
from hub.workcal.models import DayKind, SetDay

log = logging.getLogger(__name__)

#: the alarm kind raised when next year's days are missing (hub.alarms)
YEAR_MISSING_ALARM = "calendar_year_missing"
#: the estate date from which next year's days are looked for: (month, day)
LOOK_AHEAD_FROM = (12, 1)
HUB = "hub"
FIRST_YEAR, LAST_YEAR = 2000, 2100


def utc_iso(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _now() -> datetime:
    return datetime.now(timezone.utc)


# -- settings and the cache ------------------------------------------------------------------

def _settings_row(db: sqlite_utils.Database) -> dict[str, Any] | None:
    rows = list(db.query("SELECT periods, weekdays, version FROM workcal_settings WHERE id = 1"))
    return rows[0] if rows else None


def _bump(db: sqlite_utils.Database) -> None:
    if _settings_row(db) is None:
        _insert_settings(db, list(DEFAULT_PERIODS), list(DEFAULT_WEEKDAYS))
    db.execute("UPDATE workcal_settings SET version = version + 1 WHERE id = 1")


def _insert_settings(db: sqlite_utils.Database, periods: list[str], weekdays: list[int]) -> None:
    # the version starts at a random point: a cache keyed by it never mistakes one database for another
    db.execute("INSERT INTO workcal_settings (id, periods, weekdays, version) VALUES (1, ?, ?, ?)",
               [json.dumps(periods), json.dumps(weekdays), secrets.randbelow(2 ** 40) * 2 ** 20])


def apply_settings(db: sqlite_utils.Database, periods: Sequence[str], weekdays: Sequence[int],
                   who: str = "hub config") -> bool:
    """Make the stored working periods and weekdays those given ([calendar] in the config);
    True if they changed (audited, the version bumped)."""
    wanted_p = [period_text(p) for p in parse_periods(periods)]
    wanted_w = sorted(set(weekdays))
    row = _settings_row(db)
    if row is None:
        _insert_settings(db, wanted_p, wanted_w)
        audit.record(db, who, "create", "workcal_settings", "1", periods=wanted_p, weekdays=wanted_w)
        return True
    before_p, before_w = json.loads(row["periods"]), json.loads(row["weekdays"])
    if before_p == wanted_p and before_w == wanted_w:
        return False
    db.execute("UPDATE workcal_settings SET periods = ?, weekdays = ?, version = version + 1 WHERE id = 1",
               [json.dumps(wanted_p), json.dumps(wanted_w)])
    audit.record(db, who, "update", "workcal_settings", "1", before={"periods": before_p, "weekdays": before_w},
                 after={"periods": wanted_p, "weekdays": wanted_w})
    return True


_cache: dict[tuple[int, str], WorkCalendar] = {}
_cache_lock = threading.Lock()
_CACHE_MAX = 16


def load_calendar(db: sqlite_utils.Database) -> WorkCalendar:
    """The estate's working calendar now: two small reads when it has not changed since the
    last call (cached by the calendar's version and the estate's timezone)."""
    tz, _ = estate_calendar(db)
    row = _settings_row(db)
    key = (row["version"] if row else 0, tz)
    with _cache_lock:
        hit = _cache.get(key) if row else None
    if hit is not None:
        return hit
    periods = json.loads(row["periods"]) if row else list(DEFAULT_PERIODS)
    weekdays = json.loads(row["weekdays"]) if row else list(DEFAULT_WEEKDAYS)
    days = {date.fromisoformat(r["day"]): r["kind"] == DayKind.WORKDAY.value
            for r in db.query("SELECT day, kind FROM workcal_days")}
    cal = WorkCalendar(ZoneInfo(tz), parse_periods(periods), frozenset(weekdays), days)
    if row:
        with _cache_lock:
            if len(_cache) >= _CACHE_MAX:
                _cache.clear()
            _cache[key] = cal
    return cal


# -- reading --------------------------------------------------------------------------------

def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise BadInput("the year {year} is outside {first}-{last}", rule="calendar_year_out_of_range", field="year",
                       year=year, first=FIRST_YEAR, last=LAST_YEAR)


def year_view(db: sqlite_utils.Database, year: int) -> dict[str, Any]:
    """The year's days (holidays and make-up working days, with their names), the working
    periods and weekdays, and whether and when the year was seeded."""
    _check_year(year)
    cal = load_calendar(db)
    seeded = list(db.query("SELECT seeded_at, seeded_by, package FROM workcal_years WHERE year = ?", [year]))
    days = [{"date": r["day"], "kind": r["kind"], "name": r["name"], "source": r["source"],
             "changed_by": r["changed_by"], "changed_at": r["changed_at"]}
            for r in db.query("SELECT * FROM workcal_days WHERE day >= ? AND day < ? ORDER BY day",
                              [f"{year:04d}-01-01", f"{year + 1:04d}-01-01"])]
    return {
        "year": year,
        "timezone": cal.tz.key,
        "working_periods": [period_text(p) for p in cal.periods],
        "working_weekdays": sorted(cal.weekdays),
        "seeded": seeded[0] if seeded else None,
        "has_holidays": any(d["kind"] == DayKind.HOLIDAY.value for d in days),
        "days": days,
    }


def year_present(db: sqlite_utils.Database, year: int) -> bool:
    """Whether the calendar has the year's public holidays: seeded, or entered by a person."""
    if db.execute("SELECT 1 FROM workcal_years WHERE year = ?", [year]).fetchone():
        return True
    return db.execute("SELECT 1 FROM workcal_days WHERE kind = 'holiday' AND day >= ? AND day < ? LIMIT 1",
                      [f"{year:04d}-01-01", f"{year + 1:04d}-01-01"]).fetchone() is not None


# -- changing -------------------------------------------------------------------------------

def seed_year(db: sqlite_utils.Database, year: int, who: str, now: datetime | None = None) -> dict[str, Any]:
    """Put the package's days of ``year`` into the calendar: the days seeded before are
    replaced by the package's (a corrected notice is taken), a day a person set is kept.
    Refused (calendar_year_unknown) when the package does not have the year."""
    _check_year(year)
    days = seed.year_days(year)
    if not days:
        known = seed.known_years()
        raise NotFound("chinesecalendar has no holidays for {year} (it has {first}-{last}): add the year's days by hand"
                       " or upgrade the package once the State Council has published them",
                       rule="calendar_year_unknown", field="year", year=year, first=known.start, last=known.stop - 1)
    at = utc_iso(now or _now())
    lo, hi = f"{year:04d}-01-01", f"{year + 1:04d}-01-01"
    removed = db.execute("DELETE FROM workcal_days WHERE source = 'seed' AND day >= ? AND day < ?", [lo, hi]).rowcount
    kept = {r["day"] for r in db.query("SELECT day FROM workcal_days WHERE day >= ? AND day < ?", [lo, hi])}
    added = 0
    for d in days:
        if d.day.isoformat() in kept:
            continue
        db.execute("INSERT INTO workcal_days (day, kind, name, source, changed_by, changed_at) VALUES (?, ?, ?, 'seed', ?, ?)",
                   [d.day.isoformat(), d.kind.value, d.name, who, at])
        added += 1
    package = seed.package_version()
    db.execute("INSERT OR REPLACE INTO workcal_years (year, seeded_at, seeded_by, package) VALUES (?, ?, ?, ?)",
               [year, at, who, package])
    _bump(db)
    result = {"year": year, "holidays": sum(d.kind == DayKind.HOLIDAY for d in days),
              "workdays": sum(d.kind == DayKind.WORKDAY for d in days), "kept_by_person": len(kept),
              "written": added, "replaced": removed, "package": package}
    audit.record(db, who, "seed", "workcal_year", str(year), **result)
    return result


def seed_missing(db: sqlite_utils.Database, today: date, who: str = "hub setup") -> list[int]:
    """At startup: seed this year and the next where not seeded yet and the package has them."""
    try:
        known = seed.known_years()
    except seed.PackageMissing:
        log.warning("chinesecalendar is not installed: the working calendar's holidays are not seeded")
        return []
    done = []
    for year in (today.year, today.year + 1):
        if year in known and not db.execute("SELECT 1 FROM workcal_years WHERE year = ?", [year]).fetchone():
            seed_year(db, year, who)
            done.append(year)
    return done


def set_day(db: sqlite_utils.Database, who: str, day: date, body: SetDay, now: datetime | None = None) -> dict[str, Any]:
    """A person makes ``day`` a holiday or a make-up working day (kept when a year is seeded again)."""
    _check_year(day.year)
    name = body.name.strip()
    if not name:
        raise BadInput("give the day a name", rule="calendar_day_name_empty", field="name")
    before = list(db.query("SELECT kind, name, source FROM workcal_days WHERE day = ?", [day.isoformat()]))
    at = utc_iso(now or _now())
    db.execute("INSERT OR REPLACE INTO workcal_days (day, kind, name, source, changed_by, changed_at)"
               " VALUES (?, ?, ?, 'person', ?, ?)", [day.isoformat(), body.kind.value, name, who, at])
    _bump(db)
    audit.record(db, who, "update" if before else "create", "workcal_day", day.isoformat(), reason=body.reason,
                 before=before[0] if before else None, kind=body.kind.value, name=name)
    return {"date": day.isoformat(), "kind": body.kind.value, "name": name, "source": "person",
            "changed_by": who, "changed_at": at}


def remove_day(db: sqlite_utils.Database, who: str, day: date, reason: str | None = None) -> dict[str, Any]:
    """The day follows the working weekdays again. A seeded day removed stays removed until
    the year is seeded again by hand (POST .../seed/{year}); to keep a public holiday
    worked for good, make it a working day instead."""
    rows = list(db.query("SELECT kind, name, source FROM workcal_days WHERE day = ?", [day.isoformat()]))
    if not rows:
        raise NotFound("{day} is neither a holiday nor a make-up working day in the calendar",
                       rule="calendar_day_not_set", field="date", day=day.isoformat())
    db.execute("DELETE FROM workcal_days WHERE day = ?", [day.isoformat()])
    _bump(db)
    audit.record(db, who, "delete", "workcal_day", day.isoformat(), reason=reason, before=rows[0])
    return {"date": day.isoformat(), "removed": rows[0]}


# -- the ticker's check ---------------------------------------------------------------------

def check_next_year(db: sqlite_utils.Database, now: datetime) -> int | None:
    """From 1 December (estate time): next year's holidays missing raise the alarm, once per
    year (not again after it is acknowledged). The alarm's id, or None."""
    tz, _ = estate_calendar(db)
    today = now.astimezone(ZoneInfo(tz)).date()
    if (today.month, today.day) < LOOK_AHEAD_FROM:
        return None
    year = today.year + 1
    if year_present(db, year):
        return None
    subject = str(year)
    if db.execute("SELECT 1 FROM alarms WHERE kind = ? AND subject = ?", [YEAR_MISSING_ALARM, subject]).fetchone():
        return None
    from hub.alarms.service import raise_alarm

    return raise_alarm(db, YEAR_MISSING_ALARM, now, subject=subject, detail={"year": subject})

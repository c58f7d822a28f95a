"""The stored calendar on a real hub.db: seeding from chinesecalendar (by hand, by the CLI,
at startup), a person's edit changing a deadline, the cache, the settings from [calendar],
and the 1 December alarm for next year's days."""

from __future__ import annotations

import json
from datetime import date, datetime, timedelta, timezone

import pytest
from chinese_calendar import constants

from hub.alarms import service as alarms
from hub.auth import Principal, Role
from hub.cli import main as gate_hub
from hub.config import HubConfig
from hub.errors import NotFound
from hub.workcal import seed, service
from hub.workcal.models import DayKind, SetDay
from tests.workcal.conftest import SHANGHAI, TZ, at, audit_rows

SUPERVISOR = "supervisor:li"


def _days(store, year: int) -> dict[str, tuple[str, str, str]]:
    with store.read() as db:
        return {r["day"]: (r["kind"], r["name"], r["source"]) for r in db.query(
            "SELECT * FROM workcal_days WHERE day LIKE ?", [f"{year}-%"])}


def test_seeding_a_year_takes_every_day_the_package_lists(hub_app):
    store = hub_app.store
    with store.tx() as db:
        result = service.seed_year(db, 2025, SUPERVISOR)
    stored = _days(store, 2025)
    want = {d.isoformat(): ("holiday", str(n), "seed") for d, n in constants.holidays.items() if d.year == 2025}
    want |= {d.isoformat(): ("workday", str(n), "seed") for d, n in constants.workdays.items() if d.year == 2025}
    assert stored == want
    assert stored["2025-10-11"] == ("workday", "National Day", "seed")
    assert stored["2025-10-06"] == ("holiday", "Mid-autumn Festival", "seed")
    assert result["holidays"] == sum(1 for d in constants.holidays if d.year == 2025)
    assert [r["entity_id"] for r in audit_rows(store, "workcal_year") if r["who"] == SUPERVISOR] == ["2025"]
    with store.read() as db:
        cal = service.load_calendar(db)
    assert not cal.is_working_day(date(2025, 10, 8)) and cal.is_working_day(date(2025, 10, 11))
    assert cal.add_working_days(at(2025, 9, 30, 15), 3) == at(2025, 10, 11, 17, 30)


def test_a_year_the_package_lacks_is_refused_and_changes_nothing(hub_app):
    store = hub_app.store
    before = _days(store, 2031)
    with pytest.raises(NotFound) as err, store.tx() as db:
        service.seed_year(db, 2031, SUPERVISOR)
    assert err.value.rule == "calendar_year_unknown"
    assert _days(store, 2031) == before == {}
    with store.read() as db:
        assert not service.year_present(db, 2031)


def test_startup_seeds_this_year_and_the_next_where_the_package_has_them(hub_app):
    today = datetime.now(timezone.utc).astimezone(SHANGHAI).date()
    wanted = {y for y in (today.year, today.year + 1) if y in seed.known_years()}
    with hub_app.store.read() as db:
        seeded = {r["year"] for r in db.query("SELECT year FROM workcal_years")}
    assert seeded == wanted
    for year in wanted:
        assert _days(hub_app.store, year)
    # a person's removal of a seeded day survives the next start (only years not seeded are seeded)
    if wanted:
        year = min(wanted)
        first = min(_days(hub_app.store, year))
        with hub_app.store.tx() as db:
            service.remove_day(db, SUPERVISOR, date.fromisoformat(first))
            assert service.seed_missing(db, today) == []
        assert first not in _days(hub_app.store, year)


def test_a_persons_edit_changes_the_deadline_and_survives_seeding_again(hub_app):
    store = hub_app.store
    with store.tx() as db:
        service.seed_year(db, 2025, "hub setup")
        before = service.load_calendar(db)
    start = at(2025, 9, 30, 15)
    assert before.add_working_days(start, 1) == at(2025, 10, 9, 17, 30)
    # the estate's office works on 8 October this year
    with store.tx() as db:
        service.set_day(db, SUPERVISOR, date(2025, 10, 8), SetDay(kind=DayKind.WORKDAY, name="物业值班", reason="年度安排"))
        after = service.load_calendar(db)
    assert after is not before
    assert after.add_working_days(start, 1) == at(2025, 10, 8, 17, 30)
    # a holiday of its own on Thursday 9 October moves the 2nd day to the make-up Saturday
    with store.tx() as db:
        service.set_day(db, SUPERVISOR, date(2025, 10, 9), SetDay(kind=DayKind.HOLIDAY, name="公司活动日"))
        assert service.load_calendar(db).add_working_days(start, 2) == at(2025, 10, 10, 17, 30)
        assert service.load_calendar(db).add_working_days(start, 3) == at(2025, 10, 11, 17, 30)
    # seeding again replaces the package's days and keeps the person's
    with store.tx() as db:
        result = service.seed_year(db, 2025, SUPERVISOR)
    assert result["kept_by_person"] == 2
    days = _days(store, 2025)
    assert days["2025-10-08"] == ("workday", "物业值班", "person")
    assert days["2025-10-09"] == ("holiday", "公司活动日", "person")
    assert days["2025-10-07"] == ("holiday", "National Day", "seed")
    edits = audit_rows(store, "workcal_day")
    assert [(r["action"], r["entity_id"], r["who"]) for r in edits] == [
        ("update", "2025-10-08", SUPERVISOR), ("create", "2025-10-09", SUPERVISOR)]
    assert json.loads(edits[0]["detail"])["before"]["kind"] == "holiday" and edits[0]["reason"] == "年度安排"
    # removed, the day follows the weekdays again: 9 October is a Thursday, worked
    with store.tx() as db:
        service.remove_day(db, SUPERVISOR, date(2025, 10, 9), "取消")
        assert service.load_calendar(db).is_working_day(date(2025, 10, 9))
    assert audit_rows(store, "workcal_day")[-1]["action"] == "delete"


def test_removing_a_day_not_set_is_refused(hub_app):
    with pytest.raises(NotFound) as err, hub_app.store.tx() as db:
        service.remove_day(db, SUPERVISOR, date(2026, 3, 3))
    assert err.value.rule == "calendar_day_not_set"


def test_the_loaded_calendar_is_cached_until_the_calendar_changes(hub_app):
    from hub.workcal import load_calendar

    with hub_app.store.read() as db:
        one, two = service.load_calendar(db), load_calendar(db)
    assert one is two
    with hub_app.store.tx() as db:
        service.set_day(db, SUPERVISOR, date(2026, 12, 31), SetDay(kind=DayKind.HOLIDAY, name="年终盘点"))
    with hub_app.store.read() as db:
        three = service.load_calendar(db)
    assert three is not one and not three.is_working_day(date(2026, 12, 31)) and one.is_working_day(date(2026, 12, 31))


def test_the_working_hours_come_from_the_config_and_a_change_is_audited(hub_app, tmp_path):
    store = hub_app.store
    with store.read() as db:
        cal = service.load_calendar(db)
    assert cal.tz.key == TZ and cal.day_hours() == timedelta(hours=7, minutes=30)
    with store.tx() as db:
        assert service.apply_settings(db, ["09:00-12:00", "13:00-18:00"], [1, 2, 3, 4, 5, 6])
        assert not service.apply_settings(db, ["09:00-12:00", "13:00-18:00"], [6, 5, 4, 3, 2, 1])
        cal = service.load_calendar(db)
    assert cal.is_working_day(date(2026, 12, 5)) and cal.add_working_hours(at(2026, 12, 5, 11), 2) == at(2026, 12, 5, 14)
    rows = audit_rows(store, "workcal_settings")
    assert rows[-1]["action"] == "update" and json.loads(rows[-1]["detail"])["after"]["weekdays"] == [1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("calendar, field", [
    ({"working_periods": ["08:30-12:00", "11:00-17:30"]}, "working_periods"),
    ({"working_weekdays": [0, 1]}, "working_weekdays"),
    ({"working_hours": "08:30-17:30"}, "working_hours"),
])
def test_a_wrong_calendar_config_is_refused_naming_the_key(tmp_path, calendar, field):
    with pytest.raises(ValueError) as err:
        HubConfig.model_validate({"hub": {"site": "t", "db_path": str(tmp_path / "h.db")}, "calendar": calendar})
    assert field in str(err.value)


def test_the_cli_seeds_a_year(hub_app, tmp_path, capsys):
    config = tmp_path / "hub.toml"
    config.write_text(f'[hub]\nsite = "t"\ndb_path = "{tmp_path / "cli.db"}"\n')
    assert gate_hub(["calendar", "seed", "2025", "--config", str(config)]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["year"] == 2025 and printed["written"] == printed["holidays"] + printed["workdays"]
    assert gate_hub(["calendar", "seed", "2031", "--config", str(config)]) == 1
    assert "2031" in capsys.readouterr().err


# -- the alarm from 1 December ---------------------------------------------------------------

def _year_alarms(store, subject: str) -> list[dict]:
    with store.read() as db:
        return [dict(r) for r in db.query("SELECT * FROM alarms WHERE kind = ? AND subject = ?",
                                          [service.YEAR_MISSING_ALARM, subject])]


def test_next_years_days_missing_raise_one_alarm_from_the_first_of_december(hub_app):
    store = hub_app.store
    # 30 November 23:59 in the estate (15:59 UTC): not yet
    with store.tx() as db:
        assert service.check_next_year(db, at(2030, 11, 30, 23, 59).astimezone(timezone.utc)) is None
    assert _year_alarms(store, "2031") == []
    # 1 December 00:00 in the estate is still 30 November in UTC: raised, through the ticker
    ticker = hub_app.state.ticker
    ticker.clock = lambda: at(2030, 12, 1, 0, 0).astimezone(timezone.utc)
    ticker.run_due()
    raised = _year_alarms(store, "2031")
    assert len(raised) == 1 and raised[0]["state"] == "open" and json.loads(raised[0]["detail"]) == {"year": "2031"}
    # once: not again while open, nor after a person acknowledged it
    with store.tx() as db:
        assert service.check_next_year(db, at(2030, 12, 2, 9)) is None
        alarms.acknowledge(db, Principal("li", Role.SUPERVISOR), raised[0]["id"], "will enter them by hand",
                           at(2030, 12, 2, 10))
        assert service.check_next_year(db, at(2030, 12, 20, 9)) is None
    assert len(_year_alarms(store, "2031")) == 1


def test_no_alarm_when_next_year_is_in_the_calendar(hub_app):
    store = hub_app.store
    with store.tx() as db:
        service.seed_year(db, 2026, "hub setup")
        assert service.check_next_year(db, at(2025, 12, 1, 9)) is None
        # entered by hand (the package not yet updated) counts as well
        service.set_day(db, SUPERVISOR, date(2031, 1, 1), SetDay(kind=DayKind.HOLIDAY, name="元旦"))
        assert service.check_next_year(db, at(2030, 12, 1, 9)) is None
    assert _year_alarms(store, "2026") == [] and _year_alarms(store, "2031") == []

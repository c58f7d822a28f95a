"""Which shift an instant belongs to, in the estate's timezone (Asia/Shanghai, UTC+8): the
log passes to each shift as it begins, so the small hours belong to the 18:00 shift that
began the evening before."""

from __future__ import annotations

from datetime import date, time, timedelta

import pytest
from pydantic import ValidationError

from hub.config import HubConfig
from hub.dutylog.models import NewEntry
from hub.dutylog.shifts import ESTATE_SHIFTS, parse_shifts, previous, shift_at, shift_by_key, shifts_of_day
from tests.dutylog.conftest import GUARD, TZ, estate_time, service

SHIFTS = parse_shifts(ESTATE_SHIFTS)


@pytest.mark.parametrize("wall, key", [
    ((2026, 11, 29, 1, 30), "2026-11-28T18:00"),   # after midnight: the evening before's night shift
    ((2026, 11, 29, 0, 0), "2026-11-28T18:00"),
    ((2026, 11, 29, 5, 0), "2026-11-28T18:00"),    # after 02:00 nobody begins: the night shift still holds it
    ((2026, 11, 29, 6, 59, 59), "2026-11-28T18:00"),
    ((2026, 11, 29, 7, 0), "2026-11-29T07:00"),
    ((2026, 11, 29, 8, 29), "2026-11-29T08:00"),
    ((2026, 11, 29, 8, 30), "2026-11-29T08:30"),
    ((2026, 11, 29, 17, 45), "2026-11-29T14:00"),
    ((2026, 11, 29, 18, 0), "2026-11-29T18:00"),
    ((2026, 11, 29, 23, 59), "2026-11-29T18:00"),
    ((2026, 12, 1, 0, 30), "2026-11-30T18:00"),   # across a month's end
])
def test_an_instant_belongs_to_the_shift_that_began_last_in_estate_time(wall, key) -> None:
    assert shift_at(estate_time(*wall), SHIFTS, TZ).key == key


def test_the_night_shift_holds_the_log_until_the_morning_shift_begins() -> None:
    night = shift_at(estate_time(2026, 11, 29, 1, 30), SHIFTS, TZ)
    assert night.label == "18:00-02:00" and night.day == date(2026, 11, 28)
    assert night.starts_at == estate_time(2026, 11, 28, 18)
    assert night.ends_at == estate_time(2026, 11, 29, 7)
    # 17:30 UTC is 01:30 the next day in Shanghai: the UTC day would put it in the 14:00 shift
    assert shift_at(estate_time(2026, 11, 29, 1, 30), SHIFTS, "UTC").key == "2026-11-28T14:00"
    assert previous(shift_at(estate_time(2026, 11, 29, 7), SHIFTS, TZ), SHIFTS, TZ) == night
    assert shift_by_key("2026-11-28T18:00", SHIFTS, TZ) == night
    assert shift_by_key("2026-11-28T19:00", SHIFTS, TZ) is None  # no shift begins then
    assert shift_by_key("2026-02-30T18:00", SHIFTS, TZ) is None
    assert [s.key for s in shifts_of_day(date(2026, 11, 29), SHIFTS, TZ)] == [
        "2026-11-29T07:00", "2026-11-29T08:00", "2026-11-29T08:30", "2026-11-29T09:00", "2026-11-29T14:00",
        "2026-11-29T18:00"]


def test_an_entry_after_midnight_is_written_into_the_evening_shift(duty) -> None:
    at = estate_time(2026, 11, 29, 1, 30)
    entry = service.write_entry(duty.store, duty.settings, GUARD, NewEntry(kind="note", text="patrol, all quiet"),
                                now=at)
    assert entry["shift"] == "2026-11-28T18:00"
    night = service.list_entries(duty.store, duty.settings, shift="2026-11-28T18:00", now=at)
    assert [e["id"] for e in night["items"]] == [entry["id"]]
    assert [e["id"] for e in service.list_entries(duty.store, duty.settings, day=date(2026, 11, 28))["items"]] == [
        entry["id"]]
    assert service.list_entries(duty.store, duty.settings, day=date(2026, 11, 29))["items"] == []
    # with no shift asked for: the shift holding the log at that moment
    assert service.list_entries(duty.store, duty.settings, now=at + timedelta(hours=4))["shift"]["key"] == (
        "2026-11-28T18:00")


def test_shifts_are_checked_when_the_config_is_read(tmp_path) -> None:
    base = {"hub": {"site": "s", "db_path": str(tmp_path / "h.db")}}
    assert HubConfig.model_validate(base).duty.report_within_minutes == 10
    config = HubConfig.model_validate({**base, "duty": {"shifts": ["07:00-19:00", "19:00-07:00"]}})
    assert [s.start for s in parse_shifts(config.duty.shifts)] == [time(7), time(19)]
    for wrong in (["7-19"], ["07:00-19:00", "07:00-15:00"], [], ["25:00-02:00"], ["08:00-08:00"]):
        with pytest.raises(ValidationError):
            HubConfig.model_validate({**base, "duty": {"shifts": wrong}})
    with pytest.raises(ValidationError, match="handover_minutes"):
        HubConfig.model_validate({**base, "duty": {"handover_minutes": 5}})

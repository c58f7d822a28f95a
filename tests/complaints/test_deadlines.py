"""Every deadline of a complaint on the real working calendar (hub.workcal, 2025 seeded from
chinesecalendar: National Day 1-8 October off, Sunday 28 September and Saturday 11 October
worked), with chosen times: pure (hub.complaints.deadlines), no clock read."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from hub.complaints.deadlines import DayMemo, Limits, Times, deadlines, dues, escalation, office_report_due, on_time
from hub.db import Store
from hub.workcal.service import load_calendar, seed_year
from hub.schema import apply_schema
from tests.complaints.conftest import cst

L = Limits()


@pytest.fixture(scope="module")
def cal(tmp_path_factory):
    store = Store.open(tmp_path_factory.mktemp("cal") / "hub.db")
    apply_schema(store)
    with store.tx() as db:
        db.execute("UPDATE access_calendar SET timezone = 'Asia/Shanghai' WHERE id = 1")
        seed_year(db, 2025, "test")
    with store.read() as db:
        c = load_calendar(db)
    store.close()
    return c


def due(t: Times, cal, kind: str, now=None):
    return dues(t, cal, L, now or t.registered_at)[kind][0]


def test_the_seeded_calendar_is_the_one_counted_on(cal):
    assert not cal.is_working_day(date(2025, 10, 1)) and not cal.is_working_day(date(2025, 10, 8))
    assert cal.is_working_day(date(2025, 9, 28)) and cal.is_working_day(date(2025, 10, 11))  # make-up Sun, Sat


def test_general_over_a_weekend(cal):
    """Friday 10:00: forwarded by 11:00 the same morning, resolved by Wednesday's close
    (Monday, Tuesday, Wednesday; Saturday and Sunday are not counted)."""
    t = Times("general", cst(2025, 11, 14, 10, 0))
    assert due(t, cal, "forward") == cst(2025, 11, 14, 11, 0)
    assert due(t, cal, "resolve") == cst(2025, 11, 19, 17, 30)
    assert "answer" not in dues(t, cal, L, t.registered_at)


def test_forward_hour_runs_on_working_hours(cal):
    """Friday 17:00: half an hour on Friday, the other half on Monday morning."""
    t = Times("minor", cst(2025, 11, 14, 17, 0))
    assert due(t, cal, "forward") == cst(2025, 11, 17, 9, 0)
    # at lunch the clock waits for 13:30
    assert due(Times("minor", cst(2025, 11, 14, 12, 15)), cal, "forward") == cst(2025, 11, 14, 14, 30)


def test_across_national_day_and_its_make_up_saturday(cal):
    # Tuesday 30 September: the 1st-8th are holidays; Thursday 9th and Friday 10th count
    assert due(Times("minor", cst(2025, 9, 30, 10, 0)), cal, "resolve") == cst(2025, 10, 10, 17, 30)
    # Thursday 9 October, general: Friday 10th, the make-up Saturday 11th, Monday 13th
    assert due(Times("general", cst(2025, 10, 9, 10, 0)), cal, "resolve") == cst(2025, 10, 13, 17, 30)
    # a major one made on Friday 26 September: its clear answer by the make-up Sunday 28th
    # and Monday 29th; resolved within 10 working days: 28, 29, 30 Sep, 9, 10, 11, 13-16 Oct
    t = Times("major", cst(2025, 9, 26, 16, 0))
    assert due(t, cal, "answer") == cst(2025, 9, 29, 17, 30)
    assert due(t, cal, "resolve") == cst(2025, 10, 16, 17, 30)
    # a complaint made on a holiday: forwarded within the first working hour after it
    assert due(Times("general", cst(2025, 10, 3, 10, 0)), cal, "forward") == cst(2025, 10, 9, 9, 30)


def test_two_pauses_move_the_deadline_by_the_working_time_they_took(cal):
    """Monday 3 November 09:00, general: due Thursday 17:30 without pauses. Waiting on the
    complainant Monday 10:00 to Tuesday 10:00 (7.5 working hours) and Wednesday 14:00-16:00
    (2): 9.5 working hours later, Monday 10 November 10:30."""
    start = cst(2025, 11, 3, 9, 0)
    assert due(Times("general", start), cal, "resolve") == cst(2025, 11, 6, 17, 30)
    pauses = ((cst(2025, 11, 3, 10, 0), cst(2025, 11, 4, 10, 0)), (cst(2025, 11, 5, 14, 0), cst(2025, 11, 5, 16, 0)))
    t = Times("general", start, pauses=pauses)
    assert due(t, cal, "resolve", cst(2025, 11, 6, 9, 0)) == cst(2025, 11, 10, 10, 30)
    # the forward hour: 09:00-10:00 ran before the first pause, so it is due at 10:00
    assert due(t, cal, "forward") == cst(2025, 11, 3, 10, 0)


def test_an_open_pause_reads_as_if_resumed_now(cal):
    start = cst(2025, 11, 3, 9, 0)
    t = Times("general", start, pauses=((cst(2025, 11, 3, 10, 0), None),))
    # still waiting at Tuesday 10:00: 7.5 working hours so far
    assert due(t, cal, "resolve", cst(2025, 11, 4, 10, 0)) == cst(2025, 11, 7, 17, 30)
    # and nothing escalates while the complainant is awaited, however late it is
    assert escalation(t, cal, L, cst(2025, 11, 20, 10, 0)).level == 0


def test_the_complainants_earlier_date(cal):
    start = cst(2025, 11, 3, 9, 0)  # Monday: two working days end Wednesday 17:30
    assert due(Times("minor", start), cal, "resolve") == cst(2025, 11, 5, 17, 30)
    # by Monday itself: by the end of that day
    assert due(Times("minor", start, wanted_by=date(2025, 11, 3)), cal, "resolve") == cst(2025, 11, 4, 0, 0)
    # a later date does not stretch the limit
    assert due(Times("minor", start, wanted_by=date(2025, 11, 10)), cal, "resolve") == cst(2025, 11, 5, 17, 30)
    # and only a minor complaint takes the complainant's date
    assert due(Times("general", start, wanted_by=date(2025, 11, 3)), cal, "resolve") == cst(2025, 11, 6, 17, 30)


def test_an_extension_adds_working_days(cal):
    start = cst(2025, 9, 29, 9, 0)  # Monday 29 September, general: 30 Sep, 9 and 10 Oct
    assert due(Times("general", start), cal, "resolve") == cst(2025, 10, 10, 17, 30)
    # two more working days: the make-up Saturday 11th and Monday 13th
    assert due(Times("general", start, extension_days=2), cal, "resolve") == cst(2025, 10, 13, 17, 30)


def test_the_result_is_told_within_two_working_days_of_resolution(cal):
    t = Times("general", cst(2025, 9, 29, 9, 0), forwarded_at=cst(2025, 9, 29, 9, 30),
              resolved_at=cst(2025, 9, 30, 16, 0))
    assert due(t, cal, "tell") == cst(2025, 10, 10, 17, 30)  # 9th and 10th October
    done = Times(**{**t.__dict__, "told_at": cst(2025, 10, 10, 17, 0)})
    d = deadlines(done, cal, L, cst(2025, 10, 11, 9, 0))
    assert d["tell"].state == "met" and d["resolve"].state == "met" and d["forward"].state == "met"
    late = Times(**{**t.__dict__, "told_at": cst(2025, 10, 11, 9, 0)})
    assert deadlines(late, cal, L, cst(2025, 10, 11, 10, 0))["tell"].state == "missed"


def test_a_joint_complaint_is_reported_to_the_office_the_same_working_day(cal):
    assert office_report_due(cst(2025, 10, 10, 15, 0), cal) == cst(2025, 10, 11, 0, 0)
    # made on a holiday: the first working day after it
    assert office_report_due(cst(2025, 10, 3, 15, 0), cal) == cst(2025, 10, 10, 0, 0)
    # the make-up Saturday is a working day: that very day
    assert office_report_due(cst(2025, 10, 11, 9, 0), cal) == cst(2025, 10, 12, 0, 0)
    t = Times("general", cst(2025, 10, 10, 15, 0), joint=True, office_reported_at=cst(2025, 10, 10, 23, 0))
    assert deadlines(t, cal, L, cst(2025, 10, 11, 9, 0))["office_report"].state == "met"
    t = Times("general", cst(2025, 10, 10, 15, 0), joint=True)
    assert deadlines(t, cal, L, cst(2025, 10, 11, 0, 1))["office_report"].state == "late"
    assert "office_report" not in dues(Times("general", cst(2025, 10, 10, 15, 0)), cal, L, cst(2025, 10, 10, 15, 0))


def test_states_and_escalation_levels_step_by_step(cal):
    """General, Monday 3 November 09:00 (forward due 10:00, resolve due Thursday 17:30)."""
    t = Times("general", cst(2025, 11, 3, 9, 0))
    at = lambda *a: escalation(t, cal, L, cst(*a))  # noqa: E731
    assert at(2025, 11, 3, 9, 30).level == 0  # not yet late
    assert (at(2025, 11, 3, 10, 0).level, at(2025, 11, 3, 10, 0).kind) == (1, "forward")  # shift leader
    assert at(2025, 11, 3, 11, 0).level == 2  # a working hour later: the supervisor
    assert at(2025, 11, 3, 12, 0).level == 3  # another: the manager
    # lunch does not count: 10:00 + 1.5 working hours is 11:30, before lunch
    assert at(2025, 11, 3, 11, 30).level == 2
    f = Times("general", t.registered_at, forwarded_at=cst(2025, 11, 3, 9, 45))
    at = lambda *a: escalation(f, cal, L, cst(*a))  # noqa: E731
    assert at(2025, 11, 6, 15, 29).level == 0
    assert (at(2025, 11, 6, 15, 30).level, at(2025, 11, 6, 15, 30).kind) == (1, "resolve")  # due soon
    assert at(2025, 11, 6, 17, 30).level == 2  # late: the supervisor
    assert at(2025, 11, 7, 9, 29).level == 2
    assert at(2025, 11, 7, 9, 30).level == 3  # a working hour late: the manager
    states = deadlines(f, cal, L, cst(2025, 11, 6, 16, 0))
    assert states["resolve"].state == "due_soon" and states["forward"].state == "met"
    assert states["resolve"].left == timedelta(hours=1, minutes=30)


def test_an_invalid_complaint_has_no_deadlines(cal):
    assert dues(Times("major", cst(2025, 11, 3, 9, 0), valid=False), cal, L, cst(2025, 11, 3, 9, 0)) == {}


def test_the_limits_are_the_estates_configuration(cal):
    from pydantic import ValidationError

    from hub.config import ComplaintsSection

    section = ComplaintsSection(general_resolve_days=2)
    t = Times("general", cst(2025, 11, 14, 10, 0))  # Friday: Monday and Tuesday
    assert dues(t, cal, Limits.of(section), t.registered_at)["resolve"][0] == cst(2025, 11, 18, 17, 30)
    assert dues(t, cal, Limits.of(ComplaintsSection()), t.registered_at)["resolve"][0] == cst(2025, 11, 19, 17, 30)
    with pytest.raises(ValidationError):
        ComplaintsSection(general_resolve_dayz=2)
    with pytest.raises(ValidationError):
        ComplaintsSection(departments=["engineering", "Engineering"])


def test_the_day_memo_gives_what_the_calendar_gives(cal):
    """The month report and the lists remember "within N working days" by the start's date:
    every 47 minutes over September to mid-October (National Day and its make-up days
    among them), with and without pauses, N 0 to 12, it gives the calendar's own answer."""
    memo = DayMemo(cal)
    pause = ((cst(2025, 9, 29, 10, 0), cst(2025, 9, 30, 11, 0)),)
    at = cst(2025, 9, 1, 0, 0)
    while at < cst(2025, 10, 15, 0, 0):
        for days in range(13):
            assert memo.add_working_days(at, days) == cal.add_working_days(at, days), (at, days)
            assert memo.add_working_days(at, days, pause) == cal.add_working_days(at, days, pause), (at, days)
        at += timedelta(minutes=47)
    assert memo._ends, "nothing remembered: the memo proves nothing"


def test_on_time_is_every_handling_deadline_neither_missed_nor_late(cal):
    """on_time reads the dues alone (no working time left counted): over complaints done
    early, late or not at all, paused, extended, major, joint and invalid, at times before,
    at and after their dues, it says what the deadlines' states say."""
    start = cst(2025, 9, 26, 16, 0)  # a Friday afternoon before the make-up Sunday
    h = lambda n: start + timedelta(hours=n)  # noqa: E731
    kinds = [Times("general", start), Times("general", start, forwarded_at=h(0.5)),
             Times("general", start, forwarded_at=h(30), resolved_at=h(40)),
             Times("major", start, forwarded_at=h(0.2), answered_at=h(100), resolved_at=h(50), told_at=h(60)),
             Times("major", start, forwarded_at=h(0.2), answered_at=h(1), resolved_at=h(50), told_at=h(300)),
             Times("minor", start, wanted_by=date(2025, 9, 28), forwarded_at=h(0.5), resolved_at=h(60)),
             Times("general", start, joint=True, forwarded_at=h(0.5), resolved_at=h(20), told_at=h(21)),
             Times("general", start, joint=True, office_reported_at=h(2), forwarded_at=h(0.5)),
             Times("general", start, pauses=((h(0.1), h(80)),), forwarded_at=h(79)),
             Times("general", start, pauses=((h(0.1), None),)),
             Times("general", start, extension_days=5, forwarded_at=h(0.5), resolved_at=h(200), told_at=h(201)),
             Times("general", start, forwarded_at=h(0.5), resolved_at=h(20), told_at=h(21),
                   followup_due=h(100)),
             Times("general", start, valid=False)]
    seen = set()
    for t in kinds:
        for hours in (0, 0.5, 1, 20, 60, 120, 400, 2000):
            now = h(hours)
            want = not any(d.kind != "followup" and d.state in ("missed", "late")
                           for d in deadlines(t, cal, L, now).values())
            assert on_time(t, cal, L, now) is want, (t, now)
            seen.add(want)
    assert seen == {True, False}

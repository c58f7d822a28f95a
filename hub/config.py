"""The hub's TOML config (see config/hub.example.toml)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator

from hub.broker.config import BrokerSection
from hub.dutylog.shifts import ESTATE_SHIFTS, parse_shifts
from hub.workcal.calendar import DEFAULT_PERIODS, DEFAULT_WEEKDAYS, parse_periods
from protocols.mqtt_settings import MqttSettings
from protocols.topics import check_name


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HubSection(_Section):
    site: str
    db_path: Path
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    #: where holder photos are kept; beside the database unless set
    photo_dir: Path | None = None
    #: a gate whose status is older than this is shown offline even without its last will
    gate_stale_s: int = Field(default=90, ge=5)
    #: the key that seals gate keys in the database (0600, made on first use); keep it
    #: out of database backups. Default: hub.key beside db_path
    secret_file: Path | None = None

    @property
    def secret_path(self) -> Path:
        return self.secret_file or self.db_path.parent / "hub.key"
    #: TLS proxies whose X-Forwarded-Proto/-For the hub believes (uvicorn's forwarded_allow_ips);
    #: empty: none, so no client can claim https or another address
    forwarded_allow_ips: list[str] = Field(default_factory=list)
    #: the origin browsers see behind a proxy ("https://gate.example.org"): accepted in Origin
    public_origin: str | None = Field(default=None, pattern=r"^https?://[^/\s?#]+$")
    #: a browser session ends after this long unused, and this long after sign-in in any case
    session_idle_minutes: int = Field(default=120, ge=5, le=24 * 60)
    session_hours: int = Field(default=12, ge=1, le=14 * 24)
    #: what the pages speak to someone who has not chosen (each person's choice is kept):
    #: zh_Hans (Simplified Chinese), zh_Hant (Traditional Chinese) or en
    language: Literal["zh_Hans", "zh_Hant", "en"] = "zh_Hans"
    #: the estate's timezone (an IANA name), taken by a new estate's calendar when the hub
    #: first starts on an empty database; from then on it is the calendar's, changed through
    #: PUT /api/v1/access/calendar
    timezone: str = Field(default="Asia/Shanghai", max_length=64)

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown timezone {v!r} (an IANA name such as Asia/Shanghai)") from None
        return v

    @field_validator("site")
    @classmethod
    def _site_is_a_topic_level(cls, v: str) -> str:
        return check_name("site", v)


MqttSection = MqttSettings


class VisitorsSection(_Section):
    """Visitors (hub.visitors): how long their records are kept, when a visitor overstays,
    and what a pass allows unless the guard says otherwise."""

    #: visits and their visit events are purged this many days after registration (counted
    #: in the monthly figures first)
    keep_days: int = Field(default=180, ge=1, le=3650)
    #: a visitor still inside this long after their expected leaving time raises an overstay alarm
    overstay_grace_minutes: int = Field(default=30, ge=0, le=24 * 60)
    #: a pass made without an end is valid this long
    pass_hours: int = Field(default=12, ge=1, le=24 * 31)
    #: entries a pass allows unless the guard sets another number
    pass_entries: int = Field(default=1, ge=1, le=100)


class DutySection(_Section):
    """The duty desk's log (hub.dutylog): its shifts and how soon an incident is reported up."""

    #: the shifts, "HH:MM-HH:MM" (24-hour, the estate's time; an end before the start is after
    #: midnight); the log passes to each as it begins (hub.dutylog.shifts)
    shifts: list[str] = Field(default_factory=lambda: list(ESTATE_SHIFTS))
    #: a special incident not reported up this many minutes after it was written raises an alarm
    report_within_minutes: int = Field(default=10, ge=1, le=120)

    @field_validator("shifts")
    @classmethod
    def _shifts(cls, v: list[str]) -> list[str]:
        parse_shifts(v)
        return v


class AlarmsSection(_Section):
    """The guard's alarms (hub.alarms)."""

    #: an alarm nobody has acknowledged this many seconds after it was raised goes to the supervisor
    escalate_after_s: float = Field(default=300, gt=0, le=24 * 3600)
    #: a remote open the gate has not acknowledged within this many seconds becomes an alarm
    ack_timeout_s: float = Field(default=10, gt=0, le=600)


class CalendarSection(_Section):
    """The estate's working calendar (hub.workcal): the working hours every deadline counts
    on. Holidays and make-up working days are not here: they are seeded from chinesecalendar
    and edited through /api/v1/calendar."""

    #: the working periods of a working day, "HH:MM-HH:MM" (24-hour, the estate's time, within
    #: one day, apart): the time between two (lunch) is not working time
    working_periods: list[str] = Field(default_factory=lambda: list(DEFAULT_PERIODS), min_length=1, max_length=8)
    #: the working weekdays, 1 (Monday) to 7 (Sunday)
    working_weekdays: list[int] = Field(default_factory=lambda: list(DEFAULT_WEEKDAYS), min_length=1, max_length=7)
    #: at startup, seed this year's and next year's holidays from chinesecalendar where not yet seeded
    seed_at_startup: bool = True

    @field_validator("working_periods")
    @classmethod
    def _periods(cls, v: list[str]) -> list[str]:
        parse_periods(v)
        return v

    @field_validator("working_weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(not 1 <= d <= 7 for d in v):
            raise ValueError("a working weekday is 1 (Monday) to 7 (Sunday)")
        if len(set(v)) != len(v):
            raise ValueError("a working weekday is named twice")
        return v


class ComplaintsSection(_Section):
    """Complaints (hub.complaints): each severity's deadlines, the departments complaints are
    sent to, and how many households the monthly rates are per 1,000 of. Hour limits run on
    working hours, day limits on working days, both from the estate's calendar (hub.workcal)."""

    #: every complaint is forwarded to its department within this many working hours
    forward_hours: float = Field(default=1, ge=0, le=24)
    #: a major complaint: a clear answer within, and resolved within, these working days
    major_answer_days: int = Field(default=2, ge=0, le=60)
    major_resolve_days: int = Field(default=10, ge=1, le=120)
    #: a general complaint is resolved within these working days (the manuals say 3 and 2)
    general_resolve_days: int = Field(default=3, ge=1, le=60)
    #: a minor complaint: within these working days, or by the complainant's own earlier date
    minor_resolve_days: int = Field(default=2, ge=1, le=60)
    #: the result is told to the complainant within these working days of its resolution
    tell_days: int = Field(default=2, ge=0, le=30)
    #: a deadline this many working hours away is "due soon", and goes to the shift leader
    due_soon_hours: float = Field(default=2, ge=0, le=48)
    #: escalation's step, in working hours: a late forwarding goes to the shift leader, a step
    #: later the supervisor, another the manager; any other deadline goes to the shift leader
    #: when due soon, the supervisor when late, the manager a step after that
    escalate_step_hours: float = Field(default=1, gt=0, le=240)
    #: the departments a complaint may be sent to (codes; the pages name the known ones)
    departments: list[str] = Field(default_factory=lambda: [
        "customer_service", "engineering", "security", "cleaning", "greening", "finance"], min_length=1)
    #: households the rates are per 1,000 of: None counts the units in the register
    households: int | None = Field(default=None, ge=1, le=10_000_000)

    @field_validator("departments")
    @classmethod
    def _codes(cls, v: list[str]) -> list[str]:
        out = [d.strip().lower() for d in v]
        for d in out:
            if not d or len(d) > 32 or not all(c.isalnum() or c in "_-" for c in d):
                raise ValueError(f"a department is up to 32 letters, digits, dashes or underscores, not {d!r}")
        if len(set(out)) != len(out):
            raise ValueError("a department is named twice")
        return out


class HubConfig(_Section):
    hub: HubSection
    mqtt: MqttSection = Field(default_factory=MqttSection)
    #: the estate CA and the broker's password and ACL files (hub.broker); optional
    broker: BrokerSection | None = None
    visitors: VisitorsSection = Field(default_factory=VisitorsSection)
    #: when an alarm goes to the supervisor, and a remote open unacknowledged becomes one (hub.alarms)
    alarms: AlarmsSection = Field(default_factory=AlarmsSection)
    #: the duty desk's shifts and report-up time (hub.dutylog)
    duty: DutySection = Field(default_factory=DutySection)
    #: the working hours deadlines count on (hub.workcal)
    calendar: CalendarSection = Field(default_factory=CalendarSection)
    #: complaints' deadlines, departments and households (hub.complaints)
    complaints: ComplaintsSection = Field(default_factory=ComplaintsSection)

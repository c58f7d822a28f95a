"""China's public holidays and make-up working days, as the ``chinesecalendar`` package
lists them (a maintained copy of the State Council's yearly notice, released each year
once the notice is out, usually in November).

Pure over the package's data: ``year_days(year)`` is the year's days, ``known_years()``
the years it has. A name is the package's English one, marked here as a msgid, so a page
reads 国庆节 in Chinese; a day a person names keeps the name typed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from importlib import metadata

from hub.i18n.validation import N_
from hub.workcal.models import DayKind

#: the package's names of holidays, for the catalogs (chinese_calendar.constants.Holiday)
HOLIDAY_NAMES = (
    N_("New Year's Day"), N_("Spring Festival"), N_("Tomb-sweeping Day"), N_("Labour Day"),
    N_("Dragon Boat Festival"), N_("National Day"), N_("Mid-autumn Festival"), N_("Anti-Fascist 70th Day"),
)


class PackageMissing(RuntimeError):
    """chinesecalendar is not installed (pip install chinesecalendar; the hub extra has it)."""


@dataclass(frozen=True)
class SeedDay:
    day: date
    kind: DayKind
    name: str


def _constants():
    try:
        from chinese_calendar import constants
    except ImportError as exc:  # the hub extra installs it; said plainly where it is not
        raise PackageMissing("the chinesecalendar package is not installed") from exc
    return constants


def package_version() -> str:
    try:
        return "chinesecalendar " + metadata.version("chinesecalendar")
    except metadata.PackageNotFoundError:
        return "chinesecalendar"


def known_years() -> range:
    """The years the package has (it answers for these and refuses others)."""
    c = _constants()
    return range(min(c.holidays).year, max(c.holidays).year + 1)


def year_days(year: int) -> list[SeedDay]:
    """The year's holidays (every day off, weekends inside a holiday too) and make-up working
    days, in date order; empty when the package does not know the year."""
    if year not in known_years():
        return []
    c = _constants()
    days = [SeedDay(d, DayKind.HOLIDAY, str(n)) for d, n in c.holidays.items() if d.year == year]
    days += [SeedDay(d, DayKind.WORKDAY, str(n)) for d, n in c.workdays.items() if d.year == year]
    return sorted(days, key=lambda s: s.day)

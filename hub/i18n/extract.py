"""Where the texts people read are found, and how the catalogs are brought up to date.

One definition for the command (``gate-hub i18n update``) and the catalog test: Python
(``_``/``N_``/gettext calls, and the first argument of a domain error, which is the
English detail or its template), the pages (Jinja2 ``_()`` and ``{% trans %}``) and the
page scripts (``t("...")``, the ``js`` domain).
"""

from __future__ import annotations

import fcntl
import json
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from babel.messages.catalog import Catalog
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

from hub.i18n.catalogs import LOCALE_DIR
from hub.i18n.languages import LANGUAGES

HUB = Path(__file__).resolve().parent.parent
ERRORS = ("BadInput", "NotFound", "Conflict", "RuleViolation", "Forbidden", "Unauthenticated", "TooLarge", "LockedOut")
KEYWORDS = {
    "messages": {**DEFAULT_KEYWORDS, **{name: None for name in ERRORS}},
    "js": {"t": None},
}
METHODS = {
    "messages": [("i18n/extract.py", "ignore"), ("**.py", "python"), ("templates/**.html", "jinja2")],
    "js": [("static/**.js", "javascript")],
}


#: the dates in every catalog's header: fixed, so an update that changes no text changes no file
DATED = datetime(2026, 1, 1, tzinfo=timezone.utc)


def template(domain: str) -> Catalog:
    """Every msgid of ``domain`` in the hub's sources, with where it is used."""
    catalog = Catalog(project="gatehouse", domain=domain, creation_date=DATED, revision_date=DATED)
    for filename, lineno, message, comments, context in extract_from_dir(
        HUB, METHODS[domain], {"templates/**.html": {"trimmed": "true"}}, KEYWORDS[domain],
        comment_tags=("Translators:",), strip_comment_tags=True,
    ):
        catalog.add(message, locations=[(filename, lineno)], auto_comments=comments, context=context)
    return catalog


def po_path(code: str, domain: str) -> Path:
    return LOCALE_DIR / code / "LC_MESSAGES" / f"{domain}.po"


def read(code: str, domain: str) -> Catalog:
    path = po_path(code, domain)
    if not path.exists():
        return Catalog(locale=code, domain=domain, project="gatehouse")
    with path.open("rb") as f:
        return read_po(f, locale=code, domain=domain)


@contextmanager
def _locked() -> Iterator[None]:
    """One writer of the catalogs at a time (two people translating at once lose nothing)."""
    LOCALE_DIR.mkdir(parents=True, exist_ok=True)
    with (LOCALE_DIR / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _write(catalog: Catalog, code: str, domain: str) -> None:
    catalog.creation_date = catalog.revision_date = DATED
    path = po_path(code, domain)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as f:
        write_po(f, catalog, width=0, omit_header=False, sort_output=True, include_previous=False)
    with path.with_suffix(".mo").open("wb") as f:
        write_mo(f, catalog)


def update() -> dict[str, int]:
    """Bring every language's catalogs in line with the sources and compile them; returns,
    per language and domain, how many texts still lack a translation (English: none)."""
    missing: dict[str, int] = {}
    with _locked():
        for domain in METHODS:
            source = template(domain)
            for code in LANGUAGES:
                catalog = read(code, domain)
                catalog.update(source, no_fuzzy_matching=True)
                catalog.obsolete.clear()
                _write(catalog, code, domain)
                if code != "en":
                    missing[f"{code}/{domain}"] = sum(1 for m in catalog if m.id and not m.string)
    return missing


def translate(code: str, path: Path) -> list[str]:
    """Set translations from a JSON object {msgid: text} in whichever catalog of ``code``
    holds each msgid, and compile; returns the msgids no catalog holds (run update first)."""
    given: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
    left = set(given)
    with _locked():
        for domain in METHODS:
            catalog = read(code, domain)
            for message in catalog:
                if message.id in given:
                    message.string = given[message.id]
                    message.flags.discard("fuzzy")
                    left.discard(message.id)
            _write(catalog, code, domain)
    return sorted(left)

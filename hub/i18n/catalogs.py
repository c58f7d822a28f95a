"""The compiled catalogs shipped in the package, loaded once per language.

``messages``: pages (Jinja2's i18n extension) and error details; ``js``: page scripts, handed
to the page inline as a JSON object so no script waits for another request. English is
the msgids themselves: its catalog exists so the tooling treats the three alike.
Update them with ``pybabel`` (README: "Languages"); tests/i18n fails if a text has no
translation or a compiled catalog is older than its source.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from babel.messages.mofile import read_mo
from babel.support import NullTranslations, Translations

from hub.i18n.languages import LANGUAGES

LOCALE_DIR = Path(__file__).resolve().parent / "locale"
DOMAINS = ("messages", "js")


@cache
def translations(code: str, domain: str = "messages") -> NullTranslations:
    if code not in LANGUAGES:
        raise ValueError(f"no language {code!r}")
    return Translations.load(str(LOCALE_DIR), [code], domain=domain)


def gettext(code: str, msgid: str) -> str:
    return translations(code).gettext(msgid)


@cache
def js_messages(code: str) -> dict[str, str]:
    """The page scripts' catalog for ``code``: msgid to text, translated ones only."""
    path = LOCALE_DIR / code / "LC_MESSAGES" / "js.mo"
    if not path.exists():
        return {}
    with path.open("rb") as f:
        catalog = read_mo(f)
    return {m.id: m.string for m in catalog if m.id and m.string and isinstance(m.id, str)}

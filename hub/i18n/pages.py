"""Rendering a page in the reader's language: one Jinja2 environment per language.

Each environment has the i18n extension installed with its catalog (new-style gettext, so
``_("Signed in as %(name)s", name=who)`` escapes ``name``), and the filters a page uses
to show an instant or money the estate's way: 24-hour time in the estate's timezone, yuan
with fen from integer fen.
"""

from __future__ import annotations

from datetime import datetime, timezone
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from jinja2 import Environment, FileSystemLoader, select_autoescape

from hub.i18n.catalogs import js_messages, translations
from hub.i18n.languages import LANGUAGES
from hub.web.assets import url as asset

TEMPLATE_DIR = Path(__file__).resolve().parent.parent / "templates"


def instant(value: str | datetime | None, tz: str = "UTC", seconds: bool = True) -> str:
    """``2026-11-29 14:05:09`` in ``tz``: the form every page uses, whatever the language."""
    if value is None or value == "":
        return ""
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    if at.tzinfo is None:
        at = at.replace(tzinfo=timezone.utc)
    return at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M:%S" if seconds else "%Y-%m-%d %H:%M")


def yuan(fen: int | None) -> str:
    """``¥1,234.50`` from 123450 fen (money is stored as integer fen, never as a float)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    whole, part = divmod(abs(int(fen)), 100)
    return f"{sign}¥{whole:,}.{part:02d}"


@cache
def environment(code: str) -> Environment:
    env = Environment(loader=FileSystemLoader(TEMPLATE_DIR), autoescape=select_autoescape(["html"]),
                      extensions=["jinja2.ext.i18n"])
    env.install_gettext_translations(translations(code), newstyle=True)  # type: ignore[attr-defined]
    env.filters.update(instant=instant, yuan=yuan)
    env.globals.update(asset=asset, lang=LANGUAGES[code], languages=LANGUAGES.values(), js_messages=js_messages(code))
    return env


def render(code: str, name: str, **context: Any) -> str:
    return environment(code).get_template(name).render(**context)

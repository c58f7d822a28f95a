"""Which language a request is answered in.

A person's choice is kept with their session (and with their account, so it follows them to
another desk); before signing in, a cookie remembers what they picked on the login page.
With neither, a browser gets the estate's language (``hub.language``, Simplified Chinese
unless set). An integration calling the API with a bearer token gets what its
Accept-Language asks for, and English otherwise: a script parsing ``detail`` should not
find its language changed by an estate setting.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Code = Literal["zh_Hans", "zh_Hant", "en"]

#: the cookie that remembers the language chosen before signing in (not a secret)
COOKIE = "gh_lang"


@dataclass(frozen=True)
class Language:
    code: str  # the catalog's folder, Babel's locale identifier
    tag: str  # BCP 47, for <html lang> and Intl in page scripts
    name: str  # in itself, as the language menu shows it


LANGUAGES: dict[str, Language] = {
    "zh_Hans": Language("zh_Hans", "zh-Hans", "简体中文"),
    "zh_Hant": Language("zh_Hant", "zh-Hant", "繁體中文"),
    "en": Language("en", "en", "English"),
}
DEFAULT: Code = "zh_Hans"

#: the language and region subtags browsers send, to ours (zh-CN is Simplified, zh-TW Traditional)
_TAGS = {
    "zh": "zh_Hans", "zh-hans": "zh_Hans", "zh-cn": "zh_Hans", "zh-sg": "zh_Hans", "zh-my": "zh_Hans",
    "zh-hant": "zh_Hant", "zh-tw": "zh_Hant", "zh-hk": "zh_Hant", "zh-mo": "zh_Hant",
    "en": "en",
}


def known(code: str | None) -> str | None:
    """``code`` if it is one of ours (as stored or posted), else None."""
    return code if code in LANGUAGES else None


def from_tag(tag: str) -> str | None:
    """One BCP 47 tag (``zh-Hant-TW``, ``en-GB``) to our code, or None."""
    parts = tag.strip().lower().replace("_", "-").split("-")
    for n in (3, 2, 1):  # zh-hant-tw, then zh-hant, then zh
        if len(parts) >= n and "-".join(parts[:n]) in _TAGS:
            return _TAGS["-".join(parts[:n])]
    return None


def from_accept_language(header: str | None) -> str | None:
    """The best of ours an Accept-Language header asks for (by its q values), or None."""
    if not header:
        return None
    ranked: list[tuple[float, int, str]] = []
    for i, item in enumerate(header[:500].split(",")):
        tag, _, params = item.partition(";")
        q = 1.0
        if params.strip().startswith("q="):
            try:
                q = float(params.strip()[2:])
            except ValueError:
                q = 0.0
        code = from_tag(tag)
        if code and q > 0:
            ranked.append((-q, i, code))
    return min(ranked)[2] if ranked else None

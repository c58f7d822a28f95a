"""What a name is found by: its characters anywhere, its pinyin, its pinyin initials.

A clerk types part of a Chinese name (三丰 for 张三丰), its full pinyin (zhangsanfeng) or
the initials (zsf), or part of a Latin name in any case. The register stores, beside each
name, keys derived from it here (``name_keys``), and hub.people.registry indexes them: the
default reading and the initials in B-tree indexes (exact and prefix lookups), the name and
the keys in an FTS5 trigram index (substrings of 3 or more characters).

A trigram index cannot look up 1 or 2 characters, and a person's name is often 2 or 3
characters long; so the keys also carry every 1- and 2-character piece of the Chinese part
and of the initials, each wrapped as ``^piece$``: a 3- or 4-character token the trigram
index finds exactly (``^三丰$``), without matching inside longer pieces.

A surname read two ways (曾: zeng or ceng; 单: shan or dan) is indexed under each reading
(pypinyin's default reading of a lone character is often not the surname's); the other
characters take pypinyin's reading in the context of the whole name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from pypinyin import Style, lazy_pinyin, pinyin

#: CJK unified ideographs (and extension A, compatibility, and the supplementary planes)
_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f"
_CJK_RUN = re.compile(f"[{_CJK}]+")
_TOKEN = re.compile(f"[{_CJK}]+|[^\\W_{_CJK}]+")
_NOT_KEY = re.compile(f"[^\\w{_CJK}]|_")

#: the shortest text the trigram index can look up
TRIGRAM = 3


@dataclass(frozen=True)
class NameKeys:
    """``pinyin``: the default reading, lower case, no spaces (a Latin name: its letters);
    ``initials``: the first letter of each syllable or word; ``keys``: for the trigram
    index, the other readings and the short pieces."""

    pinyin: str
    initials: str
    keys: str


def _syllables(name: str) -> list[list[str]]:
    """Each syllable (a Chinese character) or word (a Latin run) of ``name``, with its
    readings: the first is the default."""
    out: list[list[str]] = []
    first_cjk = True
    for token in _TOKEN.findall(name):
        if not _CJK_RUN.fullmatch(token):
            out.append([token.lower()])
            continue
        readings = [[r] for r in lazy_pinyin(token, style=Style.NORMAL)]
        if first_cjk:
            surname = pinyin(token[0], style=Style.NORMAL, heteronym=True)[0]
            readings[0] += [r for r in surname if r not in readings[0]]
            first_cjk = False
        out += readings
    return out


def _pieces(text: str) -> list[str]:
    """Every piece of 1 or 2 characters of ``text``, in order, once each."""
    seen: dict[str, None] = {}
    for i in range(len(text)):
        seen[text[i]] = None
        if i + 1 < len(text):
            seen[text[i:i + 2]] = None
    return list(seen)


def short_token(piece: str) -> str:
    """How a 1- or 2-character piece is written in the keys (and looked up)."""
    return f"^{piece}$"


def keys_of(name: str) -> NameKeys:
    syllables = _syllables(name)
    full = "".join(s[0] for s in syllables)
    initials = "".join(s[0][0] for s in syllables)
    other_full: list[str] = []
    other_initials: list[str] = []
    if syllables and len(syllables[0]) > 1:  # a surname with more than one reading
        rest = "".join(s[0] for s in syllables[1:])
        rest_initials = "".join(s[0][0] for s in syllables[1:])
        for reading in syllables[0][1:]:
            other_full.append(reading + rest)
            if reading[0] + rest_initials != initials:
                other_initials.append(reading[0] + rest_initials)
    short: dict[str, None] = {}
    for run in _CJK_RUN.findall(name):
        short.update(dict.fromkeys(_pieces(run)))
    for ini in [initials, *other_initials]:
        short.update(dict.fromkeys(_pieces(ini)))
    keys = " ".join([*other_full, *other_initials, *(short_token(p) for p in short)])
    return NameKeys(full, initials, keys)


def folded(query: str) -> str:
    """The query as the keys are written: lower case, without spaces or punctuation."""
    return _NOT_KEY.sub("", query).lower()


def is_name_query(query: str) -> bool:
    """Names are letters or Chinese characters: a query with a digit is a number."""
    text = folded(query)
    return bool(text) and not any(ch.isdigit() for ch in text)


def fts_phrase(text: str) -> str:
    """``text`` as one FTS5 string (a substring for the trigram index), quotes doubled."""
    return '"' + text.replace('"', '""') + '"'


def rank(row_name: str, row_pinyin: str | None, row_initials: str | None, query: str) -> int:
    """0: the name itself (case aside); 1: the whole reading or the initials; 2: the name,
    reading or initials begins with the query; 3: the query is somewhere in them."""
    q = query.strip().lower()
    f = folded(query)
    if row_name.lower() == q or (row_pinyin == f and not _CJK_RUN.search(row_name)):
        return 0
    if f and f in (row_pinyin, row_initials):
        return 1
    if row_name.lower().startswith(q) or (f and ((row_pinyin or "").startswith(f) or (row_initials or "").startswith(f))):
        return 2
    return 3

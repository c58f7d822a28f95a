"""The pages' script and style files, and URLs that change with their content.

A page that links ``/static/live.js?v=<digest of the file>`` (``url``) may be given the file
to keep (``immutable``): a new version of the file is a new URL, so a kept copy is never
stale, and a navigation to the page asks the hub for neither file again (measured: each was
a request the page waited for before its script could open the stream). A request without
the current digest (an older page, or a page that links the bare name) gets ``no-cache``,
as before, so only pages that opt in change. The digest is read again when the file's size
or time changes, so an edited file is a new URL without a restart.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

STATIC = Path(__file__).resolve().parent.parent / "static"
#: name -> media type: the files the hub serves at /static/{name}
FILES = {"hub.css": "text/css", "live.js": "text/javascript", "login.js": "text/javascript",
         "i18n.js": "text/javascript", "forms.js": "text/javascript"}
#: served to anyone: the login page needs them and they hold nothing secret
PUBLIC = {"hub.css", "login.js", "i18n.js", "forms.js"}
#: a year: the URL changes with the content, so "forever"
KEEP = "private, max-age=31536000, immutable"
REVALIDATE = "no-cache"

_digests: dict[str, tuple[tuple[int, int], str]] = {}


def digest(name: str) -> str:
    """The first 16 hex digits of the file's SHA-256."""
    stat = (STATIC / name).stat()
    key = (stat.st_mtime_ns, stat.st_size)
    known = _digests.get(name)
    if known is None or known[0] != key:
        known = (key, hashlib.sha256((STATIC / name).read_bytes()).hexdigest()[:16])
        _digests[name] = known
    return known[1]


def url(name: str) -> str:
    """The file's URL with its version, for a page to link."""
    return f"/static/{name}?v={digest(name)}"


def cache_control(name: str, version: str | None) -> str:
    return KEEP if version is not None and version == digest(name) else REVALIDATE

"""The kept form of text fields that several domains' input models share, said once.

Each is an ``Annotated`` type to give a field in place of ``str``: the field's own
``Field(...)`` limits are checked first, on the text as sent (stripped), and only then is it
put in its kept form, as a ``field_validator`` in "after" mode would; so the JSON Schema and
the error texts are those of the plain field.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def _upper(v: str) -> str:
    return v.upper()


def _none_if_empty(v: str | None) -> str | None:
    return v or None


#: a unit's code as the register keeps it: upper-case, so "a-12-03" finds A-12-03
UnitCode = Annotated[str, AfterValidator(_upper)]

#: optional text where an empty one means none: a reason left blank is kept as NULL, as if
#: it had not been sent, never as ""
EmptyIsNone = Annotated[str | None, AfterValidator(_none_if_empty)]

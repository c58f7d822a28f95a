"""TOML config files read into pydantic models, with errors an installer can act on.

Both services load config this way, so "unknown key 'doors.0.relay.chanel'" reads the same
from either.
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel, ValidationError

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """The config file is missing, not TOML, or does not fit the model; the text names the key."""


def _path(loc: tuple, data: object) -> list[str]:
    """The error's location as the file spells it: a tagged union puts the table's ``kind``
    into the path ("doors.0.relay.lcus-serial.chanel"); walking the data drops it."""
    out: list[str] = []
    for i, part in enumerate(loc):
        # a tag names no key of the table: it is the table's ``kind``, or the default kind of
        # a table that leaves it out (a door contact is a GPIO pin unless it says otherwise);
        # a missing key is the last part of its path, never followed by more
        if isinstance(data, dict) and part not in data and (data.get("kind") == part or i < len(loc) - 1):
            continue
        out.append(str(part))
        if isinstance(data, dict):
            data = data.get(part)
        elif isinstance(data, list) and isinstance(part, int) and part < len(data):
            data = data[part]
        else:
            data = None
    return out


def describe(exc: ValidationError, data: object = None) -> str:
    lines = []
    for err in exc.errors():
        loc = _path(err["loc"], data)
        key = ".".join(loc) or "(top level)"
        if err["type"] == "extra_forbidden":
            lines.append(f"unknown key '{key}'")
        elif err["type"] == "missing":
            lines.append(f"missing key '{key}'")
        else:
            lines.append(f"bad value for '{key}': {err['msg']}")
    return "; ".join(lines)


def load_toml(path: str | Path, model: type[M]) -> M:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"{p}: no such config file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{p}: not valid TOML: {exc}") from None
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(f"{p}: {describe(exc, data)}") from None

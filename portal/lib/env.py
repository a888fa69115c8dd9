"""Strict readers for settings from the environment.

A bad value stops the process at start with a message naming the variable, so a typo in a
deployment never silently falls back to a default.
"""

import os
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _read(name: str) -> str | None:
    """NAME, or the contents of the file named by NAME_FILE (for mounted secrets); None when neither
    is set. Every helper below reads through here, so any variable may come from a file."""
    file_path = os.environ.get(f"{name}_FILE")
    if file_path:
        try:
            return Path(file_path).read_text().strip()
        except OSError as error:
            raise ImproperlyConfigured(f"{name}_FILE: cannot read {file_path}: {error}") from error
    return os.environ.get(name)


def _source(name: str) -> str:
    return f"{name}_FILE" if os.environ.get(f"{name}_FILE") else name


def envstr(name: str, default: str | None = None) -> str | None:
    value = _read(name)
    return default if value is None else value


def envbool(name: str, default: bool) -> bool:
    value = _read(name)
    if value is None:
        return default
    normalised = value.strip().lower()
    if normalised in _TRUE:
        return True
    if normalised in _FALSE:
        return False
    raise ImproperlyConfigured(
        f"{_source(name)} must be one of 1/0, true/false, yes/no, on/off; got {value!r}"
    )


def envint(name: str, default: int) -> int:
    value = _read(name)
    if value is None or value.strip() == "":
        return default
    try:
        return int(value)
    except ValueError as error:
        raise ImproperlyConfigured(f"{_source(name)} must be a whole number; got {value!r}") from error


def envlist(name: str, default: list[str] | None = None) -> list[str]:
    value = _read(name)
    if value is None:
        return list(default or [])
    return [item.strip() for item in value.split(",") if item.strip()]

"""The base of every configuration model: typed, checked once, unknown keys refused.

Each section of the configuration (``master:``, ``slaver:``, ``llm:``...) is a ``Settings`` model
owned by the component that reads it; ``deploy.config.RoboOSConfig`` puts them together. Values are
not coerced: ``port: "5000"`` is an error, as is a key nobody reads. ``explain`` turns pydantic's
errors into one line per problem that names the key, the value and, for an unknown key, the keys
there are.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

__all__ = ["STRICT", "Settings", "explain", "is_loopback"]

# No value converted, no key unknown: for ``Settings`` and for records read from files
# (``@pydantic.dataclasses.dataclass(config=STRICT)``, e.g. a scene's fleet entries).
STRICT = ConfigDict(extra="forbid", strict=True)


class Settings(BaseModel):
    """A configuration section: strict types, unknown keys are errors, assignments are checked too."""

    model_config = ConfigDict(**STRICT, validate_assignment=True)

    def updated(self, **changes: Any) -> Settings:
        """A copy with ``changes`` applied and checked like a file's values."""
        return type(self).model_validate({**self.model_dump(), **changes})


def explain(error: ValidationError, model: type[Any], section: str = "") -> str:
    """``error`` as one line per problem, each naming the dotted key (under ``section``).

    ``model``: the ``Settings`` class or pydantic dataclass validated, to list the known keys.
    """
    return "; ".join(_line(e, model, section) for e in error.errors(include_url=False))


UNKNOWN = ("extra_forbidden", "unexpected_keyword_argument")  # a model's and a dataclass's word for it


def _line(error: Any, model: type[Any], section: str) -> str:
    location = [str(part) for part in error["loc"]]
    key = ".".join(([section] if section else []) + location)
    if error["type"] in UNKNOWN:
        known = ", ".join(sorted(_fields_at(model, location[:-1])))
        return f"{key}: unknown key; known keys: {known}"
    if error["type"] in ("missing", "missing_argument"):
        return f"{key}: missing required key"
    message = error["msg"].removeprefix("Value error, ")
    if not location:  # a check across fields: its message names them
        return f"{section}: {message}" if section else message
    value = error.get("input")
    return f"{key}: {message}, got {type(value).__name__} {value!r}"


def _fields_at(model: type[Any], location: list[str]) -> list[str]:
    """The field names of the model found by following ``location`` from ``model``."""
    for part in location:
        field = _fields(model).get(part)
        model = field.annotation if field is not None else None
    return list(_fields(model))


def _fields(model: Any) -> dict[str, Any]:
    """A ``BaseModel``'s or a pydantic dataclass's fields; none for anything else."""
    if isinstance(model, type) and issubclass(model, BaseModel):
        return dict(model.model_fields)
    return dict(getattr(model, "__pydantic_fields__", {}))


def is_loopback(host: str) -> bool:
    """Whether ``host`` (a name or an address) only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False

"""Typed loading of dataclass configs from YAML-shaped dicts.

Unknown keys and wrong types are errors that name the key and the file, so a key nobody reads
cannot sit in a config file unnoticed.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from pathlib import Path
from typing import Any, TypeVar

from deploy.errors import ConfigError

__all__ = ["from_mapping", "to_mapping"]

T = TypeVar("T")


def from_mapping(cls: type[T], data: Any, source: str, path: str = "") -> T:
    """Build dataclass ``cls`` from ``data``, checking keys and types recursively."""
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: {path or 'the top level'} must be a mapping, got {type(data).__name__}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls) if f.init}
    unknown = sorted(set(data) - set(fields))
    if unknown:
        where = f" in {path}" if path else ""
        raise ConfigError(
            f"{source}: unknown key {_join(path, unknown[0])}{where}; known keys: {', '.join(sorted(fields))}"
        )
    values = {name: _convert(hints[name], value, source, _join(path, name)) for name, value in data.items()}
    try:
        return cls(**values)
    except (TypeError, ValueError) as e:
        raise ConfigError(f"{source}: {path or 'config'}: {e}") from e


def to_mapping(obj: Any) -> Any:
    """The inverse of ``from_mapping``: plain dicts, lists and scalars."""
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: to_mapping(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, (list, tuple)):
        return [to_mapping(v) for v in obj]
    if isinstance(obj, dict):
        return {k: to_mapping(v) for k, v in obj.items()}
    if isinstance(obj, Path):
        return str(obj)
    return obj


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _convert(hint: Any, value: Any, source: str, path: str) -> Any:
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return _convert_union(typing.get_args(hint), value, source, path)
    if dataclasses.is_dataclass(hint):
        return from_mapping(hint, value, source, path)
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise _type_error(source, path, "a list", value)
        (item,) = typing.get_args(hint)[:1] or (Any,)
        return [_convert(item, v, source, f"{path}[{i}]") for i, v in enumerate(value)]
    if origin is dict:
        if not isinstance(value, dict):
            raise _type_error(source, path, "a mapping", value)
        return dict(value)
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if value not in allowed:
            raise ConfigError(f"{source}: {path} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
        return value
    return _convert_scalar(hint, value, source, path)


def _convert_union(options: tuple[Any, ...], value: Any, source: str, path: str) -> Any:
    if value is None and type(None) in options:
        return None
    errors: list[ConfigError] = []
    for option in (o for o in options if o is not type(None)):
        try:
            return _convert(option, value, source, path)
        except ConfigError as e:
            errors.append(e)
    if len(errors) == 1:
        raise errors[0]
    raise ConfigError(f"{source}: {path} has the wrong type: {type(value).__name__} {value!r}")


def _convert_scalar(hint: Any, value: Any, source: str, path: str) -> Any:
    if hint is Any:
        return value
    if hint is float and isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    if hint is Path and isinstance(value, str):
        return Path(value)
    if hint in (str, int, bool) and type(value) is hint:
        return value
    if isinstance(hint, type) and not isinstance(value, bool) and isinstance(value, hint):
        return value
    raise _type_error(source, path, f"a {getattr(hint, '__name__', hint)}", value)


def _type_error(source: str, path: str, expected: str, value: Any) -> ConfigError:
    return ConfigError(f"{source}: {path} must be {expected}, got {type(value).__name__} {value!r}")

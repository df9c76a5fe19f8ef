"""Registries of implementations by type string, so configuration can pick one.

``Planner`` and ``Stepper`` each own a ``Registry``; the built-in implementations (``brain.symbolic``,
``brain.llm``) are imported on first use, so importing ``brain`` loads neither.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from brain.errors import BrainError

__all__ = ["Registry"]

logger = logging.getLogger(__name__)

T = TypeVar("T")

# Per kind, type string -> the module that registers it when imported.
BUILTIN_MODULES: dict[str, dict[str, str]] = {
    "planner": {"symbolic": "brain.symbolic", "llm": "brain.llm.planner", "llm_goals": "brain.llm.goals"},
    "stepper": {"llm": "brain.llm.stepper"},
}


class Registry(Generic[T]):
    """Classes of one kind (``planner``, ``stepper``) by type string."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._classes: dict[str, type[T]] = {}

    def register(self, type_name: str) -> Callable[[type[T]], type[T]]:
        """Class decorator: make a class available as ``create(type_name)``; sets its ``name``."""

        def decorate(impl: type[T]) -> type[T]:
            owner = self._classes.get(type_name)
            if owner is not None and owner is not impl:
                raise BrainError(f"{self.kind} type '{type_name}' is already registered by {owner.__name__}")
            self._classes[type_name] = impl
            if not getattr(impl, "name", ""):
                impl.name = type_name  # type: ignore[attr-defined]
            return impl

        return decorate

    def get(self, type_name: str) -> type[T]:
        """The class registered as ``type_name``, importing a built-in one on first use."""
        if type_name not in self._classes:
            _import_builtin(BUILTIN_MODULES.get(self.kind, {}).get(type_name))
        impl = self._classes.get(type_name)
        if impl is None:
            raise BrainError(f"unknown {self.kind} type '{type_name}'; available: {', '.join(self.available())}")
        return impl

    def create(self, type_name: str, **kwargs: Any) -> T:
        """Build the class registered as ``type_name`` with its own keyword arguments."""
        return self.get(type_name)(**kwargs)

    def available(self) -> list[str]:
        """Registered type strings plus the built-in ones not imported yet."""
        return sorted(set(self._classes) | set(BUILTIN_MODULES.get(self.kind, {})))


def _import_builtin(module: str | None) -> None:
    if module is None:
        return
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise  # the implementation exists but one of its dependencies is missing: say so as is
        logger.warning("module %s is not installed", module)

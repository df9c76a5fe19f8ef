"""The planner interface and its registry.

Implementations register under a type string so configuration can pick one::

    @Planner.register("symbolic")
    class SymbolicPlanner(Planner): ...

    planner = Planner.create("symbolic")            # or "llm", with that planner's keyword arguments
    plan = await planner.plan("bring the apple to table 2", world)

``create`` imports the built-in implementations (``brain.symbolic``, ``brain.llm``) on first use, so
importing ``brain`` loads neither. A planner raises ``PlanningError`` when it cannot plan, and
returns plans that pass ``brain.validation.validate_plan``.
"""

from __future__ import annotations

import importlib
import logging
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from brain.errors import BrainError
from brain.plan import Plan
from brain.world import WorldView

__all__ = ["Planner", "ReplanContext"]

logger = logging.getLogger(__name__)

_P = TypeVar("_P", bound="type[Planner]")

# Type string -> module that registers it when imported.
_BUILTIN_MODULES = {"symbolic": "brain.symbolic", "llm": "brain.llm"}


@dataclass
class ReplanContext:
    """Why a plan is asked for again: what already succeeded, what failed and why.

    ``done`` and ``failed`` are subtask texts (or ids) for the planner's reasoning; the world passed
    beside it already shows their effects. ``avoid_robots`` must get no step.
    """

    done: list[str] = field(default_factory=list)
    failed: str = ""
    reason: str = ""
    avoid_robots: set[str] = field(default_factory=set)

    def to_dict(self) -> dict[str, Any]:
        return {"done": list(self.done), "failed": self.failed, "reason": self.reason,
                "avoid_robots": sorted(self.avoid_robots)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ReplanContext:
        return cls(
            done=list(data.get("done") or []),
            failed=data.get("failed", ""),
            reason=data.get("reason", ""),
            avoid_robots=set(data.get("avoid_robots") or ()),
        )


class Planner(ABC):
    """Turns a task and the current world into a ``Plan``."""

    name: str = ""  # the type string it is registered under, unless the class sets its own
    _registry: ClassVar[dict[str, type[Planner]]] = {}

    @abstractmethod
    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        """Plan ``task`` from ``world``; with ``context``, replan the rest after a failure.

        Raises ``PlanningError`` saying what could not be parsed or grounded.
        """

    @classmethod
    def register(cls, type_name: str) -> Callable[[_P], _P]:
        """Class decorator: make a planner available as ``Planner.create(type_name)``."""

        def decorate(planner_cls: _P) -> _P:
            if type_name in cls._registry and cls._registry[type_name] is not planner_cls:
                owner = cls._registry[type_name].__name__
                raise BrainError(f"planner type '{type_name}' is already registered by {owner}")
            cls._registry[type_name] = planner_cls
            if not planner_cls.name:
                planner_cls.name = type_name
            return planner_cls

        return decorate

    @classmethod
    def create(cls, type_name: str, **kwargs: Any) -> Planner:
        """Build the planner registered as ``type_name`` with its own keyword arguments."""
        if type_name not in cls._registry:
            import_builtin(type_name)
        planner_cls = cls._registry.get(type_name)
        if planner_cls is None:
            raise BrainError(f"unknown planner type '{type_name}'; available: {', '.join(cls.available())}")
        return planner_cls(**kwargs)

    @classmethod
    def available(cls) -> list[str]:
        """Registered type strings plus the built-in ones not imported yet."""
        return sorted(set(cls._registry) | set(_BUILTIN_MODULES))


def import_builtin(type_name: str) -> None:
    """Import the built-in module that registers ``type_name`` (planners and steppers alike)."""
    module = _BUILTIN_MODULES.get(type_name)
    if module is None:
        return
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:
            raise  # the planner exists but one of its dependencies is missing: say so as is
        logger.warning("planner module %s is not installed", module)

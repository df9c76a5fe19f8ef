"""The planner interface and its registry.

Implementations register under a type string so configuration can pick one::

    @Planner.register("symbolic")
    class SymbolicPlanner(Planner): ...

    planner = Planner.create("symbolic")            # or "llm", "llm_goals", with their keyword arguments
    plan = await planner.plan("bring the apple to table 2", world)
    Planner.type_of("llm_goals").uses_llm          # True: built with config=<LLM settings>

``create`` imports the built-in implementations (``brain.symbolic``, ``brain.llm``) on first use, so
importing ``brain`` loads neither. A planner raises ``PlanningError`` when it cannot plan, and
returns plans that pass ``brain.validation.validate_plan``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar, TypeVar

from brain.plan import Plan
from brain.registry import Registry
from brain.world import WorldView

__all__ = ["Planner", "ReplanContext"]

_P = TypeVar("_P", bound="type[Planner]")


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
    uses_llm: ClassVar[bool] = False  # asks an OpenAI-compatible endpoint; built with ``config=`` LLM settings

    @abstractmethod
    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        """Plan ``task`` from ``world``; with ``context``, replan the rest after a failure.

        Raises ``PlanningError`` saying what could not be parsed or grounded.
        """

    def warm(self, world: WorldView) -> None:
        """Build ahead what the first plan on ``world`` would build (the master calls it at start, so
        that its first task does not pay for it); nothing by default."""

    @classmethod
    def register(cls, type_name: str) -> Callable[[_P], _P]:
        """Class decorator: make a planner available as ``Planner.create(type_name)``."""
        return PLANNERS.register(type_name)  # type: ignore[return-value]

    @classmethod
    def create(cls, type_name: str, **kwargs: Any) -> Planner:
        """Build the planner registered as ``type_name`` with its own keyword arguments."""
        return PLANNERS.create(type_name, **kwargs)

    @classmethod
    def type_of(cls, type_name: str) -> type[Planner]:
        """The class registered as ``type_name`` (e.g. to read ``uses_llm`` before building it)."""
        return PLANNERS.get(type_name)

    @classmethod
    def available(cls) -> list[str]:
        """Registered type strings plus the built-in ones not imported yet."""
        return PLANNERS.available()


PLANNERS: Registry[Planner] = Registry("planner")

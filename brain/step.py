"""The step interface: how a slaver works out a free-text subtask one tool call at a time.

The slaver loops::

    while True:
        decision = await stepper.next_action(subtask, tools, history, state)
        if decision.done:
            break                      # decision.summary says what was achieved; not decision.ok: gave up
        outcome = await call(decision.name, decision.arguments)
        history.append(outcome)

Arguments of ``next_action``:

- ``subtask``: the subtask sentence.
- ``tools``: the robot's skills as ``{"name", "description", "parameters"}`` dicts, ``parameters``
  being the full JSON schema (``brain.world.SkillView`` fields; a ``SkillSpec.to_dict()`` with
  ``input_schema`` is accepted too).
- ``history``: the calls made so far for this subtask, oldest first, as ``ToolOutcome.to_dict()``
  dicts (``{"name", "arguments", "ok", "message", "effects", ...}``).
- ``state``: what the robot knows now, at least ``{"robot", "position", "holding"}``; it may add
  ``"scene"`` (a ``SceneSnapshot.to_dict()``).

An implementation returns a call of one of ``tools`` or ``done``; it raises ``BrainError`` only
for its own faults (e.g. the model endpoint is unreachable), never for a model's bad answer, which
it should repair or retry. Implementations register like planners: ``@Stepper.register("llm")``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from brain.registry import Registry

__all__ = ["StepDecision", "Stepper"]

_S = TypeVar("_S", bound="type[Stepper]")


@dataclass
class StepDecision:
    """Either the next tool call (``name`` and ``arguments``) or ``done`` with a ``summary``.

    ``ok`` (done only): False when the stepper gave up rather than finished (a repeated call, too
    many steps, no valid call); the slaver then fails the subtask with the summary as the reason.
    """

    name: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)
    summary: str = ""
    ok: bool = True

    @classmethod
    def call(cls, name: str, arguments: dict[str, Any] | None = None) -> StepDecision:
        return cls(name=name, arguments=dict(arguments or {}))

    @classmethod
    def finish(cls, summary: str, ok: bool = True) -> StepDecision:
        return cls(summary=summary, ok=ok)

    @property
    def done(self) -> bool:
        return self.name is None

    def to_dict(self) -> dict[str, Any]:
        if self.done:
            return {"done": True, "summary": self.summary, "ok": self.ok}
        return {"done": False, "call": {"name": self.name, "arguments": dict(self.arguments)}}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StepDecision:
        if data.get("done"):
            return cls.finish(data.get("summary", ""), bool(data.get("ok", True)))
        call = data.get("call") or {}
        return cls.call(call["name"], call.get("arguments"))


class Stepper(ABC):
    """Chooses a robot's next tool call for a subtask, or says it is done."""

    name: str = ""

    @abstractmethod
    async def next_action(
        self,
        subtask: str,
        tools: list[dict[str, Any]],
        history: list[dict[str, Any]],
        state: dict[str, Any],
    ) -> StepDecision:
        """The next call for ``subtask`` given what was done so far, or ``StepDecision.finish``."""

    @classmethod
    def register(cls, type_name: str) -> Callable[[_S], _S]:
        """Class decorator: make a stepper available as ``Stepper.create(type_name)``."""
        return STEPPERS.register(type_name)  # type: ignore[return-value]

    @classmethod
    def create(cls, type_name: str, **kwargs: Any) -> Stepper:
        """Build the stepper registered as ``type_name`` with its own keyword arguments."""
        return STEPPERS.create(type_name, **kwargs)


STEPPERS: Registry[Stepper] = Registry("stepper")

"""The steps planned so far, and the dependencies between them.

A step depends on the robot's own previous step and on the last step that changed any node it
touches (the object it carries, a container it opens or reaches into). A handover waits for the
taker's steps so far (it must be there), and the taker's next step waits for the handover. Steps that share nothing
therefore have no dependency and run in parallel; a handoff's second leg waits for the first.
``subtask_order`` is the step's depth in that DAG, from 1.
"""

from __future__ import annotations

from brain.plan import PlanStep
from brain.symbolic.actions import StepDraft

__all__ = ["StepBook"]


class StepBook:
    def __init__(self) -> None:
        self.steps: list[PlanStep] = []
        self._writer: dict[str, str] = {}  # node -> id of the last step that touched it
        self._last: dict[str, str] = {}  # robot -> id of its last step
        self._held: dict[str, str] = {}  # robot -> id of a later step of another robot it waits in (a handover)
        self._drafts: dict[str, StepDraft] = {}

    def last_step_of(self, robot: str) -> str | None:
        return self._last.get(robot)

    def wrote(self, step_id: str | None, node: str) -> bool:
        return step_id is not None and self._writer.get(node) == step_id

    def commit(self, draft: StepDraft, merge: bool = False) -> str | None:
        """Record ``draft`` as a step (None if it has no action); with ``merge``, append it to the
        robot's last step instead when that adds no new dependency."""
        if not draft.actions:
            return None
        robot = draft.robot.name
        deps = {self._writer[n] for n in draft.touched if n in self._writer}
        deps |= {self._last[r] for r in draft.waits_for if r in self._last}
        deps |= {s for s in (self._last.get(robot), self._held.get(robot)) if s is not None}
        previous = self.step(self._last.get(robot))
        if merge and previous is not None and deps <= {previous.step_id, *(previous.depends_on or [])}:
            return self._extend(previous, draft)
        return self._add(draft, sorted(deps, key=self._position))

    def step(self, step_id: str | None) -> PlanStep | None:
        return next((s for s in self.steps if s.step_id == step_id), None)

    def _add(self, draft: StepDraft, deps: list[str]) -> str:
        step_id = f"s{len(self.steps) + 1}"
        order = 1 + max((self.step(d).subtask_order for d in deps), default=0)  # type: ignore[union-attr]
        self.steps.append(PlanStep(step_id, draft.robot.name, draft.sentence(), order, deps, list(draft.actions)))
        self._drafts[step_id] = draft
        self._record(step_id, draft)
        return step_id

    def _extend(self, step: PlanStep, draft: StepDraft) -> str:
        merged = self._drafts[step.step_id]
        merged.actions += draft.actions
        merged.phrases += draft.phrases
        merged.touched |= draft.touched
        step.actions = list(merged.actions)
        step.subtask = merged.sentence()
        self._record(step.step_id, draft)
        return step.step_id

    def _record(self, step_id: str, draft: StepDraft) -> None:
        for node in draft.touched:
            self._writer[node] = step_id
        self._last[draft.robot.name] = step_id
        for robot in draft.waits_for:  # the taker stays put until it has the object
            self._held[robot] = step_id

    def _position(self, step_id: str) -> int:
        return int(step_id[1:])

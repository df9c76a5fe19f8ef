"""The semantic plan check: would the plan's tool calls work, and would they do what the task asks?

``validate_plan`` checks a plan's shape (robots, skills, arguments, dependencies); this module runs
the plan's grounded actions, in dependency order, against a copy of the world with the world
model's rules (``memory.world``: the same ones the simulated robots and the planner obey: zones and
doors, reach and stations, free grippers, payload, closed and full containers), and once more in
another order the dependencies allow, so that a missing dependency shows. Then, when the task text
parses into goals (the symbolic parser and grounding), it checks that the end state meets every
goal::

    check = check_plan(plan, world, task)
    check.errors        # ["step s2 (waiter) action 1 put_down(item=bread, surface=table_1): waiter ..."]
    check.info()        # {"effects": "passed", "goals": "skipped: the task does not parse ..."}

A plan with a free-text step (no actions) cannot be simulated: both parts are skipped, and
``info()`` says why. ``check_plan_effects`` is the list-of-errors form ``validate_plan`` has.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from brain.errors import PlanningError
from brain.plan import Plan, PlanStep
from brain.symbolic.actions import call_roles
from brain.symbolic.goals import Deliver, Goal, Hold, SetOpen
from brain.symbolic.grounding import read_task
from brain.symbolic.state import SimState, simulated
from brain.world import WorldView
from memory.world import ACTION_KINDS, RuleViolation, act, effects_of

__all__ = ["FinalPlaces", "PlanCheck", "check_plan", "check_plan_effects", "execution_order"]

@dataclass
class PlanCheck:
    """What the semantic check found: ``errors`` (empty: passed) and which parts ran."""

    errors: list[str] = field(default_factory=list)
    effects: str = "passed"  # passed | failed | skipped: <why>
    goals: str = "passed"  # passed | failed | skipped: <why>
    goal_list: list[str] = field(default_factory=list)
    final: Mapping[str, tuple[str | None, str | None]] = field(default_factory=dict)  # node -> (relation, parent)

    def info(self) -> dict[str, Any]:
        """For ``Plan.info``: how each part of the check went, and the goals checked."""
        return {"effects": self.effects, "goals": self.goals, "goal_list": list(self.goal_list)}


class FinalPlaces(Mapping[str, tuple[str | None, str | None]]):
    """Where each node ends up, ``node -> (relation, parent)``, read from the simulated end state on
    demand: the master never reads it, and building it was a fifth of a publish at 8000 nodes."""

    def __init__(self, state: SimState) -> None:
        self._state = state

    def __getitem__(self, node: str) -> tuple[str | None, str | None]:
        if node not in self._state.kind:
            raise KeyError(node)
        return self._state.relation.get(node), self._state.parent.get(node)

    def __iter__(self) -> Iterator[str]:
        return iter(self._state.kind)

    def __len__(self) -> int:
        return len(self._state.kind)


def check_plan_effects(plan: Plan, world: WorldView, task: str | None = None) -> list[str]:
    """Every precondition the plan breaks and every goal of ``task`` it leaves unmet; empty: none."""
    return check_plan(plan, world, task).errors


def check_plan(plan: Plan, world: WorldView, task: str | None = None) -> PlanCheck:
    """Simulate ``plan`` on a copy of ``world`` and compare the end state with ``task``'s goals."""
    check = PlanCheck()
    free_text = [s.step_id for s in plan.steps if not s.actions]
    if free_text:
        why = f"skipped: step(s) {', '.join(free_text)} have no actions, so their effects are unknown"
        check.effects = check.goals = why
        return check
    state = simulated(world)
    order = execution_order(plan)
    for step in order:
        check.errors += _run_step(world, state, step)
    if not check.errors:
        check.errors += _other_order_errors(plan, world, order)
    check.final = FinalPlaces(state)
    check.effects = "failed" if check.errors else "passed"
    goals, skipped = _goals(task, world)
    if skipped:
        check.goals = "skipped: " + skipped
        return check
    check.goal_list = [g.describe() for g in goals]
    unmet = [_unmet(goal, state) for goal in goals if not goal.satisfied(state)]
    check.errors += unmet
    check.goals = "failed" if unmet else "passed"
    return check


def execution_order(plan: Plan, *, latest_first: bool = False) -> list[PlanStep]:
    """The steps in a topological order of ``plan.dependencies()``, ties kept in plan order (or, with
    ``latest_first``, the latest ready step first: another order the robots may run them in).

    Steps in a cycle, or waiting on an unknown step, come last in plan order (``validate_plan``
    reports those).
    """
    graph = plan.dependencies()
    done: set[str] = set()
    order: list[PlanStep] = []
    pending = list(plan.steps)
    while pending:
        candidates = reversed(pending) if latest_first else iter(pending)
        ready = next((s for s in candidates if all(d in done for d in graph.get(s.step_id, []))), None)
        if ready is None:
            return order + pending
        pending.remove(ready)
        order.append(ready)
        done.add(ready.step_id)
    return order


def _other_order_errors(plan: Plan, world: WorldView, checked: list[PlanStep]) -> list[str]:
    """The first call that fails when independent steps run latest first: a dependency the plan
    lacks (none to find when that is the ``checked`` order: one step, or each waits for the last)."""
    order = execution_order(plan, latest_first=True)
    if [s.step_id for s in order] == [s.step_id for s in checked]:
        return []
    state = simulated(world)
    for step in order:
        errors = _run_step(world, state, step)
        if errors:
            return [f"a dependency is missing: when steps that do not wait for each other run in another order, "
                    f"{errors[0]}"]
    return []


def _goals(task: str | None, world: WorldView) -> tuple[list[Goal], str]:
    """The task's goals, or [] and why the goal check is skipped."""
    if not task or not task.strip():
        return [], "no task text was given"
    try:
        return read_task(task, world)[0], ""
    except PlanningError as e:
        return [], f"the task does not parse into goals ({e}); a model may understand more than the parser"


def _unmet(goal: Goal, state: SimState) -> str:
    if isinstance(goal, Deliver):
        return f"the plan leaves {goal.obj} {_where(goal.obj, state)}; the task wants it {goal.relation} {goal.target}"
    if isinstance(goal, Hold):
        return (f"the plan leaves {goal.obj} {_where(goal.obj, state)}; "
                f"the task wants it held by {goal.robot or 'a robot'}")
    if isinstance(goal, SetOpen):
        now, wanted = ("closed", "open") if goal.open else ("open", "closed")
        return f"the plan leaves {goal.container} {now}; the task wants it {wanted}"
    if goal.robot:
        return f"the plan leaves {goal.robot} at {state.place_of(goal.robot)}; the task wants it at {goal.target}"
    return f"the plan brings no robot to {goal.target}; the task wants one there"


def _where(name: str, state: SimState) -> str:
    holder = state.holder(name)
    if holder:
        return f"held by {holder}"
    return f"{state.relation.get(name) or 'at'} {state.parent.get(name)}"


def _run_step(world: WorldView, state: SimState, step: PlanStep) -> list[str]:
    """Run one step's actions on the simulated world; what would fail. A broken action still takes
    its intended effect, so one mistake is reported once."""
    robot = world.robots.get(step.robot_name)
    if robot is None:
        return []  # validate_plan reports an unknown robot
    errors: list[str] = []
    for index, action in enumerate(step.actions, start=1):
        skill = robot.skills.get(action.get("name"))  # type: ignore[arg-type]
        arguments = action.get("arguments")
        if skill is None or not isinstance(arguments, dict) or skill.kind not in ACTION_KINDS:
            continue  # validate_plan reports unknown skills and bad arguments
        roles = call_roles(skill, arguments)
        try:
            state.apply(act(state, robot.name, skill.kind, roles).effects)
        except RuleViolation as e:
            errors.append(f"step {step.step_id} ({step.robot_name}) action {index} {_call_text(action)}: {e}")
            state.apply(effects_of(state, robot.name, skill.kind, roles))
    return errors


def _call_text(action: dict[str, Any]) -> str:
    arguments = action.get("arguments")
    args = ", ".join(f"{k}={v}" for k, v in arguments.items()) if isinstance(arguments, dict) else ""
    return f"{action.get('name')}({args})"

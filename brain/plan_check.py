"""The semantic plan check: would the plan's tool calls work, and would they do what the task asks?

``validate_plan`` checks a plan's shape (robots, skills, arguments, dependencies); this module runs
the plan's grounded actions, in dependency order, against a copy of the world (the symbolic
planner's ``SimState``) with the rules the symbolic planner assumes: a robot acts only in its own
place and navigates only within its zones, picks with a free hand what it can lift and what is not
inside a closed container, and places only what it holds, into containers only when they are open.
Then, when the task text parses into goals (the symbolic parser and grounding), it checks that the
end state meets every goal::

    check = check_plan(plan, world, task)
    check.errors        # ["step s2 (waiter) action 1 put_down(item=bread, surface=table_1): waiter ..."]
    check.info()        # {"effects": "passed", "goals": "skipped: the task does not parse ..."}

A plan with a free-text step (no actions) cannot be simulated: both parts are skipped, and
``info()`` says why. ``check_plan_effects`` is the list-of-errors form ``validate_plan`` has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from brain.errors import PlanningError
from brain.plan import Plan, PlanStep
from brain.symbolic.actions import call_roles
from brain.symbolic.goals import Deliver, Goal, Hold, SetOpen
from brain.symbolic.grounding import Vocabulary, build_goals
from brain.symbolic.parser import parse
from brain.symbolic.state import SimState
from brain.world import RobotView, WorldView

__all__ = ["PlanCheck", "check_plan", "check_plan_effects", "execution_order"]

_GO_TO_KINDS = ("place", "furniture", "container")
_SURFACE_KINDS = ("furniture", "container")


@dataclass
class PlanCheck:
    """What the semantic check found: ``errors`` (empty: passed) and which parts ran."""

    errors: list[str] = field(default_factory=list)
    effects: str = "passed"  # passed | failed | skipped: <why>
    goals: str = "passed"  # passed | failed | skipped: <why>
    goal_list: list[str] = field(default_factory=list)

    def info(self) -> dict[str, Any]:
        """For ``Plan.info``: how each part of the check went, and the goals checked."""
        return {"effects": self.effects, "goals": self.goals, "goal_list": list(self.goal_list)}


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
    state = SimState(world)
    for step in execution_order(plan):
        check.errors += _Actor(world, state, step).run()
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


def execution_order(plan: Plan) -> list[PlanStep]:
    """The steps in a topological order of ``plan.dependencies()``, ties kept in plan order.

    Steps in a cycle, or waiting on an unknown step, come last in plan order (``validate_plan``
    reports those).
    """
    graph = plan.dependencies()
    done: set[str] = set()
    order: list[PlanStep] = []
    pending = list(plan.steps)
    while pending:
        ready = next((s for s in pending if all(d in done for d in graph.get(s.step_id, []))), None)
        if ready is None:
            return order + pending
        pending.remove(ready)
        order.append(ready)
        done.add(ready.step_id)
    return order


def _goals(task: str | None, world: WorldView) -> tuple[list[Goal], str]:
    """The task's goals, or [] and why the goal check is skipped."""
    if not task or not task.strip():
        return [], "no task text was given"
    try:
        return build_goals(parse(task, world.robots), Vocabulary(world)), ""
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
        return f"the plan leaves {goal.robot} at {state.location.get(goal.robot)}; the task wants it at {goal.target}"
    return f"the plan brings no robot to {goal.target}; the task wants one there"


def _where(name: str, state: SimState) -> str:
    holder = state.holder(name)
    if holder:
        return f"held by {holder}"
    return f"{state.relation.get(name) or 'at'} {state.parent.get(name)}"


class _Actor:
    """Runs one step's actions on the simulated world, collecting what would fail."""

    def __init__(self, world: WorldView, state: SimState, step: PlanStep) -> None:
        self.world = world
        self.state = state
        self.step = step
        self.robot: RobotView | None = world.robots.get(step.robot_name)

    def run(self) -> list[str]:
        if self.robot is None:
            return []  # validate_plan reports an unknown robot
        errors: list[str] = []
        for index, action in enumerate(self.step.actions, start=1):
            why = self._act(action)
            if why:
                errors.append(f"step {self.step.step_id} ({self.step.robot_name}) action {index} "
                              f"{_call_text(action)}: {why}")
        return errors

    def _act(self, action: dict[str, Any]) -> str | None:
        """Apply one call (also when it breaks a rule, so one mistake is reported once); why it fails."""
        assert self.robot is not None
        skill = self.robot.skills.get(action.get("name"))  # type: ignore[arg-type]
        arguments = action.get("arguments")
        if skill is None or not isinstance(arguments, dict):
            return None  # validate_plan reports unknown skills and bad arguments
        roles = call_roles(skill, arguments)
        handler = {"navigate": self._navigate, "pick": self._pick, "place": self._place,
                   "open": self._open, "close": self._close}.get(skill.kind)
        return handler(roles) if handler else None

    def _navigate(self, roles: dict[str, Any]) -> str | None:
        assert self.robot is not None
        target = roles.get("target") or roles.get("destination") or roles.get("place")
        problem = self._node_problem(target, _GO_TO_KINDS, "a place, furniture or a container")
        if problem:
            return problem
        why = None
        if not self.robot.mobile:
            why = f"{self.robot.name} cannot move"
        elif self.state.place_of(target) not in self.world.reachable_places(self.robot.name):
            zones = ", ".join(sorted(self.world.reachable_places(self.robot.name)))
            why = f"{target} is in {self.state.place_of(target)}, outside {self.robot.name}'s zones ({zones})"
        self.state.location[self.robot.name] = target
        return why

    def _pick(self, roles: dict[str, Any]) -> str | None:
        assert self.robot is not None
        obj = roles.get("object")
        problem = self._node_problem(obj, ("object",), "an object")
        if problem:
            return problem
        holder = self.state.holder(obj)
        parent = self.state.parent.get(obj)
        held = self.state.holding(self.robot.name)
        weight = self.world.nodes[obj].weight_kg
        why = (
            (f"{obj} is already held by {holder}" if holder else None)
            or self._away(obj)
            or (f"{obj} is in {parent}, which is closed; open it first"
                if self.state.is_closed_container(parent) else None)
            or (f"{self.robot.name} has no free hand (holding {', '.join(held)} with {self.robot.arms} arm(s))"
                if len(held) >= self.robot.arms else None)
            or (f"{obj} weighs {weight:g} kg, more than {self.robot.name}'s payload of {self.robot.payload_kg:g} kg"
                if weight > self.robot.payload_kg else None)
        )
        self.state.move(obj, self.robot.name, "held_by")
        return why

    def _place(self, roles: dict[str, Any]) -> str | None:
        assert self.robot is not None
        obj, target = roles.get("object"), roles.get("target")
        if obj is None:  # a place skill without an object argument puts down what the robot holds
            held = self.state.holding(self.robot.name)
            if len(held) != 1:
                return f"{self.robot.name} holds {', '.join(held) or 'nothing'}; it must hold one object to place"
            obj = held[0]
        problem = (self._node_problem(obj, ("object",), "an object")
                   or self._node_problem(target, _SURFACE_KINDS, "furniture or a container"))
        if problem:
            return problem
        container = self.world.nodes[target].kind == "container"
        relation = "in" if container else "on"
        holder = self.state.holder(obj)
        why = (
            (f"{self.robot.name} does not hold {obj} (it is {_where(obj, self.state)}); pick it up first"
             if holder != self.robot.name else None)
            or self._away(target)
            or (f"{target} is closed; open it first" if self.state.is_closed_container(target) else None)
        )
        self.state.move(obj, target, relation)
        return why

    def _open(self, roles: dict[str, Any]) -> str | None:
        return self._set_open(roles, True)

    def _close(self, roles: dict[str, Any]) -> str | None:
        return self._set_open(roles, False)

    def _set_open(self, roles: dict[str, Any], open_: bool) -> str | None:
        target = roles.get("target") or roles.get("container") or roles.get("object")
        problem = self._node_problem(target, ("container",), "a container") or self._away(target)
        if target in self.world.nodes:
            self.state.opened[target] = open_
        return problem

    def _away(self, node: str) -> str | None:
        """Why the robot cannot reach ``node`` from where it stands, if it cannot."""
        assert self.robot is not None
        here, there = self.state.place_of(self.robot.name), self.state.place_of(node)
        if here == there:
            return None
        return f"{self.robot.name} is in {here} but {node} is in {there}; navigate there first"

    def _node_problem(self, name: Any, kinds: tuple[str, ...], expected: str) -> str | None:
        if not isinstance(name, str) or not name:
            return f"it does not name {expected}"
        node = self.world.nodes.get(name)
        if node is None:
            return f"the scene has no {name!r}"
        if node.kind not in kinds:
            return f"{name} is {node.kind}, not {expected}"
        return None


def _call_text(action: dict[str, Any]) -> str:
    arguments = action.get("arguments")
    args = ", ".join(f"{k}={v}" for k, v in arguments.items()) if isinstance(arguments, dict) else ""
    return f"{action.get('name')}({args})"

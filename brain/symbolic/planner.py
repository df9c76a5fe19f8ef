"""The symbolic planner: the offline default, deterministic and fast.

It parses the instruction into goals (object X on/in Y, container open/closed, robot at Y) and
plans them in order from the current world, simulating each step's effects, so replanning after
a failure is the same call: goals that already hold produce no step, an object already in a
robot's hand is carried on from there, and ``ReplanContext.avoid_robots`` get nothing.

When every goal already holds, the plan is empty with ``info["already_done"] = True`` and a
reasoning that says so (valid for ``validate_plan``; the master can mark the task succeeded).
"""

from __future__ import annotations

import logging
import time

from brain.errors import PlanningError
from brain.plan import Plan
from brain.planner import Planner, ReplanContext
from brain.symbolic.actions import StepDraft
from brain.symbolic.allocation import Allocator
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.grounding import Vocabulary, build_goals
from brain.symbolic.parser import parse
from brain.symbolic.state import SimState
from brain.symbolic.steps import StepBook
from brain.world import WorldView

__all__ = ["SymbolicPlanner"]

logger = logging.getLogger(__name__)


@Planner.register("symbolic")
class SymbolicPlanner(Planner):
    """Instruction -> goals -> robot steps with grounded tool calls. Takes no options."""

    name = "symbolic"

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        started = time.perf_counter()
        goals = build_goals(parse(task, world.robots), Vocabulary(world))
        run = _PlanRun(world, context)
        for index, goal in enumerate(goals):
            run.achieve(goal, goals[index + 1:])
        plan = run.to_plan(goals, self.name)
        plan.info["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 3)
        logger.info("planned %r: %d step(s) in %.1f ms", task, len(plan.steps), plan.info["elapsed_ms"])
        return plan


class _PlanRun:
    """One planning call: the simulated world, the allocator and the steps so far."""

    def __init__(self, world: WorldView, context: ReplanContext | None) -> None:
        self.world = world
        self.context = context
        self.state = SimState(world)
        load = {r.name: int(r.status == "busy") for r in world.robots.values()}
        self.allocator = Allocator(world, self.state, load, context.avoid_robots if context else ())
        self.book = StepBook(load)
        self.already: list[str] = []
        self.notes: list[str] = []

    def achieve(self, goal: Goal, later: list[Goal]) -> None:
        if isinstance(goal, Deliver):
            self._deliver(goal)
        elif isinstance(goal, Hold):
            self._hold(goal)
        elif isinstance(goal, SetOpen):
            self._set_open(goal, later)
        else:
            self._reach(goal)

    def _deliver(self, goal: Deliver) -> None:
        if goal.satisfied(self.state):
            self.already.append(goal.already(self.state))
            return
        holder = self._usable_holder(goal.obj, goal.robot)
        source = None if holder else self.state.parent.get(goal.obj)
        self._note_source(goal.obj, goal.source, source)
        only = holder or goal.robot
        robot, problems = self.allocator.best_carrier(goal.obj, source, goal.target, goal.relation, only)
        if robot is not None:
            self._carry(robot, goal.obj, goal.target, goal.relation)
            return
        if goal.robot:
            raise PlanningError(f"{goal.robot} cannot bring {goal.obj} to {goal.target}: {problems[goal.robot]}")
        self._hand_over(goal, source, holder, problems)

    def _hand_over(self, goal: Deliver, source: str | None, holder: str | None, problems: dict[str, str]) -> None:
        handoff = self.allocator.best_handoff(goal.obj, source, holder, goal.target, goal.relation)
        origin = source or holder or "?"
        if handoff is None:
            why = "; ".join(f"{r}: {p}" for r, p in sorted(problems.items()))
            raise PlanningError(
                f"no robot can carry {goal.obj} from {origin} ({self.state.place_of(origin)}) to {goal.target} "
                f"({self.state.place_of(goal.target)}) and no handoff point works: {why}"
            )
        self._carry(handoff.first, goal.obj, handoff.via, "on")
        self._carry(handoff.second, goal.obj, goal.target, goal.relation)
        self.notes.append(
            f"No single robot can carry {goal.obj} from {self.state.place_of(origin)} to "
            f"{self.state.place_of(goal.target)}, so {handoff.first} hands it to {handoff.second} at {handoff.via}."
        )

    def _usable_holder(self, obj: str, wanted: str | None) -> str | None:
        holder = self.state.holder(obj)
        if holder is None:
            return None
        problem = self.allocator.unusable(holder)
        if problem:
            raise PlanningError(
                f"{obj} is held by {holder}, but {problem}; it must be put down before another robot can take it"
            )
        if wanted and wanted != holder:
            raise PlanningError(f"{wanted} cannot take {obj}: {holder} is holding it")
        return holder

    def _note_source(self, obj: str, said: str | None, actual: str | None) -> None:
        if said and actual and said != actual and said != self.state.place_of(actual):
            self.notes.append(f"{obj} is at {actual}, not {said}; taking it from there.")

    def _carry(self, robot: str, obj: str, target: str, relation: str) -> None:
        draft = StepDraft(self.world.robots[robot], self.state)
        if self.state.holder(obj) != robot:
            draft.pick(obj)
        draft.place(obj, target, relation)
        self.book.commit(draft)

    def _hold(self, goal: Hold) -> None:
        if goal.satisfied(self.state):
            self.already.append(goal.already(self.state))
            return
        self._usable_holder(goal.obj, goal.robot)
        source = self.state.parent.get(goal.obj) or ""
        self._note_source(goal.obj, goal.source, source)
        robot, problems = self.allocator.best_picker(goal.obj, source, goal.robot)
        if robot is None:
            raise PlanningError(f"no robot can pick up {goal.obj} from {source}: {_why(problems)}")
        draft = StepDraft(self.world.robots[robot], self.state)
        draft.pick(goal.obj)
        self.book.commit(draft)

    def _set_open(self, goal: SetOpen, later: list[Goal]) -> None:
        if goal.satisfied(self.state):
            self.already.append(goal.already(self.state))
            return
        if goal.open and any(self._reaches_into(g, goal.container) for g in later):
            return  # the robot that reaches into it opens it on the way, and leaves it open
        kind = "open" if goal.open else "close"
        robot, problems = self.allocator.best_operator(kind, goal.container, goal.robot)
        if robot is None:
            raise PlanningError(f"no robot can {kind} {goal.container}: {_why(problems)}")
        draft = StepDraft(self.world.robots[robot], self.state)
        draft.set_open(goal.container, goal.open)
        self.book.commit(draft, merge=self.book.wrote(self.book.last_step_of(robot), goal.container))

    def _reaches_into(self, goal: Goal, container: str) -> bool:
        if isinstance(goal, Deliver) and goal.target == container and goal.relation == "in":
            return True
        inside = isinstance(goal, (Deliver, Hold)) and self.state.parent.get(goal.obj) == container
        return inside and not goal.satisfied(self.state)

    def _reach(self, goal: Reach) -> None:
        # Unnamed, "go to X" is done when a robot that could have gone there is there.
        there = [r for r in self.allocator.candidates(goal.robot)
                 if not self.allocator.unusable(r) and (goal.robot or self.world.robots[r].mobile)
                 and goal.is_at(r, self.state)]
        if there:
            self.already.append(f"{there[0]} is already at {goal.target}")
            return
        robot, problems = self.allocator.best_mover(goal.target, goal.robot)
        if robot is None:
            who = goal.robot or "no robot"
            raise PlanningError(f"{who} cannot go to {goal.target}: {_why(problems)}")
        draft = StepDraft(self.world.robots[robot], self.state)
        draft.go(goal.target)
        self.book.commit(draft)

    def to_plan(self, goals: list[Goal], planner: str) -> Plan:
        steps = self.book.steps
        info = {
            "goals": [g.describe() for g in goals],
            "already_satisfied": list(self.already),
            "notes": list(self.notes),
            "world_version": self.world.version,
            "already_done": not steps,
        }
        return Plan(self._reasoning(goals), list(steps), planner, info)

    def _reasoning(self, goals: list[Goal]) -> str:
        lead = ""
        if self.context is not None:
            failed = f" '{self.context.failed}'" if self.context.failed else ""
            lead = f"Replanning from the current world after{failed or ' a failure'}" + (
                f" ({self.context.reason}). " if self.context.reason else ". ")
        if not self.book.steps:
            return lead + "Nothing to do: " + "; ".join(self.already) + "."
        robots = sorted({s.robot_name for s in self.book.steps})
        wanted = ", ".join(g.describe() for g in goals)
        text = f"Goals: {wanted}; {len(self.book.steps)} step(s) for {', '.join(robots)}."
        return " ".join([lead + text, *self.notes]).strip()


def _why(problems: dict[str, str]) -> str:
    return "; ".join(f"{r}: {p}" for r, p in sorted(problems.items())) or "there are no robots"

"""The symbolic planner: the offline default, deterministic and fast.

It parses the instruction into goals (object X on/in Y, held, container or door open/closed,
robot at Y) and plans them in order from the current world, applying every action with the world
model's rules (``memory.world``), so later goals see earlier ones' results and the plan obeys the
rules the robots do. A delivery is a chain of any length (``chains``): robots hand the object over
through surfaces both reach, or through a carrier's cargo container. Closed doors on a route and
closed containers in the way are opened first, by the robot itself when it has a free gripper,
else by the robot that can do it soonest. Robots are chosen by when they would be done (their
planned work plus travel), which keeps the makespan short. Replanning is the same call: goals that
already hold produce no step, an object already in a robot's hand is carried on from there, and
``ReplanContext.avoid_robots`` get nothing. A goal that cannot be met is refused with one sentence
saying why.
"""

from __future__ import annotations

import logging
import time

from brain.errors import PlanningError
from brain.plan import Plan
from brain.planner import Planner, ReplanContext
from brain.symbolic.actions import StepDraft
from brain.symbolic.chains import Hop, find_chain
from brain.symbolic.fleet import Fleet
from brain.symbolic.goals import Deliver, Goal, Hold, Reach, SetOpen
from brain.symbolic.grounding import read_task
from brain.symbolic.reasons import Reasons
from brain.symbolic.state import simulated
from brain.symbolic.steps import StepBook
from brain.symbolic.vocabulary import Vocabulary
from brain.world import WorldView
from memory.world import Route

__all__ = ["SymbolicPlanner", "plan_goals"]

logger = logging.getLogger(__name__)


@Planner.register("symbolic")
class SymbolicPlanner(Planner):
    """Instruction -> goals -> robot steps with grounded tool calls. Takes no options."""

    name = "symbolic"

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        started = time.perf_counter()
        goals, notes = read_task(task, world)
        plan = plan_goals(goals, world, context, self.name, notes=notes)
        plan.info["elapsed_ms"] = round((time.perf_counter() - started) * 1000, 3)
        logger.info("planned %r: %d step(s) in %.1f ms", task, len(plan.steps), plan.info["elapsed_ms"])
        return plan


    def warm(self, world: WorldView) -> None:
        """The world's state, the lexicon of its names and every robot's abilities (on a fleet of a
        thousand robots, the first plan took about 0.2 to 1 s building them)."""
        Vocabulary(world)
        Fleet(world, simulated(world))


def plan_goals(goals: list[Goal], world: WorldView, context: ReplanContext | None = None,
               planner: str = "symbolic", notes: list[str] | None = None) -> Plan:
    """Plan grounded ``goals`` in order from ``world`` (the part every goal-based planner shares).

    Raises ``PlanningError`` with one sentence when a goal cannot be met.
    """
    run = _PlanRun(world, context)
    run.notes += notes or []
    for index, goal in enumerate(goals):
        run.achieve(goal, goals[index + 1:])
    return run.to_plan(goals, planner)


class _PlanRun:
    """One planning call: the simulated world, the fleet and the steps so far."""

    def __init__(self, world: WorldView, context: ReplanContext | None) -> None:
        self.world = world
        self.context = context
        self.state = simulated(world)
        self.fleet = Fleet(world, self.state, set(context.avoid_robots) if context else set())
        self.reasons = Reasons(self.fleet)
        self.book = StepBook()
        self.finish: dict[str, float] = {}
        self.already: list[str] = []
        self.notes: list[str] = []

    def achieve(self, goal: Goal, later: list[Goal]) -> None:
        if isinstance(goal, Reach):
            self._reach(goal)
        elif goal.satisfied(self.state):
            self.already.append(goal.already(self.state))
        elif isinstance(goal, Deliver):
            self._deliver(goal)
        elif isinstance(goal, Hold):
            self._hold(goal)
        else:
            self._set_open(goal, later)

    # -- deliveries -----------------------------------------------------------------------------

    def _deliver(self, goal: Deliver) -> None:
        self._check_holder(goal.obj, goal.robot)
        self._note_source(goal.obj, goal.source)
        chain = find_chain(self.fleet, goal.obj, goal.target, goal.robot)
        if chain is None:
            raise PlanningError(self.reasons.no_delivery(goal.obj, goal.target, goal.robot))
        self._run_chain(goal.obj, chain, goal.target)

    def _run_chain(self, obj: str, chain: list[Hop], to: str) -> None:
        """Carry out the hops in turn; a chain of several robots is explained in a note."""
        src = self.state.place_of(obj)
        robots = [self._hop(obj, hop) for hop in chain]
        if len(chain) > 1:
            legs = [_leg(hop, robots[i], robots[i + 1]) for i, hop in enumerate(chain[:-1])]
            self.notes.append(f"No single robot can bring {obj} from the {src} to {to}, so " + ", then ".join(legs) + ".")

    def _hop(self, obj: str, hop: Hop) -> str:
        """Carry out one hop; the robot that did it."""
        if hop.kind == "fly":
            return self._fly(hop.members, hop.to)
        if hop.kind == "give":
            return self._give(obj, hop)
        if hop.kind == "take":
            return self._take(obj, self._holder_or_best(obj, hop.members))
        target = hop.to
        if hop.carriers:
            carrier = self._fly(hop.carriers, hop.meet or "")
            target = self.fleet.abilities[carrier].robot.body.cargo or target
            hop = Hop(hop.kind, hop.members, target)
        robot = self._holder_or_best(obj, hop.members, target)
        self._carry(robot, obj, target)
        return robot

    def _holder_or_best(self, obj: str, members: tuple[str, ...], *nodes: str) -> str:
        """The member already holding ``obj`` (a handover chose it), else the one done soonest."""
        holder = self.state.holder(obj)
        if holder in members:
            return holder
        return self.fleet.best(members, obj, *nodes) or members[0]

    def _give(self, obj: str, hop: Hop) -> str:
        """The taker goes to the meeting place and waits; the giver brings the object and hands it over."""
        giver = self._holder_or_best(obj, hop.members, hop.to)
        taker = self.fleet.best(hop.takers, hop.to) or hop.takers[0]
        arrive = self._draft(taker)
        self._prepare(arrive, hop.to)
        arrive.go(hop.to)
        self._commit(arrive)
        draft = self._draft(giver)
        if self.state.holder(obj) != giver:
            self._prepare(draft, obj)
            draft.pick(obj)
        self._prepare(draft, hop.to)
        draft.hand_over(obj, taker)
        self._commit(draft)
        return giver

    def _fly(self, members: tuple[str, ...], place: str) -> str:
        carrier = self.fleet.best(members, place) or members[0]
        draft = self._draft(carrier)
        self._prepare(draft, place)
        draft.go(place)
        self._commit(draft)
        return carrier

    def _carry(self, robot: str, obj: str, target: str) -> None:
        draft = self._draft(robot)
        if self.state.holder(obj) != robot:
            self._prepare(draft, obj)
            if self._full_after_pick(robot):
                self._open_own(draft, obj, target)
            draft.pick(obj)
        self._prepare(draft, target, into=True)
        draft.place(obj, target)
        self._commit(draft)

    def _check_holder(self, obj: str, wanted: str | None) -> None:
        holder = self.state.holder(obj)
        if holder is None:
            return
        if holder in self.fleet.unusable:
            raise PlanningError(f"{obj} is held by {holder}, but {self.fleet.unusable[holder]}; "
                                "it must be put down before another robot can take it")
        if wanted and wanted != holder:
            raise PlanningError(f"{wanted} cannot take {obj}: {holder} is holding it")

    def _note_source(self, obj: str, said: str | None) -> None:
        actual = self.state.parent.get(obj)
        if said and actual and said != actual and said != self.state.place_of(actual):
            self.notes.append(f"{obj} is at {actual}, not {said}; taking it from there.")

    # -- what stands in the way: doors and closed containers -------------------------------------

    def _prepare(self, draft: StepDraft, node: str, into: bool = False, depth: int = 0) -> None:
        """Open what stands between ``draft``'s robot and ``node``: closed doors on its route, closed
        containers around ``node`` (outermost first), and ``node`` itself when putting things ``into`` it."""
        route = self._route(draft.robot.name, node)
        blocking = [d for d in (route.doors if route else ()) if not self.state.is_open(d)]
        for thing in blocking + self._enclosing(node, into):
            self._open(draft, thing, depth)

    def _full_after_pick(self, robot: str) -> bool:
        return len(self.state.holding(robot)) + 1 >= self.fleet.abilities[robot].robot.arms

    def _open_own(self, draft: StepDraft, obj: str, target: str) -> None:
        """Before its hands fill: open the closed doors between ``obj`` and ``target`` and the closed
        containers around and of ``target`` that the robot can open itself (a one-armed robot cannot
        open a door or a box while it holds what goes through or in)."""
        src, dst = self.state.place_of(obj), self.state.place_of(target)
        zones = draft.robot.zones
        route = self.state.route(src, dst, zones, through_closed=True) if src and dst and draft.robot.mobile else None
        doors = [d for d in (route.doors if route else ()) if not self.state.is_open(d)]
        for thing in doors + self._enclosing(target, into=True):
            if self._can_open_now(draft.robot.name, thing):
                self._open(draft, thing, depth=0)

    def _enclosing(self, node: str, into: bool) -> list[str]:
        """The closed containers around ``node``, outermost first, and ``node`` when putting things into it."""
        enclosing = [p for p, link in reversed(self.state.ancestors(node)) if link == "in"
                     and self.state.kind.get(p) == "container" and not self.state.is_open(p)]
        if into and self.state.kind.get(node) == "container" and not self.state.is_open(node):
            enclosing.append(node)
        return enclosing

    def _route(self, robot: str, node: str) -> Route | None:
        """The robot's way to ``node`` through doors that may be closed; to a door, the quickest way to
        either side of it that does not pass through it."""
        here, zones = self.state.place_of(robot), self.fleet.abilities[robot].robot.zones
        if here is None:
            return None
        if self.state.kind.get(node) != "door":
            there = self.state.place_of(node)
            return self.state.route(here, there, zones, through_closed=True) if there else None
        routes = self.state.routes(here, zones, through_closed=True)
        sides = [routes[p] for p in self.state.door_places(node) if p in routes and node not in routes[p].doors]
        return min(sides, key=lambda r: r.travel_s) if sides else None

    def _open(self, draft: StepDraft, thing: str, depth: int) -> None:
        if self.state.is_open(thing):
            return
        if depth > 6:
            raise PlanningError(f"cannot plan a way to open the {thing}: too many closed doors in a row")
        if self._can_open_now(draft.robot.name, thing):
            self._prepare(draft, thing, depth=depth + 1)
            draft.set_open(thing, True)
            return
        opener = self.fleet.best([n for n in self.fleet.abilities if n != draft.robot.name
                                  and self._can_open_now(n, thing)], thing)
        if opener is None:
            raise PlanningError(self.reasons.no_opener(thing))
        helper = self._draft(opener)
        self._prepare(helper, thing, depth=depth + 1)
        helper.set_open(thing, True)
        self._commit(helper)

    def _can_open_now(self, name: str, thing: str) -> bool:
        ability = self.fleet.abilities[name]
        free = len(self.state.holding(name)) < ability.robot.arms
        return ability.opens and free and self.fleet.could_reach(name, thing) is None

    # -- other goals ------------------------------------------------------------------------------

    def _hold(self, goal: Hold) -> None:
        """Someone (or the named robot) picks it up; a named robot that cannot get to it has it
        brought by a chain of others."""
        self._check_holder(goal.obj, goal.robot)
        self._note_source(goal.obj, goal.source)
        names = [a.name for a in self.fleet.usable(goal.robot) if self.fleet.can_pick(a.name, goal.obj) is None]
        robot = self.fleet.best(names, goal.obj)
        if robot is not None:
            self._take(goal.obj, robot)
            return
        chain = find_chain(self.fleet, goal.obj, None, goal.robot) if goal.robot in self.fleet.abilities else None
        if chain is None:
            raise PlanningError(self.reasons.no_picker(goal.obj, goal.robot))
        self._run_chain(goal.obj, chain, goal.robot or "")

    def _take(self, obj: str, robot: str) -> str:
        """``robot`` picks ``obj`` up unless it already holds it."""
        if self.state.holder(obj) != robot:
            draft = self._draft(robot)
            self._prepare(draft, obj)
            draft.pick(obj)
            self._commit(draft)
        return robot

    def _set_open(self, goal: SetOpen, later: list[Goal]) -> None:
        if goal.open and any(self._reaches_into(g, goal.container) for g in later):
            return  # the robot that reaches into it opens it on the way, and leaves it open
        names = [a.name for a in self.fleet.usable(goal.robot) if a.opens
                 and self.fleet.could_reach(a.name, goal.container) is None]
        robot = self.fleet.best(names, goal.container)
        if robot is None:
            raise PlanningError(self.reasons.no_opener(goal.container, goal.robot, open_=goal.open))
        draft = self._draft(robot)
        self._prepare(draft, goal.container)
        draft.set_open(goal.container, goal.open)
        self._commit(draft, merge=self.book.wrote(self.book.last_step_of(robot), goal.container))

    def _reaches_into(self, goal: Goal, container: str) -> bool:
        if isinstance(goal, Deliver) and goal.target == container and goal.relation == "in":
            return True
        inside = isinstance(goal, (Deliver, Hold)) and self.state.parent.get(goal.obj) == container
        return inside and not goal.satisfied(self.state)

    def _reach(self, goal: Reach) -> None:
        """A named robot goes there; unnamed, "go to X" is done when a mobile robot is there."""
        there = self.state.place_of(goal.target)
        present = [a.name for a in self.fleet.usable(goal.robot) if (goal.robot or a.robot.mobile)
                   and goal.is_at(a.name, self.state)]
        if present:
            self.already.append(f"{present[0]} is already at {goal.target}")
            return
        names = [a.name for a in self.fleet.usable(goal.robot) if a.robot.mobile and there in a.places]
        robot = self.fleet.best(names, goal.target)
        if robot is None:
            raise PlanningError(self.reasons.no_mover(goal.target, goal.robot))
        draft = self._draft(robot)
        self._prepare(draft, goal.target)
        draft.go(goal.target)
        self._commit(draft)

    # -- steps ------------------------------------------------------------------------------------

    def _draft(self, robot: str) -> StepDraft:
        return StepDraft(self.fleet.abilities[robot].robot, self.state)

    def _commit(self, draft: StepDraft, merge: bool = False) -> None:
        step_id = self.book.commit(draft, merge=merge)
        if step_id is None:
            return
        step = self.book.step(step_id)
        assert step is not None
        robot = draft.robot.name
        start = max([self.fleet.busy_s.get(robot, 0.0), *(self.finish.get(d, 0.0) for d in step.depends_on)])
        self.finish[step_id] = start + draft.duration_s
        self.fleet.busy_s[robot] = self.finish[step_id]

    def to_plan(self, goals: list[Goal], planner: str) -> Plan:
        steps = self.book.steps
        info = {
            "goals": [g.describe() for g in goals],
            "already_satisfied": list(self.already),
            "notes": list(self.notes),
            "world_version": self.world.version,
            "already_done": not steps,
            "makespan_s": round(max(self.finish.values(), default=0.0), 3),
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


def _leg(hop: Hop, robot: str, following: str) -> str:
    """One handoff of a chain in words."""
    if hop.kind == "fly":
        return f"{robot} flies it to the {hop.to}, where {following} takes it"
    if hop.kind == "give":
        return f"{robot} hands it straight to {following} in the {hop.to}"
    if hop.carriers:
        return f"{robot} loads it into the cargo of {following}"
    return f"{robot} hands it to {following} at {hop.to}"

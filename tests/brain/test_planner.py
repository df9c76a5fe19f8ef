from __future__ import annotations

import pytest

from brain.errors import BrainError
from brain.plan import Plan, PlanStep
from brain.planner import Planner, ReplanContext
from brain.symbolic import SymbolicPlanner
from brain.world import WorldView

pytestmark = pytest.mark.anyio


class EchoPlanner(Planner):
    """A planner that gives the whole task to one robot: enough to exercise the interface."""

    def __init__(self, robot: str) -> None:
        self.robot = robot

    async def plan(self, task: str, world: WorldView, context: ReplanContext | None = None) -> Plan:
        return Plan("Echo.", [PlanStep("s1", self.robot, task)], self.name)


def test_create_builds_the_registered_symbolic_planner() -> None:
    planner = Planner.create("symbolic")
    assert isinstance(planner, SymbolicPlanner)
    assert planner.name == "symbolic"
    assert "symbolic" in Planner.available()


def test_unknown_type_names_the_available_ones() -> None:
    with pytest.raises(BrainError, match=r"unknown planner type 'oracle'; available: .*symbolic"):
        Planner.create("oracle")


async def test_registered_planner_is_created_with_its_arguments(world: WorldView) -> None:
    Planner.register("echo-test")(EchoPlanner)
    planner = Planner.create("echo-test", robot="waiter")
    plan = await planner.plan("wave", world)
    assert (plan.planner, plan.steps[0].robot_name, plan.steps[0].subtask) == ("echo-test", "waiter", "wave")


def test_a_type_cannot_be_registered_twice_by_different_classes() -> None:
    Planner.register("echo-twice")(EchoPlanner)

    class Other(EchoPlanner):
        pass

    with pytest.raises(BrainError, match="already registered"):
        Planner.register("echo-twice")(Other)


def test_replan_context_round_trips() -> None:
    context = ReplanContext(done=["s1"], failed="s2", reason="dropped the cup", avoid_robots={"waiter"})
    assert ReplanContext.from_dict(context.to_dict()) == context
    assert context.to_dict()["avoid_robots"] == ["waiter"]

"""The brain: task -> plan (symbolic or LLM planner), plan validation, and the step interface.

It imports no other RoboOS component; it works on plain dicts (``RobotRecord.to_dict()``,
``SceneSnapshot.to_dict()``) through ``WorldView``::

    from brain import Planner, WorldView, validate_plan

    world = WorldView.from_dicts(robot_dicts, scene_dict)
    planner = Planner.create("symbolic")
    plan = await planner.plan("bring the apple to table 2", world)
    assert validate_plan(plan, world) == []
    plan.to_robobrain()   # {"reasoning_explanation", "subtask_list": [...]}
"""

from brain.errors import BrainError, PlanFormatError, PlanningError, PlanValidationError
from brain.plan import Plan, PlanStep
from brain.planner import Planner, ReplanContext
from brain.step import StepDecision, Stepper
from brain.validation import check_arguments, ensure_valid_plan, validate_plan
from brain.world import NodeView, RobotView, SkillView, WorldView

__all__ = [
    "BrainError",
    "NodeView",
    "Plan",
    "PlanFormatError",
    "PlanStep",
    "PlanValidationError",
    "Planner",
    "PlanningError",
    "ReplanContext",
    "RobotView",
    "SkillView",
    "StepDecision",
    "Stepper",
    "WorldView",
    "check_arguments",
    "ensure_valid_plan",
    "validate_plan",
]

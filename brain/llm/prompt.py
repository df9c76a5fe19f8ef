"""The compact planning prompt and the JSON schema of the answer.

The prompt lists each robot on one line (embodiment, position, what it holds, skill signatures such
as `pick(object: string) - Pick up an object within reach.`), the scene as one line per place, and
the task. It asks for RoboBrain's planning format with a one-sentence reasoning.
"""

from __future__ import annotations

from typing import Any

from brain.planner import ReplanContext
from brain.world import RobotView, SkillView, WorldView

__all__ = ["ACTIONS_RULE", "PLAN_SYSTEM_PROMPT", "plan_messages", "plan_schema", "robot_line", "scene_lines", "signature"]

PLAN_SYSTEM_PROMPT = (
    "You plan tasks for a fleet of robots. Split the task into subtasks, each for one listed robot that "
    "has the skills it needs. Subtasks with the same subtask_order run in parallel; a higher order waits "
    "for the lower ones. Optionally give depends_on (step numbers, 1-based) and actions (tool calls "
    '{"name", "arguments"} of that robot\'s skills). Answer with JSON only: '
    '{"reasoning_explanation": "<one short sentence>", "subtask_list": [{"robot_name": "...", '
    '"subtask": "...", "subtask_order": 1}]}'
)
ACTIONS_RULE = (
    "Every subtask must list its actions: the robot's tool calls in order, using only scene names. A robot "
    "acts only where it is: navigate to the furniture first, pick with a free hand, open a closed "
    "container before reaching into it, and place only what it holds."
)


def signature(skill: SkillView) -> str:
    """`name(arg: type, opt?: a|b) - first line of the description`."""
    schema = skill.parameters or {}
    required = set(schema.get("required") or [])
    args = []
    for name, spec in (schema.get("properties") or {}).items():
        spec = spec if isinstance(spec, dict) else {}
        kind = "|".join(str(v) for v in spec["enum"]) if "enum" in spec else str(spec.get("type", "any"))
        args.append(f"{name}{'' if name in required else '?'}: {kind}")
    description = (skill.description or "").strip().splitlines()
    return f"{skill.name}({', '.join(args)})" + (f" - {description[0]}" if description else "")


def robot_line(robot: RobotView) -> str:
    holding = ", ".join(robot.holding) or "nothing"
    skills = "; ".join(signature(s) for s in sorted(robot.skills.values(), key=lambda s: s.name))
    where = robot.position or "unknown place"
    return f"- {robot.name} ({robot.embodiment}) at {where}, holding {holding}; skills: {skills}"


def scene_lines(world: WorldView) -> list[str]:
    """One line per place: what is there and how (`apple on counter`, `fridge (closed)`)."""
    by_place: dict[str, list[str]] = {p.name: [] for p in world.nodes_of_kind("place")}
    for node in sorted(world.nodes.values(), key=lambda n: n.name):
        if node.kind in ("place", "robot") or node.name in world.robots:
            continue
        place = world.place_of(node.name) or "elsewhere"
        text = node.name if node.parent in (None, place) else f"{node.name} {node.relation or 'at'} {node.parent}"
        if not world.is_open(node.name) and node.kind == "container":
            text += " (closed)"
        by_place.setdefault(place, []).append(text)
    return [f"- {place}: {', '.join(items) or 'empty'}" for place, items in by_place.items()]


def plan_messages(
    task: str, world: WorldView, context: ReplanContext | None = None, *, reasoning_words: int = 25,
    require_actions: bool = False,
) -> list[dict[str, str]]:
    robots = [r for r in world.online_robots() if not context or r.name not in context.avoid_robots]
    lines = ["Robots:", *(robot_line(r) for r in robots), "Scene:", *scene_lines(world)]
    if context is not None:
        lines += _replan_lines(context)
    lines.append(f"Task: {task}")
    lines.append(f"Reply with the JSON plan; keep reasoning_explanation under {reasoning_words} words.")
    system = f"{PLAN_SYSTEM_PROMPT} {ACTIONS_RULE}" if require_actions else PLAN_SYSTEM_PROMPT
    return [{"role": "system", "content": system}, {"role": "user", "content": "\n".join(lines)}]


def _replan_lines(context: ReplanContext) -> list[str]:
    lines = ["Replanning after a failure; plan only what is left."]
    if context.done:
        lines.append("Already done: " + "; ".join(context.done))
    if context.failed:
        lines.append(f"Failed: {context.failed}" + (f" ({context.reason})" if context.reason else ""))
    if context.avoid_robots:
        lines.append("Do not use: " + ", ".join(sorted(context.avoid_robots)))
    return lines


def plan_schema(
    world: WorldView, context: ReplanContext | None = None, *, reasoning_chars: int | None = 160,
    require_actions: bool = False,
) -> dict[str, Any]:
    """JSON schema of a plan for this fleet: robot names and skill names are enums.

    ``require_actions``: each subtask must carry a non-empty ``actions`` list.
    """
    avoid = context.avoid_robots if context else set()
    robots = [r.name for r in world.online_robots() if r.name not in avoid] or sorted(world.robots)
    skills = sorted({s for r in robots for s in world.robots[r].skills})
    max_steps = max(3, 2 * len(robots))
    reasoning: dict[str, Any] = {"type": "string"}
    if reasoning_chars:
        reasoning["maxLength"] = reasoning_chars
    action = {
        "type": "object",
        "properties": {"name": {"enum": skills} if skills else {"type": "string"}, "arguments": {"type": "object"}},
        "required": ["name", "arguments"],
    }
    step = {
        "type": "object",
        "properties": {
            "robot_name": {"enum": robots},
            "subtask": {"type": "string", "maxLength": 80},
            "subtask_order": {"type": "integer", "minimum": 1, "maximum": max_steps},
            "depends_on": {"type": "array", "items": {"type": "integer", "minimum": 1}, "maxItems": max_steps},
            "actions": {"type": "array", "items": action, "maxItems": 8, **({"minItems": 1} if require_actions else {})},
        },
        "required": ["robot_name", "subtask", "subtask_order", *(["actions"] if require_actions else [])],
    }
    return {
        "type": "object",
        "properties": {
            "reasoning_explanation": reasoning,
            "subtask_list": {"type": "array", "items": step, "minItems": 1, "maxItems": max_steps},
        },
        "required": ["reasoning_explanation", "subtask_list"],
    }

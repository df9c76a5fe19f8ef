"""``roboos plan``: plan one instruction offline against a scene, check it, and optionally run it.

No servers and no Redis: the scene's world is built in-process (``deploy.offline``)::

    roboos plan --scene restaurant "bring the cup to table 2"
    roboos plan --scene household --simulate "put the milk in the fridge"
    roboos plan --scene scene/restaurant.yaml --json "bring the cup to table 2"

Exit status: 0 when the plan passes its checks, 1 when the planner refuses or a check fails,
2 for a usage or scene error; a failure also writes one line on stderr. ``--json`` prints one
object (see README, "Planning offline").
"""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any, TextIO

from brain.plan import PlanStep
from deploy.offline import Final, OfflineRun, plan_offline, scene_world
from scene import SceneError, load_scene
from skills.errors import SkillError

__all__ = ["goal_nodes", "run_plan", "to_json"]

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def run_plan(args: argparse.Namespace, out: TextIO, err: TextIO) -> int:
    """The ``roboos plan`` command: plan, check, print; returns the exit status."""
    if not args.text.strip():
        print("error: the instruction is empty", file=err)
        return EXIT_USAGE
    try:
        scene = load_scene(args.scene)
        world = asyncio.run(scene_world(scene))
    except (SceneError, SkillError) as e:
        print(f"error: {e}", file=err)
        return EXIT_USAGE
    run = asyncio.run(plan_offline(args.text, world))
    final = _goal_state(run) if args.simulate else None
    if args.json:
        print(json.dumps(to_json(scene.name, run, final), indent=2), file=out)
    else:
        _print_text(scene.name, run, final, out)
    problem = _problem(run)
    if problem:
        print(problem, file=err)
    return EXIT_FAILED if problem else EXIT_OK


def to_json(scene: str, run: OfflineRun, final: Final | None) -> dict[str, Any]:
    """The stable ``--json`` object."""
    plan = run.plan
    return {
        "scene": scene,
        "instruction": run.instruction,
        "ok": run.ok,
        "refused": run.refused,
        "plan": plan.to_robobrain() if plan else None,
        "planner": plan.planner if plan else None,
        "info": dict(plan.info) if plan else {},
        "checks": _checks(run),
        "final": {n: {"relation": r, "parent": p} for n, (r, p) in final.items()} if final is not None else None,
        "elapsed_ms": round(run.elapsed_ms, 3),
    }


def _checks(run: OfflineRun) -> dict[str, Any] | None:
    if run.check is None:
        return None
    return {"valid": not run.validation, "validation": list(run.validation), **run.check.info(),
            "errors": list(run.check.errors)}


def goal_nodes(run: OfflineRun) -> list[str]:
    """The nodes the goals are about: the first name of each goal ("cup on table_2" -> cup); a goal
    for no named robot ("a robot at bar") stands for the robots of the plan."""
    if run.plan is None:
        return []
    goals = run.plan.info.get("goals") or (run.check.goal_list if run.check else [])
    names: list[str] = []
    for goal in goals:
        first = str(goal).split(" ", 1)[0]
        subjects = [first] if first in run.final else sorted({s.robot_name for s in run.plan.steps})
        names += [n for n in subjects if n not in names]
    return names


def _goal_state(run: OfflineRun) -> Final:
    return {name: run.final[name] for name in goal_nodes(run) if name in run.final}


def _problem(run: OfflineRun) -> str | None:
    """The one stderr line of a failure, or None."""
    if run.refused is not None:
        return f"refused: {run.refused}"
    errors = run.validation + (run.check.errors if run.check else [])
    if errors:
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return f"error: the plan fails its checks: {errors[0]}{more}"
    return None


def _print_text(scene: str, run: OfflineRun, final: Final | None, out: TextIO) -> None:
    print(f"{scene}: {run.instruction}", file=out)
    if run.plan is None:
        print(f"refused in {run.elapsed_ms:.1f} ms: {run.refused}", file=out)
        return
    plan = run.plan
    print(f"plan by {plan.planner} in {run.plan_ms:.1f} ms: {len(plan.steps)} step(s), {run.tool_calls} tool call(s)",
          file=out)
    for step in plan.steps:
        _print_step(step, out)
    print(f"reasoning: {plan.reasoning_explanation}", file=out)
    _print_checks(run, out)
    if final is not None:
        print("final state (simulated):", file=out)
        for name, (relation, parent) in final.items():
            print(f"  {name} {relation} {parent}", file=out)


def _print_step(step: PlanStep, out: TextIO) -> None:
    after = f" (after {', '.join(step.depends_on)})" if step.depends_on else ""
    print(f"  {step.step_id} [{step.robot_name}]{after} {step.subtask}", file=out)
    calls = ", ".join(f"{a['name']}({', '.join(f'{k}={v}' for k, v in a['arguments'].items())})"
                      for a in step.actions)
    print(f"      {calls or '(free text: the robot works it out)'}", file=out)


def _print_checks(run: OfflineRun, out: TextIO) -> None:
    assert run.check is not None
    info = run.check.info()
    goals = f" ({', '.join(info['goal_list'])})" if info["goal_list"] else ""
    valid = "valid" if not run.validation else "invalid"
    print(f"checks: {valid}; effects {info['effects']}; goals {info['goals']}{goals}", file=out)
    for error in run.validation + run.check.errors:
        print(f"  problem: {error}", file=out)

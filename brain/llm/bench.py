"""`roboos bench plan`: our compact planning prompt against a RoboOS-style one, through the same server.

    roboos bench plan --runs 5                       # starts `roboos brain serve` (bundled model)
    roboos bench plan --base-url http://127.0.0.1:8000/v1 --model RoboBrain2.0-7B --runs 20

For the same task and fleet, each prompt style is sent `--runs` times; per style it reports mean plan
latency, prompt and completion tokens, and the validity rate (`validate_plan`). The last line states
the completion-token ratio. The RoboOS-style prompt follows the reference system's habits: raw JSON
dumps of robots, tools and scene, and a request for 200+ words of reasoning.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
from dataclasses import dataclass, field
from typing import Any

from brain.errors import PlanFormatError
from brain.llm.client import LLMClient, LLMError
from brain.llm.config import LLMConfig
from brain.llm.extraction import extract_json
from brain.llm.prompt import plan_messages, plan_schema
from brain.plan import Plan
from brain.validation import validate_plan
from brain.world import WorldView

__all__ = ["BENCH_TASK", "bench_plan_main", "restaurant_world", "roboos_style_messages"]

logger = logging.getLogger(__name__)

BENCH_TASK = "Bring the apple to the dining table."


def _skill(name: str, description: str, kind: str, **args: dict[str, Any]) -> dict[str, Any]:
    roles = {"navigate": {"target": "target"}, "pick": {"object": "object"}, "place": {"target": "target"},
             "open": {"target": "target"}, "close": {"target": "target"}}.get(kind, {})
    schema = {"type": "object", "properties": args, "required": sorted(args), "additionalProperties": False}
    return {"name": name, "description": description, "input_schema": schema,
            "semantics": {"kind": kind, "roles": roles}}


def _robot(name: str, embodiment: str, skills: list[dict[str, Any]], **capabilities: Any) -> dict[str, Any]:
    profile = {"name": name, "embodiment": embodiment, "skills": skills, "capabilities": capabilities}
    return {"profile": profile, "status": "idle", "online": True}


def restaurant_world() -> WorldView:
    """A restaurant: kitchen, pass and dining room; a wheeled dual-arm runner, a humanoid, a fixed arm."""
    goal = {"type": "string", "description": "a place, a piece of furniture or a container"}
    thing = {"type": "string", "description": "the object's name"}
    target = {"type": "string", "description": "a piece of furniture or a container"}
    navigate = _skill("navigate", "Go to a place, or to a piece of furniture or a container.", "navigate",
                      target=goal)
    pick = _skill("pick", "Pick up an object within reach.", "pick", object=thing)
    place = _skill("place", "Put the held object on or in a target within reach.", "place", target=target)
    open_ = _skill("open", "Open a door or a container.", "open", target=target)
    close = _skill("close", "Close a door or a container.", "close", target=target)
    robots = [
        _robot("runner", "wheeled_dual_arm", [navigate, pick, place], mobile=True, arms=2, payload_kg=5.0),
        _robot("helper", "humanoid", [navigate, pick, place, open_, close], mobile=True, arms=2, payload_kg=3.0),
        _robot("chef_arm", "fixed_single_arm", [pick, place, open_, close], mobile=False, arms=1, payload_kg=2.0),
    ]
    nodes = [
        {"name": "kitchen", "kind": "place"},
        {"name": "pass", "kind": "place"},
        {"name": "dining", "kind": "place"},
        {"name": "counter", "kind": "furniture", "parent": "kitchen", "relation": "at"},
        {"name": "fridge", "kind": "container", "parent": "kitchen", "relation": "at", "props": {"state": "closed"}},
        {"name": "pass_shelf", "kind": "furniture", "parent": "pass", "relation": "at"},
        {"name": "dining_table", "kind": "furniture", "parent": "dining", "relation": "at"},
        {"name": "apple", "kind": "object", "parent": "counter", "relation": "on"},
        {"name": "milk", "kind": "object", "parent": "fridge", "relation": "in"},
        {"name": "cup", "kind": "object", "parent": "pass_shelf", "relation": "on"},
        {"name": "runner", "kind": "robot", "parent": "pass", "relation": "at"},
        {"name": "helper", "kind": "robot", "parent": "dining", "relation": "at"},
        {"name": "chef_arm", "kind": "robot", "parent": "kitchen", "relation": "at"},
    ]
    return WorldView.from_dicts(robots, {"version": 1, "nodes": nodes})


def roboos_style_messages(task: str, world: WorldView) -> list[dict[str, str]]:
    """A planning prompt in the reference RoboOS manner: JSON dumps and a long reasoning asked for."""
    robots = {
        r.name: {
            "embodiment": r.embodiment, "position": r.position, "holding": list(r.holding),
            "tools": [{"name": s.name, "description": s.description, "input_schema": s.parameters}
                      for s in r.skills.values()],
        }
        for r in world.online_robots()
    }
    scene = [{"name": n.name, "type": n.kind, "parent": n.parent, "relation": n.relation, "props": n.props}
             for n in world.nodes.values()]
    user = (
        "Please break down the given task into sub-tasks, each of which cannot be too complex. Make sure "
        "that a single robot can complete each subtask, and assign each subtask to the robot best suited "
        "for it given its tools and position.\n\n"
        f"## Robot information\n{json.dumps(robots, indent=2)}\n\n"
        f"## Scene information\n{json.dumps(scene, indent=2)}\n\n"
        f"## Task\n{task}\n\n"
        "## Output requirements\nIn reasoning_explanation, explain in detail, in at least 200 words, how you "
        "understood the task, why each robot was chosen and why the sub-tasks are ordered the way they are. "
        "Then give subtask_list, a list of objects with robot_name, subtask and subtask_order. Sub-tasks that "
        "can run in parallel share a subtask_order. Output JSON with the keys reasoning_explanation and "
        "subtask_list."
    )
    system = "You are a robot task planner with rich experience in multi-robot collaboration."
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


@dataclass
class _Style:
    name: str
    messages: list[dict[str, str]]
    schema: dict[str, Any]
    latencies: list[float] = field(default_factory=list)
    prompt_tokens: list[int] = field(default_factory=list)
    completion_tokens: list[int] = field(default_factory=list)
    valid: int = 0
    runs: int = 0

    def line(self) -> str:
        mean = lambda xs: statistics.fmean(xs) if xs else 0.0  # noqa: E731
        return (f"{self.name:8s} latency {mean(self.latencies):6.2f}s  prompt {mean(self.prompt_tokens):7.1f}  "
                f"completion {mean(self.completion_tokens):7.1f}  valid {self.valid}/{self.runs}")


async def _run_style(client: LLMClient, style: _Style, world: WorldView, runs: int) -> None:
    for _ in range(runs):
        style.runs += 1
        try:
            completion = await client.chat(style.messages, schema=style.schema)
        except LLMError as e:
            logger.warning("%s: request failed: %s", style.name, e)
            continue
        style.latencies.append(completion.latency_s)
        style.prompt_tokens.append(completion.prompt_tokens)
        style.completion_tokens.append(completion.completion_tokens)
        try:
            plan = Plan.from_robobrain(extract_json(completion.content), planner="llm")
        except (ValueError, PlanFormatError) as e:
            logger.info("%s: unparsable plan: %s", style.name, e)
            continue
        problems = validate_plan(plan, world)
        style.valid += not problems
        if problems:
            logger.info("%s: invalid plan: %s", style.name, "; ".join(problems))


def ratio_line(ours: _Style, theirs: _Style) -> str:
    a = statistics.fmean(ours.completion_tokens) if ours.completion_tokens else 0.0
    b = statistics.fmean(theirs.completion_tokens) if theirs.completion_tokens else 0.0
    if a <= 0 or b <= 0:
        return "completion tokens: not measured (no successful requests)"
    if a <= b:
        return f"completion tokens: {b / a:.1f}x fewer than the RoboOS prompt"
    return f"completion tokens: {a / b:.1f}x more than the RoboOS prompt"


async def _bench(config: LLMConfig, runs: int, task: str, out: Any) -> None:
    world = restaurant_world()
    client = LLMClient(config)
    ours = _Style("ours", plan_messages(task, world), plan_schema(world))
    theirs = _Style("roboos", roboos_style_messages(task, world), plan_schema(world, reasoning_chars=None))
    try:
        for style in (ours, theirs):
            await _run_style(client, style, world, runs)
    finally:
        await client.close()
    print(f"task: {task}\nmodel: {config.model} at {config.base_url}, {runs} runs per prompt, "
          f"structured output: {config.structured_output}, max_tokens {config.max_tokens}", file=out)
    print(ours.line(), file=out)
    print(theirs.line(), file=out)
    print(ratio_line(ours, theirs), file=out)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="roboos bench plan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="requests per prompt style")
    parser.add_argument("--task", default=BENCH_TASK)
    parser.add_argument("--base-url", default=None, help="an OpenAI-compatible endpoint; default: start one")
    parser.add_argument("--model", default=None, help="the served model (default: the started server's)")
    parser.add_argument("--server-model", default=None, help="--model for the started `roboos brain serve`")
    parser.add_argument("--structured-output", choices=["json_schema", "guided_json", "none"], default="json_schema")
    parser.add_argument("--max-tokens", type=int, default=768)
    parser.add_argument("--timeout-s", type=float, default=300.0)
    return parser


def bench_plan_main(argv: list[str] | None = None, out: Any = None) -> int:
    args = build_parser().parse_args(argv)
    out = out or sys.stdout
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    settings = {"structured_output": args.structured_output, "max_tokens": args.max_tokens,
                "timeout_s": args.timeout_s, "max_attempts": 1}
    if args.base_url:
        config = LLMConfig(base_url=args.base_url, model=args.model or LLMConfig().model, **settings)
        asyncio.run(_bench(config, args.runs, args.task, out))
        return 0
    from brain.server.process import ServerProcess

    server_args = ["--max-tokens", str(args.max_tokens)] + (["--model", args.server_model] if args.server_model else [])
    with ServerProcess(server_args) as server:
        config = LLMConfig(base_url=server.base_url, model=args.model or server.model, **settings)
        asyncio.run(_bench(config, args.runs, args.task, out))
    return 0

"""``roboos bench brain``: how well the planner does on the scene suites, and how it scales.

Every case of every suite in ``deploy/suites/brain`` (format: ``deploy.brain_suite``) is planned
offline against its scene, checked and simulated with the world rules (``deploy.offline``)::

    roboos bench brain                          # all suites, then the synthetic scaling table
    roboos bench brain --scene restaurant --no-scaling
    roboos bench brain --planner llm_goals --scene restaurant apartment --limit 10   # see deploy.bench_llm

A case succeeds when its plan breaks no rule and leaves every ``expect`` true, or, for a
``refuse`` case, when the planner refuses it (with the word in its reason, when one is given).
Then synthetic ring worlds of 10, 100 and 1000 robots (5 objects per robot) are planned on, each
size in a process of its own within ``--budget-s`` (the symbolic planner only). ``--limit N`` plans
at most N cases per suite, spread evenly over it. The report ends with::

    goal success: N/M (P %)
    rule violations: N
    plan p50 at 1000 robots: X ms
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import multiprocessing
import queue
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from brain.llm.config import LLMConfig
from brain.planner import Planner
from brain.world import WorldView
from deploy.bench_llm import llm_settings, make_planner, usage_lines
from deploy.brain_suite import SUITE_DIR, Case, Suite, SuiteError, load_suite, suite_paths
from deploy.offline import OfflineRun, build_world, plan_offline, scene_world
from deploy.synthetic import ring_world
from scene import SceneError, load_scene
from skills.errors import SkillError

__all__ = ["CaseResult", "run_brain_bench", "run_case"]

logger = logging.getLogger(__name__)

SIZES = ((10, 50), (100, 500), (1000, 5000))  # robots, objects
INSTRUCTIONS = 5  # planned per synthetic size
REASON_WIDTH = 150


@dataclass
class CaseResult:
    """How one case went."""

    scene: str
    case: Case
    passed: bool
    reason: str = ""  # why it failed
    parsed: bool = True
    planned: bool = False
    refused: bool = False
    violations: int = 0
    tool_calls: int = 0
    plan_ms: float = 0.0
    info: dict[str, Any] = field(default_factory=dict)  # the plan's


def run_brain_bench(args: argparse.Namespace, out: TextIO) -> int:
    folder = Path(args.suite) if args.suite else SUITE_DIR
    paths = suite_paths(folder) if folder.is_dir() else []
    if not paths:
        print(f"error: no suite files (*.yaml) in {folder}", file=sys.stderr)
        return 2
    with llm_settings(args) as llm:
        if llm is not None:
            print(f"bench: planner {args.planner}, model {llm.model} at {llm.base_url}", file=out, flush=True)
        results, skipped = asyncio.run(_run_suites(paths, args, llm, out))
    _report(results, skipped, out)
    if llm is not None:
        for line in usage_lines([r.info for r in results]):
            print(line, file=out)
    p50 = _scaling(args.budget_s, out) if args.scaling else "skipped (--no-scaling)"
    _closing(results, p50, out)
    return 1 if skipped else 0


# -- the suites ---------------------------------------------------------------------------------


async def _run_suites(paths: list[Path], args: argparse.Namespace, llm: LLMConfig | None,
                      out: TextIO) -> tuple[list[CaseResult], list[str]]:
    planner = make_planner(args.planner, llm)
    try:
        return await _plan_suites(paths, set(args.scene or ()), args.limit, planner, out)
    finally:
        if hasattr(planner, "close"):
            await planner.close()


async def _plan_suites(paths: list[Path], scenes: set[str], limit: int | None, planner: Planner,
                       out: TextIO) -> tuple[list[CaseResult], list[str]]:
    results: list[CaseResult] = []
    skipped: list[str] = []
    for path in paths:
        try:
            suite = load_suite(path)
            if scenes and suite.scene not in scenes and path.stem not in scenes:
                continue
            world = await scene_world(load_scene(suite.scene))
        except (SuiteError, SceneError, SkillError) as e:
            skipped.append(f"{path.name}: {e}")
            continue
        cases = _spread(suite.cases, limit)
        print(f"bench: {suite.scene}: {len(cases)} of {len(suite.cases)} cases...", file=out, flush=True)
        results += [await run_case(suite, case, world, planner) for case in cases]
    return results, skipped


def _spread(cases: list[Case], limit: int | None) -> list[Case]:
    """At most ``limit`` cases, evenly spread over the suite (all when ``limit`` is None)."""
    if limit is None or limit >= len(cases):
        return cases
    return [cases[i * len(cases) // limit] for i in range(limit)]


async def run_case(suite: Suite, case: Case, world: WorldView, planner: Planner | None = None) -> CaseResult:
    """Plan (symbolic unless ``planner`` is given), check and simulate one case, and judge it."""
    try:
        run = await plan_offline(case.text, world, planner)
    except Exception as e:  # boundary: a planner bug fails this case, not the bench
        logger.exception("case %s: the planner failed", case.id)
        return CaseResult(suite.scene, case, passed=False, reason=f"planner error: {type(e).__name__}: {e}",
                          parsed=False)
    result = CaseResult(suite.scene, case, passed=False, planned=run.plan is not None,
                        refused=run.refused is not None, violations=len(run.violations),
                        tool_calls=run.tool_calls, plan_ms=run.plan_ms,
                        parsed=not (run.refused or "").startswith("cannot parse"),
                        info=dict(run.plan.info) if run.plan else {})
    result.reason = _refusal_problem(case, run) if case.must_refuse else _goal_problem(case, run)
    result.passed = not result.reason
    return result


def _refusal_problem(case: Case, run: OfflineRun) -> str:
    if run.refused is None:
        return f"planned ({len(run.plan.steps) if run.plan else 0} steps) but it must be refused"
    if case.refuse and case.refuse not in run.refused.lower():
        return f"refused, but the reason lacks {case.refuse!r}: {run.refused}"
    return ""


def _goal_problem(case: Case, run: OfflineRun) -> str:
    if run.refused is not None:
        return f"refused: {run.refused}"
    problems = run.validation + run.violations
    if problems:
        return f"rule broken: {problems[0]}"
    unmet = [e for e in case.expect if run.final.get(e.node) != (e.relation, e.parent)]
    if unmet:
        return "; ".join(f"wanted {e}, got {e.node} {_state(run, e.node)}" for e in unmet)
    return ""


def _state(run: OfflineRun, node: str) -> str:
    relation, parent = run.final.get(node, (None, None))
    return f"{relation} {parent}" if parent else "(no such node)"


# -- the report ---------------------------------------------------------------------------------


_HEADER = (f"{'scene':<14}{'cases':>6}{'success':>14}{'parsed':>8}{'planned':>9}{'refusals':>10}"
           f"{'violations':>12}{'calls/best':>12}{'p50 ms':>9}{'p99 ms':>9}")


def _report(results: list[CaseResult], skipped: list[str], out: TextIO) -> None:
    print("", file=out)
    print(_HEADER, file=out)
    for scene in dict.fromkeys(r.scene for r in results):
        print(_row(scene, [r for r in results if r.scene == scene]), file=out)
    print(_row("all", results), file=out)
    for line in skipped:
        print(f"skipped suite {line}", file=out)
    failing = [r for r in results if not r.passed]
    print(f"\nfailing cases ({len(failing)}):", file=out)
    for r in failing:
        print(f"  {r.case.id} [{r.scene}] {_truncate(r.reason)}", file=out)
    print("", file=out)
    for line in _totals(results):
        print(line, file=out)


def _row(scene: str, results: list[CaseResult]) -> str:
    passed = sum(r.passed for r in results)
    must_refuse = [r for r in results if r.case.must_refuse]
    calls, best = _steps(results)
    times = [r.plan_ms for r in results]
    return (f"{scene:<14}{len(results):>6}{f'{passed} ({_percent(passed, len(results))})':>14}"
            f"{sum(r.parsed for r in results):>8}{sum(r.planned for r in results):>9}"
            f"{f'{sum(r.passed for r in must_refuse)}/{len(must_refuse)}':>10}"
            f"{sum(r.violations for r in results):>12}{f'{calls}/{best}':>12}"
            f"{_percentile(times, 0.5):>9.2f}{_percentile(times, 0.99):>9.2f}")


def _totals(results: list[CaseResult]) -> list[str]:
    must_refuse = [r for r in results if r.case.must_refuse]
    wrongly = [r for r in results if not r.case.must_refuse and r.refused and r.parsed]
    calls, best = _steps(results)
    counted = sum(1 for r in results if r.passed and r.case.best_actions is not None and not r.case.must_refuse)
    times = [r.plan_ms for r in results]
    return [
        f"correct refusals: {sum(r.passed for r in must_refuse)}/{len(must_refuse)}; "
        f"possible tasks refused after parsing: {len(wrongly)}",
        f"parsed: {sum(r.parsed for r in results)}/{len(results)}; planned: {sum(r.planned for r in results)}",
        f"tool calls against the best known: {calls} vs {best} ({counted} passed cases with best_actions)",
        f"plan time: p50 {_percentile(times, 0.5):.2f} ms, p99 {_percentile(times, 0.99):.2f} ms",
    ]


def _steps(results: list[CaseResult]) -> tuple[int, int]:
    """Tool calls and best known calls, over the passed cases that give best_actions."""
    known = [r for r in results if r.passed and r.case.best_actions is not None and not r.case.must_refuse]
    return sum(r.tool_calls for r in known), sum(r.case.best_actions or 0 for r in known)


def _closing(results: list[CaseResult], p50: str, out: TextIO) -> None:
    passed = sum(r.passed for r in results)
    print(f"goal success: {passed}/{len(results)} ({_percent(passed, len(results))})", file=out)
    print(f"rule violations: {sum(r.violations for r in results)}", file=out)
    print(f"plan p50 at 1000 robots: {p50}", file=out, flush=True)


def _percent(part: int, whole: int) -> str:
    return f"{100 * part / whole:.0f} %" if whole else "0 %"


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return statistics.median(ordered) if q == 0.5 else ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def _truncate(text: str) -> str:
    text = " ".join(text.split())
    return text if len(text) <= REASON_WIDTH else text[: REASON_WIDTH - 3] + "..."


# -- scaling ------------------------------------------------------------------------------------


@dataclass
class SizeResult:
    """What one synthetic size gave within its budget."""

    robots: int
    objects: int
    build_s: float | None = None
    plan_ms: list[float] = field(default_factory=list)
    planned: int = 0
    wanted: int = INSTRUCTIONS
    problem: str = ""  # "> budget" or "failed (...)" when the size did not finish

    def p50(self) -> str:
        if self.problem or not self.plan_ms:
            return f"{self.problem or 'nothing planned'} ({len(self.plan_ms)} of {self.wanted} plans done)"
        return f"{_percentile(self.plan_ms, 0.5):.1f} ms"


def _scaling(budget_s: float, out: TextIO) -> str:
    """Plan on each synthetic size and print the table; returns the p50 at 1000 robots, worded."""
    print("\nscaling (synthetic ring worlds, each size in its own process, "
          f"budget {budget_s:g} s per size):", file=out, flush=True)
    sizes = [_run_size(robots, objects, budget_s, out) for robots, objects in SIZES]
    print(f"{'robots':>8}{'objects':>9}{'build s':>9}{'planned':>9}{'plan p50':>12}{'plan max':>11}", file=out)
    for size in sizes:
        build = f"{size.build_s:.1f}" if size.build_s is not None else "-"
        worst = f"{max(size.plan_ms):.1f} ms" if size.plan_ms else "-"
        p50 = size.problem or size.p50()
        print(f"{size.robots:>8}{size.objects:>9}{build:>9}{f'{size.planned}/{size.wanted}':>9}{p50:>12}{worst:>11}",
              file=out)
    at_1000 = next((s for s in sizes if s.robots == 1000), None)
    return at_1000.p50() if at_1000 else "not run"


def _run_size(robots: int, objects: int, budget_s: float, out: TextIO) -> SizeResult:
    """One size in a process of its own, stopped when ``budget_s`` is spent."""
    context = multiprocessing.get_context("spawn")
    messages: Any = context.Queue()
    worker = context.Process(target=_size_worker, args=(robots, objects, messages), daemon=True)
    result = SizeResult(robots, objects)
    deadline = time.monotonic() + budget_s
    worker.start()
    try:
        while not _follow(worker, messages, result, deadline, out):
            pass
    finally:
        if worker.is_alive():
            worker.terminate()
        worker.join(timeout=10)
    return result


def _follow(worker: Any, messages: Any, result: SizeResult, deadline: float, out: TextIO) -> bool:
    """Wait (at most a second) for the worker's next message; True when the size is over."""
    try:
        message = messages.get(timeout=max(0.01, min(1.0, deadline - time.monotonic())))
    except queue.Empty:
        if not worker.is_alive():
            result.problem = f"failed (exit {worker.exitcode})"
        elif time.monotonic() >= deadline:
            result.problem = "> budget"
        if result.problem:
            print(f"  {result.robots} robots: {result.problem}", file=out, flush=True)
        return bool(result.problem)
    return _take(message, result, out)


def _take(message: tuple[Any, ...], result: SizeResult, out: TextIO) -> bool:
    """Record one message of the worker; True on its last."""
    kind, *values = message
    if kind == "built":
        (result.build_s,) = values
        print(f"  {result.robots} robots / {result.objects} objects: world built in {result.build_s:.1f} s",
              file=out, flush=True)
    elif kind == "plan":
        ms, planned = values
        result.plan_ms.append(ms)
        result.planned += int(planned)
        print(f"  {result.robots} robots: plan {len(result.plan_ms)}/{result.wanted} in {ms:.1f} ms"
              f"{'' if planned else ' (refused)'}", file=out, flush=True)
    return kind == "done"


def _size_worker(robots: int, objects: int, messages: Any) -> None:
    """In its own process: build the world, plan each instruction, report as it goes."""
    asyncio.run(_plan_size(robots, objects, messages))
    messages.put(("done",))


async def _plan_size(robots: int, objects: int, messages: Any) -> None:
    started = time.perf_counter()
    synthetic = ring_world(robots, objects, INSTRUCTIONS)
    world = await build_world(synthetic.nodes, synthetic.fleet)
    messages.put(("built", time.perf_counter() - started))
    for instruction in synthetic.instructions:
        run = await plan_offline(instruction, world)
        messages.put(("plan", run.plan_ms, run.plan is not None))

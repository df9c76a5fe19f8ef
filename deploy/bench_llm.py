"""The LLM side of ``roboos bench brain --planner llm|llm_goals``: the endpoint, the planner, the usage.

    roboos bench brain --planner llm_goals --scene restaurant apartment --limit 10   # starts `roboos brain serve`
    roboos bench brain --planner llm_goals --base-url http://127.0.0.1:8000/v1 --model RoboBrain2.0-7B

Without ``--base-url`` the bundled model is served by a ``roboos brain serve`` started on 127.0.0.1
for the run and stopped after it. The other LLM settings are the ``llm:`` defaults, with the
``ROBOOS_LLM_*`` environment overrides.
"""

from __future__ import annotations

import argparse
import statistics
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from brain.llm.config import LLMConfig
from brain.planner import Planner
from deploy.config import load_config

__all__ = ["llm_settings", "make_planner", "usage_lines"]


@contextmanager
def llm_settings(args: argparse.Namespace) -> Iterator[LLMConfig | None]:
    """None when ``args.planner`` uses no LLM; else its ``LLMConfig``, for --base-url or a started server."""
    if not Planner.type_of(args.planner).uses_llm:
        yield None
        return
    config = load_config(None).llm  # the defaults and the environment (API key); the flags win
    if args.base_url:
        yield config.updated(base_url=args.base_url, model=args.model or config.model)
        return
    from brain.server.process import ServerProcess

    with ServerProcess(host="127.0.0.1") as server:
        yield config.updated(base_url=server.base_url, model=args.model or server.model)


def make_planner(name: str, llm: LLMConfig | None) -> Planner:
    return Planner.create(name, config=llm) if llm is not None else Planner.create(name)


def usage_lines(infos: list[dict[str, Any]]) -> list[str]:
    """What the model was asked and how it answered, over the plans' ``info`` (refusals carry none)."""
    own = [i for i in infos if "model" in i]
    fallbacks = [i["llm"] for i in infos if isinstance(i.get("llm"), dict)]
    asked = own + fallbacks
    if not asked:
        return ["model: no plan came from or through the model"]
    tokens = [(i["prompt_tokens"], i["completion_tokens"]) for i in asked]
    latency = [i["latency_s"] for i in asked]
    attempts = [i["attempts"] for i in asked]
    return [
        f"model: {len(own)} plans from the model's answers, {len(fallbacks)} symbolic fallbacks "
        f"(over {len(asked)} planned cases)",
        f"model latency per case: p50 {statistics.median(latency):.2f} s, max {max(latency):.2f} s; "
        f"attempts per case: mean {statistics.fmean(attempts):.2f}",
        f"tokens per case: prompt p50 {statistics.median(t[0] for t in tokens):.0f}, "
        f"completion p50 {statistics.median(t[1] for t in tokens):.0f}, "
        f"total {sum(a + b for a, b in tokens)}",
    ]

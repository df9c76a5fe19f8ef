"""Prometheus metrics of `roboos brain serve`, named as vLLM names the same measurements (`vllm:...`).

One `ServerMetrics` per app, each with its own registry, so several apps in one process (tests) do
not collide. `GET /metrics` serves `ServerMetrics.exposition()`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

from brain.server.model import Generation

__all__ = ["CONTENT_TYPE_LATEST", "RequestTimer", "ServerMetrics"]

_LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0)


class ServerMetrics:
    def __init__(self, model_name: str) -> None:
        self.registry = CollectorRegistry()
        labels = {"model_name": model_name}
        self.http_requests = Counter(
            "roboos_brain_http_requests", "HTTP requests answered, by route and status code.",
            ["route", "status"], registry=self.registry)
        self.finished = Counter(
            "vllm:request_success", "Generation requests finished, by finish reason.",
            ["model_name", "finished_reason"], registry=self.registry)
        self.prompt_tokens = Counter(
            "vllm:prompt_tokens", "Prompt tokens processed.", ["model_name"], registry=self.registry).labels(**labels)
        self.generation_tokens = Counter(
            "vllm:generation_tokens", "Tokens generated.", ["model_name"], registry=self.registry).labels(**labels)
        self.running = Gauge(
            "vllm:num_requests_running", "Generation requests in progress (queued for the model or generating).",
            ["model_name"], registry=self.registry).labels(**labels)
        self.time_to_first_token = Histogram(
            "vllm:time_to_first_token_seconds", "Time from a request's arrival to its first generated token.",
            ["model_name"], buckets=_LATENCY_BUCKETS, registry=self.registry).labels(**labels)
        self.e2e_latency = Histogram(
            "vllm:e2e_request_latency_seconds", "Time from a request's arrival to its last token.",
            ["model_name"], buckets=_LATENCY_BUCKETS, registry=self.registry).labels(**labels)
        self._model_name = model_name

    def exposition(self) -> bytes:
        return generate_latest(self.registry)

    def timer(self) -> RequestTimer:
        return RequestTimer(self)

    def record(self, generations: list[Generation], prompts: int = 1) -> None:
        """Tokens and finish reasons of a finished request's generations (`prompts` prompts, n choices each)."""
        per_prompt = max(1, len(generations) // prompts)
        self.prompt_tokens.inc(sum(g.prompt_tokens for g in generations[::per_prompt]))
        self.generation_tokens.inc(sum(g.completion_tokens for g in generations))
        for generation in generations:
            self.finished.labels(model_name=self._model_name, finished_reason=generation.finish_reason).inc()


@dataclass
class RequestTimer:
    """Times one generation request: `first_token()` from the generating thread, `done()` at the end."""

    metrics: ServerMetrics
    started: float = field(default_factory=time.perf_counter)
    _first_seen: bool = False

    def __enter__(self) -> RequestTimer:
        self.metrics.running.inc()
        return self

    def __exit__(self, *exc: object) -> None:
        self.metrics.running.dec()
        self.metrics.e2e_latency.observe(time.perf_counter() - self.started)

    def first_token(self) -> None:
        if not self._first_seen:
            self._first_seen = True
            self.metrics.time_to_first_token.observe(time.perf_counter() - self.started)

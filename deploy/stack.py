"""A whole RoboOS stack for one scene: Redis, skill servers, the master, one slaver per robot.

``Stack`` is a context manager: everything it started stops when the ``with`` block ends,
whether it ends normally, by an error or by Ctrl-C.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import replace
from pathlib import Path

import httpx

from deploy.config import RoboOSConfig
from deploy.errors import LaunchError
from deploy.launcher import Launcher, free_port, http_ready, log_line_ready, port_ready, python_module
from memory import SharedMemory
from memory.server import EmbeddedRedis
from scene import FleetEntry, SceneProfile

__all__ = ["Stack"]

logger = logging.getLogger(__name__)

X0_READY_TIMEOUT_S = 180.0  # an X0 skill server builds (first run) and loads its model before it listens


class Stack:
    """Starts the stack described by ``config`` for ``scene``; ``master_url`` once started."""

    def __init__(self, config: RoboOSConfig, scene: SceneProfile, *, run_dir: Path | None = None) -> None:
        self.config = config
        self.scene = scene
        self.run_dir = Path(run_dir or config.run_dir) / time.strftime("%Y%m%d-%H%M%S")
        self.launcher = Launcher(self.run_dir / "logs", env=self._child_env())
        self.redis: EmbeddedRedis | None = None
        self.redis_url = config.redis_url or ""
        self.master_url = ""

    def __enter__(self) -> Stack:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._start_redis()
        asyncio.run(self._seed_scene())
        if self.config.uses_llm:
            self._prepare_llm()
        http_urls = {entry.name: self._start_http_skill(entry) for entry in self._http_fleet()}
        self._start_master()
        for entry in self.scene.fleet:
            self._start_slaver(entry, http_urls.get(entry.name))
        self._wait_fleet_online(timeout_s=30.0)

    def stop(self) -> None:
        self.launcher.stop_all()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def dead_components(self) -> list[str]:
        return [p.name for p in self.launcher.exited()]

    def _child_env(self) -> dict[str, str]:
        env = {"ROBOOS_LOG_LEVEL": self.config.log_level}
        if self.config.master.auth_token:
            env["ROBOOS_AUTH_TOKEN"] = self.config.master.auth_token
        if self.config.llm.api_key:
            env["ROBOOS_LLM_API_KEY"] = self.config.llm.api_key
        return env

    @property
    def plan_timeout_s(self) -> float:
        """The master's plan timeout; with an LLM planner, long enough for every attempt and the fallback."""
        configured = self.config.master.plan_timeout_s
        if not self.config.uses_llm:
            return configured
        return max(configured, self.config.llm.max_attempts * self.config.llm.timeout_s + 30.0)

    @property
    def llm_config_path(self) -> Path:
        return self.run_dir / "llm.json"

    def _prepare_llm(self) -> None:
        """Start ``roboos brain serve`` if configured, then write the LLM settings for master and slavers.

        The file holds no API key: that travels in the children's environment.
        """
        settings = self.config.llm.to_dict()
        if self.config.brain_server.start:
            settings["base_url"] = self._start_brain_server()
        settings.pop("api_key")
        self.llm_config_path.write_text(json.dumps(settings, indent=2))

    def _start_brain_server(self) -> str:
        server = self.config.brain_server
        port = free_port()
        argv = python_module("brain.server", "--port", str(port), "--device", server.device,
                             "--served-model-name", self.config.llm.model,
                             "--log-level", self.config.log_level.lower())
        if server.model:
            argv += ["--model", server.model]
        url = f"http://127.0.0.1:{port}/v1"
        logger.info("starting the brain server (a local model; this can take a minute on a CPU)")
        self.launcher.start("brain-server", argv, ready=http_ready(f"{url}/models"), timeout_s=server.ready_timeout_s)
        return url

    def _llm_config_args(self) -> list[str]:
        return ["--llm-config", str(self.llm_config_path)] if self.config.uses_llm else []

    def _start_redis(self) -> None:
        if self.config.redis_url:
            logger.info("using Redis at %s", self.config.redis_url)
            return
        self.redis = EmbeddedRedis(self.run_dir / "redis")
        self.redis.start()
        self.redis_url = self.redis.url
        logger.info("embedded Redis at %s (data in %s)", self.redis_url, self.run_dir / "redis")

    async def _seed_scene(self) -> None:
        memory = await SharedMemory.connect(self.redis_url, prefix=self.config.prefix)
        try:
            nodes = self.scene.world_nodes()
            version = await memory.scene.load(nodes)
            logger.info("scene %s loaded (%d nodes, version %d)", self.scene.name, len(nodes), version)
        finally:
            await memory.close()

    def _http_fleet(self) -> list[FleetEntry]:
        return [entry for entry in self.scene.fleet if entry.transport == "http"]

    def _skill_argv(self, entry: FleetEntry) -> list[str]:
        skills = self.config.skills
        argv = python_module(
            "skills.sim",
            "--robot", entry.name,
            "--embodiment", entry.embodiment,
            "--redis-url", self.redis_url,
            "--prefix", self.config.prefix,
            "--zones", ",".join(entry.zones),
            "--speed", str(_override(skills.speed, entry.speed)),
            "--failure-probability", str(_override(skills.failure_probability, entry.failure_probability)),
            "--added-latency", str(_override(skills.added_latency_s, entry.added_latency_s)),
            "--log-level", self.config.log_level,
        )
        if entry.seed is not None:
            argv += ["--seed", str(entry.seed)]
        if overrides := entry.body_overrides():
            argv += ["--body", json.dumps(overrides)]
        if entry.skill == "x0":
            argv += ["--x0-demo-model"]
            if entry.x0_embodiment:
                argv += ["--x0-embodiment", entry.x0_embodiment]
        return argv

    def _start_http_skill(self, entry: FleetEntry) -> str:
        base = self.config.skills.http_port_base
        index = self._http_fleet().index(entry)
        port = base + index if base is not None else free_port()
        argv = self._skill_argv(entry) + ["--transport", "streamable-http", "--port", str(port)]
        timeout_s = X0_READY_TIMEOUT_S if entry.skill == "x0" else 30.0
        self.launcher.start(f"skill-{entry.name}", argv, ready=port_ready(port), timeout_s=timeout_s)
        return f"http://127.0.0.1:{port}/mcp"

    def _start_master(self) -> None:
        master = self.config.master
        port = master.port or free_port()
        argv = python_module(
            "deploy.cli", "master",
            *replace(master, port=port, plan_timeout_s=self.plan_timeout_s).to_argv(),
            "--redis-url", self.redis_url,
            "--prefix", self.config.prefix,
            "--planner", self.config.planner,
            "--log-level", self.config.log_level,
            *self._llm_config_args(),
        )
        host = "127.0.0.1" if master.host in ("0.0.0.0", "::") else master.host
        self.master_url = f"http://{host}:{port}"
        self.launcher.start("master", argv, ready=http_ready(f"{self.master_url}/health"), timeout_s=30.0)

    def _start_slaver(self, entry: FleetEntry, skill_url: str | None) -> None:
        slaver = self.config.slaver
        argv = python_module(
            "deploy.cli", "slaver",
            "--robot", entry.name,
            "--embodiment", entry.embodiment,
            "--start-place", entry.start,
            "--redis-url", self.redis_url,
            "--prefix", self.config.prefix,
            "--heartbeat-interval", str(slaver.heartbeat_interval_s),
            "--liveness-ttl", str(slaver.liveness_ttl_s),
            "--call-timeout", str(slaver.default_call_timeout_s),
            "--log-level", self.config.log_level,
            *(["--stepper", "llm", *self._llm_config_args()] if self.config.uses_llm else []),
        )
        if skill_url:
            argv += ["--skill-url", skill_url]
        else:
            argv += ["--skill-command", json.dumps(self._skill_argv(entry) + ["--transport", "stdio"])]
        self.launcher.start(f"slaver-{entry.name}", argv, ready=log_line_ready(f"slaver {entry.name} ready"))

    def _wait_fleet_online(self, timeout_s: float) -> None:
        """Wait until the master sees every robot of the fleet online."""
        wanted = {entry.name for entry in self.scene.fleet}
        deadline = time.monotonic() + timeout_s
        online: set[str] = set()
        while time.monotonic() < deadline:
            online = self._online_robots()
            if wanted <= online:
                return
            time.sleep(0.05)
        raise LaunchError(f"robots not online after {timeout_s:.0f} s: {', '.join(sorted(wanted - online))}")

    def _online_robots(self) -> set[str]:
        try:
            reply = httpx.get(f"{self.master_url}/robot_status", timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            return set()
        robots = reply.get("data", [])
        return {r["name"] for r in robots if isinstance(r, dict) and r.get("online")}


def _override(value: float | None, own: float) -> float:
    return own if value is None else value

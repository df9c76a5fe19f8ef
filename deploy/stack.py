"""A whole RoboOS stack for one scene: Redis, skill servers, the master, one slaver per robot.

``Stack`` is a context manager: everything it started stops when the ``with`` block ends,
whether it ends normally, by an error or by Ctrl-C. ``supervise()`` restarts what crashed.

Each component's state goes to ``<run_dir>/components.json`` (``COMPONENTS_FILE``) whenever one
changes: the web UI's Launch page reads it.

The Redis password reaches the children in ``$ROBOOS_REDIS_PASSWORD``, never in their argv: the
embedded server's (from ``<data_dir>/redis.password``) or the one in an external ``redis_url``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from pathlib import Path

import httpx
import yaml

from deploy.config import ENV_OVERRIDES, RoboOSConfig
from deploy.errors import LaunchError
from deploy.launcher import (Launcher, PortClaim, Process, RestartPolicy, Restarts, check_ports, free_port,
                             http_ready, log_line_ready, port_ready, python_module)
from memory import SharedMemoryError
from memory.server import EmbeddedCluster, EmbeddedRedis
from memory.shared_memory import PASSWORD_ENV, redact_url, split_password
from scene import FleetEntry, SceneProfile
from scene.seed import seed_scene_at

__all__ = ["COMPONENTS_FILE", "Stack"]

logger = logging.getLogger(__name__)

COMPONENTS_FILE = "components.json"  # in the run folder: a list of ``Process.status()``
X0_READY_TIMEOUT_S = 180.0  # an X0 skill server builds (first run) and loads its model before it listens


class Stack:
    """Starts the stack described by ``config`` for ``scene``; ``master_url`` once started.

    The embedded Redis keeps its data (append-only file, password) in ``data_dir``; None gives it a
    fresh folder in this run's folder. A world already in Redis is kept unless ``reset_scene``.
    """

    def __init__(
        self,
        config: RoboOSConfig,
        scene: SceneProfile,
        *,
        run_dir: Path | None = None,
        data_dir: Path | None = None,
        reset_scene: bool = False,
        restart: RestartPolicy | None = None,
        ui_port: int | None = None,
    ) -> None:
        self.config = config
        self.scene = scene
        self.run_dir = Path(run_dir or config.run_dir) / time.strftime("%Y%m%d-%H%M%S")
        self.data_dir = Path(data_dir) if data_dir is not None else self.run_dir / "redis"
        self.reset_scene = reset_scene
        self.launcher = Launcher(self.run_dir / "logs", env=self._child_env(), restart=restart,
                                 on_change=self._write_components)
        self.redis: EmbeddedRedis | EmbeddedCluster | None = None
        self.redis_url = config.redis_url or ""
        self.master_url = ""
        self.ui_port = ui_port  # None: no web UI; 0: a free port
        self.ui_url = ""
        self.scene_loaded = False  # whether start() loaded the scene (else it kept the world in Redis)
        self.scene_version = 0
        self._redis_password: str | None = None
        self._redis_restarts = Restarts(self.launcher.restart_policy)
        self._redis_up_since = 0.0
        self._brain_url = ""  # of the `roboos brain serve` this stack started
        self._pi0_urls: dict[tuple[str, str], str] = {}  # (pi0 server named, embodiment) -> the action server for it

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
        check_ports(self._port_claims())  # before anything starts: else another server could pass a readiness check
        self._start_redis()
        asyncio.run(self._seed_scene())
        if self.config.uses_llm and self.config.brain_server.start:
            self._brain_url = self._start_brain_server()
        self._start_pi0_servers()
        http_urls = {entry.name: self._start_http_skill(entry) for entry in self._http_fleet()}
        if self.ui_port == 0:
            self.ui_port = free_port()  # chosen now: the master allows the UI's origin (CORS)
        self._start_master()
        for entry in self.scene.fleet:
            self._start_slaver(entry, http_urls.get(entry.name))
        self._wait_fleet_online(timeout_s=30.0)
        if self.ui_port is not None:
            self._start_ui(self.ui_port)

    def _port_claims(self) -> list[PortClaim]:
        """Every fixed port of this stack, with the `roboos up` flags that move it."""
        master, base, claims = self.config.master, self.config.skills.http_port_base, []
        if master.port:
            claims.append(PortClaim(master.port, "the master", "pass --port N or --base-port N", master.host))
        if self.ui_port:
            claims.append(PortClaim(self.ui_port, "the web UI", "pass --ui-port N, --base-port N or --no-ui"))
        skill_hint = "pass --skill-port-base N or --base-port N (config: skills.http_port_base)"
        if base is not None:
            claims += [PortClaim(base + i, f"the skill server of {entry.name}", skill_hint)
                       for i, entry in enumerate(self._http_fleet())]
        brain = self.config.brain_server
        if brain.port and self.config.uses_llm and brain.start:
            claims.append(PortClaim(brain.port, "the brain server", "pass --base-port N (config: brain_server.port)"))
        return claims

    def stop(self) -> None:
        self.launcher.stop_all()
        if self.redis is not None:
            self.redis.stop()
            self.redis = None

    def supervise(self) -> list[str]:
        """Restart what crashed, Redis first (everything needs it); one line per restart.

        ``LaunchError`` when a component crashes more often than the restart policy allows.
        """
        return self._supervise_redis() + self.launcher.supervise()

    def _supervise_redis(self) -> list[str]:
        """Restart a crashed embedded Redis at once, on its port and data (it replays its append-only file)."""
        if self.redis is None or self.redis.running:
            return []
        code, now = self.redis.exit_code, time.monotonic()
        if self._redis_restarts.next_delay(self._redis_up_since, now) is None:
            raise LaunchError(f"the embedded Redis exited with code {code} too often; giving up. "
                              f"Last lines of {self.redis.log_path}:\n{self.redis.log_tail()}")
        note = f"redis exited with code {code}; restarting now (restart {self._redis_restarts.count})"
        logger.info("%s", note)  # the caller shows it
        try:
            self.redis.start()
        except SharedMemoryError as e:
            raise LaunchError(f"the embedded Redis could not be restarted: {e}") from e
        self._redis_up_since = time.monotonic()
        return [note]

    @property
    def components_path(self) -> Path:
        return self.run_dir / COMPONENTS_FILE

    def _write_components(self, processes: list[Process]) -> None:
        """Every component's state, replaced at once (a reader never sees half a file)."""
        temporary = self.components_path.with_suffix(".json.tmp")
        try:
            temporary.write_text(json.dumps([p.status() for p in processes], indent=1))
            os.replace(temporary, self.components_path)
        except OSError as e:
            logger.warning("cannot write %s: %s", self.components_path, e)

    @property
    def scene_note(self) -> str:
        """One line saying whether start() loaded the scene or kept the world already in Redis."""
        if self.scene_loaded:
            return f"scene {self.scene.name} loaded into Redis (scene version {self.scene_version})"
        return (f"kept the world already in Redis (scene version {self.scene_version}); "
                f"--reset-scene reloads scene {self.scene.name}")

    def _child_env(self) -> dict[str, str | None]:
        """The secrets the children need (never in argv or the config file they read); the environment
        overrides inherited from this shell are unset, so that the written config is what they run."""
        env: dict[str, str | None] = {name: None for name in ENV_OVERRIDES}
        env["ROBOOS_LOG_LEVEL"] = self.config.log_level
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
    def config_path(self) -> Path:
        """The resolved configuration every component reads (``--config``), written once by ``start()``."""
        return self.run_dir / "config.yaml"

    def _write_config(self, master_port: int) -> None:
        """The configuration as this stack runs it: the Redis URL, ports and brain server it chose.

        It holds no secret: the token, the API key and the Redis password travel in the environment.
        """
        resolved = self.config.updated(
            redis_url=self.redis_url,
            master=self.config.master.updated(port=master_port, plan_timeout_s=self.plan_timeout_s,
                                              cors_origins=self._cors_origins()),
            llm=self.config.llm.updated(base_url=self._brain_url or self.config.llm.base_url),
        )
        header = "# Written by `roboos up` at start-up: what this run's components read with --config.\n"
        self.config_path.write_text(header + yaml.safe_dump(resolved.without_secrets(), sort_keys=False))

    def _start_brain_server(self) -> str:
        server = self.config.brain_server
        port = server.port or free_port()
        argv = python_module("brain.server", "--port", str(port), "--device", server.device,
                             "--served-model-name", self.config.llm.model,
                             "--log-level", self.config.log_level.lower())
        if server.model:
            argv += ["--model", server.model]
        url = f"http://127.0.0.1:{port}/v1"
        logger.info("starting the brain server (a local model; this can take a minute on a CPU)")
        self.launcher.start("brain-server", argv, ready=http_ready(f"{url}/models"), timeout_s=server.ready_timeout_s)
        return url

    def _start_redis(self) -> None:
        """Start the embedded Redis (or take the configured URL) and hand its password to the children."""
        if self.config.redis_url:
            self.redis_url, self._redis_password = split_password(self.config.redis_url)
            logger.info("using Redis at %s", redact_url(self.config.redis_url))
        else:
            embedded = EmbeddedCluster if self.config.redis_cluster else EmbeddedRedis
            self.redis = embedded(self.data_dir).start()
            self._redis_up_since = time.monotonic()
            self.redis_url, self._redis_password = self.redis.url, self.redis.password
            logger.info("embedded Redis at %s (data in %s)", self.redis_url, self.data_dir)
        if self._redis_password:
            self.launcher.env[PASSWORD_ENV] = self._redis_password

    async def _seed_scene(self) -> None:
        """Load the scene into an empty Redis (or when asked to reset it); keep a world already there."""
        self.scene_version, self.scene_loaded = await seed_scene_at(
            self.redis_url, self.config.prefix, self.scene, reset=self.reset_scene, password=self._redis_password)

    def _http_fleet(self) -> list[FleetEntry]:
        return [entry for entry in self.scene.fleet if entry.transport == "http" and not entry.own_skill_server]

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
        if entry.skill == "pi0":
            embodiment = _pi0_embodiment(entry)
            argv += ["--pi0-server", self._pi0_urls[entry.pi0_server, embodiment], "--pi0-embodiment", embodiment]
        return argv

    def _start_pi0_servers(self) -> None:
        """For the ``skill: pi0`` robots: a reference pi0 server per embodiment where they name none,
        and in front of each pi0 server one action server (``roboos skill pi0 --server``) that its
        robots share: FlagScale's serves one request at a time, the action server queues them."""
        wanted = sorted({(e.pi0_server, _pi0_embodiment(e)) for e in self.scene.fleet if e.skill == "pi0"})
        for server, embodiment in wanted:
            target = server
            if not target:
                port = free_port()
                argv = python_module("deploy.cli", "skill", "pi0", "--serve-reference", "--embodiment", embodiment,
                                     "--port", str(port), "--log-level", self.config.log_level)
                self.launcher.start(f"pi0-reference-{embodiment}", argv, ready=port_ready(port), timeout_s=30.0)
                target = f"http://127.0.0.1:{port}"
            port = free_port()
            argv = python_module("deploy.cli", "skill", "pi0", "--server", target, "--embodiment", embodiment,
                                 "--port", str(port), "--log-level", self.config.log_level)
            name = f"pi0-actions-{embodiment}-{len(self._pi0_urls)}"
            self.launcher.start(name, argv, ready=port_ready(port), timeout_s=30.0)
            self._pi0_urls[server, embodiment] = f"http://127.0.0.1:{port}"

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
        self._write_config(port)
        argv = python_module("deploy.cli", "master", "--config", str(self.config_path))
        host = "127.0.0.1" if master.host in ("0.0.0.0", "::") else master.host
        self.master_url = f"http://{host}:{port}"
        self.launcher.start("master", argv, ready=http_ready(f"{self.master_url}/health"), timeout_s=30.0)

    def _cors_origins(self) -> tuple[str, ...]:
        """The configured origins, plus the web UI's own when it runs on another port than the default."""
        origins = tuple(self.config.master.cors_origins)
        if self.ui_port is None or "*" in origins:
            return origins
        ui = (f"http://127.0.0.1:{self.ui_port}", f"http://localhost:{self.ui_port}")
        return origins + tuple(o for o in ui if o not in origins)

    def _start_ui(self, port: int) -> None:
        """The web UI on loopback (``port`` was checked free with the others in ``start()``, or chosen
        free there); the master's token reaches it in the environment, like every child."""
        argv = python_module("deploy.cli", "ui", "--host", "127.0.0.1", "--port", str(port),
                             "--master", self.master_url, "--log-level", self.config.log_level,
                             "--stack-run-dir", str(self.run_dir.resolve()))
        self.ui_url = f"http://127.0.0.1:{port}"
        self.launcher.start("ui", argv, ready=http_ready(f"{self.ui_url}/health"), timeout_s=30.0)

    def _start_slaver(self, entry: FleetEntry, skill_url: str | None) -> None:
        argv = python_module("deploy.cli", "slaver", "--config", str(self.config_path),
                             "--robot", entry.name, "--embodiment", entry.embodiment, "--start-place", entry.start)
        if skill_url or entry.skill_url:
            argv += ["--skill-url", skill_url or entry.skill_url]
        elif entry.skill_command:
            argv += ["--skill-command", json.dumps(entry.skill_command)]
        else:
            argv += ["--skill-command", json.dumps(self._skill_argv(entry) + ["--transport", "stdio"])]
        if entry.skills:
            argv += ["--skill-annotations", json.dumps(entry.skills)]
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
            reply = httpx.get(f"{self.master_url}/robots", timeout=2.0).json()
        except (httpx.HTTPError, ValueError):
            return set()
        robots = reply.get("data", [])
        return {r["profile"]["name"] for r in robots if isinstance(r, dict) and r.get("online")}



def _override(value: float | None, own: float) -> float:
    return own if value is None else value


def _pi0_embodiment(entry: FleetEntry) -> str:
    """The pi0 embodiment of a ``skill: pi0`` robot: its own, else by its body's grippers."""
    from memory.world.bodies import body_for
    from skills.pi0.protocol import default_embodiment

    if entry.pi0_embodiment:
        return entry.pi0_embodiment
    return default_embodiment(body_for(entry.embodiment, entry.body_overrides(), entry.zones).grippers)

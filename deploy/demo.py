"""Run a scene's demo task on a fresh stack and check the world ends as the scene expects; keep a stack up."""

from __future__ import annotations

import logging
import time
from typing import TextIO

from deploy.config import RoboOSConfig
from deploy.errors import LaunchError
from deploy.follow import MasterClient, TaskFollower, summary
from deploy.stack import Stack
from memory.profiles import SceneSnapshot
from scene import DemoTask, SceneProfile

__all__ = ["run_demo", "check_expectations", "wait_forever"]

logger = logging.getLogger(__name__)


def run_demo(config: RoboOSConfig, scene: SceneProfile, task: DemoTask, out: TextIO, timeout_s: float) -> int:
    """Start the stack, run ``task``, print progress and a summary; 0 only if it all held."""
    print(f"starting the {scene.name} stack: {len(scene.fleet)} robots "
          f"({', '.join(f'{r.name}/{r.embodiment}/{r.transport}' for r in scene.fleet)})", file=out, flush=True)
    with Stack(config, scene, reset_scene=True) as stack:  # a fresh Redis folder, and the scene loaded anew
        print(f"master at {stack.master_url}, Redis at {stack.redis_url}, logs in {stack.launcher.log_dir}",
              file=out, flush=True)
        client = MasterClient(stack.master_url, token=config.master.auth_token,
                              timeout_s=stack.plan_timeout_s + config.master.bridge_timeout_s + 5)
        try:
            print(f"demo task '{task.name}': {task.task}", file=out, flush=True)
            record = TaskFollower(client, out).run(task.task, timeout_s)
            print("summary:", file=out)
            for line in summary(record):
                print(line, file=out)
            missing = check_expectations(client, task)
        finally:
            client.close()
    for line in missing:
        print(f"expected end state not reached: {line}", file=out)
    ok = record["state"] == "succeeded" and not missing
    if ok and task.expect:
        print(f"scene check: {', '.join(str(e) for e in task.expect)}: all hold", file=out)
    print("demo succeeded" if ok else "demo FAILED", file=out, flush=True)
    return 0 if ok else 1


def check_expectations(client: MasterClient, task: DemoTask) -> list[str]:
    """The expectations of ``task`` that the shared scene graph does not meet."""
    nodes = SceneSnapshot.from_dict(client.scene()).nodes
    return [str(e) for e in task.expect if not e.met(nodes)]


def wait_forever(stack: Stack, out: TextIO, poll_s: float = 0.2) -> int:
    """Keep the stack up until Ctrl-C, restarting what crashes; 1 once a component keeps crashing."""
    print(stack.scene_note, file=out)
    data = f" (data in {stack.redis.data_dir})" if stack.redis is not None else ""
    print(f"RoboOS is up: master at {stack.master_url}, Redis at {stack.redis_url}{data}, "
          f"logs in {stack.launcher.log_dir}. Ctrl-C stops everything.", file=out, flush=True)
    while True:
        try:
            notes = stack.supervise()
        except LaunchError as e:
            print(f"{e}\nstopping; see the logs in {stack.launcher.log_dir}", file=out, flush=True)
            return 1
        for note in notes:
            print(note, file=out, flush=True)
        time.sleep(poll_s)

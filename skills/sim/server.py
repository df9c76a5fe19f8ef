"""A simulated robot as an MCP skill server.

Every call reads the part of the shared world it needs fresh from Redis (the robot, the named
things, their ancestors and what the robot holds, at one version), checks the preconditions
(:class:`~skills.sim.world.SimRules`), takes the skill's time (``duration * speed``; speed 0 is
instant), may fail on purpose (``failure_probability``, seeded) and returns the effects. It never
writes the scene: the slaver applies the effects. With an :class:`~skills.sim.x0_arm.X0Arm`, the
manipulation skills move the arm along an X0 trajectory (30 poses at 30 Hz, scaled by speed)
instead of taking the skill's fixed time, and the server also offers ``generate_actions``.
"""

from __future__ import annotations

import logging
import random
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated

import anyio
from pydantic import Field
from redis.exceptions import RedisError

from memory import SharedMemory, SharedMemoryError
from memory.profiles import SceneSnapshot
from skills.errors import SkillError, SkillFailure
from skills.sdk import SkillResult, SkillServer
from skills.sim.embodiments import SimSkill, embodiment_spec
from skills.sim.world import SimRules

if TYPE_CHECKING:
    from skills.sim.x0_arm import X0Arm

__all__ = ["SimRobot", "build_sim_server"]

logger = logging.getLogger(__name__)

GoalName = Annotated[str, Field(description="A place, or furniture or a container to go to")]
ObjectName = Annotated[str, Field(description="The name of the object in the scene")]
SurfaceName = Annotated[str, Field(description="Furniture to put it on, or an open container to put it in")]
ContainerName = Annotated[str, Field(description="The name of the container")]
Instruction = Callable[[SkillResult], str]
X0_KINDS = frozenset({"pick", "place", "open", "close"})


class SimRobot:
    """Runs the simulated calls of one robot: world check, duration, injected faults."""

    def __init__(
        self,
        rules: SimRules,
        *,
        redis_url: str,
        prefix: str,
        speed: float = 1.0,
        failure_probability: float = 0.0,
        added_latency_s: float = 0.0,
        seed: int | None = None,
        x0: X0Arm | None = None,
    ) -> None:
        _check_settings(speed, failure_probability, added_latency_s)
        self.rules = rules
        self.redis_url = redis_url
        self.prefix = prefix
        self.speed = speed
        self.failure_probability = failure_probability
        self.added_latency_s = added_latency_s
        self._rng = random.Random(seed)
        self.x0 = x0
        self._memory: SharedMemory | None = None

    @asynccontextmanager
    async def connected(self) -> AsyncIterator[SimRobot]:
        """Hold a shared-memory connection while the server runs."""
        try:
            self._memory = await SharedMemory.connect(self.redis_url, prefix=self.prefix)
        except SharedMemoryError as e:
            raise SkillError(f"simulated robot {self.rules.robot} needs the shared memory: {e}") from e
        try:
            yield self
        finally:
            memory, self._memory = self._memory, None
            await memory.close()

    async def act(self, skill: SimSkill, names: list[str], check: Callable[[SceneSnapshot], SkillResult],
                  instruction: Instruction | None = None) -> SkillResult:
        """Check against the world as it is now, take the time, maybe fail, return the effects.

        ``names`` are the scene nodes the call is about; ``check`` sees them, the robot, their
        ancestors and the robot's children. ``instruction`` words the call for X0 from its result
        ("pick up the apple").
        """
        if self.added_latency_s > 0:
            await anyio.sleep(self.added_latency_s)
        result = check(await self._scene_around(names))
        duration_s = skill.duration_s
        if self.x0 is not None and instruction is not None and skill.kind in X0_KINDS:
            trajectory = await self.x0.move(instruction(result))
            duration_s = trajectory.duration_s
            result = result.model_copy(update={"message": f"{result.message} ({trajectory.describe()})"})
        if self.speed > 0:
            await anyio.sleep(duration_s * self.speed)
        if self.failure_probability > 0 and self._rng.random() < self.failure_probability:
            raise SkillFailure(f"injected fault: {skill.name} failed on {self.rules.robot} "
                               "(simulated fault); try again or use another robot")
        logger.info("%s %s: %s", self.rules.robot, skill.name, result.message)
        return result

    async def _scene_around(self, names: list[str]) -> SceneSnapshot:
        """What the rules read: the robot and ``names`` with their ancestors, and the robot's children."""
        if self._memory is None:
            raise SkillFailure(f"{self.rules.robot} is not connected to the shared memory (server not started)")
        robot = self.rules.robot
        try:
            return await self._memory.scene.neighbourhood([robot, *names], children_of=[robot])
        except (SharedMemoryError, RedisError, OSError) as e:
            raise SkillFailure(f"{self.rules.robot} cannot read the shared world at {self.redis_url}: {e}") from e


def build_sim_server(
    robot: str,
    embodiment: str,
    *,
    redis_url: str,
    prefix: str,
    zones: list[str] | None = None,
    speed: float = 1.0,
    failure_probability: float = 0.0,
    added_latency_s: float = 0.0,
    seed: int | None = None,
    x0: X0Arm | None = None,
) -> SkillServer:
    """A skill server for a simulated robot of a registered embodiment.

    With ``x0``, its pick, place, open and close follow X0 trajectories and it offers ``generate_actions``.
    """
    body = embodiment_spec(embodiment)
    rules = SimRules(robot, body, list(zones or []))
    sim = SimRobot(rules, redis_url=redis_url, prefix=prefix, speed=speed,
                   failure_probability=failure_probability, added_latency_s=added_latency_s, seed=seed, x0=x0)
    arm = f" Its arm follows RoboBrain-X0 ({x0.embodiment.name}) trajectories." if x0 is not None else ""
    server = SkillServer(
        robot,
        embodiment=body.type,
        capabilities=body.capabilities(rules.zones),
        instructions=f"{robot}: simulated {body.description}.{arm} Skills check the shared world and "
        "fail with the reason and the fix when they cannot act.",
        lifespan=sim.connected,
    )
    for skill in body.skills:
        _SKILL_BUILDERS[skill.kind](server, sim, skill)
    if x0 is not None:
        x0.add_tool(server)
    return server


def _check_settings(speed: float, failure_probability: float, added_latency_s: float) -> None:
    if speed < 0:
        raise SkillError(f"speed must be >= 0 (0 is instant), got {speed}")
    if not 0.0 <= failure_probability <= 1.0:
        raise SkillError(f"failure_probability must be between 0 and 1, got {failure_probability}")
    if added_latency_s < 0:
        raise SkillError(f"added_latency_s must be >= 0, got {added_latency_s}")


def _zones_note(rules: SimRules) -> str:
    return f" It works only in: {', '.join(rules.zones)}." if rules.zones else ""


def _add_navigate(server: SkillServer, sim: SimRobot, skill: SimSkill) -> None:
    async def navigate(target: GoalName) -> SkillResult:
        return await sim.act(skill, [target], lambda scene: sim.rules.navigate(scene, target))

    verb = "Fly" if skill.name == "fly_to" else "Go"
    navigate.__doc__ = (f"{verb} to a place, or to the place of a piece of furniture or a container."
                        f"{_zones_note(sim.rules)}")
    server.skill(kind="navigate", name=skill.name, target="target")(navigate)


def _add_pick(server: SkillServer, sim: SimRobot, skill: SimSkill) -> None:
    async def pick(object: ObjectName) -> SkillResult:
        return await sim.act(skill, [object], lambda scene: sim.rules.pick(scene, object),
                             lambda result: f"pick up the {object}")

    body = sim.rules.body
    pick.__doc__ = (f"Pick up an object in the same place as the robot with a free {body.hand} "
                    f"(it has {body.arms}); at most {body.payload_kg:g} kg; not from a closed container.")
    server.skill(kind="pick", name=skill.name, object="object")(pick)


def _add_place(server: SkillServer, sim: SimRobot, skill: SimSkill) -> None:
    async def place(object: ObjectName, target: SurfaceName) -> SkillResult:
        return await sim.act(skill, [object, target], lambda scene: sim.rules.place(scene, object, target),
                             lambda result: f"put the {object} {result.effects[0]['relation']} the {target}")

    place.__doc__ = ("Place a held object on furniture, or in an open container, "
                     "in the same place as the robot.")
    server.skill(kind="place", name=skill.name, object="object", target="target")(place)


def _add_open(server: SkillServer, sim: SimRobot, skill: SimSkill) -> None:
    async def open_(target: ContainerName) -> SkillResult:
        return await sim.act(skill, [target], lambda scene: sim.rules.open(scene, target),
                             lambda result: f"open the {target}")

    open_.__doc__ = "Open a container (fridge, cabinet, drawer...) in the same place as the robot."
    server.skill(kind="open", name=skill.name, target="target")(open_)


def _add_close(server: SkillServer, sim: SimRobot, skill: SimSkill) -> None:
    async def close(target: ContainerName) -> SkillResult:
        return await sim.act(skill, [target], lambda scene: sim.rules.close(scene, target),
                             lambda result: f"close the {target}")

    close.__doc__ = "Close a container (fridge, cabinet, drawer...) in the same place as the robot."
    server.skill(kind="close", name=skill.name, target="target")(close)


_SKILL_BUILDERS: dict[str, Callable[[SkillServer, SimRobot, SimSkill], None]] = {
    "navigate": _add_navigate,
    "pick": _add_pick,
    "place": _add_place,
    "open": _add_open,
    "close": _add_close,
}

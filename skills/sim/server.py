"""A simulated robot as an MCP skill server.

Every call reads the part of the shared world it needs fresh from Redis (the robot, the named
things, their ancestors and what the robot holds, at one version), checks the preconditions
(:class:`~skills.sim.world.SimRules`, the world model's rules), takes the skill's time
(``duration * speed``, a navigation's scaled by its route's travel time; speed 0 is instant), may fail on purpose (``failure_probability``, seeded) and returns the effects. It never
writes the scene: the slaver applies the effects. With an action-model arm (:class:`~skills.sim.x0_arm.X0Arm`,
:class:`~skills.sim.pi0_arm.Pi0Arm`), the manipulation skills move the arm along the model's
chunk (X0: 30 poses at 30 Hz; pi0: 50 joint targets at 50 Hz; scaled by speed) instead of taking
the skill's fixed time, and the server also offers the model's tool.
"""

from __future__ import annotations

import logging
import math
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Annotated, Any

import anyio
from pydantic import Field
from redis.exceptions import RedisError

from memory import SharedMemory, SharedMemoryError
from memory.profiles import SceneSnapshot
from memory.world import DEFAULT_TRAVEL_S, Body, body_for
from skills.errors import SkillError, SkillFailure
from skills.sdk import SkillResult, SkillServer
from skills.sim.embodiments import EmbodimentSpec, SimSkill, embodiment_spec
from skills.sim.world import SimRules

if TYPE_CHECKING:
    from skills.sim.x0_arm import Arm

__all__ = ["SimRobot", "build_sim_server"]

logger = logging.getLogger(__name__)

GoalName = Annotated[str, Field(description="A place, or furniture or a container to go to")]
ObjectName = Annotated[str, Field(description="The name of the object in the scene")]
SurfaceName = Annotated[str, Field(description="Furniture to put it on, or an open container to put it in")]
ContainerName = Annotated[str, Field(description="The name of the container or the door")]
RobotName = Annotated[str, Field(description="The name of the robot to hand it to")]
Instruction = Callable[[SkillResult], str]
ARM_KINDS = frozenset({"pick", "place", "open", "close"})  # the calls an action-model arm carries out


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
        arm: Arm | None = None,
    ) -> None:
        _check_settings(speed, failure_probability, added_latency_s)
        self.rules = rules
        self.redis_url = redis_url
        self.prefix = prefix
        self.speed = speed
        self.failure_probability = failure_probability
        self.added_latency_s = added_latency_s
        self._rng = random.Random(seed)
        self.arm = arm
        self._memory: SharedMemory | None = None
        self._passages = False  # whether the last call's scene had passages

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
            if self.arm is not None:
                await self.arm.close()

    async def act(self, skill: SimSkill, names: list[str], roles: dict[str, str],
                  instruction: Instruction | None = None) -> SkillResult:
        """Check against the world as it is now, take the time, maybe fail, return the effects.

        ``names`` are the scene nodes the call is about; the rules see them, the robot, their
        ancestors and the robot's children (a navigation or a door in a scene with passages: every
        place and door too).
        ``instruction`` words the call for the arm's model from its result ("pick up the apple").
        """
        if self.added_latency_s > 0:
            await anyio.sleep(self.added_latency_s)
        # A navigation reads the places and doors at once where the last scene had passages (a
        # guess: the second read below makes it right either way).
        roots = self._passages and skill.kind == "navigate"
        scene = await self._scene_around(names, roots=roots)
        if not roots and self.rules.needs_roots(skill.kind, scene, names):
            scene = await self._scene_around(names, roots=True)
        self._passages = self.rules.has_passages(scene)
        state = self.rules.state(scene)
        state.bodies.update(await self._bodies_of(self.rules.others(state, skill.kind, roles)))
        result, outcome = self.rules.act(state, skill.kind, roles)
        duration_s = skill.duration_s * _travel_units(skill.kind, outcome.travel_s)
        if self.arm is not None and instruction is not None and skill.kind in ARM_KINDS:
            trajectory = await self.arm.move(instruction(result))
            duration_s = trajectory.duration_s
            result = result.model_copy(update={"message": f"{result.message} ({trajectory.describe()})"})
        if self.speed > 0:
            await anyio.sleep(duration_s * self.speed)
        if self.failure_probability > 0 and self._rng.random() < self.failure_probability:
            raise SkillFailure(f"injected fault: {skill.name} failed on {self.rules.robot} "
                               "(simulated fault); try again or use another robot")
        logger.info("%s %s: %s", self.rules.robot, skill.name, result.message)
        return result

    async def _scene_around(self, names: list[str], *, roots: bool) -> SceneSnapshot:
        """What the rules read: the robot and ``names`` with their ancestors, the children of the
        robot and of ``names`` (what a container holds, for its capacity), and with ``roots`` every
        place and door (for routes)."""
        around = [self.rules.robot, *names]
        return await self._read(lambda memory: memory.scene.neighbourhood(around, children_of=around, roots=roots))

    async def _bodies_of(self, robots: list[str]) -> dict[str, Body]:
        """The bodies of ``robots`` as they registered them (their capabilities), for the rules."""
        bodies: dict[str, Body] = {}
        for robot in robots:
            try:
                record = await self._memory.robots.get(robot) if self._memory is not None else None
            except (SharedMemoryError, RedisError, OSError) as e:
                raise SkillFailure(f"{self.rules.robot} cannot read robot {robot} at {self.redis_url}: {e}") from e
            if record is None:
                raise SkillFailure(f"robot {robot}, whose body this call depends on, is not registered: start it first")
            bodies[robot] = Body.from_capabilities(record.profile.capabilities)
        return bodies

    async def _read(self, read: Callable[[SharedMemory], Awaitable[SceneSnapshot]]) -> SceneSnapshot:
        if self._memory is None:
            raise SkillFailure(f"{self.rules.robot} is not connected to the shared memory (server not started)")
        try:
            return await read(self._memory)
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
    arm: Arm | None = None,
    body_overrides: dict[str, Any] | None = None,
) -> SkillServer:
    """A skill server for a simulated robot of a registered embodiment.

    ``body_overrides`` change its world body (a scene fleet entry's grippers, payload_kg, reach,
    can_open, station, cargo). With an ``arm`` (X0, pi0), its pick, place, open and close follow the
    model's trajectories and it offers the model's tool (``generate_actions``, ``generate_joint_actions``).
    """
    spec = embodiment_spec(embodiment)
    try:
        body = body_for(embodiment, body_overrides, zones or [])
    except ValueError as e:
        raise SkillError(f"robot {robot}: {e}") from e
    rules = SimRules(robot, body)
    sim = SimRobot(rules, redis_url=redis_url, prefix=prefix, speed=speed,
                   failure_probability=failure_probability, added_latency_s=added_latency_s, seed=seed, arm=arm)
    follows = f" Its arm follows {arm.description} trajectories." if arm is not None else ""
    server = SkillServer(
        robot,
        embodiment=spec.type,
        capabilities=body.to_capabilities(spec.type),
        instructions=f"{robot}: simulated {spec.description}.{follows} Skills check the shared world and "
        "fail with the reason and the fix when they cannot act.",
        lifespan=sim.connected,
    )
    for skill in spec.skills_for(body):
        _SKILL_BUILDERS[skill.kind](server, sim, spec, skill)
    if arm is not None:
        arm.add_tool(server)
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


def _add_navigate(server: SkillServer, sim: SimRobot, spec: EmbodimentSpec, skill: SimSkill) -> None:
    async def navigate(target: GoalName) -> SkillResult:
        return await sim.act(skill, [target], {"target": target})

    verb = "Fly" if skill.name == "fly_to" else "Go"
    navigate.__doc__ = (f"{verb} to a place, or to the place of a piece of furniture or a container, "
                        f"through open doors.{_zones_note(sim.rules)}")
    server.skill(kind="navigate", name=skill.name, target="target")(navigate)


def _add_pick(server: SkillServer, sim: SimRobot, spec: EmbodimentSpec, skill: SimSkill) -> None:
    async def pick(object: ObjectName) -> SkillResult:
        return await sim.act(skill, [object], {"object": object}, lambda result: f"pick up the {object}")

    body = sim.rules.body
    pick.__doc__ = (f"Pick up an object in the same place as the robot, within its reach "
                    f"({', '.join(body.reach)}), with a free {spec.hand} (it has {body.grippers})"
                    f"{_payload_note(body.payload_kg)}; not from a closed container.")
    server.skill(kind="pick", name=skill.name, object="object")(pick)


def _add_place(server: SkillServer, sim: SimRobot, spec: EmbodimentSpec, skill: SimSkill) -> None:
    async def place(object: ObjectName, target: SurfaceName) -> SkillResult:
        return await sim.act(skill, [object, target], {"object": object, "target": target},
                             lambda result: f"put the {object} {result.effects[0]['relation']} the {target}")

    place.__doc__ = ("Place a held object on furniture, or in an open container with room (also a robot's "
                     "cargo container), in the same place as the robot and within its reach.")
    server.skill(kind="place", name=skill.name, object="object", target="target")(place)


def _set_open_builder(verb: str) -> Callable[[SkillServer, SimRobot, EmbodimentSpec, SimSkill], None]:
    def add(server: SkillServer, sim: SimRobot, spec: EmbodimentSpec, skill: SimSkill) -> None:
        async def set_open(target: ContainerName) -> SkillResult:
            return await sim.act(skill, [target], {"target": target}, lambda result: f"{verb} the {target}")

        set_open.__doc__ = (f"{verb.capitalize()} a container (fridge, cabinet, drawer...) or a door in the same "
                            f"place as the robot, with a free {spec.hand}.")
        server.skill(kind=verb, name=skill.name, target="target")(set_open)

    return add


def _add_handover(server: SkillServer, sim: SimRobot, spec: EmbodimentSpec, skill: SimSkill) -> None:
    async def hand_over(object: ObjectName, robot: RobotName) -> SkillResult:
        return await sim.act(skill, [object, robot], {"object": object, "target": robot})

    hand_over.__doc__ = (f"Hand a held object straight to another robot in the same place, which must be there "
                         f"with a free {spec.hand} and able to lift it.")
    server.skill(kind="handover", name=skill.name, object="object", target="robot")(hand_over)


def _travel_units(kind: str, travel_s: float) -> float:
    """How many base durations an action takes: a navigation its route's travel time (at least one,
    also within a place), anything else one."""
    return max(travel_s, DEFAULT_TRAVEL_S) / DEFAULT_TRAVEL_S if kind == "navigate" else 1.0


def _payload_note(payload_kg: float) -> str:
    return f"; at most {payload_kg:g} kg" if math.isfinite(payload_kg) else ""


_SKILL_BUILDERS: dict[str, Callable[[SkillServer, SimRobot, EmbodimentSpec, SimSkill], None]] = {
    "navigate": _add_navigate,
    "pick": _add_pick,
    "place": _add_place,
    "open": _set_open_builder("open"),
    "close": _set_open_builder("close"),
    "handover": _add_handover,
}

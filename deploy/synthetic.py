"""Generated worlds for planning at scale: a ring of rooms, furniture, objects and a mixed fleet.

``ring_world(robots=1000, objects=5000)`` has ``robots // 2`` rooms (at least 4) joined in a ring by
passages; each room has a table, a shelf and a cabinet (every other one closed); objects of mixed
weights lie on them or in the cabinets. Robots cycle through the embodiments (two per room, never
both of one kind): mobile ones work three neighbouring rooms from their start, drones five, fixed
arms their own room, so deliveries a few rooms away need handoffs. The instructions move light
objects (at most 1 kg) up to ``SPREAD`` rooms away. Seeded: the same sizes always give the same
world and instructions.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from memory.profiles import SceneNode
from scene.profile import FleetEntry

__all__ = ["EMBODIMENT_MIX", "SyntheticWorld", "ring_world"]

EMBODIMENT_MIX = ("wheeled_dual_arm", "humanoid", "quadruped", "drone", "fixed_single_arm")
_REACH = {"drone": 5, "fixed_single_arm": 1}  # rooms a robot works in; others 3
_WEIGHTS = (0.1, 0.2, 0.3, 0.5, 0.8, 1.0, 2.0, 4.0)
LIGHT_KG = 1.0
SPREAD = 8


@dataclass
class SyntheticWorld:
    """Scene nodes (robot nodes included), the fleet, and instructions to plan on it."""

    rooms: int
    nodes: list[SceneNode] = field(default_factory=list)
    fleet: list[FleetEntry] = field(default_factory=list)
    instructions: list[str] = field(default_factory=list)


def ring_world(
    robots: int, objects: int, instructions: int = 5, seed: int = 7, rooms: int | None = None
) -> SyntheticWorld:
    """The world described above; ``rooms`` (default ``robots // 2``, at least 4) sets the ring's size."""
    rng = random.Random(seed)
    rooms = rooms or max(4, robots // 2)
    world = SyntheticWorld(rooms)
    things = _objects(objects, rooms, rng)
    world.nodes = [*_rooms(rooms), *_furniture(rooms), *things]
    world.fleet = [_robot(k, rooms) for k in range(robots)]
    world.nodes += [SceneNode(e.name, "robot", parent=e.start, relation="at") for e in world.fleet]
    light = [n for n in things if n.props["weight_kg"] <= LIGHT_KG]
    world.instructions = [_instruction(i, light, rooms, rng) for i in range(instructions)]
    return world


def _room(index: int, rooms: int) -> str:
    return f"room_{index % rooms:04d}"


def _rooms(rooms: int) -> list[SceneNode]:
    def passages(i: int) -> list[dict[str, object]]:
        return [{"to": _room(i + step, rooms), "travel_s": 1.0, "door": None} for step in (-1, 1)]

    return [SceneNode(_room(i, rooms), "place", props={"passages": passages(i)}) for i in range(rooms)]


def _furniture(rooms: int) -> list[SceneNode]:
    nodes: list[SceneNode] = []
    for i in range(rooms):
        room = _room(i, rooms)
        nodes += [SceneNode(f"table_{i:04d}", "furniture", room, "at"),
                  SceneNode(f"shelf_{i:04d}", "furniture", room, "at"),
                  SceneNode(f"cabinet_{i:04d}", "container", room, "at", {"open": i % 2 == 0})]
    return nodes


def _objects(count: int, rooms: int, rng: random.Random) -> list[SceneNode]:
    nodes: list[SceneNode] = []
    for j in range(count):
        i = rng.randrange(rooms)
        parent, relation = rng.choice(((f"table_{i:04d}", "on"), (f"shelf_{i:04d}", "on"),
                                       (f"cabinet_{i:04d}", "in")))
        nodes.append(SceneNode(f"item_{j:05d}", "object", parent, relation, {"weight_kg": rng.choice(_WEIGHTS)}))
    return nodes


def _robot(k: int, rooms: int) -> FleetEntry:
    embodiment = EMBODIMENT_MIX[(k + k // rooms) % len(EMBODIMENT_MIX)]
    start = k % rooms
    zones = [_room(start + step, rooms) for step in range(min(rooms, _REACH.get(embodiment, 3)))]
    return FleetEntry(name=f"bot_{k:04d}", embodiment=embodiment, start=_room(start, rooms), zones=zones, speed=0)


def _instruction(index: int, light: list[SceneNode], rooms: int, rng: random.Random) -> str:
    first, second = rng.choice(light), rng.choice(light)

    def near(node: SceneNode) -> str:
        room = int((node.parent or "").rsplit("_", 1)[-1]) + rng.randint(-SPREAD, SPREAD)
        return f"{room % rooms:04d}"

    forms = (
        f"bring {first.name} to table {near(first)}",
        f"put {first.name} in cabinet {near(first)}",
        f"bring {first.name} to shelf {near(first)} and put {second.name} on table {near(second)}",
        f"put {first.name} on shelf {near(first)}",
        f"go to room {near(first)}",
    )
    return forms[index % len(forms)]
